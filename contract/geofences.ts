/**
 * Geofences: named areas of the city (depots, landfill, schools, markets, restricted zones)
 * drawn by an admin in the console, as a polygon or a circle. The console API stores them and
 * publishes the active set retained on `svc/geofences` (GeofenceSet); ingest's rules follow each
 * truck in and out of them and publish a GeofenceEvent (enter / exit / dwell) on
 * `svc/geofence/<deviceId>`, which the API stores as visits. Browser-safe (no Node APIs).
 *
 * Geometry: positions are [lon, lat] (WGS84). A polygon is one closed ring (first = last
 * vertex), GEOFENCE_LIMITS.minVertices..maxVertices distinct vertices; a circle is a centre and
 * a radius in metres. `signedDistanceM` is negative inside (metres to the border), positive
 * outside; the rules enter at ≤ −enterDepthM and exit at ≥ exitDistanceM (hysteresis at the border).
 */
import { Type, type Static } from 'typebox';
import { distanceM, pointInRing, pointSegmentDistanceM, offsetM } from './geo';

export const GEOFENCE_KINDS = ['depot', 'landfill', 'school', 'market', 'restricted', 'other'] as const;
export type GeofenceKind = (typeof GEOFENCE_KINDS)[number];

export const GEOFENCE_LIMITS = {
  /** distinct vertices of a polygon */
  minVertices: 3,
  maxVertices: 200,
  /** circle radius, metres */
  minRadiusM: 10,
  maxRadiusM: 5000,
  /** every vertex (and the circle) within the city's bbox plus this margin, metres */
  cityMarginM: 1000,
  /** dwell limit, minutes */
  maxDwellMin: 24 * 60,
  maxNameLength: 80,
  /** hysteresis at the border: a truck enters this deep inside, leaves this far outside (m) */
  enterDepthM: 5,
  exitDistanceM: 15,
} as const;

const LonLat = Type.Tuple([Type.Number({ minimum: -180, maximum: 180 }), Type.Number({ minimum: -90, maximum: 90 })], { description: '[lon, lat]' });
export const GeofencePolygon = Type.Object(
  { type: Type.Literal('polygon'), coordinates: Type.Array(LonLat, { minItems: 4, maxItems: GEOFENCE_LIMITS.maxVertices + 1, description: 'one closed ring: the first position repeated last' }) },
  { additionalProperties: false },
);
export const GeofenceCircle = Type.Object(
  { type: Type.Literal('circle'), center: LonLat, radiusM: Type.Number({ minimum: GEOFENCE_LIMITS.minRadiusM, maximum: GEOFENCE_LIMITS.maxRadiusM }) },
  { additionalProperties: false },
);
export const GeofenceGeometry = Type.Union([GeofencePolygon, GeofenceCircle]);
export type GeofenceGeometry = Static<typeof GeofenceGeometry>;

export const GEOFENCE_ID_PATTERN = '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$';

export const Geofence = Type.Object(
  {
    id: Type.String({ pattern: GEOFENCE_ID_PATTERN }),
    name: Type.String({ minLength: 1, maxLength: GEOFENCE_LIMITS.maxNameLength }),
    kind: Type.Enum(GEOFENCE_KINDS),
    geometry: GeofenceGeometry,
    /** a truck inside longer than this raises geofence_dwell (absent = no limit) */
    dwellLimitMin: Type.Optional(Type.Integer({ minimum: 1, maximum: GEOFENCE_LIMITS.maxDwellMin })),
    active: Type.Boolean(),
  },
  { $id: 'Geofence', additionalProperties: false },
);
export type Geofence = Static<typeof Geofence>;

/** The active geofences, retained on svc/geofences; `version` grows with every change. */
export const GeofenceSet = Type.Object({ version: Type.Integer(), geofences: Type.Array(Geofence) }, { $id: 'GeofenceSet' });
export type GeofenceSet = Static<typeof GeofenceSet>;

export const GEOFENCE_EVENTS = ['enter', 'exit', 'dwell'] as const;
export type GeofenceEventType = (typeof GEOFENCE_EVENTS)[number];

/** A truck entered / left a geofence, or stayed beyond its dwell limit (svc/geofence/<deviceId>, QoS 1). */
export const GeofenceEvent = Type.Object(
  {
    /** one visit = one enter, at most one dwell, one exit; stable id (geofence, device, entry time) */
    visitId: Type.String({ minLength: 1, maxLength: 120 }),
    event: Type.Enum(GEOFENCE_EVENTS),
    geofenceId: Type.String(),
    name: Type.String(),
    kind: Type.Enum(GEOFENCE_KINDS),
    deviceId: Type.String(),
    district: Type.String(),
    /** event time of the fix that decided it, ms */
    at: Type.Integer({ description: 'ms since epoch (event time)' }),
    enteredAt: Type.Integer({ description: 'ms since epoch (event time)' }),
    /** decided on late or backfilled data: history, never a live alert */
    late: Type.Boolean(),
    lat: Type.Optional(Type.Number()),
    lon: Type.Optional(Type.Number()),
    /** why an exit was decided without a fix outside: the geofence was removed, deactivated or redrawn */
    reason: Type.Optional(Type.String()),
  },
  { $id: 'GeofenceEvent' },
);
export type GeofenceEvent = Static<typeof GeofenceEvent>;

