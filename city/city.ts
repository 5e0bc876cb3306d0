/**
 * The city's map data: street network (GeoJSON LineStrings with segment ids, names, classes,
 * districts), district polygons, water, depots and the garbage trucks' daily routes.
 *
 * One JSON file per city (`demo/demo-city/city.json` for the demo, or the output of
 * `npm run devices -- import-osm`). `loadCity(file?)` validates it with TypeBox; every problem
 * names the file and the feature.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { schemaProblems } from '../contract';
import { CITY_TZ } from '../norms/local-time';

export const STREET_CLASSES = ['primary', 'secondary', 'residential'] as const;
export type StreetClass = (typeof STREET_CLASSES)[number];

const Position = Type.Tuple([Type.Number({ minimum: -180, maximum: 180 }), Type.Number({ minimum: -90, maximum: 90 })]);
export type Position = [number, number];

export const StreetProps = Type.Object(
  {
    segmentId: Type.String({ minLength: 1, maxLength: 80 }),
    name: Type.String({ minLength: 1, maxLength: 120 }),
    class: Type.Enum(STREET_CLASSES),
    district: Type.String({ minLength: 1 }),
    /** node ids at each end (graph building); optional, the geometry's ends are used otherwise */
    from: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    oneway: Type.Optional(Type.Boolean()),
    /** OpenStreetMap way id, for imported streets */
    osmId: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type StreetProps = Static<typeof StreetProps>;

export const StreetFeature = Type.Object({
  type: Type.Literal('Feature'),
  geometry: Type.Object({ type: Type.Literal('LineString'), coordinates: Type.Array(Position, { minItems: 2 }) }),
  properties: StreetProps,
});
export type StreetFeature = Static<typeof StreetFeature>;

const PolygonGeometry = Type.Union([
  Type.Object({ type: Type.Literal('Polygon'), coordinates: Type.Array(Type.Array(Position, { minItems: 4 })) }),
  Type.Object({ type: Type.Literal('MultiPolygon'), coordinates: Type.Array(Type.Array(Type.Array(Position, { minItems: 4 }))) }),
]);

export const DistrictFeature = Type.Object({
  type: Type.Literal('Feature'),
  geometry: PolygonGeometry,
  properties: Type.Object({ id: Type.String(), name: Type.String({ minLength: 1 }) }, { additionalProperties: true }),
});
export type DistrictFeature = Static<typeof DistrictFeature>;

export const WaterFeature = Type.Object({
  type: Type.Literal('Feature'),
  geometry: PolygonGeometry,
  properties: Type.Object({ name: Type.String(), kind: Type.Union([Type.Literal('sea'), Type.Literal('river'), Type.Literal('lake')]) }, { additionalProperties: true }),
});
export type WaterFeature = Static<typeof WaterFeature>;

/** A GeoJSON FeatureCollection; `generated` + `note` say when the data is synthetic. */
const Collection = <T extends ReturnType<typeof Type.Object>>(feature: T) =>
  Type.Object(
    {
      type: Type.Literal('FeatureCollection'),
      generated: Type.Optional(Type.Boolean()),
      note: Type.Optional(Type.String()),
      features: Type.Array(feature),
    },
    { additionalProperties: true },
  );

export const Depot = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    name: Type.String({ minLength: 1 }),
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    district: Type.String(),
    /** trucks unload here at the end of each trip (transfer station at the depot) */
    unload: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type Depot = Static<typeof Depot>;

export const Route = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    depotId: Type.String({ minLength: 1 }),
    district: Type.String(),
    /** ordered, contiguous street segments: depot → collection area → depot */
    segments: Type.Array(Type.String(), { minItems: 1 }),
    /** the collection part is segments[collectFrom .. collectTo] (inclusive); the rest is transit */
    collectFrom: Type.Integer({ minimum: 0 }),
    collectTo: Type.Integer({ minimum: 0 }),
    /** shift start, local hour (trucks do back-to-back trips for `shiftHours`) */
    shiftStart: Type.Integer({ minimum: 0, maximum: 23 }),
    shiftHours: Type.Integer({ minimum: 1, maximum: 24 }),
    lengthM: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);
