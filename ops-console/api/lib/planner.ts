/**
 * Planners' aggregates over the telemetry store (typed queries only): Índice AIRE Y SALUD per
 * station per hour (norms/aire-salud.ts), noise vs each station's NOM-081 limit by
 * day/night (norms/noise-limits.ts), route coverage per truck per day, and data
 * completeness per station per day. Hour-wide windows let the store answer from its rollup.
 */
import { MEASURED_POLLUTANTS, stationIndex, HOUR_MS, DEFAULT_MIN_HOUR_COVERAGE, type MeasuredPollutant } from '../../../norms/aire-salud';
import { NOM081_LIMITS, periodAt, INDICATIVE_NOTE, type NoisePeriod } from '../../../norms/noise-limits';
import type { TelemetryStore } from '../../../store/types';
import type { RegistryView } from '../../../registry/registry';
import type { RegistryDevice } from '../../../registry/schema';
import { segmentIndex, type City } from '../../../city/city';
import { localDays } from './local-days';
import { coverage, splitRuns, SERVED_RADIUS_M } from './coverage';
import { badRequest, notFound } from './errors';
import type { AirIndexRow, CoverageRow } from '../../shared/api';

export interface PlannerCtx {
  store: TelemetryStore;
  registry: RegistryView;
  city: City | null;
  tz: string;
}

export interface RangeIds {
  from: number;
  to: number;
  deviceIds?: string[];
}

/** Active devices of the given kinds, or exactly `ids` (retired ones included; 404 for an unknown id, 400 for a wrong kind). */
export function devicesOf(ctx: PlannerCtx, kinds: RegistryDevice['kind'][], ids?: string[]): RegistryDevice[] {
  if (!ids) return ctx.registry.registry.devices.filter((d) => kinds.includes(d.kind) && d.status !== 'retired');
  return ids.map((id) => {
    const d = ctx.registry.device(id);
    if (!d) throw notFound('E_DEVICE_UNKNOWN', `no device ${id}`);
    if (!kinds.includes(d.kind)) throw badRequest('E_DEVICE_KIND', `${id} is a ${d.kind}, not ${kinds.join(' or ')}`);
    return d;
  });
}

const hourFloor = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;

// ── Índice AIRE Y SALUD ─────────────────────────────────────────────────────────────────────

export async function airIndex(ctx: PlannerCtx, q: RangeIds): Promise<AirIndexRow[]> {
  const stations = devicesOf(ctx, ['air'], q.deviceIds);
  const from = hourFloor(q.from);
  const lookback = 24 * HOUR_MS; // 24-h moving averages and the 12-h NowCast need history
  const hourly = new Map<string, Map<MeasuredPollutant, Map<number, number>>>();
  for (const p of MEASURED_POLLUTANTS) {
    const buckets = await ctx.store.series({ stream: 'air', field: p, deviceIds: stations.map((s) => s.id), from: from - lookback, to: q.to, windowMs: HOUR_MS });
    for (const b of buckets) {
      const dev = ctx.registry.device(b.deviceId);
      // an hour is valid when its readings cover ≥ 75 % of it
      const expected = 3600 / (dev?.intervals.dataS ?? 60);
      if (b.count < DEFAULT_MIN_HOUR_COVERAGE * expected) continue;
      let byP = hourly.get(b.deviceId);
      if (!byP) hourly.set(b.deviceId, (byP = new Map<MeasuredPollutant, Map<number, number>>()));
      let m = byP.get(p);
      if (!m) byP.set(p, (m = new Map<number, number>()));
      m.set(b.t, b.mean);
    }
  }
  const rows: AirIndexRow[] = [];
  for (const s of stations) {
    const byP = hourly.get(s.id);
    for (let h = from; h < q.to; h += HOUR_MS) {
      const series: Partial<Record<MeasuredPollutant, (number | null)[]>> = {};
      for (const p of MEASURED_POLLUTANTS) {
        const m = byP?.get(p);
        if (!m) continue;
        series[p] = Array.from({ length: 24 }, (_, i) => m.get(h - i * HOUR_MS) ?? null);
      }
      const idx = stationIndex(series, h + HOUR_MS);
      const pollutants: AirIndexRow['pollutants'] = {};
      for (const [p, c] of Object.entries(idx.pollutants)) pollutants[p] = { category: c.id, value: c.value, unit: c.unit };
      rows.push({
        deviceId: s.id,
        hour: h,
        category: idx.category?.id ?? null,
        label: idx.category?.label ?? null,
        colour: idx.category?.colour ?? null,
        responsible: idx.responsible,
        pollutants,
      });
    }
  }
  return rows;
}

