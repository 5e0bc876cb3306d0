/**
 * Evidence for a citizen report, computed from the city's own telemetry, never typed in.
 *
 * Collection services (missed collection, overflowing container): the street segment nearest to
 * the report, the routes whose planned collection includes it (city routes, trucks by registry
 * `truck.routeId`) and their due shift (the latest shift that started at or before the report),
 * then, over that window, in this order: a bin lift within `radiusM` of the point → collected; a
 * fix at standing speed (rules' idleSpeedKmh) within `radiusM` → stopped; the track passing within
 * `radiusM` (no line drawn across gaps; fixes the rules reject for few satellites or a large HDOP
 * are ignored) → drove by; a gap in a serving truck's telemetry (or no
 * data) → unknown; otherwise → not served. A street no route collects → not served (unless a
 * truck happened to lift, stop or pass there that day).
 *
 * Noise: the nearest noise stations' hourly LAeq at the report's hour against their NOM-081 zone
 * limit (norms/noise-limits.ts). Air: the nearest air stations' Índice AIRE Y SALUD for that
 * hour (lib/planner.ts airIndex → norms/aire-salud.ts).
 */
import type { City, Position, StreetFeature } from '../../../city/city';
import { distanceM, pointLineDistanceM, pointSegmentDistanceM } from '../../../contract/geo';
import type { RegistryDevice } from '../../../registry/schema';
import { GPS_FIX, STANDING_SPEED_KMH } from '../../../contract/gps-fix';
import { localParts, localToUtc } from '../../../norms/local-time';
import { limitFor } from '../../../norms/noise-limits';
import { HOUR_MS } from '../../../norms/aire-salud';
import type { TrackPoint, TruckEventRow } from '../../../store/types';
import type { AirEvidence, CollectionEvidence, Evidence, NoiseEvidence, PassEvidence, ServiceCode } from '../../shared/open311';
import { AIR_SERVICES, COLLECTION_SERVICES, NOISE_SERVICES } from '../../shared/open311';
import { airIndex, type PlannerCtx } from './planner';

/** A fix farther than this from the previous one in time is a telemetry gap (as coverage draws no line across it). */
export const MAX_GAP_MS = 120_000;
/** A point farther than this from every street has no segment. */
export const MAX_SEGMENT_DISTANCE_M = 250;
const DAY = 86_400_000;

export interface SegmentHit {
  feature: StreetFeature;
  distanceM: number;
}

/** The street segment nearest to p (within MAX_SEGMENT_DISTANCE_M), or null. */
export function nearestSegment(city: City, p: Position): SegmentHit | null {
  let best: SegmentHit | null = null;
  for (const f of city.streets.features) {
    const d = pointLineDistanceM(p, f.geometry.coordinates as Position[]);
    if (!best || d < best.distanceM) best = { feature: f, distanceM: d };
  }
  return best && best.distanceM <= MAX_SEGMENT_DISTANCE_M ? best : null;
}

const fold = (s: string) =>
  s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9ñ ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/**
 * A point on the street an address names (the city network's street names, accents and case
 * ignored; the longest matching name wins; the middle of its longest segment). null when no
 * street of the city is named in the address.
 */
export function geocodeAddress(city: City, address: string): { lat: number; lon: number; segmentId: string; name: string } | null {
  const a = ` ${fold(address)} `;
  let best: StreetFeature | null = null;
  let bestLen = 0;
  for (const f of city.streets.features) {
    const n = fold(f.properties.name);
    if (n.length < 3 || !a.includes(` ${n} `)) continue;
    const len = f.geometry.coordinates.length;
    if (!best || n.length > fold(best.properties.name).length || (n.length === fold(best.properties.name).length && len > bestLen)) {
      best = f;
      bestLen = len;
    }
  }
  if (!best) return null;
  const c = best.geometry.coordinates as Position[];
  const i = Math.floor((c.length - 1) / 2);
  const a0 = c[i]!;
  const b0 = c[i + 1] ?? a0;
  return { lon: (a0[0] + b0[0]) / 2, lat: (a0[1] + b0[1]) / 2, segmentId: best.properties.segmentId, name: best.properties.name };
}

