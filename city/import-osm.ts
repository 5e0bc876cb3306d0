/**
 * Importer for a real OpenStreetMap GeoJSON export (overpass-turbo "Export → GeoJSON",
 * osmtogeojson, or ogr2ogr of an .osm.pbf): `highway=*` LineStrings become street segments,
 * split at intersections; `natural=water|coastline-polygons`, `place=sea` polygons become water;
 * `boundary=administrative` / `place=suburb|neighbourhood` polygons become districts.
 * Depots and truck routes are then built on the imported network.
 *
 *   npm run devices -- import-osm export.geojson --out data/city.json --name "Coatzacoalcos" \
 *       [--depot 18.126,-94.478 ...] [--routes 40]
 */
import fs from 'node:fs';
import { STREET_CLASSES, saveCity, type City, type Depot, type DistrictFeature, type Position, type Route, type StreetClass, type StreetFeature, type WaterFeature } from './city';
import { pointInPolygonGeometry } from '../contract/geo';
import { seededRng } from '../lib/rng';
import { buildRoute, StreetGraph } from './street-graph';
import { CITY_TZ } from '../norms/local-time';

const HIGHWAY_CLASS: Record<string, StreetClass> = {
  motorway: 'primary',
  trunk: 'primary',
  primary: 'primary',
  motorway_link: 'primary',
  trunk_link: 'primary',
  primary_link: 'primary',
  secondary: 'secondary',
  tertiary: 'secondary',
  secondary_link: 'secondary',
  tertiary_link: 'secondary',
  residential: 'residential',
  unclassified: 'residential',
  living_street: 'residential',
  service: 'residential',
  road: 'residential',
};

interface GeoFeature {
  type: 'Feature';
  id?: string | number;
  geometry: { type: string; coordinates: unknown } | null;
  properties: Record<string, unknown> | null;
}

export interface ImportOptions {
  name: string;
  timezone?: string;
  /** depots as [lat, lon]; default: one depot at the node nearest the network's centre */
  depots?: [number, number][];
  routes?: number;
  /** include `service` roads (driveways, parking aisles); default false */
  includeService?: boolean;
  seed?: number;
}

export interface ImportReport {
  city: City;
  ways: number;
  skipped: Record<string, number>;
}

const key = (p: Position) => `${p[0].toFixed(7)},${p[1].toFixed(7)}`;

