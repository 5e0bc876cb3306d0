/**
 * The typed queries of store/types.ts as InfluxQL (see README: why InfluxQL over /query).
 * Ordering and tie-breaking are finished here, so results equal the embedded store's.
 */
import { TELEMETRY_STREAMS, type AnyTelemetryRecord, type DeadLetter, type RejectReason, type TelemetryStream } from '../../contract';
import type { CountQuery, DeadLetterQuery, PlateCountRow, PlateReadRow, PlateSearchQuery, SeriesBucket, SeriesQuery, TimeRange, TrackPoint, TruckEventRow } from '../types';
import { anyOf, ident, literalRegex, nsTime, str, timeRange, where, type QlClient } from './influxql';
import { ALWAYS_FIELD, DEAD_LETTER, MEASUREMENT, rowToDeadLetter, rowToRecord, type Row } from './schema';

const HOUR = 3_600_000;
const m = (s: TelemetryStream) => ident(MEASUREMENT[s]);
const num = (v: unknown) => (typeof v === 'number' ? v : Number(v));
const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

/** Set optional numeric/string fields only when present (absent, never null). */
function putIf<T extends object>(o: T, key: string, v: unknown): void {
  if (v !== null && v !== undefined) (o as Record<string, unknown>)[key] = v;
}

/**
 * Newest-first with a limit where several rows may share the boundary millisecond: take the
 * newest `limit`, then fetch every row of the oldest millisecond in that page, so the caller's
 * tie-break decides which of them make the cut.
 */
async function newestFirst(ql: QlClient, select: string, clauses: string[], limit: number, tieBreak: (a: Row, b: Row) => number): Promise<Row[]> {
  if (limit <= 0) return [];
  const page = await ql.rows(`${select}${where(clauses)} ORDER BY time DESC LIMIT ${Math.trunc(limit)}`);
  let rows = page;
  if (page.length >= limit) {
    const edge = num(page[page.length - 1]!.time);
    const ties = await ql.rows(`${select}${where([...clauses, `time >= ${nsTime(edge)}`, `time < ${nsTime(edge + 1)}`])}`);
    rows = [...page.filter((r) => num(r.time) > edge), ...ties];
  }
  return rows.sort((a, b) => num(b.time) - num(a.time) || tieBreak(a, b)).slice(0, limit);
}

export async function track(ql: QlClient, q: { deviceId: string } & TimeRange): Promise<TrackPoint[]> {
  const rows = await ql.rows(`SELECT "lat","lon","speedKmh","heading","hdop","sats" FROM ${m('gps')}${where([`"device_id" = ${str(q.deviceId)}`, ...timeRange(q)])} ORDER BY time ASC`);
  return rows.map((r) => {
    const p: TrackPoint = { ts: num(r.time), lat: num(r.lat), lon: num(r.lon), speedKmh: num(r.speedKmh), heading: num(r.heading) };
    putIf(p, 'hdop', r.hdop);
    putIf(p, 'sats', r.sats);
    return p;
  });
}

export async function truckEvents(ql: QlClient, q: { deviceIds?: string[] } & TimeRange): Promise<TruckEventRow[]> {
  if (q.deviceIds && !q.deviceIds.length) return [];
  const clauses = [...timeRange(q)];
  if (q.deviceIds) clauses.push(anyOf('device_id', q.deviceIds));
  const rows = await ql.rows(`SELECT "type","lat","lon","binId","weightKg","device_id" FROM ${m('event')}${where(clauses)}`);
  return rows
    .map((r) => {
      const e: TruckEventRow = { deviceId: String(r.device_id), ts: num(r.time), type: r.type as TruckEventRow['type'] };
      putIf(e, 'lat', r.lat);
      putIf(e, 'lon', r.lon);
      putIf(e, 'binId', r.binId);
      putIf(e, 'weightKg', r.weightKg);
      return e;
    })
    .sort((a, b) => a.ts - b.ts || cmp(a.deviceId, b.deviceId));
}

