/**
 * The fleet report: per truck and local day (trips, stops, distance, engine hours, bins lifted,
 * time at the depot), the trips and stops themselves with their places, and summaries per route
 * and per district (of the route). Derived from the stored GPS fixes and truck events
 * (lib/fleet-trips.ts) by the rules of ops-console/shared/fleet-report.ts.
 *
 * Per-day figures are computed by `DAY_DERIVERS`, one small function per group of columns: a new
 * column (e.g. geofence visits) is one more deriver (plus its field and column in the shared file).
 */
import type { TrackPoint, TruckEventRow } from '../../../store/types';
import type { RegistryDevice } from '../../../registry/schema';
import type { City, Route } from '../../../city/city';
import { badRequest } from './errors';
import type { GeofenceVisit } from '../../shared/geofences';
import { localDays, type LocalDay } from './local-days';
import { devicesOf, type PlannerCtx } from './planner';
import { PlaceIndex } from './fleet-places';
import { cutTrack, engineIntervals, overlapS, timeNearS, type RawStop, type RawTrip } from './fleet-trips';
import {
  FLEET_REPORT_LIMITS,
  FLEET_RULES,
  type DistrictSummary,
  type FleetReport,
  type FleetRules,
  type FleetStop,
  type FleetTotals,
  type FleetTrip,
  type RouteSummary,
  type TruckDay,
} from '../../shared/fleet-report';

export interface FleetQuery {
  from: number;
  to: number;
  deviceIds?: string[];
  routeId?: string;
  /** district of the trucks' routes */
  district?: string;
  rules?: Partial<FleetRules>;
}

/** What a deriver sees of one truck's day. */
export interface DayInput {
  device: RegistryDevice;
  route: Route | null;
  day: LocalDay;
  rules: FleetRules;
  city: City | null;
  now: number;
  /** every fix of the truck from `maxGapS` before the range to its end (sorted) */
  track: TrackPoint[];
  /** fixes within the day */
  fixes: TrackPoint[];
  /** the truck's events from `engineLookbackH` before the range (sorted) */
  events: TruckEventRow[];
  /** events within the day */
  dayEvents: TruckEventRow[];
  trips: FleetTrip[];
  stops: FleetStop[];
  /** the truck's geofence visits overlapping the day (ingest/rules/geofence-rule.ts, stored by the API) */
  visits: GeofenceVisit[];
  engineOn: [number, number][];
}
export type DayDeriver = (d: DayInput) => Partial<TruckDay>;

const r1 = (v: number) => Math.round(v * 10) / 10;
const r2 = (v: number) => Math.round(v * 100) / 100;
const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);

export const DAY_DERIVERS: DayDeriver[] = [
  // identity
  (d) => ({ deviceId: d.device.id, plate: d.device.truck?.plate ?? null, routeId: d.route?.id ?? d.device.truck?.routeId ?? null, district: d.route?.district ?? null, date: d.day.date }),
  // movement
  (d) => ({
    fixes: d.fixes.length,
    firstFix: d.fixes[0]?.ts ?? null,
    lastFix: d.fixes[d.fixes.length - 1]?.ts ?? null,
    trips: d.trips.length,
    distanceKm: r2(sum(d.trips, (t) => t.distanceKm)),
    drivingS: sum(d.trips, (t) => t.durationS),
    maxSpeedKmh: r1(Math.max(0, ...d.fixes.map((f) => f.speedKmh))),
    stops: d.stops.length,
    stoppedS: sum(d.stops, (s) => s.durationS),
  }),
  // engine hours from ignition on/off
  (d) => ({ engineHours: r2(overlapS(d.engineOn, d.day.from, d.day.to) / 3600) }),
  // bins lifted and unloads
  (d) => {
    const lifts = d.dayEvents.filter((e) => e.type === 'bin_lift');
    return { binsLifted: lifts.length, liftedKg: r1(sum(lifts, (e) => e.weightKg ?? 0)), unloads: d.dayEvents.filter((e) => e.type === 'unload').length };
  },
  // time at a depot
  (d) => ({ depotHours: r2(timeNearS(d.track, d.city?.depots ?? [], d.rules.depotRadiusM, d.rules.maxGapS, d.day.from, d.day.to, d.now) / 3600) }),
  // geofence visits (enter / exit events)
  (d) => ({
    geofenceVisits: d.visits.filter((v) => v.enteredAt >= d.day.from && v.enteredAt < d.day.to).length,
    geofenceHours: r2(sum(d.visits, (v) => Math.max(0, Math.min(d.day.to, v.enteredAt + (v.durationS ?? 0) * 1000) - Math.max(d.day.from, v.enteredAt))) / 3_600_000),
  }),
];

