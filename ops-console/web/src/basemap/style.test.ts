import { describe, expect, it } from 'vitest';
import { loadCity } from '../../../../firmware-config/city';
import { basemapFromCity } from './types';
import { BASEMAP_SOURCES, chooseMapStyle } from './style';

describe('map style choice (GET /api/config mapStyleUrl)', () => {
  const basemap = basemapFromCity(loadCity());
  it('uses MAP_STYLE_URL when the API serves one', () => {
    expect(chooseMapStyle({ mapStyleUrl: 'https://tiles.example.mx/style.json' }, true, basemap)).toBe('https://tiles.example.mx/style.json');
  });
  it('builds the offline style from the city when none is set (or it is blank, or /api/config failed)', () => {
    for (const cfg of [{}, { mapStyleUrl: '' }, { mapStyleUrl: '  ' }, undefined]) {
      const s = chooseMapStyle(cfg, true, basemap);
      expect(typeof s).toBe('object');
      const spec = s as Exclude<typeof s, string | null>;
      expect(Object.keys(spec.sources)).toEqual(expect.arrayContaining([BASEMAP_SOURCES.streets]));
      expect(JSON.stringify(spec)).not.toMatch(/https?:\/\//); // offline: no tiles, glyphs or CDN
    }
  });
  it('waits (null) until both the config and the basemap are known', () => {
    expect(chooseMapStyle(undefined, false, basemap)).toBeNull();
    expect(chooseMapStyle({ mapStyleUrl: 'https://x/style.json' }, true, undefined)).toBeNull();
  });
});