export async function series(ql: QlClient, q: SeriesQuery): Promise<SeriesBucket[]> {
  if (q.deviceIds && !q.deviceIds.length) return [];
  if (!(q.windowMs >= 1)) throw Object.assign(new Error('windowMs must be >= 1'), { code: 'E_STORE_QUERY' });
  const f = ident(q.field);
  const clauses = [...timeRange(q)];
  if (q.deviceIds) clauses.push(anyOf('device_id', q.deviceIds));
  const res = await ql.query(
    `SELECT mean(${f}) AS "mean", min(${f}) AS "min", max(${f}) AS "max", count(${f}) AS "count" FROM ${m(q.stream)}${where(clauses)} GROUP BY time(${Math.trunc(q.windowMs)}ms), "device_id" fill(none)`,
  );
  const out: SeriesBucket[] = [];
  for (const s of res[0]?.series ?? []) {
    const deviceId = s.tags?.device_id ?? '';
    for (const v of s.values) {
      const [t, mean, min, max, count] = v as [number, number, number, number, number];
      if (!count) continue;
      out.push({ deviceId, t: num(t), mean: num(mean), min: num(min), max: num(max), count: num(count) });
    }
  }
  return out.sort((a, b) => cmp(a.deviceId, b.deviceId) || a.t - b.t);
}

export async function plateCounts(ql: QlClient, q: { cameraIds?: string[] } & TimeRange): Promise<PlateCountRow[]> {
  if (q.cameraIds && !q.cameraIds.length) return [];
  const clauses = [...timeRange(q)];
  if (q.cameraIds) clauses.push(anyOf('device_id', q.cameraIds));
  const res = await ql.query(`SELECT count("plate") AS "count" FROM ${m('plate')}${where(clauses)} GROUP BY time(1h), "device_id", "direction" fill(none)`);
  const out: PlateCountRow[] = [];
  for (const s of res[0]?.series ?? []) {
    for (const [t, count] of s.values as [number, number][]) {
      if (!count) continue;
      out.push({ cameraId: s.tags?.device_id ?? '', hour: Math.floor(num(t) / HOUR) * HOUR, direction: s.tags?.direction as PlateCountRow['direction'], count: num(count) });
    }
  }
  return out.sort((a, b) => cmp(a.cameraId, b.cameraId) || a.hour - b.hour || cmp(a.direction, b.direction));
}

const PLATE_SELECT = `SELECT "plate","region","confidence","lane","device_id","direction","district" FROM ${m('plate')}`;
const toPlateRow = (r: Row): PlateReadRow => ({
  cameraId: String(r.device_id),
  ts: num(r.time),
  plate: String(r.plate),
  region: String(r.region),
  confidence: num(r.confidence),
  direction: r.direction as PlateReadRow['direction'],
  lane: num(r.lane),
  district: String((r.district as string | undefined) ?? ''), // a tag: always a string
});

export async function plateSearch(ql: QlClient, q: PlateSearchQuery): Promise<PlateReadRow[]> {
  if (q.cameraIds && !q.cameraIds.length) return [];
  if (!q.plate) return [];
  const clauses = [...timeRange(q)];
  clauses.push(q.partial ? `"plate" =~ ${literalRegex(q.plate, 'i')}` : `"plate" = ${str(q.plate)}`);
  if (q.cameraIds) clauses.push(anyOf('device_id', q.cameraIds));
  const rows = await newestFirst(ql, PLATE_SELECT, clauses, q.limit, (a, b) => cmp(String(a.device_id), String(b.device_id)));
  return rows.map(toPlateRow);
}

export async function countStream(ql: QlClient, stream: TelemetryStream, q: Omit<CountQuery, 'stream'>): Promise<number> {
  const clauses = [...timeRange(q)];
  if (q.deviceId !== undefined) clauses.push(`"device_id" = ${str(q.deviceId)}`);
  const rows = await ql.rows(`SELECT count(${ident(ALWAYS_FIELD[stream])}) FROM ${m(stream)}${where(clauses)}`);
  return rows.reduce((s, r) => s + num(r.count ?? 0), 0);
}

export async function count(ql: QlClient, q: CountQuery): Promise<number> {
  const streams = q.stream ? [q.stream] : [...TELEMETRY_STREAMS];
  const counts = await Promise.all(streams.map((s) => countStream(ql, s, q)));
  return counts.reduce((a, b) => a + b, 0);
}

