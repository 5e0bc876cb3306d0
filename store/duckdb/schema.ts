/**
 * Tables of the embedded store: one per telemetry stream with typed columns (payload fields in
 * snake_case, plus district, late, received_at), keyed on (device_id, ts) so writes are
 * idempotent; hourly rollups for air and noise; the latest record per (device, stream); dead
 * letters. Times are BIGINT epoch milliseconds (UTC), exactly as the contract carries them.
 */
import { BIGINT, BOOLEAN, DOUBLE, INTEGER, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import { AIR_FIELDS, NOISE_FIELDS, TELEMETRY_STREAMS, type DeviceKind, type TelemetryStream } from '../../contract';

export type SqlType = 'VARCHAR' | 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN';
export const DUCK_TYPES: Record<SqlType, DuckDBType> = { VARCHAR, BIGINT, INTEGER, DOUBLE, BOOLEAN };

/** A payload field stored in its own column. */
export interface PayloadColumn {
  key: string;
  column: string;
  type: SqlType;
  required: boolean;
}

export interface StreamTable {
  stream: TelemetryStream;
  table: string;
  /** kind of the devices publishing this stream; null = any kind (status), stored in a column */
  kind: DeviceKind | null;
  payload: PayloadColumn[];
}

const col = (key: string, column: string, type: SqlType, required = false): PayloadColumn => ({ key, column, type, required });

export const STREAM_TABLES: Record<TelemetryStream, StreamTable> = {
  gps: {
    stream: 'gps',
    table: 't_gps',
    kind: 'truck',
    payload: [
      col('lat', 'lat', 'DOUBLE', true),
      col('lon', 'lon', 'DOUBLE', true),
      col('speedKmh', 'speed_kmh', 'DOUBLE', true),
      col('heading', 'heading', 'DOUBLE', true),
      col('hdop', 'hdop', 'DOUBLE'),
      col('sats', 'sats', 'INTEGER'),
    ],
  },
  event: {
    stream: 'event',
    table: 't_event',
    kind: 'truck',
    payload: [col('type', 'event_type', 'VARCHAR', true), col('lat', 'lat', 'DOUBLE'), col('lon', 'lon', 'DOUBLE'), col('binId', 'bin_id', 'VARCHAR'), col('weightKg', 'weight_kg', 'DOUBLE')],
  },
  air: {
    stream: 'air',
    table: 't_air',
    kind: 'air',
    payload: [
      col('windowS', 'window_s', 'INTEGER', true),
      col('pm25', 'pm25', 'DOUBLE'),
      col('pm10', 'pm10', 'DOUBLE'),
      col('o3', 'o3', 'DOUBLE'),
      col('no2', 'no2', 'DOUBLE'),
      col('so2', 'so2', 'DOUBLE'),
      col('co', 'co', 'DOUBLE'),
      col('tempC', 'temp_c', 'DOUBLE'),
      col('rhPct', 'rh_pct', 'DOUBLE'),
    ],
  },
  noise: {
    stream: 'noise',
    table: 't_noise',
    kind: 'noise',
    payload: [col('windowS', 'window_s', 'INTEGER', true), col('laeq', 'laeq', 'DOUBLE', true), col('lamax', 'lamax', 'DOUBLE', true), col('lamin', 'lamin', 'DOUBLE', true)],
  },
  plate: {
    stream: 'plate',
    table: 't_plate',
    kind: 'camera',
    payload: [
      col('plate', 'plate', 'VARCHAR', true),
      col('region', 'region', 'VARCHAR', true),
      col('confidence', 'confidence', 'DOUBLE', true),
      col('direction', 'direction', 'VARCHAR', true),
      col('lane', 'lane', 'INTEGER', true),
      col('frames', 'frames', 'INTEGER'),
    ],
  },
  status: {
    stream: 'status',
    table: 't_status',
    kind: null,
    payload: [
      col('fw', 'fw', 'VARCHAR', true),
      col('uptimeS', 'uptime_s', 'BIGINT', true),
      col('batteryPct', 'battery_pct', 'DOUBLE'),
      col('powerV', 'power_v', 'DOUBLE'),
      col('signalDbm', 'signal_dbm', 'DOUBLE'),
      col('clockSkewMs', 'clock_skew_ms', 'BIGINT'),
    ],
  },
};

/** Columns of a stream table, in table order. */
export interface TableColumn {
  column: string;
  type: SqlType;
}
export function tableColumns(t: StreamTable): TableColumn[] {
  return [
    { column: 'device_id', type: 'VARCHAR' },
    { column: 'ts', type: 'BIGINT' },
    ...(t.kind === null ? [{ column: 'kind', type: 'VARCHAR' as const }] : []),
    ...t.payload.map((p) => ({ column: p.column, type: p.type })),
    { column: 'district', type: 'VARCHAR' },
    { column: 'late', type: 'BOOLEAN' },
    { column: 'received_at', type: 'BIGINT' },
  ];
}

export const HOUR_MS = 3_600_000;

/** Streams with an hourly rollup, and the payload fields rolled up (each: sum, cnt, min, max). */
export const ROLLUPS = {
  air: { table: 'r_air_1h', fields: AIR_FIELDS },
  noise: { table: 'r_noise_1h', fields: NOISE_FIELDS },
} as const;
export type RollupStream = keyof typeof ROLLUPS;

/** Column of a payload field of a stream, or undefined when the stream has no such field. */
export function fieldColumn(stream: TelemetryStream, key: string): string | undefined {
  return STREAM_TABLES[stream].payload.find((p) => p.key === key)?.column;
}

export function schemaDdl(): string[] {
  const ddl: string[] = [];
  for (const s of TELEMETRY_STREAMS) {
    const t = STREAM_TABLES[s];
    const cols = tableColumns(t).map((c) => `${c.column} ${c.type}${c.column === 'device_id' || c.column === 'ts' ? ' NOT NULL' : ''}`);
    ddl.push(`CREATE TABLE IF NOT EXISTS ${t.table} (${cols.join(', ')}, PRIMARY KEY (device_id, ts))`);
  }
  for (const [stream, r] of Object.entries(ROLLUPS) as [RollupStream, (typeof ROLLUPS)[RollupStream]][]) {
    const cols = r.fields.flatMap((f) => {
      const c = fieldColumn(stream, f)!;
      return [`${c}_sum DOUBLE`, `${c}_cnt BIGINT NOT NULL DEFAULT 0`, `${c}_min DOUBLE`, `${c}_max DOUBLE`];
    });
    ddl.push(`CREATE TABLE IF NOT EXISTS ${r.table} (device_id VARCHAR NOT NULL, hour BIGINT NOT NULL, ${cols.join(', ')}, PRIMARY KEY (device_id, hour))`);
  }
  ddl.push(`CREATE TABLE IF NOT EXISTS latest (device_id VARCHAR NOT NULL, stream VARCHAR NOT NULL, ts BIGINT NOT NULL, record VARCHAR NOT NULL, PRIMARY KEY (device_id, stream))`);
  ddl.push(
    `CREATE TABLE IF NOT EXISTS dead_letters (id VARCHAR PRIMARY KEY, received_at BIGINT NOT NULL, topic VARCHAR NOT NULL, device_id VARCHAR, reason VARCHAR NOT NULL, detail VARCHAR NOT NULL, payload VARCHAR NOT NULL)`,
  );
  return ddl;
}

/** Connection-local staging tables (TEMP: in memory, never in the file) for the write connection. */
export function stagingDdl(): string[] {
  const ddl: string[] = [];
  for (const s of TELEMETRY_STREAMS) {
    const t = STREAM_TABLES[s];
    ddl.push(`CREATE OR REPLACE TEMP TABLE stg_${s} AS SELECT * FROM ${t.table} LIMIT 0`);
    ddl.push(`CREATE OR REPLACE TEMP TABLE new_${s} AS SELECT * FROM ${t.table} LIMIT 0`);
  }
  ddl.push(`CREATE OR REPLACE TEMP TABLE stg_latest AS SELECT * FROM latest LIMIT 0`);
  ddl.push(`CREATE OR REPLACE TEMP TABLE stg_dead_letters AS SELECT * FROM dead_letters LIMIT 0`);
  return ddl;
}
