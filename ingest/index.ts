/**
 * Ingest worker: consumes every device message from the broker (QoS 1, persistent session),
 * validates it against the contract and the registry, de-duplicates, enriches (district), writes
 * records and dead letters to the store in batches, and acknowledges each message only after its
 * batch is durably written (at-least-once delivery + idempotent writes = exactly once in the store).
 * After each write it feeds the alert rules and publishes derived live state on svc/ topics.
 *
 *   const ingest = await startIngest({ registry, store, mqttUrl, username: 'ingest', password, metricsPort: 0 });
 *   ...
 *   await ingest.stop();   // flushes, acknowledges, disconnects cleanly
 *
 * This file is the composition root (options, store writer, metrics server, MQTT, stop); the
 * message routing is ./router.ts and the svc/ publishing ./publisher.ts.
 */
import { DEFAULT_TIME_POLICY, SUB_ALL_DEVICE_DATA, SUB_DEVICE_DATA_BY_KIND, deviceTopic, type AlertEvent, type GeofenceEvent, type LiveState, type TimePolicy } from '../contract';
import { createLogger, type Logger } from '../lib/log';
import { withDefaults } from '../lib/options';
import type { TelemetryStore } from '../store/types';
import { BatchWriter } from './batch-writer';
import { deadLetter, type DeviceLookup } from './classify';
import { startConsumer } from './consumer';
import { RecentKeys } from './dedupe';
import { LiveStateBook } from './live-state';
import { createLogLimiter } from './log-limiter';
import { Registry } from 'prom-client';
import { accounting, createIngestMetrics, type IngestCounters } from './metrics';
import { serveMetrics } from '../lib/metrics-server';
import type { RuleEngine } from './rule-engine';
import { dataFilters, notOwnedFilters, workerSubscriptions, type Partition } from './partition';
import { createPublisher } from './publisher';
import { createRouter, createSafely, type Router } from './router';
import type { RegistryDevice } from '../registry/schema';

export type { IngestCounters } from './metrics';
export type { RuleEngine } from './rule-engine';

/** Build the rule engine once ingest can publish for it (rules publish AlertEvents through ingest's connection). */
// properties, not methods: rule engines take them unbound (`({ publish }) => …`)
export type RuleEngineFactory = (ctx: { publish: (alert: AlertEvent) => void; publishGeofence: (e: GeofenceEvent) => void }) => RuleEngine;

export interface StartIngestOptions {
  /** the device registry (a RegistryView; reloads apply at once) */
  registry: DeviceLookup & { registry?: { devices: RegistryDevice[] }; onChange?(fn: () => void): () => void };
  /**
   * this worker's share of the devices when several ingest workers run in parallel
   * (ingest/partition.ts; INGEST_WORKER / INGEST_WORKERS); default: every device. Needs a
   * RegistryView as `registry` (the device list, and its changes for devices added later).
   */
  partition?: Partition;
  store: TelemetryStore;
  mqttUrl: string;
  /** the `ingest` service account */
  username: string;
  password: string;
  /** stable client id: the broker keeps the persistent session under it (default 'ingest-1') */
  clientId?: string;
  /** Prometheus /metrics port: 0 = a free port, undefined = no HTTP server */
  metricsPort?: number;
  /** interface of the metrics server (default 127.0.0.1) */
  metricsHost?: string;
  /** other registries served on the same /metrics (e.g. the broker's, when both run in one process) */
  extraMetrics?: Registry[];
  timePolicy?: Partial<Omit<TimePolicy, 'now'>>;
  /** points per store write (default 5000) */
  batchSize?: number;
  /** a partial batch is written after this long (default 250 ms) */
  flushMs?: number;
  /** most un-acknowledged messages held; beyond it ingest stops reading from the broker (default 2 × batchSize, at least 100) */
  maxInFlight?: number;
  /**
   * store writes under way at once (default 4, from the sweep in bench/README.md "Durable pipeline core"):
   * the next batch is written while earlier ones are; PUBACKs stay in arrival order (batch-writer.ts)
   */
  maxWrites?: number;
  /** publish svc/state (retained, coalesced) and svc/plate (default true) */
  publishState?: boolean;
  /** the alert rules: an engine (fed by ingest; it publishes via `publishAlert`) or a factory given ingest's publish function */
  rules?: RuleEngine | RuleEngineFactory;
  /** recent (stream, event time) keys remembered per device for de-duplication (default 1024) */
  recentKeysPerDevice?: number;
  /** how long stop() waits for the last writes before leaving them to redelivery (default 10 s) */
  stopTimeoutMs?: number;
  /** a `planned` device's first real reading was stored (lifecycle: planned → installed); called once per device */
  onFirstContact?: (deviceId: string) => void;
  /** the platform clock (arrival times, rule ticks); default Date.now — a scenario runs it faster */
  clock?: () => number;
  log?: Logger;
}

