/**
 * The offline basemap's bundled glyphs (street names, entrance labels): SDF glyph PBFs generated
 * once from DejaVu (build/glyphs.ts) and committed under ops-console/web/public/fonts/, which Vite
 * copies into the console's build; the console's own server serves them. No font server, no CDN.
 */

/** Fonts bundled, by MapLibre font-stack name (the folder under public/fonts/). */
export const GLYPH_FONTS = [{ name: 'DejaVu Sans Condensed', file: '/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf' }] as const;
/** The font stack the offline style's labels use. */
export const LABEL_FONT = [GLYPH_FONTS[0].name];

/** Always bundled: Basic Latin + Latin-1 (ñ, á, ¿, ¡, º) and Latin Extended-A/B. */
export const BASE_GLYPH_RANGES: readonly [number, number][] = [
  [0, 255],
  [256, 511],
];

/** The 256-codepoint ranges (MapLibre's {range}) needed for `text`, with the base ranges, sorted. */
export function glyphRangesFor(text: string): [number, number][] {
  const starts = new Set(BASE_GLYPH_RANGES.map(([a]) => a));
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp <= 0xffff) starts.add(Math.floor(cp / 256) * 256);
  }
  return [...starts].sort((a, b) => a - b).map((a) => [a, a + 255]);
}

/**
 * The style's `glyphs` URL on the console's own origin. `{fontstack}` and `{range}` stay literal
 * (MapLibre fills them in); `base` is the page's base URL (document.baseURI).
 */
export function glyphsUrl(base: string): string {
  const u = new URL('fonts/', base);
  return `${u.origin}${u.pathname}{fontstack}/{range}.pbf`;
}
