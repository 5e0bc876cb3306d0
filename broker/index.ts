/**
 * The MQTT broker: Aedes 1.x with in-memory persistence, registry authentication (auth.ts),
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
import type { RegistryView } from '../firmware-config/registry';
import { svcTopics, type AuthRefusal } from '../contract';
import { AuthError, createAuthenticator } from './auth';
import { AclError, createAuthorizer } from './authorize';
import { FrameError } from './frame-guard';
import { createBrokerMetrics, type BrokerCounters } from './metrics';
import { boundPublishRecursion } from './publish-queue';
import { listenTcp, listenWebSocket, type Listener } from './server';
import { VerifyCache } from './verify-cache';

export type { BrokerCounters } from './metrics';
export { WS_PATH } from './server';

export const DEFAULT_MAX_PACKET_SIZE = 64 * 1024;

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
  /** how long a connection may stay silent before its CONNECT (default 10 s) */
  connectTimeoutMs?: number;
  /** how long a successful password verification is cached (default 60 s) */
  authCacheMs?: number;
}

export interface BrokerHandle {
  port: number;
  wsPort: number | null;
  aedes: Aedes;
  metricsRegistry: PromRegistry;
  metrics(): BrokerCounters;
  stop(): Promise<void>;
}

/** Errors that are not the client's malformed input (network, timeouts we don't count as protocol errors). */
const NOT_PROTOCOL = /^(keep alive timeout|drain timeout|connection closed)/;

export async function startBroker(opts: StartBrokerOptions): Promise<BrokerHandle> {
  const log = (opts.log ?? createLogger('broker')).child({ component: 'broker' });
  const host = opts.host ?? '127.0.0.1';
  const maxPacketSize = opts.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
  const { registry } = opts;

  let aedesRef: Aedes | null = null;
  const cache = new VerifyCache({ okTtlMs: opts.authCacheMs ?? 60_000 });
  const metrics = createBrokerMetrics(() => aedesRef?.connectedClients ?? 0, () => cache, opts.metricsRegistry);
  // refusals of registry devices go to the rules as svc/auth/<id> (QoS 1; ingest raises credentials_refused)
  const onDeviceRefused = (deviceId: string, reason: string) => {
    const body: AuthRefusal = { deviceId, reason, at: Date.now() };
    aedesRef?.publish({ cmd: 'publish', topic: svcTopics.auth(deviceId), payload: Buffer.from(JSON.stringify(body)), qos: 1, retain: false, dup: false } as never, (err) => {
      if (err) log.warn({ err: err.message, deviceId }, 'could not report a refused connection');
    });
  };
  const auth = createAuthenticator({ registry, metrics, log, cache, onDeviceRefused });
  const authz = createAuthorizer({ auth, registry, metrics, log });

  const aedes = await Aedes.createBroker({
    connectTimeout: opts.connectTimeoutMs ?? 10_000,
    preConnect: auth.preConnect,
    authenticate: auth.authenticate,
    authorizePublish: authz.authorizePublish,
    authorizeSubscribe: authz.authorizeSubscribe,
  });
  aedesRef = aedes;
  // a backlog of publishes whose subscriber is gone must not drain as one recursion (publish-queue.ts)
  boundPublishRecursion((aedes as unknown as { mq: object }).mq);

  aedes.on('clientReady', (client) => {
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
    const ctx = { clientId: client?.id, remote: (client?.conn as { remoteAddress?: string } | undefined)?.remoteAddress, code: (err as { code?: unknown }).code };
    let reason: string | null;
    const code = String((err as { code?: unknown }).code ?? '');
    if (err instanceof FrameError) reason = err.reason;
    else if (code.startsWith('WS_ERR')) reason = 'websocket';
    else if (/^E[A-Z]+$/.test(code) || NOT_PROTOCOL.test(err.message)) reason = null;
    else if (err.message.startsWith('connect did not arrive')) reason = 'connect_timeout';
    else if (err.message.startsWith('Client queue limit')) reason = 'queue_limit';
    else reason = 'invalid_packet';
    if (reason) {
      metrics.protocolError(reason);
      log.warn({ ...ctx, reason }, `connection closed: ${err.message}`);
    } else {
      log.debug({ ...ctx }, `connection closed: ${err.message}`);
    }
  };
  aedes.on('clientError', onConnError);
  aedes.on('connectionError', onConnError);
  (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) => log.error({ err }, 'broker error'));

  const clientsOf = () => Object.values((aedes as unknown as { clients: Record<string, Client> }).clients);
  const offChange = registry.onChange(() => {
    const n = auth.revokeStale(clientsOf());
    log.info({ revoked: n }, 'registry reloaded');
  });
  if (opts.watchRegistry !== false) registry.watch();

  const listeners: Listener[] = [];
  const common = { aedes, host, maxPacketSize, metrics, log };
  try {
    listeners.push(await listenTcp({ ...common, port: opts.port }));
    if (opts.wsPort !== undefined) listeners.push(await listenWebSocket({ ...common, port: opts.wsPort }));
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    offChange();
    await new Promise<void>((r) => aedes.close(() => r()));
    throw err;
  }

  let stopping: Promise<void> | null = null;
  return {
    port: listeners[0]!.port,
    wsPort: opts.wsPort !== undefined ? listeners[1]!.port : null,
    aedes,
    metricsRegistry: metrics.registry,
    metrics: () => metrics.snapshot(),
    stop() {
      stopping ??= (async () => {
        offChange();
        await new Promise<void>((r) => aedes.close(() => r()));
        await Promise.all(listeners.map((l) => l.close()));
        log.info('broker stopped');
      })();
      return stopping;
    },
  };
}