export function resolveRules(over?: Partial<FleetRules>): FleetRules {
  return { ...FLEET_RULES, ...Object.fromEntries(Object.entries(over ?? {}).filter(([, v]) => v !== undefined)) };
}

const placeCache = new WeakMap<object, Map<string, PlaceIndex>>();
function placesFor(city: City | null, rules: FleetRules): PlaceIndex {
  const key = `${rules.placeRadiusM}|${rules.depotRadiusM}`;
  const holder = (city ?? placeCache) as object;
  let m = placeCache.get(holder);
  if (!m) placeCache.set(holder, (m = new Map<string, PlaceIndex>()));
  let idx = m.get(key);
  if (!idx) m.set(key, (idx = new PlaceIndex(city, rules.placeRadiusM, rules.depotRadiusM)));
  return idx;
}

/** The trucks a query covers (a route or a district narrows the list). */
export function fleetTrucks(ctx: PlannerCtx, q: Pick<FleetQuery, 'deviceIds' | 'routeId' | 'district'>): RegistryDevice[] {
  const routes = new Map((ctx.city?.routes ?? []).map((r) => [r.id, r]));
  return devicesOf(ctx, ['truck'], q.deviceIds).filter((d) => {
    if (q.routeId && d.truck?.routeId !== q.routeId) return false;
    if (q.district && routes.get(d.truck?.routeId ?? '')?.district !== q.district) return false;
    return true;
  });
}

export function checkFleetRange(q: { from: number; to: number }, trucks: number): void {
  if (q.to <= q.from) throw badRequest('E_QUERY_RANGE', '`to` must be after `from`');
  const days = (q.to - q.from) / 86_400_000;
  if (days > FLEET_REPORT_LIMITS.maxDays) throw badRequest('E_QUERY_RANGE_TOO_LONG', `a fleet report covers at most ${FLEET_REPORT_LIMITS.maxDays} days; split the range`);
  if (Math.ceil(days) * trucks > FLEET_REPORT_LIMITS.maxTruckDays)
    throw badRequest(
      'E_QUERY_RANGE_TOO_LONG',
      `a fleet report covers at most ${FLEET_REPORT_LIMITS.maxTruckDays} truck-days (${trucks} trucks × ${Math.ceil(days)} days asked); pick fewer trucks or a shorter range`,
    );
}

/** `visits`: the trucks' geofence visits overlapping the range (the API's geofence repository). */
export async function fleetReport(ctx: PlannerCtx, q: FleetQuery, now = Date.now(), visits: readonly GeofenceVisit[] = []): Promise<FleetReport> {
  const rules = resolveRules(q.rules);
  const trucks = fleetTrucks(ctx, q);
  checkFleetRange(q, trucks.length);
  const places = placesFor(ctx.city, rules);
  const routes = new Map((ctx.city?.routes ?? []).map((r) => [r.id, r]));
  const days = localDays(q.from, q.to, ctx.tz);
  const lookFrom = q.from - Math.max(rules.maxGapS * 1000, rules.engineLookbackH * 3_600_000);
  const allEvents = trucks.length ? await ctx.store.truckEvents({ deviceIds: trucks.map((t) => t.id), from: lookFrom, to: q.to }) : [];
  const eventsOf = new Map<string, TruckEventRow[]>();
  for (const e of allEvents) {
    const l = eventsOf.get(e.deviceId);
    if (l) l.push(e);
    else eventsOf.set(e.deviceId, [e]);
  }

  const out: TruckDay[] = [];
  const trips: FleetTrip[] = [];
  const stops: FleetStop[] = [];
  for (const device of trucks) {
    const track = await ctx.store.track({ deviceId: device.id, from: q.from - rules.maxGapS * 1000, to: q.to });
    const events = eventsOf.get(device.id) ?? [];
    const cut = cutTrack(track, rules);
    const lastFix = track[track.length - 1]?.ts ?? -Infinity;
    const engineOn = engineIntervals(events, q.from - rules.engineLookbackH * 3_600_000, q.to, Math.min(now, lastFix + rules.maxGapS * 1000));
    const route = routes.get(device.truck?.routeId ?? '') ?? null;
    for (const day of days) {
      const fixes = track.filter((f) => f.ts >= day.from && f.ts < day.to);
      const dayEvents = events.filter((e) => e.ts >= day.from && e.ts < day.to);
      if (!fixes.length && !dayEvents.length) continue; // no data that day: no row (never a row of zeros)
      const dayTrips = cut.trips.filter((t) => t.start >= day.from && t.start < day.to).map((t) => tripRow(device.id, day, t, places));
      const dayStops = cut.stops.filter((s) => s.end >= day.from && s.start < day.to && Math.min(s.end, day.to) > Math.max(s.start, day.from)).map((s) => stopRow(device.id, day, s, places, engineOn));
      const dayVisits = visits.filter((v) => v.deviceId === device.id && v.enteredAt < day.to && v.enteredAt + (v.durationS ?? 0) * 1000 >= day.from);
      const input: DayInput = { device, route, day, rules, city: ctx.city, now, track, fixes, events, dayEvents, trips: dayTrips, stops: dayStops, engineOn, visits: dayVisits };
      out.push(Object.assign({}, ...DAY_DERIVERS.map((f) => f(input))) as TruckDay);
      trips.push(...dayTrips);
      stops.push(...dayStops);
    }
  }
  out.sort((a, b) => a.date.localeCompare(b.date) || a.deviceId.localeCompare(b.deviceId));
  return {
    from: q.from,
    to: q.to,
    timezone: ctx.tz,
    generatedAt: now,
    rules,
    days: out,
    trips,
    stops,
    routes: routeSummaries(out),
    districts: districtSummaries(out),
    totals: { trucks: new Set(out.map((d) => d.deviceId)).size, ...totalsOf(out) },
  };
}

