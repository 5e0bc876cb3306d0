/**
 * The offline basemap: the parts of a city file (city/city.ts) the console draws.
 * Built at `vite build` time from the demo city (build/offline-assets.ts) and served as
 * `basemap.json` beside index.html; no tile, glyph or sprite server is needed.
 */
import type { City } from '../../../../city/city';

export type Basemap = Pick<City, 'name' | 'center' | 'bbox' | 'streets' | 'districts' | 'water' | 'depots' | 'routes' | 'entrances'> & {
  /** true when this is the tiny built-in placeholder, not a real city file */
  placeholder?: boolean;
};

/** Keep only what the console draws; round coordinates to 5 decimals (~1 m). */
export function basemapFromCity(city: City): Basemap {
  const r = (n: number) => Math.round(n * 1e5) / 1e5;
  const pos = (p: number[]) => [r(p[0]!), r(p[1]!)] as [number, number];
  const ring = (rg: number[][]) => rg.map(pos);
  const poly = (g: City['districts']['features'][number]['geometry']) =>
    g.type === 'Polygon' ? { type: 'Polygon' as const, coordinates: g.coordinates.map(ring) } : { type: 'MultiPolygon' as const, coordinates: g.coordinates.map((p) => p.map(ring)) };
  return {
    name: city.name,
    center: city.center,
    bbox: city.bbox,
    streets: {
      type: 'FeatureCollection',
      features: city.streets.features.map((f) => ({
        type: 'Feature',
        geometry: { type: 'LineString', coordinates: f.geometry.coordinates.map(pos) },
        properties: { segmentId: f.properties.segmentId, name: f.properties.name, class: f.properties.class, district: f.properties.district },
      })),
    },
    districts: {
      type: 'FeatureCollection',
      features: city.districts.features.map((f) => ({ type: 'Feature', geometry: poly(f.geometry), properties: { id: f.properties.id, name: f.properties.name } })),
    },
    water: { type: 'FeatureCollection', features: city.water.features.map((f) => ({ type: 'Feature', geometry: poly(f.geometry), properties: { name: f.properties.name, kind: f.properties.kind } })) },
    depots: city.depots,
    routes: city.routes,
    entrances: city.entrances,
  };
}