// ── NOM-081 noise exceedances ───────────────────────────────────────────────────────────────
export interface NoiseRow {
  deviceId: string;
  zone: string;
  /** local date the period starts on (a night runs 22:00 → 06:00 the next day) */
  date: string;
  period: NoisePeriod;
  limitDb: number | null;
  /** energetic mean of the hourly LAeq, dB(A) */
  leqDb: number | null;
  maxHourDb: number | null;
  hours: number;
  hoursOver: number;
  exceeded: boolean;
}

const prevDate = (date: string): string => {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
};

export async function noiseExceedances(ctx: PlannerCtx, q: RangeIds): Promise<{ note: string; rows: NoiseRow[] }> {
  const stations = devicesOf(ctx, ['noise'], q.deviceIds);
  const buckets = await ctx.store.series({ stream: 'noise', field: 'laeq', deviceIds: stations.map((s) => s.id), from: hourFloor(q.from), to: q.to, windowMs: HOUR_MS });
  const groups = new Map<string, { deviceId: string; date: string; period: NoisePeriod; levels: number[] }>();
  for (const b of buckets) {
    const { period, localHour } = periodAt(b.t, ctx.tz);
    const { date: d } = localDaysDate(b.t, ctx.tz);
    const date = period === 'night' && localHour < 6 ? prevDate(d) : d;
    const key = `${b.deviceId}|${date}|${period}`;
    const g = groups.get(key) ?? { deviceId: b.deviceId, date, period, levels: [] };
    g.levels.push(b.mean);
    groups.set(key, g);
  }
  const rows: NoiseRow[] = [];
  for (const g of groups.values()) {
    const dev = ctx.registry.device(g.deviceId);
    const zone = dev?.noiseZone ?? 'residential';
    const limit = NOM081_LIMITS[zone][g.period];
    const leq = 10 * Math.log10(g.levels.reduce((a, l) => a + 10 ** (l / 10), 0) / g.levels.length);
    const round1 = (x: number) => Math.round(x * 10) / 10;
    rows.push({
      deviceId: g.deviceId,
      zone,
      date: g.date,
      period: g.period,
      limitDb: limit,
      leqDb: round1(leq),
      maxHourDb: round1(Math.max(...g.levels)),
      hours: g.levels.length,
      hoursOver: limit === null ? 0 : g.levels.filter((l) => l > limit).length,
      exceeded: limit !== null && leq > limit,
    });
  }
  rows.sort((a, b) => a.deviceId.localeCompare(b.deviceId) || a.date.localeCompare(b.date) || a.period.localeCompare(b.period));
  return { note: INDICATIVE_NOTE, rows };
}

function localDaysDate(t: number, tz: string): { date: string } {
  return { date: localDays(t, t + 1, tz)[0]!.date };
}

// ── route coverage ──────────────────────────────────────────────────────────────────────────
/**
 * A route-day's state: `done` (the shift is over), `in_progress` (share = served against what was
 * due by now), `not_started` (the shift has not begun) and `no_data` (no track that day: the city
 * was not served, or nothing was received). Only `done` and `in_progress` rows have a meaningful
 * share; the others list no missed streets and must read "no data", never "0 % — all missed".
 */

