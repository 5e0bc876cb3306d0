/**
 * The MQTT broker: Aedes 1.x with durable (LevelDB) or in-memory session persistence
 * (persistence.ts), its publish queue created and guarded by us (publish-queue.ts), registry authentication (auth.ts),
 * topic ACLs (acl.ts, authorize.ts), TCP and WebSocket listeners with a max packet size
 * (server.ts, frame-guard.ts) and prom-client counters (metrics.ts).
 *
 *   const b = await startBroker({ registry, port: 0, wsPort: 0 });
 *   // mqtt://127.0.0.1:${b.port}, ws://127.0.0.1:${b.wsPort}/mqtt
 *   await b.stop();
 */
import { Aedes, type Client } from 'aedes';
import type { Registry as PromRegistry } from 'prom-client';
import { createLogger, type Logger } from '../lib/log';
import { withDefaults } from '../lib/options';
import type { Config } from '../lib/config';
import type { RegistryView } from '../registry/registry';
import { AuthError, createAuthenticator } from './auth';
import { AclError, createAuthorizer } from './authorize';
import { deliverOutOfOrderPublishes } from './delivery-dedupe';
import { FrameError, FrameGuard } from './frame-guard';
import { createBrokerMetrics, type BrokerCounters } from './metrics';
import { openPersistence, seedBrokerCounter, type BrokerPersistence, type BrokerPersistenceOptions } from './persistence';
import { connectRedis, redactUrl } from '../lib/redis';
import { startRegistrySync, type RegistrySync } from '../registry/registry-sync';
import { createPublishQueue, selfTestPublishQueue } from './publish-queue';
import { listenTcp, listenWebSocket, type Listener } from './server';
import { VERIFY_CACHE_DEFAULTS, VerifyCache } from './verify-cache';
import { AuthGuard, type AuthGuardOptions, type FloodDevice, type FloodReport } from './auth-guard';
import { clip, createLogLimiter } from '../lib/log-limiter';
import { svcTopics, type AlertEvent, type AuthRefusal } from '../contract';
import { mount, singleDirectory, splitTenant, tenantDirectory } from './tenant';

export type { BrokerCounters } from './metrics';
export type { BrokerPersistenceOptions } from './persistence';
export { WS_PATH } from './server';

export const DEFAULT_MAX_PACKET_SIZE = 64 * 1024;

/** defaults of the options (lib/options.ts) */
export const BROKER_DEFAULTS = {
  host: '127.0.0.1',
  maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
  watchRegistry: true,
  connectTimeoutMs: 5_000,
  authCacheMs: VERIFY_CACHE_DEFAULTS.okTtlMs,
  persistence: { kind: 'memory' } as BrokerPersistenceOptions,
};

export interface StartBrokerOptions {
  registry: RegistryView;
  /** default 127.0.0.1 (the CLI and launcher pass HOST from lib/config.ts) */
  host?: string;
  /** 0 = pick a free port */
  port: number;
  /** MQTT over WebSocket on path /mqtt; 0 = pick a free port; absent = no WebSocket listener */
  wsPort?: number;
  /** largest MQTT packet accepted, in bytes (whole packet, header included); default 64 KiB */
  maxPacketSize?: number;
  log?: Logger;
  /** prom-client registry for the broker's metrics; default: a new one per broker */
  metricsRegistry?: PromRegistry;
  /** start RegistryView.watch() so registry file changes apply without restart (default true) */
  watchRegistry?: boolean;
  /** how long a connection may take to send its CONNECT (default 5 s; lib/config.ts MQTT_CONNECT_TIMEOUT_S) */
  connectTimeoutMs?: number;
  /** CONNECT-flood defences (auth-guard.ts): pending caps, back-off, the fair verification queue */
  limits?: AuthGuardOptions;
  /** how long a successful password verification is cached (default 60 s) */
  authCacheMs?: number;
  /**
   * session persistence: `{ kind: 'level', dir }` = durable (a PUBACK means the message is on
   * disk in every persistent subscriber's queue); `{ kind: 'redis', url }` = a cluster node:
   * sessions in Redis, messages between nodes through Redis pub/sub (mqemitter-redis), the
   * registry shared through Redis (registry-sync.ts); default `{ kind: 'memory' }` (tests)
   */
  persistence?: BrokerPersistenceOptions;
  /** Aedes broker id (cluster: one per node, unique); default a random one per start */
  id?: string;
  /**
   * several municipalities (broker/tenant.ts): tenant id → its registry. Clients log in as
   * `<tenant>:<id>`; their topics are mounted under `t/<tenant>/`. `registry` is then unused
   * (pass any of them). Absent: one city, as always.
   */
  tenants?: ReadonlyMap<string, RegistryView>;
}