function tripRow(deviceId: string, day: LocalDay, t: RawTrip, places: PlaceIndex): FleetTrip {
  const durationS = Math.round((t.end - t.start) / 1000);
  return {
    deviceId,
    date: day.date,
    start: t.start,
    end: t.end,
    durationS,
    distanceKm: r2(t.distanceM / 1000),
    maxSpeedKmh: r1(t.maxSpeedKmh),
    avgSpeedKmh: r1(durationS ? t.distanceM / 1000 / (durationS / 3600) : 0),
    startPlace: places.place(t.from.lat, t.from.lon),
    endPlace: places.place(t.to.lat, t.to.lon),
  };
}

function stopRow(deviceId: string, day: LocalDay, s: RawStop, places: PlaceIndex, engineOn: [number, number][]): FleetStop {
  const start = Math.max(s.start, day.from);
  const end = Math.min(s.end, day.to);
  const on = overlapS(engineOn, start, end);
  return { deviceId, date: day.date, start, end, durationS: Math.round((end - start) / 1000), engineOn: end > start && on >= (end - start) / 1000 - 1, place: places.place(s.lat, s.lon) };
}

function totalsOf(days: TruckDay[]): Omit<FleetTotals, 'trucks'> {
  return {
    truckDays: days.length,
    trips: sum(days, (d) => d.trips),
    stops: sum(days, (d) => d.stops),
    distanceKm: r2(sum(days, (d) => d.distanceKm)),
    engineHours: r2(sum(days, (d) => d.engineHours)),
    binsLifted: sum(days, (d) => d.binsLifted),
    liftedKg: r1(sum(days, (d) => d.liftedKg)),
    depotHours: r2(sum(days, (d) => d.depotHours)),
  };
}

function groupBy<K>(days: TruckDay[], key: (d: TruckDay) => K): Map<K, TruckDay[]> {
  const m = new Map<K, TruckDay[]>();
  for (const d of days) {
    const k = key(d);
    const l = m.get(k);
    if (l) l.push(d);
    else m.set(k, [d]);
  }
  return m;
}

export function routeSummaries(days: TruckDay[]): RouteSummary[] {
  return [
    ...groupBy(
      days.filter((d) => d.routeId),
      (d) => d.routeId!,
    ),
  ]
    .map(([routeId, ds]) => ({ routeId, district: ds[0]!.district, trucks: new Set(ds.map((d) => d.deviceId)).size, ...totalsOf(ds) }))
    .sort((a, b) => a.routeId.localeCompare(b.routeId));
}

export function districtSummaries(days: TruckDay[]): DistrictSummary[] {
  return [
    ...groupBy(
      days.filter((d) => d.district),
      (d) => d.district!,
    ),
  ]
    .map(([district, ds]) => ({ district, routes: new Set(ds.map((d) => d.routeId)).size, trucks: new Set(ds.map((d) => d.deviceId)).size, ...totalsOf(ds) }))
    .sort((a, b) => a.district.localeCompare(b.district, 'es'));
}
