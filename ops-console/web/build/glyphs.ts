/**
 * Generates the offline basemap's glyphs: MapLibre SDF glyph PBFs (`{fontstack}/{range}.pbf`, the
 * format of glyphs.proto that MapLibre's parse_glyph_pbf reads) for the Latin ranges Spanish needs
 * (0-255, 256-511) and every 256-range the city file's names use, drawn from an openly licensed
 * font (DejaVu, Debian's fonts-dejavu-core) with @mapbox/tiny-sdf — the same rasterizer and
 * metrics MapLibre uses for locally drawn glyphs — in headless Chromium (a real canvas).
 *
 * Run once when the font or the city changes; the output is committed:
 *   npx tsx ops-console/web/build/glyphs.ts [--city demo/demo-city/city.json]
 * Writes ops-console/web/public/fonts/<fontstack>/<a>-<b>.pbf and the font's licence beside it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { PbfWriter as Pbf } from 'pbf';
import { DEMO_CITY_FILE } from '../../../city/city';
import { readVariable } from '../../../lib/config';
import { GLYPH_FONTS, glyphRangesFor } from '../src/basemap/glyphs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FONTS_DIR = path.resolve(here, '../public/fonts');
const CHROMIUM = readVariable('CHROMIUM');
const LICENCE = '/usr/share/doc/fonts-dejavu-core/copyright';

interface Glyph {
  id: number;
  bitmap: number[];
  width: number;
  height: number;
  left: number;
  top: number;
  advance: number;
}

/** glyphs.proto: glyphs { repeated fontstack stacks = 1 } fontstack { name = 1; range = 2; repeated glyph glyphs = 3 } */
export function encodeGlyphPbf(name: string, range: string, glyphs: Glyph[]): Uint8Array {
  const pbf = new Pbf();
  pbf.writeMessage(
    1,
    (_: unknown, p: Pbf) => {
      p.writeStringField(1, name);
      p.writeStringField(2, range);
      for (const g of glyphs) {
        p.writeMessage(
          3,
          (_g: unknown, q: Pbf) => {
            q.writeVarintField(1, g.id);
            if (g.bitmap.length) q.writeBytesField(2, Uint8Array.from(g.bitmap));
            q.writeVarintField(3, g.width);
            q.writeVarintField(4, g.height);
            q.writeSVarintField(5, g.left);
            q.writeSVarintField(6, g.top);
            q.writeVarintField(7, g.advance);
          },
          g,
        );
      }
    },
    null,
  );
  return pbf.finish();
}

/** Control characters have no glyph. */
const drawable = (cp: number) => !(cp < 32 || (cp >= 127 && cp < 160));

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--city');
  const cityFile = at >= 0 && args[at + 1] ? args[at + 1]! : DEMO_CITY_FILE;
  const city = JSON.parse(fs.readFileSync(cityFile, 'utf8')) as {
    streets: { features: { properties: { name: string } }[] };
    districts: { features: { properties: { name: string } }[] };
    entrances: { road: string }[];
  };
  const names = [...city.streets.features.map((f) => f.properties.name), ...city.districts.features.map((f) => f.properties.name), ...city.entrances.map((e) => e.road)];
  const ranges = glyphRangesFor(names.join(''));
  const require = createRequire(import.meta.url);
  const sdfSource = fs.readFileSync(require.resolve('@mapbox/tiny-sdf'), 'utf8').replace('export default class TinySDF', 'window.TinySDF = class TinySDF');

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ content: sdfSource });
    for (const font of GLYPH_FONTS) {
      const b64 = fs.readFileSync(font.file).toString('base64');
      const outDir = path.join(FONTS_DIR, font.name);
      fs.mkdirSync(outDir, { recursive: true });
      for (const [a, b] of ranges) {
        const ids: number[] = [];
        for (let cp = a; cp <= b; cp++) if (drawable(cp)) ids.push(cp);
        const glyphs = await page.evaluate(
          async ({ b64, ids, family }) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            if (![...document.fonts].some((f) => f.family === family)) {
              const face = new FontFace(family, bytes);
              document.fonts.add(await face.load());
            }
            const W = window as unknown as {
              TinySDF: new (o: object) => { draw(c: string): { data: Uint8ClampedArray; glyphWidth: number; glyphHeight: number; glyphTop: number; glyphLeft: number; glyphAdvance: number } };
            };
            // MapLibre's server glyph parameters: 24 px, buffer 3, radius 8, cutoff 0.25
            const sdf = new W.TinySDF({ fontSize: 24, buffer: 3, radius: 8, cutoff: 0.25, fontFamily: `"${family}"` });
            const probe = document.createElement('canvas').getContext('2d')!;
            probe.font = `24px "${family}"`;
            return ids.map((id) => {
              const g = sdf.draw(String.fromCodePoint(id));
              // the same metrics MapLibre gives its locally drawn glyphs (glyph_manager.ts), at 1×
              return {
                id,
                bitmap: Array.from(g.data),
                width: g.glyphWidth,
                height: g.glyphHeight,
                left: Math.round(g.glyphLeft + 0.5),
                top: Math.round(g.glyphTop - 27.5),
                advance: Math.round(g.glyphAdvance),
              };
            });
          },
          { b64, ids, family: font.name },
        );
        const file = path.join(outDir, `${a}-${b}.pbf`);
        fs.writeFileSync(file, encodeGlyphPbf(font.name, `${a}-${b}`, glyphs));
        console.log(`${file}: ${glyphs.length} glyphs, ${fs.statSync(file).size} bytes`);
      }
    }
  } finally {
    await browser.close();
  }
  if (fs.existsSync(LICENCE)) fs.copyFileSync(LICENCE, path.join(FONTS_DIR, 'LICENSE-DejaVu.txt'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