export type LonLatT = [number, number];

/** Signed distance (m) from p to the geofence's border: negative inside, positive outside. */
export function signedDistanceM(g: GeofenceGeometry, p: LonLatT): number {
  if (g.type === 'circle') return distanceM(g.center, p) - g.radiusM;
  const ring = g.coordinates as LonLatT[];
  let best = Infinity;
  for (let i = 1; i < ring.length; i++) best = Math.min(best, pointSegmentDistanceM(p, ring[i - 1]!, ring[i]!));
  return pointInRing(p, ring) ? -best : best;
}

/** A circle as a closed polygon ring (for drawing on a map). */
export function circleRing(center: LonLatT, radiusM: number, steps = 64): LonLatT[] {
  const out: LonLatT[] = [];
  for (let i = 0; i <= steps; i++) {
    const a = (2 * Math.PI * (i % steps)) / steps;
    out.push(offsetM(center, radiusM * Math.sin(a), radiusM * Math.cos(a)) as LonLatT);
  }
  return out;
}

/** The ring to draw for either shape. */
export const geofenceRing = (g: GeofenceGeometry): LonLatT[] => (g.type === 'circle' ? circleRing(g.center as LonLatT, g.radiusM) : (g.coordinates as LonLatT[]));

export type GeofenceProblem = { code: 'E_GEOFENCE_NOT_CLOSED' | 'E_GEOFENCE_VERTICES' | 'E_GEOFENCE_OUTSIDE_CITY' | 'E_GEOFENCE_RADIUS' | 'E_GEOFENCE_SELF_INTERSECTS'; message: string };

function segmentsCross(a: LonLatT, b: LonLatT, c: LonLatT, d: LonLatT): boolean {
  const o = (p: LonLatT, q: LonLatT, r: LonLatT) => Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  return o(a, b, c) * o(a, b, d) < 0 && o(c, d, a) * o(c, d, b) < 0;
}

/**
 * What is wrong with a geometry for a city whose bbox is [w, s, e, n] (null = nothing). The
 * schema (GeofenceGeometry) is checked first by the caller; this checks what a schema cannot.
 */
export function geofenceGeometryProblem(g: GeofenceGeometry, bbox: readonly [number, number, number, number]): GeofenceProblem | null {
  const L = GEOFENCE_LIMITS;
  const outside = (p: LonLatT): number => {
    const q: LonLatT = [Math.min(bbox[2], Math.max(bbox[0], p[0])), Math.min(bbox[3], Math.max(bbox[1], p[1]))];
    return q[0] === p[0] && q[1] === p[1] ? 0 : distanceM(p, q);
  };
  if (g.type === 'circle') {
    if (!(g.radiusM >= L.minRadiusM && g.radiusM <= L.maxRadiusM)) return { code: 'E_GEOFENCE_RADIUS', message: `radius ${g.radiusM} m is outside ${L.minRadiusM}–${L.maxRadiusM} m` };
    const d = outside(g.center as LonLatT);
    if (d > L.cityMarginM) return { code: 'E_GEOFENCE_OUTSIDE_CITY', message: `the centre is ${Math.round(d)} m outside the city (at most ${L.cityMarginM} m)` };
    return null;
  }
  const ring = g.coordinates as LonLatT[];
  if (ring.length < 2) return { code: 'E_GEOFENCE_VERTICES', message: `a polygon has ${L.minVertices}–${L.maxVertices} distinct vertices, not ${ring.length}` };
  const first = ring[0]!;
  const last = ring[ring.length - 1]!;
  if (ring.length < 2 || first[0] !== last[0] || first[1] !== last[1]) return { code: 'E_GEOFENCE_NOT_CLOSED', message: 'the polygon is not closed: its last position must repeat the first' };
  const distinct = new Set(ring.slice(0, -1).map((p) => `${p[0]},${p[1]}`)).size;
  if (distinct < L.minVertices || ring.length - 1 > L.maxVertices)
    return { code: 'E_GEOFENCE_VERTICES', message: `a polygon has ${L.minVertices}–${L.maxVertices} distinct vertices, not ${distinct}` };
  for (let i = 0; i < ring.length - 1; i++) {
    const d = outside(ring[i]!);
    if (d > L.cityMarginM) return { code: 'E_GEOFENCE_OUTSIDE_CITY', message: `vertex ${i + 1} is ${Math.round(d)} m outside the city (at most ${L.cityMarginM} m)` };
  }
  const n = ring.length - 1;
  for (let i = 0; i < n; i++) {
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue; // adjacent through the closing edge
      if (segmentsCross(ring[i]!, ring[i + 1]!, ring[j]!, ring[j + 1]!))
        return { code: 'E_GEOFENCE_SELF_INTERSECTS', message: `edges ${i + 1} and ${j + 1} cross: the polygon must not intersect itself` };
    }
  }
  return null;
}