/** The broker's connection limits from the configuration (lib/config.ts), for the CLI and the launcher. */
export function brokerLimitsOf(
  cfg: Pick<Config, 'MQTT_CONNECT_TIMEOUT_S' | 'MQTT_MAX_PENDING_PER_IP' | 'MQTT_MAX_PENDING' | 'MQTT_AUTH_CONCURRENCY'>,
): Pick<StartBrokerOptions, 'connectTimeoutMs' | 'limits'> {
  return {
    connectTimeoutMs: cfg.MQTT_CONNECT_TIMEOUT_S * 1000,
    limits: { maxPendingPerSource: cfg.MQTT_MAX_PENDING_PER_IP, maxPending: cfg.MQTT_MAX_PENDING, concurrency: cfg.MQTT_AUTH_CONCURRENCY },
  };
}

export interface BrokerHandle {
  port: number;
  wsPort: number | null;
  aedes: Aedes;
  persistence: BrokerPersistence;
  metricsRegistry: PromRegistry;
  metrics(): BrokerCounters;
  stop(): Promise<void>;
}

/** Errors that are not the client's malformed input (network, timeouts we don't count as protocol errors). */
const NOT_PROTOCOL = /^(keep alive timeout|drain timeout|connection closed)/;

let selfTest: Promise<void> | null = null;

/**
 * Aedes writes a QoS 1 PUBACK before `broker.publish()` stores the message (puback-gate.ts): wrap
 * this instance's publish so that, once it completes without error, the connection's gate lets
 * that PUBACK go.
 */
function releasePubackAfterPublish(aedes: Aedes): void {
  type Done = (err?: Error | null) => void;
  const inner = aedes.publish.bind(aedes) as (packet: unknown, client: unknown, done?: Done) => void;
  (aedes as unknown as { publish: typeof inner }).publish = (packet, client, done) => {
    if (typeof client === 'function') return inner(packet, null, client as Done);
    const p = packet as { qos?: number; messageId?: number };
    const conn = (client as { conn?: unknown } | null)?.conn;
    if (p.qos === 1 && typeof p.messageId === 'number' && conn instanceof FrameGuard) {
      const id = p.messageId;
      return inner(packet, client, (err) => {
        if (!err) conn.pubackReady(id);
        done?.(err);
      });
    }
    return inner(packet, client, done);
  };
}