export type Route = Static<typeof Route>;

/** A road into / out of the city (plate cameras stand here). */
export const Entrance = Type.Object(
  {
    id: Type.String(),
    road: Type.String(),
    lat: Type.Number(),
    lon: Type.Number(),
    segmentId: Type.String(),
    lanes: Type.Integer({ minimum: 1, maximum: 12 }),
    district: Type.String(),
  },
  { additionalProperties: false },
);
export type Entrance = Static<typeof Entrance>;

export const City = Type.Object(
  {
    type: Type.Literal('City'),
    version: Type.Literal(1),
    name: Type.String({ minLength: 1 }),
    timezone: Type.String({ default: CITY_TZ }),
    generated: Type.Boolean(),
    note: Type.String(),
    center: Position,
    bbox: Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number()]),
    streets: Collection(StreetFeature),
    districts: Collection(DistrictFeature),
    water: Collection(WaterFeature),
    depots: Type.Array(Depot),
    routes: Type.Array(Route),
    entrances: Type.Array(Entrance, { default: [] }),
  },
  { additionalProperties: false, $id: 'City' },
);
export type City = Static<typeof City>;

const check = Compile(City);

export class CityError extends Error {
  code = 'E_CITY_INVALID';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

export const DEMO_CITY_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'demo', 'demo-city', 'city.json');

/** Problems with a parsed city: schema errors and dangling references (route → segment, route → depot). */
export function cityProblems(data: unknown, file = '<city>'): string[] {
  const problems: string[] = [];
  for (const e of schemaProblems(check, data)) {
    problems.push(`${file}: ${e.path || '(root)'}: ${e.message}`);
    if (problems.length >= 20) return problems;
  }
  if (problems.length) return problems;
  const city = data as City;
  const ids = new Set<string>();
  for (const f of city.streets.features) {
    if (ids.has(f.properties.segmentId)) problems.push(`${file}: street ${f.properties.segmentId}: duplicate segmentId`);
    ids.add(f.properties.segmentId);
  }
  const depots = new Set(city.depots.map((d) => d.id));
  for (const r of city.routes) {
    if (!depots.has(r.depotId)) problems.push(`${file}: route ${r.id}: field depotId: unknown depot ${r.depotId}`);
    const missing = r.segments.filter((s) => !ids.has(s));
    if (missing.length) problems.push(`${file}: route ${r.id}: field segments: unknown segment(s) ${missing.slice(0, 5).join(', ')}`);
    if (r.collectTo < r.collectFrom || r.collectTo >= r.segments.length) problems.push(`${file}: route ${r.id}: field collectTo: out of range`);
  }
  return problems;
}

export function parseCity(text: string, file = '<city>'): City {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CityError(`${file}: not valid JSON: ${(err as Error).message}`, [(err as Error).message]);
  }
  const problems = cityProblems(data, file);
  if (problems.length) throw new CityError(`${file}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, problems);
  return data as City;
}

/** Load and validate a city file (default: the bundled demo city). */
export function loadCity(file: string = DEMO_CITY_FILE): City {
  return parseCity(fs.readFileSync(file, 'utf8'), file);
}

/** The city file a registry points to (`cityFile`, relative to the registry), else the demo city. */
export function cityFileFor(registryFile: string, cityFile?: string): string {
  return cityFile ? path.resolve(path.dirname(registryFile), cityFile) : DEMO_CITY_FILE;
}

export function saveCity(file: string, city: City): void {
  const problems = cityProblems(city, file);
  if (problems.length) throw new CityError(`refusing to save an invalid city:\n  ${problems.join('\n  ')}`, problems);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(city) + '\n');
  fs.renameSync(tmp, file);
}

/** Index of segments by id. */
export function segmentIndex(city: City): Map<string, StreetFeature> {
  return new Map(city.streets.features.map((f) => [f.properties.segmentId, f]));
}
