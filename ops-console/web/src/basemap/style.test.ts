import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PbfReader } from 'pbf';
import { loadCity } from '../../../../city/city';
import { basemapFromCity } from './types';
import { BASEMAP_SOURCES, buildOfflineStyle, chooseMapStyle, DISTRICT_LABEL_LAYER, STREET_LABEL_LAYERS } from './style';
import { glyphRangesFor, glyphsUrl, LABEL_FONT } from './glyphs';

const BASE = 'http://127.0.0.1:3000/';
const FONTS = path.resolve(import.meta.dirname, '../../public/fonts');

/** Glyph ids and sizes of one committed PBF, read as MapLibre's parse_glyph_pbf reads them. */
function readGlyphs(file: string): { name: string; range: string; glyphs: Map<number, { width: number; height: number; bitmap: number; advance: number }> } {
  const out = { name: '', range: '', glyphs: new Map<number, { width: number; height: number; bitmap: number; advance: number }>() };
  new PbfReader(fs.readFileSync(file)).readFields((tag, _o, pbf) => {
    if (tag !== 1) return;
    pbf.readMessage((t, _x, p) => {
      if (t === 1) out.name = p.readString();
      else if (t === 2) out.range = p.readString();
      else if (t === 3) {
        const g = { id: 0, width: 0, height: 0, bitmap: 0, advance: 0 };
        p.readMessage((f, _g, q) => {
          if (f === 1) g.id = q.readVarint();
          else if (f === 2) g.bitmap = q.readBytes().length;
          else if (f === 3) g.width = q.readVarint();
          else if (f === 4) g.height = q.readVarint();
          else if (f === 5) q.readSVarint();
          else if (f === 6) q.readSVarint();
          else if (f === 7) g.advance = q.readVarint();
        }, g);
        out.glyphs.set(g.id, g);
      }
    }, null);
  }, null);
  return out;
}

describe('map style choice (GET /api/config mapStyleUrl)', () => {
  const basemap = basemapFromCity(loadCity());
  it('uses MAP_STYLE_URL when the API serves one', () => {
    expect(chooseMapStyle({ mapStyleUrl: 'https://tiles.example.mx/style.json' }, true, basemap, BASE)).toBe('https://tiles.example.mx/style.json');
  });
  it('builds the offline style from the city when none is set (or it is blank, or /api/config failed); it fetches only from the console', () => {
    for (const cfg of [{}, { mapStyleUrl: '' }, { mapStyleUrl: '  ' }, undefined]) {
      const s = chooseMapStyle(cfg, true, basemap, BASE);
      expect(typeof s).toBe('object');
      const spec = s as Exclude<typeof s, string | null>;
      expect(Object.keys(spec.sources)).toEqual(expect.arrayContaining([BASEMAP_SOURCES.streets]));
      expect(spec.glyphs).toBe('http://127.0.0.1:3000/fonts/{fontstack}/{range}.pbf');
      // offline: every URL in the style is the console's own origin (no tiles, glyph server or CDN)
      expect(JSON.stringify(spec).match(/https?:\/\/[^/"]+/g)).toEqual(['http://127.0.0.1:3000']);
    }
  });
  it('street names are symbol labels along the lines at street zoom, in the bundled font', () => {
    const spec = chooseMapStyle({}, true, basemap, BASE) as Exclude<ReturnType<typeof chooseMapStyle>, string | null>;
    for (const id of STREET_LABEL_LAYERS) {
      const l = spec.layers.find((x) => x.id === id) as { type: string; source: string; minzoom: number; layout: Record<string, unknown> } | undefined;
      expect(l, id).toBeDefined();
      expect(l!.type).toBe('symbol');
      expect(l!.source).toBe(BASEMAP_SOURCES.streets);
      expect(l!.minzoom).toBeGreaterThanOrEqual(13);
      expect(l!.layout['symbol-placement']).toBe('line');
      expect(l!.layout['text-field']).toEqual(['get', 'name']);
      expect(l!.layout['text-font']).toEqual(LABEL_FONT);
    }
  });
  it('district names are a collision-aware symbol layer; without a base URL (the map benchmark) nothing is fetched and nothing is a label', () => {
    const spec = buildOfflineStyle(basemap, BASE);
    const d = spec.layers.find((l) => l.id === DISTRICT_LABEL_LAYER) as { type: string; source: string } | undefined;
    expect(d?.type).toBe('symbol');
    expect((spec.sources[d!.source] as { data: { features: unknown[] } }).data.features).toHaveLength(basemap.districts.features.length);
    const bare = buildOfflineStyle(basemap);
    expect(bare.glyphs).toBeUndefined();
    expect(bare.layers.filter((l) => l.type === 'symbol')).toEqual([]);
  });
  it('glyphs URL keeps the page path (a console served under a prefix)', () => {
    expect(glyphsUrl('https://ciudad.example.mx/ops/index.html')).toBe('https://ciudad.example.mx/ops/fonts/{fontstack}/{range}.pbf');
  });
  it('waits (null) until both the config and the basemap are known', () => {
    expect(chooseMapStyle(undefined, false, basemap, BASE)).toBeNull();
    expect(chooseMapStyle({ mapStyleUrl: 'https://x/style.json' }, true, undefined, BASE)).toBeNull();
  });
});

describe('bundled glyphs (public/fonts, build/glyphs.ts)', () => {
  const city = loadCity();
  const names = [...city.streets.features.map((f) => f.properties.name), ...city.districts.features.map((f) => f.properties.name), ...city.entrances.map((e) => e.road)].join('');
  it("every character of the demo city's street, district and entrance names has a glyph, and Spanish's letters are there", () => {
    const ranges = glyphRangesFor(names);
    expect(ranges.map(([a, b]) => `${a}-${b}`)).toEqual(expect.arrayContaining(['0-255', '256-511']));
    const have = new Map<number, { width: number; bitmap: number; advance: number }>();
    for (const [a, b] of ranges) {
      const file = path.join(FONTS, LABEL_FONT[0]!, `${a}-${b}.pbf`);
      expect(fs.existsSync(file), file).toBe(true);
      const r = readGlyphs(file);
      expect(r.name).toBe(LABEL_FONT[0]);
      expect(r.range).toBe(`${a}-${b}`);
      for (const [id, g] of r.glyphs) have.set(id, g);
    }
    for (const ch of `${names}ñÑáéíóúüÁÉÍÓÚÜ¿¡º`) {
      const g = have.get(ch.codePointAt(0)!);
      expect(g, `glyph for ${JSON.stringify(ch)}`).toBeDefined();
      expect(g!.advance, ch).toBeGreaterThan(0);
      if (ch !== ' ') expect(g!.bitmap, ch).toBe((g!.width + 6) * ((g as unknown as { height: number }).height + 6)); // SDF with MapLibre's 3 px border
    }
  });
  it("the font's licence ships beside the glyphs", () => {
    expect(fs.readFileSync(path.join(FONTS, 'LICENSE-DejaVu.txt'), 'utf8')).toMatch(/Bitstream Vera/);
  });
});