/** Routes whose planned collection part includes the segment. */
export function routesServing(city: City, segmentId: string): City['routes'] {
  return city.routes.filter((r) => r.segments.slice(r.collectFrom, r.collectTo + 1).includes(segmentId));
}

/** The latest shift of `route` that started at or before `at`. */
export function dueShift(route: { shiftStart: number; shiftHours: number }, at: number, tz: string): { from: number; to: number } {
  const hh = `${String(route.shiftStart).padStart(2, '0')}:00`;
  for (const back of [0, 1, 2]) {
    const day = localParts(at - back * DAY, tz).date;
    const start = localToUtc(day, hh, tz);
    if (start <= at) return { from: start, to: start + route.shiftHours * HOUR_MS };
  }
  const start = localToUtc(localParts(at - DAY, tz).date, hh, tz);
  return { from: start, to: start + route.shiftHours * HOUR_MS };
}

/** Local day [start, end) containing `at`. */
export function localDay(at: number, tz: string): { from: number; to: number } {
  const day = localParts(at, tz).date;
  const from = localToUtc(day, '00:00', tz);
  return { from, to: localToUtc(localParts(from + DAY + 3 * HOUR_MS, tz).date, '00:00', tz) };
}

export interface TruckData {
  deviceId: string;
  track: TrackPoint[];
  lifts: TruckEventRow[];
}

/** The nearest approach of a track to p (no line across gaps): distance and the time of the nearer fix. */
export function nearestPass(track: TrackPoint[], p: Position, maxGapMs = MAX_GAP_MS): { distanceM: number; at: number } | null {
  let best: { distanceM: number; at: number } | null = null;
  for (let i = 0; i < track.length; i++) {
    const a = track[i]!;
    const pa: Position = [a.lon, a.lat];
    const da = distanceM(p, pa);
    if (!best || da < best.distanceM) best = { distanceM: da, at: a.ts };
    const b = track[i + 1];
    if (!b || b.ts - a.ts > maxGapMs) continue;
    const d = pointSegmentDistanceM(p, pa, [b.lon, b.lat]);
    if (d < best.distanceM) best = { distanceM: d, at: distanceM(p, [b.lon, b.lat]) < da ? b.ts : a.ts };
  }
  return best;
}