export async function startBroker(options: StartBrokerOptions): Promise<BrokerHandle> {
  const opts = withDefaults(BROKER_DEFAULTS, options);
  const log = (opts.log ?? createLogger('broker')).child({ component: 'broker' });
  const { host, maxPacketSize } = opts;
  const directory = opts.tenants?.size ? tenantDirectory(opts.tenants) : singleDirectory(opts.registry);
  const registries = directory.registries();

  let aedesRef: Aedes | null = null;
  const cache = new VerifyCache({ okTtlMs: opts.authCacheMs });
  const guard = new AuthGuard({ isDevice: (user) => directory.isDevice(user), ...opts.limits });
  const metrics = createBrokerMetrics(
    () => aedesRef?.connectedClients ?? 0,
    () => cache,
    opts.metricsRegistry,
    guard,
  );
  // refusals of registry devices go to the rules as svc/auth/<id> (QoS 1; ingest raises credentials_refused)
  // (tenants: the device's own city hears it, under its mount point)
  const onDeviceRefused = (name: string, reason: string) => {
    const tenant = directory.tenants.length ? splitTenant(name)?.tenant : undefined;
    const deviceId = tenant ? splitTenant(name)!.id : name;
    const body: AuthRefusal = { deviceId, reason, at: Date.now() };
    aedesRef?.publish({ cmd: 'publish', topic: mount({ tenant }, svcTopics.auth(deviceId)), payload: Buffer.from(JSON.stringify(body)), qos: 1, retain: false, dup: false } as never, (err) => {
      if (err) log.warn({ err: err.message, deviceId }, 'could not report a refused connection');
    });
  };
  const auth = createAuthenticator({ registry: opts.registry, directory, metrics, log, cache, guard, onDeviceRefused });
  const authz = createAuthorizer({ auth, registry: opts.registry, directory, metrics, log });

  // the mqemitter guard relies on mqemitter internals: check them once per process
  selfTest ??= selfTestPublishQueue();
  await selfTest;
  const persistence = await openPersistence(opts.persistence);
  const redisUrl = opts.persistence.kind === 'redis' ? opts.persistence.url : undefined;
  // our publish queue, guarded: a backlog whose subscriber is gone must not drain as one recursion
  // (cluster: through Redis pub/sub, so every node sees every publish)
  const redisErrors = createLogLimiter({ burst: 5, windowMs: 10_000 });
  const onRedisError = (err: Error) =>
    redisErrors.log('redis', (suppressed) =>
      log.error({ code: 'E_BROKER_REDIS', err: err.message, ...(suppressed ? { suppressedSinceLast: suppressed } : {}) }, 'Redis connection error (retrying; PUBACKs wait until it is back)'),
    );
  persistence.redis?.db.on('error', onRedisError);
  const mq = createPublishQueue(undefined, undefined, redisUrl, onRedisError);

  const aedes = await Aedes.createBroker({
    ...(opts.id ? { id: opts.id } : {}),
    mq: mq as never,
    persistence: persistence.aedes as never,
    connectTimeout: opts.connectTimeoutMs,
    // out-of-order deliveries must not be dropped as duplicates (delivery-dedupe.ts)
    preConnect: (client, packet, cb) => {
      deliverOutOfOrderPublishes(client);
      auth.preConnect(client, packet, cb);
    },
    authenticate: auth.authenticate,
    authorizePublish: authz.authorizePublish,
    authorizeSubscribe: authz.authorizeSubscribe,
    // tenants only: deliveries lose their tenant's mount point (broker/tenant.ts)
    ...(directory.tenants.length ? { authorizeForward: authz.authorizeForward as never } : {}),
  });
  aedesRef = aedes;
  seedBrokerCounter(aedes as unknown as { counter: number });
  releasePubackAfterPublish(aedes);
  log.info(
    { persistence: persistence.kind, brokerId: aedes.id, ...(opts.persistence.kind === 'level' ? { dir: opts.persistence.dir } : {}), ...(redisUrl ? { redis: redactUrl(redisUrl) } : {}) },
    'broker session persistence',
  );
  // a cluster node learns registry changes made on any node through Redis (registry-sync.ts)
  let sync: RegistrySync | null = null;
  if (redisUrl) sync = await startRegistrySync({ registry: opts.registry, connect: (name, o) => connectRedis(redisUrl, name, o), log });

  aedes.on('clientReady', (client) => {
    guard.settled(client.conn);
    metrics.connect();
    log.debug({ clientId: client.id, username: auth.identityOf(client)?.id }, 'client connected');
  });
  aedes.on('clientDisconnect', (client) => {
    auth.released(client);
    log.debug({ clientId: client.id }, 'client disconnected');
  });
  const onConnError = (client: Client, err: Error) => {
    if (client?.id) auth.released(client);
    if (err instanceof AuthError || err instanceof AclError) return; // counted and logged where decided
    const ctx = { clientId: clip(client?.id), remote: (client?.conn as { remoteAddress?: string } | undefined)?.remoteAddress, code: (err as { code?: unknown }).code };
    let reason: string | null;
    const code = String((err as { code?: string | number }).code ?? '');
    if (err instanceof FrameError) reason = err.reason;
    else if (code.startsWith('WS_ERR')) reason = 'websocket';
    else if (/^E[A-Z]+$/.test(code) || NOT_PROTOCOL.test(err.message)) reason = null;
    else if (err.message.startsWith('connect did not arrive')) reason = 'connect_timeout';
    else if (err.message.startsWith('Client queue limit')) reason = 'queue_limit';
    else reason = 'invalid_packet';
    if (reason) {
      metrics.protocolError(reason);
      const r = reason;
      connLogs.log(r, (suppressed) => log.warn({ ...ctx, reason: r, ...(suppressed ? { suppressedSinceLast: suppressed } : {}) }, `connection closed: ${clip(err.message, 200)}`));
    } else {
      log.debug({ ...ctx }, `connection closed: ${clip(err.message, 200)}`);
    }
  };
  const connLogs = createLogLimiter({ burst: 5, windowMs: 10_000 });
  aedes.on('clientError', onConnError);
  aedes.on('connectionError', onConnError);
  (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) => log.error({ err }, 'broker error'));

  const clientsOf = () => Object.values((aedes as unknown as { clients: Record<string, Client> }).clients);
  const offChanges = registries.map((registry) =>
    registry.onChange(() => {
      const n = auth.revokeStale(clientsOf());
      log.info({ revoked: n }, 'registry reloaded');
    }),
  );
  const offChange = () => offChanges.forEach((off) => off());
  if (opts.watchRegistry) registries.forEach((r) => r.watch());

  // An auth flood: one log line and the metric when it starts and ends (however many names it
  // tries); an alert (code auth_flood) per REGISTERED device under attack, at most
  // maxFloodDevices per flood, each resolved when the flood ends. Invented names raise nothing.
  const floodAlerts = new Map<string, { ev: AlertEvent; tenant?: string }>();
  const publishAlert = (ev: AlertEvent, tenant?: string) =>
    aedes.publish({ cmd: 'publish', topic: mount({ tenant }, svcTopics.alert(ev.alertId)), payload: Buffer.from(JSON.stringify(ev)), qos: 1, retain: false, dup: false }, (err) => {
      if (err) log.error({ err, code: 'E_AUTH_FLOOD_ALERT' }, 'could not publish the auth-flood alert');
    });
  const floodAlert = (r: FloodReport, d: FloodDevice, event: AlertEvent['event']): AlertEvent | null => {
    const device = directory.deviceOf(d.id)?.device;
    if (!device) return null;
    return {
      alertId: `auth_flood-${r.startedAt}-${device.id}`,
      event,
      at: Date.now(),
      rule: 'auth_flood',
      severity: 'warning',
      deviceId: device.id,
      kind: device.kind,
      district: device.district,
      title: `authentication flood on ${device.id}: ${d.failures} refused connects from ${d.sources} source(s)`,
      code: 'auth_flood',
      params: { failures: d.failures, sources: d.sources, user: device.id },
      by: 'broker',
    };
  };
  guard.onFlood = (r: FloodReport) => {
    const fields = { failures: r.failures, sources: r.sources, unknownNames: r.unknownFailures, devices: r.devices.map((d) => d.id) };
    if (r.state === 'start') {
      metrics.authFlood(true);
      log.error({ code: 'E_AUTH_FLOOD', ...fields }, 'authentication flood: connects are being refused in bulk');
    } else if (r.state === 'end') {
      metrics.authFlood(false);
      log.warn({ code: 'E_AUTH_FLOOD_END', ...fields, alerted: r.reported?.length ?? 0, seconds: Math.round((Date.now() - r.startedAt) / 1000) }, 'authentication flood ended');
      for (const [id, { ev: open, tenant }] of floodAlerts) {
        const last = r.devices.find((d) => d.id === id);
        publishAlert({ ...open, event: 'auto_resolve', at: Date.now(), ...(last ? { params: { failures: last.failures, sources: last.sources, user: open.deviceId } } : {}) }, tenant);
      }
      floodAlerts.clear();
    } else {
      const d = r.devices[0];
      const ev = d && floodAlert(r, d, 'open');
      if (!ev) return;
      const tenant = directory.deviceOf(d.id)?.tenant;
      floodAlerts.set(d.id, { ev, tenant });
      log.warn({ code: 'E_AUTH_FLOOD_DEVICE', deviceId: d.id, failures: d.failures, sources: d.sources }, 'authentication flood against a registered device');
      publishAlert(ev, tenant);
    }
  };
  const floodTimer = setInterval(() => guard.tick(), 1000);
  floodTimer.unref();

  const listeners: Listener[] = [];
  const common = { aedes, host, maxPacketSize, metrics, log, guard };
  try {
    listeners.push(await listenTcp({ ...common, port: opts.port }));
    if (opts.wsPort !== undefined) listeners.push(await listenWebSocket({ ...common, port: opts.wsPort }));
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    offChange();
    clearInterval(floodTimer);
    await sync?.stop();
    await new Promise<void>((r) => aedes.close(() => r()));
    await persistence.close();
    throw err;
  }

  let stopping: Promise<void> | null = null;
  return {
    port: listeners[0]!.port,
    wsPort: opts.wsPort !== undefined ? listeners[1]!.port : null,
    aedes,
    persistence,
    metricsRegistry: metrics.registry,
    metrics: () => metrics.snapshot(),
    stop() {
      stopping ??= (async () => {
        offChange();
        clearInterval(floodTimer);
        await sync?.stop();
        await new Promise<void>((r) => aedes.close(() => r()));
        await Promise.all(listeners.map((l) => l.close()));
        await persistence.close();
        log.info('broker stopped');
      })();
      return stopping;
    },
  };
}