export interface IngestStopReport {
  /** messages held but not written when ingest stopped (left un-acknowledged, for broker redelivery) */
  unwritten: number;
}

export interface IngestHandle {
  metricsPort: number | null;
  /**
   * Clean stop: stop taking messages, write and acknowledge what is held, disconnect. Resolves
   * with what could not be written (the store failed or was too slow): those messages were never
   * acknowledged to the broker, so its session keeps them for the next start.
   */
  stop(): Promise<IngestStopReport>;
  counters(): IngestCounters;
  /** Publish an alert event (QoS 1) on svc/alerts/<id>. */
  publishAlert(alert: AlertEvent): void;
  /** The live state ingest holds for a device. */
  liveState(deviceId: string): LiveState | undefined;
  /**
   * Crash simulation (tests): drop the MQTT connection at once, discard unwritten batches, send
   * no acknowledgement. Resolves once a store write that was already under way has settled.
   */
  kill(): Promise<void>;
}

/** defaults of the options (aedes style: one object, spread under the caller's) */
export const INGEST_DEFAULTS = {
  metricsHost: '127.0.0.1',
  batchSize: 5000,
  flushMs: 250,
  maxWrites: 4,
  publishState: true,
  recentKeysPerDevice: 1024,
  stopTimeoutMs: 10_000,
  clock: Date.now as () => number,
} satisfies Partial<StartIngestOptions>;