/** The longest gap in a track over [from, to) longer than maxGapMs (the whole window when empty), or null. */
export function longestGap(track: TrackPoint[], from: number, to: number, maxGapMs = MAX_GAP_MS): { from: number; to: number } | null {
  let prev = from;
  let best: { from: number; to: number } | null = null;
  const consider = (a: number, b: number) => {
    if (b - a > maxGapMs && (!best || b - a > best.to - best.from)) best = { from: a, to: b };
  };
  for (const pt of track) {
    if (pt.ts < from || pt.ts >= to) continue;
    consider(prev, pt.ts);
    prev = pt.ts;
  }
  consider(prev, to);
  return best;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export interface CollectionInput {
  point: Position;
  /** serving routes with their due windows and the trucks assigned to each */
  routes: CollectionEvidence['routes'];
  window: { from: number; to: number };
  /** telemetry of every truck considered (serving trucks first) */
  trucks: TruckData[];
  radiusM: number;
  /** until when telemetry can exist (now): a window still running is judged up to here */
  now: number;
  stopSpeedKmh?: number;
}

/** The collection evidence from loaded telemetry (pure; see the module comment for the order). */
export function classifyCollection(inp: CollectionInput): CollectionEvidence {
  const { point, radiusM, window } = inp;
  const stopSpeed = inp.stopSpeedKmh ?? STANDING_SPEED_KMH;
  const base = { routes: inp.routes, window, radiusM };
  const inWin = (ts: number) => ts >= window.from && ts < window.to;
  // 1. bin lift within the radius
  let lift: { deviceId: string; at: number; distanceM: number } | null = null;
  for (const t of inp.trucks) {
    for (const e of t.lifts) {
      if (e.type !== 'bin_lift' || e.lat === undefined || e.lon === undefined || !inWin(e.ts)) continue;
      const d = distanceM(point, [e.lon, e.lat]);
      if (d <= radiusM && (!lift || d < lift.distanceM)) lift = { deviceId: t.deviceId, at: e.ts, distanceM: round1(d) };
    }
  }
  if (lift) return { kind: 'collected', reason: 'bin_lift', ...lift, ...base };
  // 2. a stop within the radius
  let stop: { deviceId: string; at: number; distanceM: number } | null = null;
  for (const t of inp.trucks) {
    for (const f of t.track) {
      if (!inWin(f.ts) || f.speedKmh > stopSpeed) continue;
      const d = distanceM(point, [f.lon, f.lat]);
      if (d <= radiusM && (!stop || d < stop.distanceM)) stop = { deviceId: t.deviceId, at: f.ts, distanceM: round1(d) };
    }
  }
  if (stop) return { kind: 'stopped', reason: 'stop', ...stop, ...base };
  // 3. a pass within the radius
  let pass: { deviceId: string; at: number; distanceM: number } | null = null;
  for (const t of inp.trucks) {
    const p = nearestPass(
      t.track.filter((f) => inWin(f.ts)),
      point,
    );
    if (p && p.distanceM <= radiusM && (!pass || p.distanceM < pass.distanceM)) pass = { deviceId: t.deviceId, at: p.at, distanceM: round1(p.distanceM) };
  }
  if (pass) return { kind: 'drove_by', reason: 'pass', ...pass, ...base };
  if (!inp.routes.length) return { kind: 'not_served', reason: 'no_route', ...base };
  // 4. a serving truck whose telemetry has a gap in the due window → unknown
  const serving = new Set(inp.routes.flatMap((r) => r.deviceIds));
  if (!serving.size) return { kind: 'unknown', reason: 'no_truck', ...base };
  for (const r of inp.routes) {
    const end = Math.min(r.to, inp.now);
    for (const id of r.deviceIds) {
      const t = inp.trucks.find((x) => x.deviceId === id);
      const track = t?.track ?? [];
      if (!track.some((f) => f.ts >= r.from && f.ts < end)) return { kind: 'unknown', reason: 'no_data', deviceId: id, gap: { from: r.from, to: end }, ...base };
      const gap = longestGap(track, r.from, end);
      if (gap) return { kind: 'unknown', reason: 'gap', deviceId: id, gap, ...base };
    }
  }
  return { kind: 'not_served', reason: 'no_pass', ...base };
}

export interface EvidenceDeps extends PlannerCtx {
  radiusM: number;
  now?: number;
}

/** A fix the rules would not count as a fix (too few satellites, HDOP too large) is no evidence either. */
export const goodFix = (f: TrackPoint): boolean => (f.sats === undefined || f.sats >= GPS_FIX.minSats) && (f.hdop === undefined || f.hdop <= GPS_FIX.maxHdop);

const trucksOf = (ctx: PlannerCtx): RegistryDevice[] => ctx.registry.registry.devices.filter((d) => d.kind === 'truck' && d.status !== 'retired');

async function loadTrucks(ctx: PlannerCtx, ids: string[], from: number, to: number): Promise<TruckData[]> {
  if (!ids.length) return [];
  const events = await ctx.store.truckEvents({ deviceIds: ids, from, to });
  const out: TruckData[] = [];
  for (const id of ids) out.push({ deviceId: id, track: (await ctx.store.track({ deviceId: id, from, to })).filter(goodFix), lifts: events.filter((e) => e.deviceId === id && e.type === 'bin_lift') });
  return out;
}

/** The first pass of any truck within `radiusM` of p after `after` (up to `until`). */
export async function passAfter(ctx: PlannerCtx, p: Position, after: number, until: number, radiusM: number): Promise<PassEvidence | null> {
  let best: PassEvidence | null = null;
  for (const d of trucksOf(ctx)) {
    const track = (await ctx.store.track({ deviceId: d.id, from: after + 1, to: until })).filter(goodFix);
    for (let i = 0; i < track.length; i++) {
      const a = track[i]!;
      const b = track[i + 1];
      const dd = b && b.ts - a.ts <= MAX_GAP_MS ? pointSegmentDistanceM(p, [a.lon, a.lat], [b.lon, b.lat]) : distanceM(p, [a.lon, a.lat]);
      if (dd <= radiusM) {
        if (!best || a.ts < best.at) best = { deviceId: d.id, at: a.ts, distanceM: round1(dd) };
        break;
      }
    }
  }
  return best;
}

function nearestStations(ctx: PlannerCtx, kind: 'air' | 'noise', p: Position, n = 2): { dev: RegistryDevice; distanceM: number }[] {
  return ctx.registry.registry.devices
    .filter((d) => d.kind === kind && d.status !== 'retired' && d.location)
    .map((dev) => ({ dev, distanceM: distanceM(p, [dev.location!.lon, dev.location!.lat]) }))
    .sort((a, b) => a.distanceM - b.distanceM)
    .slice(0, n);
}

export async function noiseEvidence(ctx: PlannerCtx, p: Position, at: number): Promise<NoiseEvidence[]> {
  const hour = Math.floor(at / HOUR_MS) * HOUR_MS;
  const out: NoiseEvidence[] = [];
  for (const { dev, distanceM: dist } of nearestStations(ctx, 'noise', p)) {
    const [b] = await ctx.store.series({ stream: 'noise', field: 'laeq', deviceIds: [dev.id], from: hour, to: hour + HOUR_MS, windowMs: HOUR_MS });
    const zone = dev.noiseZone ?? 'residential';
    const lim = limitFor(zone, at, ctx.tz);
    const laeq = b ? round1(b.mean) : null;
    out.push({
      deviceId: dev.id,
      distanceM: Math.round(dist),
      hour,
      zone,
      period: lim.period,
      laeqDb: laeq,
      limitDb: lim.limitDb,
      over: laeq === null || lim.limitDb === null ? null : laeq > lim.limitDb,
      source: lim.source,
    });
  }
  return out;
}

export async function airEvidence(ctx: PlannerCtx, p: Position, at: number): Promise<AirEvidence[]> {
  const hour = Math.floor(at / HOUR_MS) * HOUR_MS;
  const near = nearestStations(ctx, 'air', p);
  if (!near.length) return [];
  const rows = await airIndex(ctx, { deviceIds: near.map((s) => s.dev.id), from: hour, to: hour + HOUR_MS });
  return near.map(({ dev, distanceM: dist }) => {
    const r = rows.find((x) => x.deviceId === dev.id && x.hour === hour);
    return { deviceId: dev.id, distanceM: Math.round(dist), hour, category: r?.category ?? null, responsible: r?.responsible ?? [] };
  });
}

/** All the evidence for a report of `service` at `point` and time `at`. */
export async function computeEvidence(deps: EvidenceDeps, service: ServiceCode, point: Position, at: number): Promise<Evidence> {
  const now = deps.now ?? Date.now();
  const city = deps.city;
  const hit = city ? nearestSegment(city, point) : null;
  const ev: Evidence = {
    computedAt: now,
    segment: hit ? { segmentId: hit.feature.properties.segmentId, name: hit.feature.properties.name, district: hit.feature.properties.district, distanceM: round1(hit.distanceM) } : null,
  };
  if (COLLECTION_SERVICES.includes(service)) {
    const trucks = trucksOf(deps);
    const serving = city && hit ? routesServing(city, hit.feature.properties.segmentId) : [];
    const routes = serving.map((r) => ({ routeId: r.id, deviceIds: trucks.filter((d) => d.truck?.routeId === r.id).map((d) => d.id), ...dueShift(r, at, deps.tz) }));
    const window = routes.length ? { from: Math.min(...routes.map((r) => r.from)), to: Math.max(...routes.map((r) => r.to)) } : { from: localDay(at, deps.tz).from, to: localDay(at, deps.tz).to };
    const ids = routes.length ? [...new Set(routes.flatMap((r) => r.deviceIds))] : trucks.map((d) => d.id);
    const data = await loadTrucks(deps, ids, window.from, Math.min(window.to, now + 1));
    ev.collection = classifyCollection({ point, routes, window, trucks: data, radiusM: deps.radiusM, now });
    ev.passAfterReport = await passAfter(deps, point, at, now + 1, deps.radiusM);
  }
  if (NOISE_SERVICES.includes(service)) ev.noise = await noiseEvidence(deps, point, at);
  if (AIR_SERVICES.includes(service)) ev.air = await airEvidence(deps, point, at);
  return ev;
}