/** Convert a parsed GeoJSON FeatureCollection to a City. Throws (code E_OSM_IMPORT) when there are no streets. */
export function importOsmGeoJson(fc: { type?: string; features?: GeoFeature[] }, opts: ImportOptions): ImportReport {
  if (fc?.type !== 'FeatureCollection' || !Array.isArray(fc.features)) throw Object.assign(new Error('not a GeoJSON FeatureCollection'), { code: 'E_OSM_IMPORT' });
  const skipped: Record<string, number> = {};
  const skip = (why: string) => (skipped[why] = (skipped[why] ?? 0) + 1);
  const ways: { id: string; name: string; cls: StreetClass; coords: Position[]; oneway: boolean }[] = [];
  const districts: DistrictFeature[] = [];
  const water: WaterFeature[] = [];
  for (const f of fc.features) {
    const p = f.properties ?? {};
    const g = f.geometry;
    if (!g) {
      skip('no geometry');
      continue;
    }
    const osmId = String((p['@id'] ?? p.id ?? f.id ?? `${ways.length}`) as string | number);
    if (typeof p.highway === 'string') {
      const cls = HIGHWAY_CLASS[p.highway];
      if (!cls || (p.highway === 'service' && !opts.includeService)) {
        skip(`highway=${p.highway}`);
        continue;
      }
      const lines: Position[][] = g.type === 'LineString' ? [g.coordinates as Position[]] : g.type === 'MultiLineString' ? (g.coordinates as Position[][]) : [];
      if (!lines.length) {
        skip(`highway geometry ${g.type}`);
        continue;
      }
      const name = typeof p.name === 'string' && p.name ? p.name : typeof p.ref === 'string' && p.ref ? p.ref : 'Calle sin nombre';
      for (const c of lines) if (c.length >= 2) ways.push({ id: osmId, name, cls, coords: c.map((q) => [q[0], q[1]] as Position), oneway: p.oneway === 'yes' });
      continue;
    }
    if (g.type === 'Polygon' || g.type === 'MultiPolygon') {
      const geom = g as DistrictFeature['geometry'];
      if (p.natural === 'water' || p.place === 'sea' || p.natural === 'bay' || p.waterway === 'riverbank') {
        water.push({
          type: 'Feature',
          geometry: geom,
          properties: { name: String((p.name as string | undefined) ?? 'agua'), kind: p.place === 'sea' || p.natural === 'bay' ? 'sea' : p.water === 'lake' ? 'lake' : 'river' },
        });
      } else if ((p.boundary === 'administrative' && Number(p.admin_level) >= 9) || p.place === 'suburb' || p.place === 'neighbourhood' || p.place === 'quarter') {
        districts.push({ type: 'Feature', geometry: geom, properties: { id: osmId, name: String((p.name as string | undefined) ?? osmId) } });
      } else skip('other polygon');
      continue;
    }
    skip(`other ${g.type}`);
  }
  if (!ways.length) throw Object.assign(new Error('no highway LineStrings in the export'), { code: 'E_OSM_IMPORT' });

  // split ways at shared nodes (intersections)
  const uses = new Map<string, number>();
  for (const w of ways) w.coords.forEach((c, i) => uses.set(key(c), (uses.get(key(c)) ?? 0) + (i === 0 || i === w.coords.length - 1 ? 2 : 1)));
  const districtOf = (p: Position) => districts.find((d) => pointInPolygonGeometry(p, d.geometry as never))?.properties.name ?? 'Sin distrito';
  const streets: StreetFeature[] = [];
  const counts = new Map<string, number>();
  for (const w of ways) {
    let start = 0;
    for (let i = 1; i < w.coords.length; i++) {
      if (i === w.coords.length - 1 || (uses.get(key(w.coords[i]!)) ?? 0) > 1) {
        const part = w.coords.slice(start, i + 1);
        const n = (counts.get(w.id) ?? 0) + 1;
        counts.set(w.id, n);
        const mid = part[Math.floor(part.length / 2)]!;
        streets.push({
          type: 'Feature',
          geometry: { type: 'LineString', coordinates: part },
          properties: { segmentId: `osm-${w.id.replace(/[^A-Za-z0-9]/g, '')}-${n}`, name: w.name, class: w.cls, district: districtOf(mid), osmId: w.id, ...(w.oneway ? { oneway: true } : {}) },
        });
        start = i;
      }
    }
  }

  // bbox, centre, depots, routes
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of streets) {
    for (const [x, y] of f.geometry.coordinates) {
      w = Math.min(w, x);
      e = Math.max(e, x);
      s = Math.min(s, y);
      n = Math.max(n, y);
    }
  }
  const center: Position = [(w + e) / 2, (s + n) / 2];
  const g = new StreetGraph(streets);
  // keep the largest connected part for routing
  const depotsLL = opts.depots?.length ? opts.depots : [[center[1], center[0]] as [number, number]];
  const depots: Depot[] = depotsLL.map(([lat, lon], i) => {
    const node = g.nearestNode([lon, lat]);
    const p = g.nodes.get(node)!;
    return { id: `depot-${i + 1}`, name: `Depot ${i + 1}`, lat: p[1], lon: p[0], district: districtOf(p), unload: true };
  });
  const routes: Route[] = [];
  const rng = seededRng(opts.seed ?? 1);
  const visited = new Set<string>();
  const nRoutes = opts.routes ?? 0;
  for (let i = 0; i < nRoutes; i++) {
    const depot = depots[i % depots.length]!;
    const depotNode = g.nearestNode([depot.lon, depot.lat]);
    const comp = [...g.component(depotNode)];
    const startNode = comp[Math.floor(rng() * comp.length)]!;
    const start = g.nodes.get(startNode)!;
    const r = buildRoute(
      g,
      { id: `route-${String(i + 1).padStart(2, '0')}`, depotId: depot.id, depotNode, district: districtOf(start), startNode, collectSegments: 30, shiftStart: 6, shiftHours: 7 },
      rng,
      visited,
    );
    if (r) routes.push(r);
  }
  const city: City = {
    type: 'City',
    version: 1,
    name: opts.name,
    timezone: opts.timezone ?? CITY_TZ,
    generated: false,
    note: 'Imported from an OpenStreetMap GeoJSON export (© OpenStreetMap contributors, ODbL).',
    center,
    bbox: [w, s, e, n],
    streets: { type: 'FeatureCollection', features: streets },
    districts: { type: 'FeatureCollection', features: districts },
    water: { type: 'FeatureCollection', features: water },
    depots,
    routes,
    entrances: [],
  };
  return { city, ways: ways.length, skipped };
}

export function importOsmFile(input: string, out: string, opts: ImportOptions): ImportReport {
  const fc = JSON.parse(fs.readFileSync(input, 'utf8')) as Parameters<typeof importOsmGeoJson>[0];
  const report = importOsmGeoJson(fc, opts);
  saveCity(out, report.city);
  return report;
}

export { STREET_CLASSES };
