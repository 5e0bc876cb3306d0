/**
 * Generator of the demo city: a Coatzacoalcos-like street network near 18.13 N, -94.45 W.
 *
 * GENERATED DATA, NOT A SURVEY: a jittered street grid with plausible Spanish street names,
 * six districts, the Gulf of Mexico to the north, the Coatzacoalcos river to the east, four
 * roads into the city (west, south-west, south, the bridge to the east), two depots and about
 * 40 garbage-truck routes. Deterministic: the same seed gives the same city.
 *
 *   npx tsx demo/demo-city/generate.ts [out.json]   (writes demo-city/city.json)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { City, Depot, DistrictFeature, Entrance, Position, Route, StreetClass, StreetFeature, WaterFeature } from '../../city/city';
import { saveCity } from '../../city/city';
import { offsetM, pointInRing } from '../../contract/geo';
import { seededRng, type Rng } from '../../lib/rng';
import { buildRoute, StreetGraph } from '../../city/street-graph';
import { CITY_TZ } from '../../norms/local-time';

export const DEMO_SEED = 20261123;
export const DEMO_NOTE =
  'GENERATED demo street network (not surveyed, not OpenStreetMap): a jittered grid shaped like Coatzacoalcos, Veracruz. Import a real OpenStreetMap export with `npm run devices -- import-osm` for real streets.';

const ORIGIN: Position = [-94.505, 18.097]; // south-west corner of the grid
const COLS = 24; // nodes west → east
const ROWS = 17; // nodes south → north
const STEP = 320; // metres between nodes
const W = (COLS - 1) * STEP;
const H = (ROWS - 1) * STEP;

/** metres (x east, y north from ORIGIN) → [lon, lat] */
const P = (x: number, y: number): Position => {
  const p = offsetM(ORIGIN, x, y);
  return [round6(p[0]), round6(p[1])];
};
const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

/** Coastline y (metres) at x: rises toward the river mouth in the north-east. */
const coastY = (x: number) => H - 420 + 380 * (x / W) + 70 * Math.sin(x / 900);

const AVENUES_NS = [
  'Av. Universidad',
  'Calle Morelos',
  'Calle Zaragoza',
  'Calle Guerrero',
  'Av. Juan Osorio López',
  'Calle Lerdo de Tejada',
  'Calle Aldama',
  'Calle Matamoros',
  'Av. Hidalgo',
  'Calle Abasolo',
  'Calle Corregidora',
  'Calle Galeana',
  'Av. Ignacio Allende',
  'Calle Nicolás Bravo',
  'Calle Carranza',
  'Calle Madero',
  'Av. Juárez',
  'Calle Pino Suárez',
  'Calle Altamirano',
  'Calle Iturbide',
  'Av. Independencia',
  'Calle Ocampo',
  'Calle Malpica',
  'Av. Quevedo',
];
const AVENUES_EW = [
  'Av. Transístmica',
  'Calle Cuauhtémoc',
  'Calle Moctezuma',
  'Calle Netzahualcóyotl',
  'Av. Román Marín',
  'Calle 5 de Mayo',
  'Calle 16 de Septiembre',
  'Calle 20 de Noviembre',
  'Av. Las Palmas',
  'Calle Framboyanes',
  'Calle Tulipanes',
  'Calle Gardenias',
  'Av. Revolución',
  'Calle Jazmines',
  'Calle Bugambilias',
  'Calle Tabachines',
  'Av. Malecón Costero',
];

const DISTRICTS = [
  // [id, name, col range, row range] on the node grid (row 0 = south)
  ['lomas', 'Lomas de Barrillas', [0, 8], [0, 8]],
  ['santa-isabel', 'Santa Isabel', [8, 16], [0, 8]],
  ['petrolera', 'Petrolera', [16, 23], [0, 8]],
  ['puerto-esmeralda', 'Puerto Esmeralda', [0, 8], [8, 16]],
  ['maria-piedad', 'María de la Piedad', [8, 16], [8, 16]],
  ['centro', 'Centro', [16, 23], [8, 16]],
] as const;

const districtAtXY = (x: number, y: number): string => {
  const c = x / STEP;
  const r = y / STEP;
  const d = DISTRICTS.find(([, , [c0, c1], [r0, r1]]) => c >= c0 && c <= c1 && r >= r0 && r <= r1) ?? DISTRICTS[0];
  return d[1];
};

const classOf = (i: number, last: number): StreetClass => (i % 6 === 0 || i === last ? 'primary' : i % 3 === 0 ? 'secondary' : 'residential');