export async function startIngest(opts: StartIngestOptions): Promise<IngestHandle> {
  const o = withDefaults(INGEST_DEFAULTS, opts);
  const log = (o.log ?? createLogger('ingest')).child({ component: 'ingest' });
  const policy: Omit<TimePolicy, 'now'> = { ...DEFAULT_TIME_POLICY, ...o.timePolicy };
  const { batchSize, flushMs, publishState, registry, store, clock: now } = o;
  const maxInFlight = o.maxInFlight ?? Math.max(100, 2 * batchSize);
  if (!(batchSize >= 1) || !(flushMs >= 1) || !(maxInFlight >= 1)) {
    throw Object.assign(new RangeError('batchSize, flushMs and maxInFlight must be ≥ 1'), { code: 'E_INGEST_OPTIONS' });
  }

  const limiter = createLogLimiter({ burst: 5, windowMs: 10_000 });
  const recent = new RecentKeys(o.recentKeysPerDevice);
  const live = new LiveStateBook(1000);
  let stopping = false;

  // eslint-disable-next-line prefer-const -- assigned once below; the metrics closure reads it before that
  let writer: BatchWriter;
  const metrics = createIngestMetrics({ inFlight: () => writer?.inFlight() ?? 0, storeHealth: () => store.health() });

  // ── publishing on svc/ topics (./publisher.ts) ─────────────────────────────────────────────
  const publisher = createPublisher({ metrics, live, now, publishState, limiter, log });
  const publishAlert = (alert: AlertEvent) => publisher.alert(alert);

  let rules: RuleEngine | undefined;
  let ownsRules = false;
  if (typeof o.rules === 'function') {
    rules = o.rules({ publish: publishAlert, publishGeofence: (e) => publisher.geofence(e) });
    ownsRules = true;
  } else rules = o.rules;
  const safely = createSafely(limiter, log);

  // ── message routing (./router.ts) ──────────────────────────────────────────────────────────
  const partition = o.partition && o.partition.count > 1 ? o.partition : undefined;
  const router: Router = createRouter({
    registry,
    policy,
    partition: o.partition,
    metrics,
    live,
    recent,
    writer: () => writer,
    rules,
    safely,
    publisher,
    limiter,
    log,
    now,
    stopping: () => stopping,
    onFirstContact: o.onFirstContact,
  });

  // ── store writes ──────────────────────────────────────────────────────────────────────────
  writer = new BatchWriter({
    store,
    batchSize,
    flushMs,
    maxWrites: o.maxWrites,
    onRecordsWritten(records, result, latencyMs) {
      metrics.written(result.written);
      metrics.duplicate(result.duplicates);
      metrics.batch(records.length, latencyMs);
      let changed = false;
      for (const rec of records) changed = router.afterWrite(rec) || changed;
      // once per batch: the coalescing check walks every changed device (per record it cost
      // O(records × devices) per batch — 1.8 % of ingest's CPU at 500 devices in bench:pipeline)
      if (changed) publisher.statesDue();
    },
    toDeadLetter: (rec, detail) => deadLetter(deviceTopic(rec.kind, rec.deviceId, rec.stream), JSON.stringify(rec.payload), rec.receivedAt, rec.deviceId, 'store_rejected', detail),
    onStoreRejected(what, detail, item) {
      if (what === 'records') metrics.rejected('store_rejected');
      limiter.log(`store-rejected:${what}`, (suppressed) =>
        log.error(
          { code: 'E_INGEST_STORE_REJECTED', what, deviceId: (item as { deviceId?: string | null }).deviceId, detail, ...(suppressed ? { suppressed } : {}) },
          what === 'records' ? 'store refused a record; dead-lettered as store_rejected' : 'store refused a dead letter; dropped',
        ),
      );
    },
    onLettersWritten(letters) {
      metrics.deadLettered(letters.length);
    },
    onWriteError(err, what, attempt, retryInMs, points) {
      metrics.writeError();
      limiter.log('store-write', (suppressed) =>
        log.error(
          { err, what, attempt, retryInMs, points, code: 'E_INGEST_STORE_WRITE', ...(suppressed ? { suppressed } : {}) },
          'store write failed; retrying (messages stay un-acknowledged at the broker)',
        ),
      );
    },
  });

  // ── seed live state from the store (latest per stream by event time) ───────────────────────
  try {
    for (const rec of await store.latest({})) live.applyRecord(rec);
  } catch (err) {
    log.warn({ err, code: 'E_INGEST_SEED' }, 'could not read the latest state from the store; live state starts empty');
  }

  // ── metrics server ────────────────────────────────────────────────────────────────────────
  // ready = connected to the broker and the store healthy (GET /health/ready; a replacement worker is ready once its session is resumed)
  let mqttConnected = () => false;
  const ready = async () => {
    if (stopping) return { ready: false as const, reason: 'stopping' };
    if (!mqttConnected()) return { ready: false as const, reason: 'broker_disconnected' };
    const h = await store.health();
    return h.ok ? { ready: true as const } : { ready: false as const, reason: 'store_unhealthy' };
  };
  const server =
    o.metricsPort === undefined
      ? null
      : await serveMetrics(o.extraMetrics?.length ? Registry.merge([metrics.registry, ...o.extraMetrics]) : metrics.registry, o.metricsPort, o.metricsHost, log, ready);

  // ── MQTT ──────────────────────────────────────────────────────────────────────────────────
  const clientId = o.clientId ?? (partition ? `ingest-${partition.index + 1}` : 'ingest-1');
  const devicesOf = () => {
    if (!partition) return [];
    if (!registry.registry || !registry.onChange) throw Object.assign(new Error('a partitioned ingest worker needs the RegistryView (device list and changes)'), { code: 'E_INGEST_PARTITION' });
    return registry.registry.devices;
  };
  const consumer = startConsumer({
    url: o.mqttUrl,
    username: o.username,
    password: o.password,
    clientId,
    // per device kind, so that ingest does not receive its own svc/plate nor every alert event
    // device data per kind, the hotlist, and the broker's reports of refused device connections
    // (a partitioned worker: one filter per device it owns, ingest/partition.ts)
    subscriptions: workerSubscriptions(partition, devicesOf()),
    // a session stored by an older ingest subscribed city/v1/+/+/+ (or, for a partitioned worker, every kind): drop that subscription
    // and a worker whose share changed (INGEST_WORKERS changed) drops the devices it no longer owns
    legacySubscriptions: partition ? [SUB_ALL_DEVICE_DATA, ...SUB_DEVICE_DATA_BY_KIND, ...notOwnedFilters(partition, devicesOf())] : [SUB_ALL_DEVICE_DATA],
    onMessage: (topic, payload, _packet, ack) => router.onMessage(topic, payload, ack),
    // hold when this message fills the window: at most maxInFlight un-acknowledged messages
    saturated: () => writer.inFlight() + 1 >= maxInFlight,
    onSaturated: () => writer.flush(),
    log,
  });
  mqttConnected = () => consumer.connected();
  publisher.attach(consumer.client);
  try {
    await consumer.ready;
  } catch (err) {
    consumer.kill();
    await server?.close();
    if (ownsRules) rules?.stop();
    throw Object.assign(new Error(`ingest could not connect to ${o.mqttUrl} as ${o.username}: ${(err as Error).message}`), {
      code: 'E_INGEST_CONNECT',
    });
  }

  // a partitioned worker subscribes the devices it comes to own as the registry grows
  const offRegistry = partition
    ? registry.onChange!(() => {
        const added = consumer.addSubscriptions(dataFilters(partition, devicesOf()));
        if (added.length) log.info({ added: added.length }, 'subscribed the new devices this worker owns');
      })
    : () => {};
  if (partition) log.info({ worker: partition.index, workers: partition.count, devices: dataFilters(partition, devicesOf()).length }, 'ingest worker owns its share of the devices');

  const stateTimer = setInterval(() => publisher.statesDue(), 250);
  const tickTimer = setInterval(() => {
    if (rules) safely('tick', () => rules!.tick(now()));
  }, 1000);
  stateTimer.unref();
  tickTimer.unref();
  log.info({ clientId, metricsPort: server?.port ?? null, batchSize, flushMs, maxInFlight, maxWrites: o.maxWrites }, 'ingest started');

  const shutdownTimers = () => {
    offRegistry();
    clearInterval(stateTimer);
    clearInterval(tickTimer);
  };

  let stopped: Promise<IngestStopReport> | null = null;
  return {
    metricsPort: server?.port ?? null,
    counters: () => metrics.snapshot(),
    publishAlert,
    liveState: (id) => live.get(id),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        shutdownTimers();
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([writer.drain().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), o.stopTimeoutMs)))]);
        clearTimeout(timer);
        let unwritten = 0;
        if (!drained) {
          unwritten = writer.inFlight();
          log.error({ code: 'E_INGEST_STOP_TIMEOUT', unwritten }, `store did not take the last ${unwritten} messages in time; they stay un-acknowledged in the broker's session for redelivery`);
          await writer.abort();
        }
        publisher.statesNow();
        await consumer.end();
        publisher.close();
        if (ownsRules) rules?.stop();
        await server?.close();
        const counters = metrics.snapshot();
        log.info({ counters, accounting: accounting(counters), unwritten }, 'ingest stopped');
        return { unwritten };
      })();
      return stopped;
    },
    async kill() {
      stopped ??= (async () => {
        publisher.close();
        stopping = true;
        shutdownTimers();
        const unwritten = writer.inFlight();
        consumer.kill();
        await writer.abort();
        if (ownsRules) rules?.stop();
        await server?.close();
        return { unwritten };
      })();
      await stopped;
    },
  };
}
