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
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  AuthRefusal,
  DEFAULT_TIME_POLICY,
  GeofenceSet,
  Hotlist,
  SUB_ALL_DEVICE_DATA,
  SUB_DEVICE_DATA_BY_KIND,
  SVC_PREFIX,
  deviceTopic,
  isCommissioningTopic,
  svcTopics,
  type AlertEvent,
  type GeofenceEvent,
  type AnyTelemetryRecord,
  type LiveState,
  type TimePolicy,
} from '../contract';
import { createLogger, type Logger } from '../lib/log';
import type { TelemetryStore } from '../store/types';
import { BatchWriter } from './batch-writer';
import { classifyMessage, deadLetter, type Classified, type DeviceLookup } from './classify';
import { commissioningLetter } from './commissioning';
import { startConsumer } from './consumer';
import { RecentKeys } from './dedupe';
import { LiveStateBook, plateLiveState } from './live-state';
import { clip, createLogLimiter } from './log-limiter';
import { Registry } from 'prom-client';
import { createIngestMetrics, serveMetrics, type IngestCounters } from './metrics';
import type { RuleEngine } from './rule-engine';
import { dataFilters, notOwnedFilters, owns, workerSubscriptions, type Partition } from './partition';
import type { RegistryDevice } from '../firmware-config/schema';

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

const checkHotlist = TypeCompiler.Compile(Hotlist);
const checkGeofences = TypeCompiler.Compile(GeofenceSet);
const checkAuthRefusal = TypeCompiler.Compile(AuthRefusal);

/** dead-letter reason → the LiveState issue (and alert) code it explains */
const ISSUE_OF_REASON: Partial<Record<string, string>> = {
  future_timestamp: 'clock_skew.rejected',
  invalid_json: 'payload_rejected',
  oversized: 'payload_rejected',
  schema: 'payload_rejected',
  kind_mismatch: 'payload_rejected',
  too_old: 'payload_rejected',
  store_rejected: 'payload_rejected',
};
/** a rejection issue clears once the device's readings are accepted this long after the last rejection */
const ISSUE_QUIET_MS = 60_000;

/** Event time of a rejected payload, when it has a numeric `ts` (to report the clock's skew). */
function eventTsOf(raw: string): number | undefined {
  if (raw.length > 4096) return undefined;
  try {
    const ts = (JSON.parse(raw) as { ts?: unknown }).ts;
    return typeof ts === 'number' && Number.isFinite(ts) ? ts : undefined;
  } catch {
    return undefined;
  }
}

