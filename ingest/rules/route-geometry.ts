/**
 * The city's planned routes as the truck rules need them: polylines per segment, the collection
 * streets in planned order, the depot, and the shift window in the city's time zone.
 */
import type { City, Position, Route } from '../../city/city';
import { distanceM, pointLineDistanceM } from '../../contract/geo';
import { localParts, localToUtc } from '../../norms/local-time';

export interface SegmentGeom {
  segmentId: string;
  name: string;
  coords: Position[];
  lengthM: number;
  /** [minLon, minLat, maxLon, maxLat] */
  bbox: [number, number, number, number];
}

export interface RouteGeom {
  route: Route;
  depot?: { id: string; name: string; pos: Position };
  /** every segment of the route (transit included), unique */
  all: SegmentGeom[];
  /** collection streets, unique, in planned order (first occurrence) */
  collect: SegmentGeom[];
  /** indices (into collect) of collection streets the route also drives in transit: driving them says nothing about the collection order */
  shared: Set<number>;
}

function bboxOf(coords: Position[]): [number, number, number, number] {
  let a = Infinity,
    b = Infinity,
    c = -Infinity,
    d = -Infinity;
  for (const [x, y] of coords) {
    a = Math.min(a, x);
    b = Math.min(b, y);
    c = Math.max(c, x);
    d = Math.max(d, y);
  }
  return [a, b, c, d];
}

/** Degrees of latitude per metre (for bbox padding). */
const DEG_PER_M = 1 / 111_195;

function nearBbox(p: Position, bb: [number, number, number, number], m: number): boolean {
  const padLat = m * DEG_PER_M;
  const padLon = padLat / Math.cos((p[1] * Math.PI) / 180);
  return p[0] >= bb[0] - padLon && p[0] <= bb[2] + padLon && p[1] >= bb[1] - padLat && p[1] <= bb[3] + padLat;
}

export function buildRouteIndex(city: City): Map<string, RouteGeom> {
  const segs = new Map<string, SegmentGeom>();
  for (const f of city.streets.features) {
    const coords = f.geometry.coordinates as Position[];
    let len = 0;
    for (let i = 1; i < coords.length; i++) len += distanceM(coords[i - 1]!, coords[i]!);
    segs.set(f.properties.segmentId, { segmentId: f.properties.segmentId, name: f.properties.name, coords, lengthM: len, bbox: bboxOf(coords) });
  }
  const out = new Map<string, RouteGeom>();
  for (const route of city.routes) {
    const uniq = (ids: string[]) => [...new Set(ids)].map((id) => segs.get(id)).filter((s): s is SegmentGeom => !!s);
    const d = city.depots.find((x) => x.id === route.depotId);
    const collect = uniq(route.segments.slice(route.collectFrom, route.collectTo + 1));
    const transit = new Set([...route.segments.slice(0, route.collectFrom), ...route.segments.slice(route.collectTo + 1)]);
    out.set(route.id, {
      route,
      ...(d ? { depot: { id: d.id, name: d.name, pos: [d.lon, d.lat] as Position } } : {}),
      all: uniq(route.segments),
      collect,
      shared: new Set(collect.map((s, i) => (transit.has(s.segmentId) ? i : -1)).filter((i) => i >= 0)),
    });
  }
  return out;
}

/** Distance in metres from p to the nearest part of the route (Infinity if the route is empty). */
export function distanceToRouteM(g: RouteGeom, p: Position): number {
  let best = Infinity;
  for (const s of g.all) {
    if (best < Infinity && !nearBbox(p, s.bbox, best)) continue; // cannot be nearer
    best = Math.min(best, pointLineDistanceM(p, s.coords));
  }
  return best;
}

/**
 * Indices (into g.collect) of the collection streets a fix at p is driving: within `coverageM` of
 * the street and not merely at one of its ends (crossing at an intersection does not count).
 */
export function drivenCollectIdx(g: RouteGeom, p: Position, coverageM: number): number[] {
  const out: number[] = [];
  g.collect.forEach((s, i) => {
    if (!nearBbox(p, s.bbox, coverageM)) return;
    if (pointLineDistanceM(p, s.coords) > coverageM) return;
    const endGap = Math.min(coverageM * 1.5, s.lengthM / 4);
    if (distanceM(p, s.coords[0]!) < endGap || distanceM(p, s.coords[s.coords.length - 1]!) < endGap) return;
    out.push(i);
  });
  return out;
}

/** The shift (local shiftStart for shiftHours) containing `at`, or null when off shift. */
export function shiftWindow(route: Pick<Route, 'shiftStart' | 'shiftHours'>, at: number, tz: string): { start: number; end: number } | null {
  for (const dayOffset of [0, -1]) {
    const day = localParts(at + dayOffset * 86_400_000, tz).date;
    const start = localToUtc(day, `${String(route.shiftStart).padStart(2, '0')}:00`, tz);
    const end = start + route.shiftHours * 3_600_000;
    if (at >= start && at < end) return { start, end };
  }
  return null;
}