export async function purgePlates(ql: QlClient, before: number): Promise<number> {
  const n = await countStream(ql, 'plate', { to: before });
  if (n > 0) await ql.query(`DELETE FROM ${m('plate')} WHERE time < ${nsTime(before)}`);
  return n;
}

export async function latest(ql: QlClient, q: { deviceIds?: string[]; streams?: TelemetryStream[] }): Promise<AnyTelemetryRecord[]> {
  if ((q.deviceIds && !q.deviceIds.length) || (q.streams && !q.streams.length)) return [];
  const streams = q.streams ?? [...TELEMETRY_STREAMS];
  const clauses = q.deviceIds ? [anyOf('device_id', q.deviceIds)] : [];
  const stmts = streams.map((s) => `SELECT * FROM ${m(s)}${where(clauses)} GROUP BY "device_id" ORDER BY time DESC LIMIT 1`);
  const results = await ql.query(stmts.join('; '));
  const out: AnyTelemetryRecord[] = [];
  results.forEach((r, i) => {
    const stream = streams[r.statement_id ?? i]!;
    for (const s of r.series ?? []) {
      const cols = s.columns;
      const v = s.values[0];
      if (!v) continue;
      const row: Row = { ...s.tags };
      cols.forEach((c, j) => (row[c] = v[j]));
      out.push(rowToRecord(stream, row));
    }
  });
  return out.sort((a, b) => cmp(a.deviceId, b.deviceId) || cmp(a.stream, b.stream));
}

export async function deadLetters(ql: QlClient, q: DeadLetterQuery): Promise<DeadLetter[]> {
  const clauses = [...timeRange(q)];
  if (q.reason) clauses.push(`"reason" = ${str(q.reason)}`);
  if (q.deviceId !== undefined) clauses.push(`"deviceId" = ${str(q.deviceId)}`);
  const rows = await newestFirst(ql, `SELECT * FROM ${ident(DEAD_LETTER)}`, clauses, q.limit, (a, b) => cmp(String(a.id), String(b.id)));
  return rows.map(rowToDeadLetter).sort((a, b) => b.receivedAt - a.receivedAt || cmp(a.id, b.id));
}

export async function deadLetterCounts(ql: QlClient, q: Partial<TimeRange>): Promise<Partial<Record<RejectReason, number>>> {
  const res = await ql.query(`SELECT count("id") AS "count" FROM ${ident(DEAD_LETTER)}${where(timeRange(q))} GROUP BY "reason"`);
  const out: Partial<Record<RejectReason, number>> = {};
  for (const s of res[0]?.series ?? []) {
    const n = s.values.reduce((a, v) => a + num(v[1] ?? 0), 0);
    if (n > 0) out[s.tags?.reason as RejectReason] = n;
  }
  return out;
}

/** Keys (stream|device|ts) of points already stored among the given records' devices and times. */
export async function existingKeys(ql: QlClient, byStream: Map<TelemetryStream, { devices: Set<string>; from: number; to: number }>): Promise<Set<string>> {
  const stmts: string[] = [];
  const order: TelemetryStream[] = [];
  for (const [stream, g] of byStream) {
    const devices = [...g.devices];
    for (let i = 0; i < devices.length; i += 200) {
      const chunk = devices.slice(i, i + 200);
      stmts.push(`SELECT ${ident(ALWAYS_FIELD[stream])} FROM ${m(stream)}${where([anyOf('device_id', chunk), `time >= ${nsTime(g.from)}`, `time <= ${nsTime(g.to)}`])} GROUP BY "device_id"`);
      order.push(stream);
    }
  }
  const keys = new Set<string>();
  if (!stmts.length) return keys;
  const results = await ql.query(stmts.join('; '));
  results.forEach((r, i) => {
    const stream = order[r.statement_id ?? i]!;
    for (const s of r.series ?? []) {
      const dev = s.tags?.device_id ?? '';
      for (const v of s.values) keys.add(`${stream}|${dev}|${num(v[0])}`);
    }
  });
  return keys;
}