/** The entrance roads: where they leave the grid and which way they go (metres). */
const ROADS = [
  { id: 'entrada-oeste', road: 'Carretera Costera del Golfo (Fed. 180)', col: 0, row: 6, dx: -1, dy: -0.15, lanes: 2 },
  { id: 'entrada-suroeste', road: 'Autopista La Tinaja–Cosoleacaque (145D)', col: 3, row: 0, dx: -0.5, dy: -1, lanes: 2 },
  { id: 'entrada-sur', road: 'Av. Universidad a Minatitlán', col: 12, row: 0, dx: 0.1, dy: -1, lanes: 3 },
  { id: 'entrada-este', road: 'Puente Coatzacoalcos I', col: 23, row: 9, dx: 1, dy: 0.05, lanes: 2 },
] as const;

export function generateDemoCity(seed = DEMO_SEED): City {
  const rng = seededRng(seed);
  const jitter = (r: Rng) => (r() - 0.5) * 60;
  // nodes (skip those in the sea)
  const node: (Position | null)[][] = [];
  const nodeXY: ([number, number] | null)[][] = [];
  for (let c = 0; c < COLS; c++) {
    node.push([]);
    nodeXY.push([]);
    for (let r = 0; r < ROWS; r++) {
      const x = c * STEP + (c === 0 || c === COLS - 1 ? 0 : jitter(rng));
      let y = r * STEP + (r === 0 ? 0 : jitter(rng));
      const coast = coastY(x) - 90;
      if (y > coast) {
        if (r * STEP - STEP * 0.55 > coast) {
          node[c]!.push(null);
          nodeXY[c]!.push(null);
          continue;
        }
        y = coast; // the last row bends along the shore (malecón)
      }
      nodeXY[c]!.push([x, y]);
      node[c]!.push(P(x, y));
    }
  }
  const features: StreetFeature[] = [];
  let n = 0;
  const seg = (a: Position, b: Position, name: string, cls: StreetClass, district: string, mid?: Position): StreetFeature => ({
    type: 'Feature',
    geometry: { type: 'LineString', coordinates: mid ? [a, mid, b] : [a, b] },
    properties: { segmentId: `s${String(++n).padStart(4, '0')}`, name, class: cls, district },
  });
  // east–west streets (rows)
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c + 1 < COLS; c++) {
      const a = node[c]![r],
        b = node[c + 1]![r];
      if (!a || !b) continue;
      const [xa, ya] = nodeXY[c]![r]!;
      const [xb, yb] = nodeXY[c + 1]![r]!;
      const top = r === ROWS - 1 || !node[c]![r + 1] || !node[c + 1]![r + 1];
      const name = top && r >= ROWS - 4 ? 'Av. Malecón Costero' : AVENUES_EW[r % AVENUES_EW.length]!;
      const cls = top && r >= ROWS - 4 ? 'primary' : classOf(r, -1);
      features.push(seg(a, b, name, cls, districtAtXY((xa + xb) / 2, (ya + yb) / 2)));
    }
  }
  // north–south streets (columns)
  for (let c = 0; c < COLS; c++) {
    for (let r = 0; r + 1 < ROWS; r++) {
      const a = node[c]![r],
        b = node[c]![r + 1];
      if (!a || !b) continue;
      const [xa, ya] = nodeXY[c]![r]!;
      const [xb, yb] = nodeXY[c]![r + 1]!;
      features.push(seg(a, b, AVENUES_NS[c % AVENUES_NS.length]!, classOf(c, COLS - 1), districtAtXY((xa + xb) / 2, (ya + yb) / 2)));
    }
  }
  // entrance roads: three segments of ~600 m leaving the grid
  const entrances: Entrance[] = [];
  for (const road of ROADS) {
    let [x, y] = nodeXY[road.col]![road.row]!;
    let prev = node[road.col]![road.row]!;
    const district = districtAtXY(x, y);
    const norm = Math.hypot(road.dx, road.dy);
    for (let k = 0; k < 3; k++) {
      x += (road.dx / norm) * 650;
      y += (road.dy / norm) * 650;
      const next = P(x, y);
      const f = seg(prev, next, road.road, 'primary', district);
      features.push(f);
      if (k === 0) {
        const mid: Position = [round6((prev[0] + next[0]) / 2), round6((prev[1] + next[1]) / 2)];
        entrances.push({ id: road.id, road: road.road, lat: mid[1], lon: mid[0], segmentId: f.properties.segmentId, lanes: road.lanes, district });
      }
      prev = next;
    }
  }

  // districts: rectangles on the grid, clipped to the shore line
  const districts: DistrictFeature[] = DISTRICTS.map(([id, name, [c0, c1], [r0, r1]]) => {
    const x0 = c0 * STEP - (c0 === 0 ? 150 : 0),
      x1 = c1 * STEP + (c1 === COLS - 1 ? 150 : 0);
    const y0 = r0 * STEP - (r0 === 0 ? 150 : 0);
    const ring: Position[] = [P(x0, y0), P(x1, y0)];
    const yTop = (x: number) => Math.min(r1 * STEP + (r1 === ROWS - 1 ? 150 : 0), coastY(x) + 40);
    for (let k = 0; k <= 8; k++) {
      const x = x1 - ((x1 - x0) * k) / 8;
      ring.push(P(x, yTop(x)));
    }
    ring.push(P(x0, y0));
    return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { id, name } };
  });

  // water: the Gulf to the north (coast to ~6 km offshore), the river to the east
  const coast: Position[] = [];
  for (let k = 0; k <= 30; k++) {
    const x = -2500 + ((W + 5000) * k) / 30;
    coast.push(P(x, coastY(x) + 40));
  }
  const sea: Position[] = [...coast, P(W + 2500, H + 6000), P(-2500, H + 6000), coast[0]!];
  const riverX = W + 250;
  const river: Position[] = [P(riverX, -3000), P(riverX + 500, -3000), P(riverX + 650, coastY(W) + 200), P(riverX - 20, coastY(W) + 200), P(riverX, -3000)];
  const water: WaterFeature[] = [
    { type: 'Feature', geometry: { type: 'Polygon', coordinates: [sea] }, properties: { name: 'Golfo de México', kind: 'sea' } },
    { type: 'Feature', geometry: { type: 'Polygon', coordinates: [river] }, properties: { name: 'Río Coatzacoalcos', kind: 'river' } },
  ];

  // depots at grid nodes
  const depotSpec = [
    { id: 'depot-norte', name: 'Base de Limpia Pública Norte', col: 9, row: 10 },
    { id: 'depot-sur', name: 'Base de Limpia Pública Sur y Estación de Transferencia', col: 14, row: 2 },
  ];
  const depots: Depot[] = depotSpec.map((d) => {
    const [x, y] = nodeXY[d.col]![d.row]!;
    const p = node[d.col]![d.row]!;
    return { id: d.id, name: d.name, lat: p[1], lon: p[0], district: districtAtXY(x, y), unload: true };
  });

  const streets = { type: 'FeatureCollection' as const, generated: true, note: DEMO_NOTE, features };
  const g = new StreetGraph(features);

  // 40 routes: about 7 per district, three shifts (night crews only in the centre)
  const routes: Route[] = [];
  const visited = new Set<string>();
  const rr = seededRng(seed + 1);
  let i = 0;
  const perDistrict = [7, 7, 6, 7, 7, 6];
  DISTRICTS.forEach(([, name, [c0, c1], [r0, r1]], di) => {
    for (let k = 0; k < perDistrict[di]!; k++) {
      i++;
      const id = `route-${String(i).padStart(2, '0')}`;
      const depot = r0 >= 8 ? depots[0]! : depots[1]!;
      const depotNode = g.nearestNode([depot.lon, depot.lat]);
      // a start inside the district, spread over it
      let start = '';
      for (let tries = 0; tries < 50 && !start; tries++) {
        const c = Math.floor(c0 + rr() * (c1 - c0));
        const r = Math.floor(r0 + rr() * (r1 - r0));
        const p = node[c]?.[r];
        if (p) start = g.nearestNode(p);
      }
      if (!start) continue;
      const shift = name === 'Centro' && k < 4 ? 22 : k % 3 === 2 ? 14 : 6;
      const shiftStart = shift + (k % 2);
      const route = buildRoute(
        g,
        { id, depotId: depot.id, depotNode, district: name, startNode: start, collectSegments: 26 + Math.floor(rr() * 14), shiftStart: shiftStart % 24, shiftHours: 7 },
        rr,
        visited,
      );
      if (route) routes.push(route);
    }
  });

  const [w, s] = P(-2500, -3000);
  const [e, nth] = P(W + 2500, H + 2000);
  return {
    type: 'City',
    version: 1,
    name: 'Coatzacoalcos (demo, generated)',
    timezone: CITY_TZ,
    generated: true,
    note: DEMO_NOTE,
    center: P(W / 2, H / 2),
    bbox: [w, s, e, nth],
    streets,
    districts: { type: 'FeatureCollection', generated: true, note: DEMO_NOTE, features: districts },
    water: { type: 'FeatureCollection', generated: true, note: DEMO_NOTE, features: water },
    depots,
    routes,
    entrances,
  };
}

/** Is a position on land (not in the generated sea or river)? */
export function onLand(city: City, p: Position): boolean {
  return !city.water.features.some((f) => f.geometry.type === 'Polygon' && pointInRing(p, f.geometry.coordinates[0] as Position[]));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'city.json');
  const city = generateDemoCity();
  saveCity(out, city);
  console.log(`wrote ${out}: ${city.streets.features.length} street segments, ${city.routes.length} routes, ${city.depots.length} depots, ${city.entrances.length} entrances`);
}
