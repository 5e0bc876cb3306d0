/**
 * Typed queries of the embedded store. Every value from the caller is bound as a parameter;
 * only column and table names from the schema's own tables are spliced into SQL.
 */
import { BIGINT, LIST, VARCHAR, listValue, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { AIR_FIELDS, NOISE_FIELDS, REJECT_REASONS, TELEMETRY_STREAMS, type AnyTelemetryRecord, type DeadLetter, type RejectReason, type TelemetryStream } from '../../contract';
import type { CountQuery, DeadLetterQuery, PlateCountRow, PlateReadRow, PlateSearchQuery, SeriesBucket, SeriesQuery, TimeRange, TrackPoint, TruckEventRow } from '../types';
import { StoreError } from '../errors';
import { HOUR_MS, ROLLUPS, STREAM_TABLES, fieldColumn } from './schema';

type Row = Record<string, DuckDBValue>;

/** Parameters bound by name ($p0, $p1, ...), each with its DuckDB type. */
class Params {
  readonly values: Record<string, DuckDBValue> = {};
  readonly types: Record<string, DuckDBType> = {};
  private n = 0;
  private add(v: DuckDBValue, t: DuckDBType): string {
    const k = `p${this.n++}`;
    this.values[k] = v;
    this.types[k] = t;
    return `$${k}`;
  }
  int(v: number): string {
    return this.add(BigInt(v), BIGINT);
  }
  str(v: string): string {
    return this.add(v, VARCHAR);
  }
  strs(v: string[]): string {
    return this.add(listValue(v), LIST(VARCHAR));
  }
}

/**
 * Run a query and read its rows a DuckDB chunk (2,048 rows) at a time, converting each chunk with
 * `map` and yielding to the event loop between chunks: a result of 200,000 rows never holds the
 * loop that serves MQTT and /health for more than one chunk's conversion (issue 14). Streaming
 * also means DuckDB computes the next chunk while the loop runs other work.
 */
async function rows<T = Row>(conn: DuckDBConnection, sql: string, p: Params, map: (r: Row) => T = (r) => r as T): Promise<T[]> {
  const result = await conn.stream(sql, p.values, p.types);
  const out: T[] = [];
  for await (const chunk of result.yieldRowObjects()) {
    for (const r of chunk) out.push(map(r));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}

const num = (v: DuckDBValue): number => (typeof v === 'bigint' ? Number(v) : (v as number));

/** A time bound as the first integer millisecond it admits: ts >= x  ⇔  ts >= ceil(x). */
function bound(v: number, what: string): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new StoreError('E_STORE_QUERY', `${what} must be a number (ms since epoch)`);
  if (v === Infinity) return Number.MAX_SAFE_INTEGER;
  if (v === -Infinity) return Number.MIN_SAFE_INTEGER;
  return Math.ceil(v);
}

/** `ts >= from AND ts < to` for whichever bounds are given. */
function timeWhere(p: Params, col: string, q: Partial<TimeRange>): string[] {
  const w: string[] = [];
  if (q.from !== undefined) w.push(`${col} >= ${p.int(bound(q.from, 'from'))}`);
  if (q.to !== undefined) w.push(`${col} < ${p.int(bound(q.to, 'to'))}`);
  return w;
}

function limitOf(limit: number): number {
  if (!Number.isFinite(limit) || limit < 0) throw new StoreError('E_STORE_QUERY', 'limit must be a non-negative number');
  return Math.floor(limit);
}

const where = (w: string[]) => (w.length ? `WHERE ${w.join(' AND ')}` : '');

export async function track(conn: DuckDBConnection, q: { deviceId: string } & TimeRange): Promise<TrackPoint[]> {
  const p = new Params();
  const w = [`device_id = ${p.str(q.deviceId)}`, ...timeWhere(p, 'ts', q)];
  return rows(conn, `SELECT ts, lat, lon, speed_kmh, heading, hdop, sats FROM t_gps ${where(w)} ORDER BY ts`, p, (r) => {
    const t: TrackPoint = { ts: num(r.ts!), lat: num(r.lat!), lon: num(r.lon!), speedKmh: num(r.speed_kmh!), heading: num(r.heading!) };
    if (r.hdop !== null) t.hdop = num(r.hdop!);
    if (r.sats !== null) t.sats = num(r.sats!);
    return t;
  });
}

export async function truckEvents(conn: DuckDBConnection, q: { deviceIds?: string[] } & TimeRange): Promise<TruckEventRow[]> {
  const p = new Params();
  const w = timeWhere(p, 'ts', q);
  if (q.deviceIds) w.push(`list_contains(${p.strs(q.deviceIds)}, device_id)`);
  const out = await rows(conn, `SELECT device_id, ts, event_type, lat, lon, bin_id, weight_kg FROM t_event ${where(w)} ORDER BY ts, device_id`, p);
  return out.map((r) => {
    const e: TruckEventRow = { deviceId: r.device_id as string, ts: num(r.ts!), type: r.event_type as TruckEventRow['type'] };
    if (r.lat !== null) e.lat = num(r.lat!);
    if (r.lon !== null) e.lon = num(r.lon!);
    if (r.bin_id !== null) e.binId = r.bin_id as string;
    if (r.weight_kg !== null) e.weightKg = num(r.weight_kg!);
    return e;
  });
}

/**
 * Mean/min/max/count per device and aligned bucket. When the window is a whole number of hours,
 * the whole hours inside the range come from the hourly rollup and only the partial hours at
 * either end from the raw table; both give (sum, count, min, max) that combine exactly.
 */
export async function series(conn: DuckDBConnection, q: SeriesQuery): Promise<SeriesBucket[]> {
  const fields: readonly string[] = q.stream === 'air' ? AIR_FIELDS : q.stream === 'noise' ? NOISE_FIELDS : [];
  if (!fields.includes(q.field)) throw new StoreError('E_STORE_QUERY', `unknown series field ${JSON.stringify(q.field)} for stream ${JSON.stringify(q.stream)}`);
  if (!Number.isSafeInteger(q.windowMs) || q.windowMs < 1) throw new StoreError('E_STORE_QUERY', 'windowMs must be a positive integer');
  const c = fieldColumn(q.stream, q.field)!;
  const table = STREAM_TABLES[q.stream].table;
  const rollup = ROLLUPS[q.stream].table;
  const from = bound(q.from, 'from');
  const to = bound(q.to, 'to');
  if (to <= from) return [];
  const w = q.windowMs;
  const p = new Params();
  const devFilter = q.deviceIds ? ` AND list_contains(${p.strs(q.deviceIds)}, device_id)` : '';

  const raw = (a: number, b: number) =>
    `SELECT device_id, (ts // ${w}) * ${w} AS t, sum(${c}) AS s, count(${c}) AS n, min(${c}) AS mn, max(${c}) AS mx ` +
    `FROM ${table} WHERE ts >= ${p.int(a)} AND ts < ${p.int(b)} AND ${c} IS NOT NULL${devFilter} GROUP BY ALL`;

  const parts: string[] = [];
  const hFrom = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const hTo = Math.floor(to / HOUR_MS) * HOUR_MS;
  if (w % HOUR_MS === 0 && hFrom < hTo) {
    if (from < hFrom) parts.push(raw(from, hFrom));
    parts.push(
      `SELECT device_id, (hour // ${w}) * ${w} AS t, sum(${c}_sum) AS s, sum(${c}_cnt) AS n, min(${c}_min) AS mn, max(${c}_max) AS mx ` +
        `FROM ${rollup} WHERE hour >= ${p.int(hFrom)} AND hour < ${p.int(hTo)} AND ${c}_cnt > 0${devFilter} GROUP BY ALL`,
    );
    if (hTo < to) parts.push(raw(hTo, to));
  } else {
    parts.push(raw(from, to));
  }
  const sql =
    parts.length === 1
      ? `SELECT device_id, t, s / n AS mean, mn, mx, n FROM (${parts[0]}) ORDER BY device_id, t`
      : `SELECT device_id, t, sum(s) / sum(n) AS mean, min(mn) AS mn, max(mx) AS mx, sum(n) AS n FROM (${parts.join(' UNION ALL ')}) GROUP BY device_id, t ORDER BY device_id, t`;
  // read column-wise (no row object per bucket) with doubles, not BigInts: a 200,000-bucket answer
  // makes ~200,000 objects of garbage fewer, which is what stalls a loaded event loop (GC)
  const result = await conn.stream(`SELECT device_id, t::DOUBLE AS t, mean, mn, mx, n::DOUBLE AS n FROM (${sql}) ORDER BY device_id, t`, p.values, p.types);
  const out: SeriesBucket[] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const [dev, t, mean, mn, mx, n] = chunk.getColumns() as [string[], number[], number[], number[], number[], number[]];
    for (let i = 0; i < chunk.rowCount; i++) out.push({ deviceId: dev[i]!, t: t[i]!, mean: mean[i]!, min: mn[i]!, max: mx[i]!, count: n[i]! });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}

export async function plateCounts(conn: DuckDBConnection, q: { cameraIds?: string[] } & TimeRange): Promise<PlateCountRow[]> {
  const p = new Params();
  const w = timeWhere(p, 'ts', q);
  if (q.cameraIds) w.push(`list_contains(${p.strs(q.cameraIds)}, device_id)`);
  const out = await rows(conn, `SELECT device_id, (ts // ${HOUR_MS}) * ${HOUR_MS} AS hour, direction, count(*) AS n FROM t_plate ${where(w)} GROUP BY ALL ORDER BY device_id, hour, direction`, p);
  return out.map((r) => ({ cameraId: r.device_id as string, hour: num(r.hour!), direction: r.direction as PlateCountRow['direction'], count: num(r.n!) }));
}

export async function plateSearch(conn: DuckDBConnection, q: PlateSearchQuery): Promise<PlateReadRow[]> {
  if (typeof q.plate !== 'string') throw new StoreError('E_STORE_QUERY', 'plate must be a string');
  const p = new Params();
  const w = timeWhere(p, 'ts', q);
  const needle = p.str(q.plate.toUpperCase());
  // contains() and = are literal: no wildcard or regex characters
  w.push(q.partial ? `contains(upper(plate), ${needle})` : `upper(plate) = ${needle}`);
  if (q.cameraIds) w.push(`list_contains(${p.strs(q.cameraIds)}, device_id)`);
  const out = await rows(conn, `SELECT device_id, ts, plate, region, confidence, direction, lane, district FROM t_plate ${where(w)} ORDER BY ts DESC, device_id LIMIT ${p.int(limitOf(q.limit))}`, p);
  return out.map((r) => ({
    cameraId: r.device_id as string,
    ts: num(r.ts!),
    plate: r.plate as string,
    region: r.region as string,
    confidence: num(r.confidence!),
    direction: r.direction as PlateReadRow['direction'],
    lane: num(r.lane!),
    district: r.district as string,
  }));
}

export async function latest(conn: DuckDBConnection, q: { deviceIds?: string[]; streams?: TelemetryStream[] }): Promise<AnyTelemetryRecord[]> {
  const p = new Params();
  const w: string[] = [];
  if (q.deviceIds) w.push(`list_contains(${p.strs(q.deviceIds)}, device_id)`);
  if (q.streams) w.push(`list_contains(${p.strs(q.streams)}, stream)`);
  const out = await rows(conn, `SELECT record FROM latest ${where(w)} ORDER BY device_id, stream`, p);
  return out.map((r) => JSON.parse(r.record as string) as AnyTelemetryRecord);
}

export async function deadLetters(conn: DuckDBConnection, q: DeadLetterQuery): Promise<DeadLetter[]> {
  const p = new Params();
  const w = timeWhere(p, 'received_at', q);
  if (q.deviceId !== undefined) w.push(`device_id = ${p.str(q.deviceId)}`);
  if (q.reason !== undefined) w.push(`reason = ${p.str(q.reason)}`);
  const out = await rows(conn, `SELECT id, received_at, topic, device_id, reason, detail, payload FROM dead_letters ${where(w)} ORDER BY received_at DESC, id LIMIT ${p.int(limitOf(q.limit))}`, p);
  return out.map((r) => ({
    id: r.id as string,
    receivedAt: num(r.received_at!),
    topic: r.topic as string,
    deviceId: (r.device_id as string | null) ?? null,
    reason: r.reason as RejectReason,
    detail: r.detail as string,
    payload: r.payload as string,
  }));
}

export async function deadLetterCounts(conn: DuckDBConnection, q: Partial<TimeRange>): Promise<Partial<Record<RejectReason, number>>> {
  const p = new Params();
  const out = await rows(conn, `SELECT reason, count(*) AS n FROM dead_letters ${where(timeWhere(p, 'received_at', q))} GROUP BY reason ORDER BY reason`, p);
  const counts: Partial<Record<RejectReason, number>> = {};
  for (const r of out) if ((REJECT_REASONS as readonly string[]).includes(r.reason as string)) counts[r.reason as RejectReason] = num(r.n!);
  return counts;
}

export async function count(conn: DuckDBConnection, q: CountQuery): Promise<number> {
  if (q.stream !== undefined && !(TELEMETRY_STREAMS as readonly string[]).includes(q.stream)) {
    throw new StoreError('E_STORE_QUERY', `unknown stream ${JSON.stringify(q.stream)}`);
  }
  const streams = q.stream ? [q.stream] : TELEMETRY_STREAMS;
  const p = new Params();
  const w = timeWhere(p, 'ts', q);
  if (q.deviceId !== undefined) w.push(`device_id = ${p.str(q.deviceId)}`);
  const sql = streams.map((s) => `SELECT count(*) AS n FROM ${STREAM_TABLES[s].table} ${where(w)}`).join(' UNION ALL ');
  const out = await rows(conn, `SELECT sum(n) AS n FROM (${sql})`, p);
  return num(out[0]?.n ?? 0);
}
