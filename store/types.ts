/**
 * The one storage interface. Two backends implement it (embedded DuckDB: store/duckdb/,
 * InfluxDB: store/influx/) and both must pass the same contract suite (testing/store-contract-suite.ts).
 * Typed queries cross this boundary, never SQL or InfluxQL strings.
 *
 * Times are ms since epoch (UTC); ranges are half-open [from, to).
 */
import type { AirField, AnyTelemetryRecord, DeadLetter, NoiseField, PlateDirection, RejectReason, TelemetryStream, TruckEvent } from '../contract';

export interface WriteResult {
  /** points newly stored */
  written: number;
  /** points already present with the same (device, stream, event time): not written again */
  duplicates: number;
}

export interface TimeRange {
  from: number;
  to: number;
}

export interface TrackPoint {
  ts: number;
  lat: number;
  lon: number;
  speedKmh: number;
  heading: number;
  hdop?: number;
  sats?: number;
}

export interface TruckEventRow {
  deviceId: string;
  ts: number;
  type: TruckEvent['type'];
  lat?: number;
  lon?: number;
  binId?: string;
  weightKg?: number;
}

export type SeriesField = { stream: 'air'; field: AirField } | { stream: 'noise'; field: NoiseField };

export interface SeriesQuery extends TimeRange {
  stream: 'air' | 'noise';
  field: AirField | NoiseField;
  /** default: every device of that stream */
  deviceIds?: string[];
  /** bucket width; buckets are aligned to multiples of windowMs since the epoch */
  windowMs: number;
}

export interface SeriesBucket {
  deviceId: string;
  /** bucket start */
  t: number;
  mean: number;
  min: number;
  max: number;
  /** readings in the bucket that had this field */
  count: number;
}

export interface PlateCountRow {
  cameraId: string;
  /** hour start */
  hour: number;
  direction: PlateDirection;
  count: number;
}

export interface PlateReadRow {
  cameraId: string;
  ts: number;
  plate: string;
  region: string;
  confidence: number;
  direction: PlateDirection;
  lane: number;
  district: string;
}

export interface PlateSearchQuery extends TimeRange {
  /** exact plate, or with `partial` a substring (case-insensitive) */
  plate: string;
  partial?: boolean;
  cameraIds?: string[];
  limit: number;
}

export interface DeadLetterQuery extends Partial<TimeRange> {
  deviceId?: string;
  reason?: RejectReason;
  limit: number;
}

export interface CountQuery extends Partial<TimeRange> {
  stream?: TelemetryStream;
  deviceId?: string;
}

export interface StoreHealth {
  ok: boolean;
  backend: 'duckdb' | 'influx';
  detail: string;
  /** points waiting in memory / spilled to disk (InfluxDB writer), when relevant */
  buffered?: number;
  spilled?: number;
  /** write outcomes seen by this process (store/write-health.ts), ms; null = none yet */
  lastWriteAt?: number | null;
  writeFailingSince?: number | null;
  lastWriteError?: string | null;
}

/**
 * Options of a read. `signal`: aborting it cancels the query in the store (DuckDB: the read
 * connection's interrupt(); InfluxDB: the HTTP request is aborted, which stops the query on the
 * server); the call then rejects with code E_STORE_CANCELLED. Queued reads that are aborted
 * before they start never run. The API's time budgets use it (ops-console/api/lib/query-budget.ts).
 */
export interface ReadOptions {
  signal?: AbortSignal;
}

export interface TelemetryStore {
  readonly backend: 'duckdb' | 'influx';
  /** Create tables / retention policies if missing. Idempotent. */
  init(): Promise<void>;
  /**
   * Durably write a batch. Resolves only when the points are stored (or, for InfluxDB during an
   * outage, durably spilled to local disk). Idempotent per (deviceId, stream, ts).
   */
  writeBatch(records: AnyTelemetryRecord[]): Promise<WriteResult>;
  writeDeadLetters(letters: DeadLetter[]): Promise<void>;

  /** GPS fixes of one device, ts ascending. Optional fields not written are absent (not null). */
  track(q: { deviceId: string } & TimeRange, opts?: ReadOptions): Promise<TrackPoint[]>;
  /** Sorted by ts, then deviceId. */
  truckEvents(q: { deviceIds?: string[] } & TimeRange, opts?: ReadOptions): Promise<TruckEventRow[]>;
  /** Non-empty buckets only, sorted by deviceId, then t. */
  series(q: SeriesQuery, opts?: ReadOptions): Promise<SeriesBucket[]>;
  /** Plate reads per camera, UTC hour and direction; sorted by cameraId, hour, direction. */
  plateCounts(q: { cameraIds?: string[] } & TimeRange, opts?: ReadOptions): Promise<PlateCountRow[]>;
  /** Newest first (ts descending, then cameraId), at most `limit`. */
  plateSearch(q: PlateSearchQuery, opts?: ReadOptions): Promise<PlateReadRow[]>;
  /** Delete plate reads with event time before `before`; returns how many were removed. */
  purgePlates(before: number): Promise<number>;
  /** Latest record per (device, stream) by event time (not arrival), sorted by deviceId, then stream. */
  latest(q: { deviceIds?: string[]; streams?: TelemetryStream[] }, opts?: ReadOptions): Promise<AnyTelemetryRecord[]>;
  /** Filtered on receivedAt; newest first (receivedAt descending, then id), at most `limit`. */
  deadLetters(q: DeadLetterQuery, opts?: ReadOptions): Promise<DeadLetter[]>;
  /** Counted dead letters per reason over receivedAt (for the console and for zero-loss checks); reasons with none are absent. */
  deadLetterCounts(q: Partial<TimeRange>, opts?: ReadOptions): Promise<Partial<Record<RejectReason, number>>>;
  /** Number of stored points matching; used by zero-loss checks. */
  count(q: CountQuery, opts?: ReadOptions): Promise<number>;
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
