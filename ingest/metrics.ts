/**
 * Ingest metrics on their own prom-client Registry (never the global one, so several workers or
 * tests in one process don't collide); served over HTTP by lib/metrics-server.ts.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REJECT_REASONS, type RejectReason } from '../contract';
import type { StoreHealth } from '../store/types';

export interface IngestCounters {
  /** device messages received (every topic under city/v1/ except svc/) */
  received: number;
  /** records newly stored */
  written: number;
  /** duplicates (in-memory and store-reported), not stored again */
  duplicates: number;
  /** rejected per reason (dead-lettered; `duplicate` mirrors `duplicates`) */
  rejected: Record<RejectReason, number>;
  /** dead letters stored */
  deadLettered: number;
  /** accepted readings flagged late */
  late: number;
  /** presence messages */
  presence: number;
  /** broker reports of refused device connections (svc/auth) */
  authRefused: number;
  /** batches written */
  batches: number;
  /** failed store write attempts (retried) */
  writeErrors: number;
  /** messages received and not yet acknowledged */
  inFlight: number;
  /** live states and plate reads published */
  statesPublished: number;
  platesPublished: number;
}

export function createIngestMetrics(opts: { inFlight: () => number; storeHealth?: () => Promise<StoreHealth> }) {
  const registry = new Registry();
  const c: Omit<IngestCounters, 'inFlight' | 'rejected'> & { rejected: Record<string, number> } = {
    received: 0,
    written: 0,
    duplicates: 0,
    rejected: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])),
    deadLettered: 0,
    late: 0,
    presence: 0,
    authRefused: 0,
    batches: 0,
    writeErrors: 0,
    statesPublished: 0,
    platesPublished: 0,
  };
  const received = new Counter({ name: 'ingest_messages_received_total', help: 'device messages received', registers: [registry] });
  const written = new Counter({ name: 'ingest_records_written_total', help: 'records newly stored', registers: [registry] });
  const duplicates = new Counter({ name: 'ingest_duplicates_total', help: 'duplicate readings (same device, stream, event time), not stored again', registers: [registry] });
  const rejected = new Counter({ name: 'ingest_rejected_total', help: 'messages rejected, by reason', labelNames: ['reason'], registers: [registry] });
  for (const r of REJECT_REASONS) rejected.labels(r).inc(0);
  const deadLettered = new Counter({ name: 'ingest_dead_letters_written_total', help: 'dead letters stored', registers: [registry] });
  const late = new Counter({ name: 'ingest_late_readings_total', help: 'accepted readings that arrived late (stored at their event time)', registers: [registry] });
  const presence = new Counter({ name: 'ingest_presence_messages_total', help: 'presence (online/offline) messages', registers: [registry] });
  const authRefused = new Counter({ name: 'ingest_auth_refusals_total', help: 'broker reports of refused device connections (svc/auth)', registers: [registry] });
  const writeErrors = new Counter({ name: 'ingest_write_errors_total', help: 'failed store write attempts (retried with back-off)', registers: [registry] });
  const published = new Counter({ name: 'ingest_published_total', help: 'messages published on service topics', labelNames: ['topic'], registers: [registry] });
  const writeLatency = new Histogram({
    name: 'ingest_write_latency_seconds',
    help: 'store write latency per batch',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'ingest_batch_size_points',
    help: 'records per written batch',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers: [registry],
  });
  new Gauge({
    name: 'ingest_in_flight_messages',
    help: 'messages received and not yet acknowledged (waiting for their batch to be written)',
    registers: [registry],
    collect() {
      this.set(opts.inFlight());
    },
  });
  const storeHealth = opts.storeHealth;
  if (storeHealth) {
    // The gauges of one scrape share one health() call.
    let cached: { at: number; p: Promise<StoreHealth | null> } | null = null;
    const health = () => {
      const now = Date.now();
      if (!cached || now - cached.at > 500) cached = { at: now, p: storeHealth().catch(() => null) };
      return cached.p;
    };
    new Gauge({
      name: 'ingest_store_buffered_points',
      help: 'points the store holds in memory before they are durable (InfluxDB writer)',
      registers: [registry],
      async collect() {
        this.set((await health())?.buffered ?? 0);
      },
    });
    new Gauge({
      name: 'ingest_store_spilled_points',
      help: 'points the store spilled to local disk during an outage (InfluxDB writer)',
      registers: [registry],
      async collect() {
        this.set((await health())?.spilled ?? 0);
      },
    });
    new Gauge({
      name: 'ingest_store_up',
      help: '1 when the store reports healthy',
      registers: [registry],
      async collect() {
        this.set((await health())?.ok ? 1 : 0);
      },
    });
  }

  return {
    registry,
    received() {
      c.received++;
      received.inc();
    },
    written(n: number) {
      c.written += n;
      written.inc(n);
    },
    duplicate(n = 1) {
      if (n <= 0) return;
      c.duplicates += n;
      c.rejected.duplicate! += n;
      duplicates.inc(n);
      rejected.labels('duplicate').inc(n);
    },
    rejected(reason: Exclude<RejectReason, 'duplicate'>) {
      c.rejected[reason]!++;
      rejected.labels(reason).inc();
    },
    deadLettered(n: number) {
      c.deadLettered += n;
      deadLettered.inc(n);
    },
    late() {
      c.late++;
      late.inc();
    },
    presence() {
      c.presence++;
      presence.inc();
    },
    authRefused() {
      c.authRefused++;
      authRefused.inc();
    },
    batch(points: number, latencyMs: number) {
      c.batches++;
      batchSize.observe(points);
      writeLatency.observe(latencyMs / 1000);
    },
    writeError() {
      c.writeErrors++;
      writeErrors.inc();
    },
    published(kind: 'state' | 'plate' | 'alert' | 'geofence') {
      if (kind === 'state') c.statesPublished++;
      if (kind === 'plate') c.platesPublished++;
      published.labels(kind).inc();
    },
    snapshot(): IngestCounters {
      return { ...c, rejected: { ...(c.rejected as Record<RejectReason, number>) }, inFlight: opts.inFlight() };
    },
  };
}
export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/**
 * Where every received device message went: newly stored, refused (dead-lettered, or a duplicate
 * not stored again), a presence message (live state only, never a record), or still in flight.
 * `unaccounted` is 0 unless a message was lost inside ingest; "received minus written" alone is
 * not a loss (at a clean stop of `npm start` it is the presence messages plus the refusals).
 */
export function accounting(c: IngestCounters): { received: number; written: number; refused: number; presence: number; inFlight: number; unaccounted: number } {
  const refused = Object.values(c.rejected).reduce((s, n) => s + n, 0);
  return { received: c.received, written: c.written, refused, presence: c.presence, inFlight: c.inFlight, unaccounted: c.received - c.written - refused - c.presence - c.inFlight };
}