export async function startIngest(opts: StartIngestOptions): Promise<IngestHandle> {
  const log = (opts.log ?? createLogger('ingest')).child({ component: 'ingest' });
  const policy: Omit<TimePolicy, 'now'> = { ...DEFAULT_TIME_POLICY, ...opts.timePolicy };
  const batchSize = opts.batchSize ?? 5000;
  const flushMs = opts.flushMs ?? 250;
  const maxInFlight = opts.maxInFlight ?? Math.max(100, 2 * batchSize);
  const publishState = opts.publishState ?? true;
  const { registry, store } = opts;
  const now = opts.clock ?? Date.now;
  if (!(batchSize >= 1) || !(flushMs >= 1) || !(maxInFlight >= 1)) {
    throw Object.assign(new RangeError('batchSize, flushMs and maxInFlight must be ≥ 1'), { code: 'E_INGEST_OPTIONS' });
  }

  const limiter = createLogLimiter({ burst: 5, windowMs: 10_000 });
  const recent = new RecentKeys(opts.recentKeysPerDevice ?? 1024);
  const live = new LiveStateBook(1000);
  let stopping = false;
  let dead = false;

  // eslint-disable-next-line prefer-const -- assigned once below; the metrics closure reads it before that
  let writer: BatchWriter;
  const metrics = createIngestMetrics({ inFlight: () => writer?.inFlight() ?? 0, storeHealth: () => store.health() });

  // ── publishing on svc/ topics ─────────────────────────────────────────────────────────────
  let publishRaw: (topic: string, body: unknown, o: { qos: 0 | 1; retain: boolean }) => void = () => {};
  const publishAlert = (alert: AlertEvent) => {
    publishRaw(svcTopics.alert(alert.alertId), alert, { qos: 1, retain: false });
    metrics.published('alert');
  };

  const publishGeofence = (e: GeofenceEvent) => {
    publishRaw(svcTopics.geofenceEvent(e.deviceId), e, { qos: 1, retain: false });
    metrics.published('geofence');
  };

  let rules: RuleEngine | undefined;
  let ownsRules = false;
  if (typeof opts.rules === 'function') {
    rules = opts.rules({ publish: publishAlert, publishGeofence });
    ownsRules = true;
  } else rules = opts.rules;

  const safely = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      limiter.log(`rules:${what}`, (suppressed) =>
        log.error({ err, code: 'E_INGEST_RULES', ...(suppressed ? { suppressed } : {}) }, `alert rules failed in ${what}`),
      );
    }
  };

  // ── store writes ──────────────────────────────────────────────────────────────────────────
  writer = new BatchWriter({
    store,
    batchSize,
    flushMs,
    onRecordsWritten(records, result, latencyMs) {
      metrics.written(result.written);
      metrics.duplicate(result.duplicates);
      metrics.batch(records.length, latencyMs);
      let changed = false;
      for (const rec of records) changed = afterWrite(rec) || changed;
      // once per batch: the coalescing check walks every changed device (per record it cost
      // O(records × devices) per batch — 1.8 % of ingest's CPU at 500 devices in bench:pipeline)
      if (changed && publishState) maybePublishStates();
    },
    toDeadLetter: (rec, detail) =>
      deadLetter(deviceTopic(rec.kind, rec.deviceId, rec.stream), JSON.stringify(rec.payload), rec.receivedAt, rec.deviceId, 'store_rejected', detail),
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

  const firstContact = new Set<string>();
  /** After a record is stored: lifecycle, live state, svc/plate, the rules. True when the live state changed. */
  function afterWrite(rec: AnyTelemetryRecord): boolean {
    if (dead) return false;
    if (opts.onFirstContact && !firstContact.has(rec.deviceId) && registry.device(rec.deviceId)?.status === 'planned') {
      firstContact.add(rec.deviceId);
      safely('onFirstContact', () => opts.onFirstContact!(rec.deviceId));
    }
    const issueCleared = !rec.late && live.clearIssue(rec.deviceId, rec.receivedAt, ISSUE_QUIET_MS);
    const changed = live.applyRecord(rec) || issueCleared;
    if (publishState && rec.stream === 'plate') {
      publishRaw(svcTopics.plate(rec.deviceId), plateLiveState(rec), { qos: 0, retain: false });
      metrics.published('plate');
    }
    if (rules) safely('onRecord', () => rules!.onRecord(rec));
    return changed;
  }

  function maybePublishStates(): void {
    if (!publishState || dead) return;
    for (const s of live.due(now())) {
      publishRaw(svcTopics.state(s.kind, s.deviceId), s, { qos: 0, retain: true });
      metrics.published('state');
    }
  }

  function logReject(c: Extract<Classified, { type: 'reject' }>): void {
    limiter.log(`reject:${c.reason}`, (suppressed) =>
      log.warn(
        {
          code: 'E_INGEST_REJECT',
          reason: c.reason,
          deviceId: c.letter.deviceId,
          topic: c.letter.topic.slice(0, 200),
          detail: c.letter.detail.slice(0, 300),
          ...(suppressed ? { suppressedSinceLast: suppressed } : {}),
        },
        `message rejected: ${c.reason}`,
      ),
    );
  }

  function onHotlist(payload: Buffer): void {
    let h: unknown;
    try {
      h = JSON.parse(payload.toString('utf8'));
    } catch {
      h = undefined;
    }
    if (!checkHotlist.Check(h)) {
      limiter.log('hotlist', () => log.warn({ code: 'E_INGEST_HOTLIST' }, 'ignored an invalid hotlist on svc/hotlist'));
      return;
    }
    if (rules?.onHotlist) safely('onHotlist', () => rules!.onHotlist!(h as Hotlist));
  }

  function onGeofences(payload: Buffer): void {
    let s: unknown;
    try {
      s = JSON.parse(payload.toString('utf8'));
    } catch {
      s = undefined;
    }
    if (!checkGeofences.Check(s)) {
      limiter.log('geofences', () => log.warn({ code: 'E_INGEST_GEOFENCES' }, 'ignored an invalid geofence set on svc/geofences'));
      return;
    }
    if (rules?.onGeofences) safely('onGeofences', () => rules!.onGeofences!(s as GeofenceSet));
  }

  /** The broker refused a registry device (svc/auth/<id>): an alert, and its live state says why. */
  function onAuthRefusal(payload: Buffer): void {
    let a: unknown;
    try {
      a = JSON.parse(payload.toString('utf8'));
    } catch {
      a = undefined;
    }
    if (!checkAuthRefusal.Check(a)) {
      limiter.log('auth-refusal', () => log.warn({ code: 'E_INGEST_AUTH_REPORT' }, 'ignored an invalid report on svc/auth'));
      return;
    }
    const r = a as AuthRefusal;
    const dev = registry.device(r.deviceId);
    if (!dev || !owns(opts.partition, r.deviceId)) return; // another worker's device: its owner raises it
    metrics.authRefused();
    const at = now(); // the platform clock (the broker's report carries its own `at`)
    if (dev.status !== 'retired' && live.applyIssue(r.deviceId, dev.kind, dev.district, 'credentials_refused', r.reason, at, true)) maybePublishStates();
    if (rules?.onAuthRefused) safely('onAuthRefused', () => rules!.onAuthRefused!(r.deviceId, r.reason, at));
  }

  function onRejected(c: Extract<Classified, { type: 'reject' }>): void {
    const id = c.letter.deviceId;
    const dev = id ? registry.device(id) : undefined;
    if (!id || !dev || dev.status === 'retired') return;
    const code = ISSUE_OF_REASON[c.reason];
    if (code && live.applyIssue(id, dev.kind, dev.district, code, c.reason, c.letter.receivedAt, false)) maybePublishStates();
    if (rules?.onReject) {
      const ts = c.reason === 'future_timestamp' ? eventTsOf(c.letter.payload) : undefined;
      safely('onReject', () => rules!.onReject!(id, c.reason, c.letter.receivedAt, ts));
    }
  }

  // ── per message ───────────────────────────────────────────────────────────────────────────
  function onMessage(topic: string, payload: Buffer, ack: () => void): void {
    if (stopping) return; // left un-acknowledged: the broker redelivers it to the next session
    if (topic.startsWith(SVC_PREFIX)) {
      // only svc/hotlist, svc/geofences and svc/auth/+ are subscribed (device data per kind no longer matches svc/ topics);
      // acknowledged behind the device messages that arrived before it (MQTT-4.6.0-2: PUBACKs in PUBLISH order)
      if (topic === svcTopics.hotlist) onHotlist(payload);
      else if (topic === svcTopics.geofences) onGeofences(payload);
      else if (topic.startsWith(svcTopics.authPrefix)) onAuthRefusal(payload);
      writer.addAckOnly(ack);
      return;
    }
    metrics.received();
    const receivedAt = now();
    if (isCommissioningTopic(topic)) {
      // an installer's test reading: validated, kept apart (never a record), counted
      metrics.rejected('commissioning');
      writer.addDeadLetter(commissioningLetter(topic, payload, receivedAt, registry, policy), ack);
      return;
    }
    let c: Classified;
    try {
      c = classifyMessage(topic, payload, receivedAt, registry, policy);
    } catch (err) {
      limiter.log('classify', (suppressed) => log.error({ err: clip((err as Error).message, 300), topic: clip(topic), code: 'E_INGEST_CLASSIFY', ...(suppressed ? { suppressedSinceLast: suppressed } : {}) }, 'validation failed unexpectedly; dead-lettering the message'));
      c = { type: 'reject', reason: 'schema', letter: deadLetter(topic, payload, receivedAt, null, 'schema', `could not be validated: ${(err as Error).message}`) };
    }
    switch (c.type) {
      case 'reject':
        metrics.rejected(c.reason);
        logReject(c);
        onRejected(c);
        writer.addDeadLetter(c.letter, ack);
        return;
      case 'presence':
        metrics.presence();
        live.applyPresence(c.deviceId, c.kind, c.district, c.online, c.receivedAt);
        maybePublishStates();
        if (c.online) live.clearIssue(c.deviceId, c.receivedAt, 0, ['credentials_refused']);
        if (rules) safely('onPresence', () => rules!.onPresence(c.deviceId, c.online, c.at, c.reason));
        writer.addAckOnly(ack);
        return;
      case 'record': {
        const r = c.record;
        if (!recent.add(r.deviceId, r.stream, r.ts)) {
          metrics.duplicate(1);
          writer.addAckOnly(ack);
          return;
        }
        if (r.late) metrics.late();
        writer.addRecord(r, ack);
        return;
      }
    }
  }

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
  const server = opts.metricsPort === undefined ? null : await serveMetrics(opts.extraMetrics?.length ? Registry.merge([metrics.registry, ...opts.extraMetrics]) : metrics.registry, opts.metricsPort, opts.metricsHost ?? '127.0.0.1', log, ready);

  // ── MQTT ──────────────────────────────────────────────────────────────────────────────────
  const partition = opts.partition && opts.partition.count > 1 ? opts.partition : undefined;
  const clientId = opts.clientId ?? (partition ? `ingest-${partition.index + 1}` : 'ingest-1');
  const devicesOf = () => {
    if (!partition) return [];
    if (!registry.registry || !registry.onChange) throw Object.assign(new Error('a partitioned ingest worker needs the RegistryView (device list and changes)'), { code: 'E_INGEST_PARTITION' });
    return registry.registry.devices;
  };
  const consumer = startConsumer({
    url: opts.mqttUrl,
    username: opts.username,
    password: opts.password,
    clientId,
    // per device kind, so that ingest does not receive its own svc/plate nor every alert event
    // device data per kind, the hotlist, and the broker's reports of refused device connections
    // (a partitioned worker: one filter per device it owns, ingest/partition.ts)
    subscriptions: workerSubscriptions(partition, devicesOf()),
    // a session stored by an older ingest subscribed city/v1/+/+/+ (or, for a partitioned worker, every kind): drop that subscription
    // and a worker whose share changed (INGEST_WORKERS changed) drops the devices it no longer owns
    legacySubscriptions: partition ? [SUB_ALL_DEVICE_DATA, ...SUB_DEVICE_DATA_BY_KIND, ...notOwnedFilters(partition, devicesOf())] : [SUB_ALL_DEVICE_DATA],
    onMessage: (topic, payload, _packet, ack) => onMessage(topic, payload, ack),
    // hold when this message fills the window: at most maxInFlight un-acknowledged messages
    saturated: () => writer.inFlight() + 1 >= maxInFlight,
    onSaturated: () => writer.flush(),
    log,
  });
  mqttConnected = () => consumer.connected();
  publishRaw = (topic, body, o) => {
    if (dead) return;
    consumer.client.publish(topic, JSON.stringify(body), o, (err) => {
      if (err) limiter.log('publish', () => log.warn({ err: err.message, topic, code: 'E_INGEST_PUBLISH' }, 'publish failed'));
    });
  };
  try {
    await consumer.ready;
  } catch (err) {
    consumer.kill();
    await server?.close();
    if (ownsRules) rules?.stop();
    throw Object.assign(new Error(`ingest could not connect to ${opts.mqttUrl} as ${opts.username}: ${(err as Error).message}`), {
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

  const stateTimer = setInterval(maybePublishStates, 250);
  const tickTimer = setInterval(() => {
    if (rules) safely('tick', () => rules!.tick(now()));
  }, 1000);
  stateTimer.unref();
  tickTimer.unref();
  log.info({ clientId, metricsPort: server?.port ?? null, batchSize, flushMs, maxInFlight }, 'ingest started');

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
        const timeoutMs = opts.stopTimeoutMs ?? 10_000;
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([
          writer.drain().then(() => true),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
        ]);
        clearTimeout(timer);
        let unwritten = 0;
        if (!drained) {
          unwritten = writer.inFlight();
          log.error({ code: 'E_INGEST_STOP_TIMEOUT', unwritten }, `store did not take the last ${unwritten} messages in time; they stay un-acknowledged in the broker's session for redelivery`);
          await writer.abort();
        }
        maybePublishStatesNow();
        await consumer.end();
        dead = true;
        if (ownsRules) rules?.stop();
        await server?.close();
        log.info({ counters: metrics.snapshot(), unwritten }, 'ingest stopped');
        return { unwritten };
      })();
      return stopped;
    },
    async kill() {
      stopped ??= (async () => {
        dead = true;
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

  /** On a clean stop, publish what is still coalescing (ignoring the 1/s limit once). */
  function maybePublishStatesNow(): void {
    if (!publishState || dead) return;
    for (const s of live.due(Number.MAX_SAFE_INTEGER)) {
      publishRaw(svcTopics.state(s.kind, s.deviceId), s, { qos: 0, retain: true });
      metrics.published('state');
    }
  }
}