export async function routeCoverage(ctx: PlannerCtx, q: RangeIds & { routeId?: string; radiusM?: number }, now = Date.now()): Promise<CoverageRow[]> {
  if (!ctx.city) throw new ApiCityMissing();
  const segs = segmentIndex(ctx.city);
  const routes = new Map(ctx.city.routes.map((r) => [r.id, r]));
  if (q.routeId && !routes.has(q.routeId)) throw notFound('E_QUERY_UNKNOWN_ROUTE', `no route ${q.routeId}`);
  const trucks = devicesOf(ctx, ['truck'], q.deviceIds).filter((d) => d.truck && (!q.routeId || d.truck.routeId === q.routeId));
  const rows: CoverageRow[] = [];
  for (const t of trucks) {
    const route = routes.get(t.truck!.routeId);
    if (!route) continue;
    const planned = route.segments.slice(route.collectFrom, route.collectTo + 1).map((id) => {
      const f = segs.get(id);
      return { segmentId: id, name: f?.properties.name, coordinates: (f?.geometry.coordinates ?? []) as [number, number][] };
    });
    for (const day of localDays(q.from, q.to, ctx.tz)) {
      const shiftStart = day.dayStart + route.shiftStart * 3_600_000;
      const shiftEnd = shiftStart + route.shiftHours * 3_600_000;
      const base = { deviceId: t.id, routeId: route.id, date: day.date, planned: planned.length };
      if (now < shiftStart) {
        rows.push({ ...base, status: 'not_started', due: 0, served: 0, share: 0, fixes: 0, missed: [] });
        continue;
      }
      const track = await ctx.store.track({ deviceId: t.id, from: day.from, to: day.to });
      if (!track.length) {
        rows.push({ ...base, status: 'no_data', due: 0, served: 0, share: 0, fixes: 0, missed: [] });
        continue;
      }
      const c = coverage(splitRuns(track), planned, q.radiusM ?? SERVED_RADIUS_M);
      const inProgress = now < shiftEnd;
      const due = inProgress ? Math.max(1, Math.ceil((c.planned * (now - shiftStart)) / (shiftEnd - shiftStart))) : c.planned;
      const share = inProgress ? Math.min(1, c.served / due) : c.share;
      rows.push({ ...base, status: inProgress ? 'in_progress' : 'done', due, served: c.served, share: Math.round(share * 1000) / 1000, fixes: track.length, missed: inProgress ? [] : c.missed });
    }
  }
  return rows;
}

export class ApiCityMissing extends Error {
  statusCode = 409;
  code = 'E_QUERY_NO_CITY';
  constructor() {
    super('no city data (streets and routes) loaded: coverage is unavailable');
  }
}

// ── data completeness ───────────────────────────────────────────────────────────────────────
export interface CompletenessRow {
  deviceId: string;
  kind: string;
  stream: string;
  date: string;
  received: number;
  expected: number;
  /** received / expected, capped at 1 */
  ratio: number;
}

const MAIN_STREAM = { air: 'air', noise: 'noise', camera: 'status', truck: 'gps' } as const;

export async function completeness(ctx: PlannerCtx, q: RangeIds, now = Date.now()): Promise<CompletenessRow[]> {
  const devices = devicesOf(ctx, ['air', 'noise'], q.deviceIds);
  const rows: CompletenessRow[] = [];
  const end = Math.min(q.to, now);
  for (const d of devices) {
    const stream = MAIN_STREAM[d.kind];
    for (const day of localDays(q.from, Math.max(q.from + 1, end), ctx.tz)) {
      const received = await ctx.store.count({ stream, deviceId: d.id, from: day.from, to: day.to });
      const expected = Math.floor((day.to - day.from) / (d.intervals.dataS * 1000));
      rows.push({ deviceId: d.id, kind: d.kind, stream, date: day.date, received, expected, ratio: expected ? Math.min(1, Math.round((received / expected) * 1000) / 1000) : 1 });
    }
  }
  return rows;
}
