/**
 * Broker counters, kept as plain numbers on the hot path and exposed through a prom-client
 * `Registry` that belongs to this broker (never the global default, so several brokers in one
 * process — tests — don't clash).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { PACKET_TYPES } from './frame-guard';
import type { AuthGuard } from './auth-guard';

export interface BrokerCounters {
  clientsConnected: number;
  /** successful connects (CONNACK 0) */
  connects: number;
  /** refused connects by reason */
  authFailures: Record<string, number>;
  publishRefused: Record<string, number>;
  subscribeRefused: Record<string, number>;
  /** connected clients closed because the registry revoked or changed their credentials */
  revoked: number;
  packetsIn: number;
  packetsOut: number;
  /** malformed input closing a connection: oversized, bad framing, invalid packets */
  protocolErrors: Record<string, number>;
  /** scrypt verifications actually run, and connects answered from the verify cache */
  authVerifications: number;
  authCacheHits: number;
  /** connections accepted but not yet authenticated; verifications waiting in the auth queue */
  pendingConnections: number;
  authQueue: number;
  /** auth floods detected since start, and whether one is going on */
  authFloods: number;
  authFlooding: boolean;
}

export interface BrokerMetrics {
  readonly registry: Registry;
  readonly packetsIn: Float64Array;
  readonly packetsOut: Float64Array;
  connect(): void;
  authFailure(reason: string): void;
  publishRefused(reason: string): void;
  subscribeRefused(reason: string): void;
  revoked(): void;
  protocolError(reason: string): void;
  authFlood(started: boolean): void;
  snapshot(): BrokerCounters;
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};
const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);

export function createBrokerMetrics(connectedClients: () => number, authStats: () => { verifications: number; hits: number }, registry: Registry = new Registry(), guard?: AuthGuard): BrokerMetrics {
  const packetsIn = new Float64Array(16);
  const packetsOut = new Float64Array(16);
  const c = { connects: 0, revoked: 0, floods: 0, flooding: false };
  const authFailures: Record<string, number> = {};
  const publishRefused: Record<string, number> = {};
  const subscribeRefused: Record<string, number> = {};
  const protocolErrors: Record<string, number> = {};

  const reg = [registry];
  new Gauge({
    name: 'mqtt_broker_clients_connected',
    help: 'MQTT clients connected now',
    registers: reg,
    collect() {
      this.set(connectedClients());
    },
  });
  const connects = new Counter({ name: 'mqtt_broker_connects_total', help: 'accepted MQTT connections', registers: reg });
  const authFail = new Counter({ name: 'mqtt_broker_auth_failures_total', help: 'refused MQTT connections by reason', labelNames: ['reason'], registers: reg });
  const pubRefused = new Counter({ name: 'mqtt_broker_publish_refused_total', help: 'refused publishes by reason', labelNames: ['reason'], registers: reg });
  const subRefused = new Counter({ name: 'mqtt_broker_subscribe_refused_total', help: 'refused subscriptions by reason', labelNames: ['reason'], registers: reg });
  const revokedC = new Counter({ name: 'mqtt_broker_sessions_revoked_total', help: 'connected clients closed after a registry change revoked them', registers: reg });
  const protoErr = new Counter({ name: 'mqtt_broker_protocol_errors_total', help: 'connections closed for malformed input, by reason', labelNames: ['reason'], registers: reg });

  new Gauge({
    name: 'mqtt_broker_auth_verifications',
    help: 'password verifications run (scrypt), since start',
    registers: reg,
    collect() {
      this.set(authStats().verifications);
    },
  });
  new Gauge({
    name: 'mqtt_broker_auth_cache_hits',
    help: 'connects answered from the verification cache, since start',
    registers: reg,
    collect() {
      this.set(authStats().hits);
    },
  });

  new Gauge({
    name: 'mqtt_broker_pending_connections',
    help: 'connections accepted but not yet authenticated',
    registers: reg,
    collect() {
      this.set(guard?.pendingCount ?? 0);
    },
  });
  new Gauge({
    name: 'mqtt_broker_auth_queue',
    help: 'password verifications waiting for a slot',
    registers: reg,
    collect() {
      this.set(guard?.queueLength ?? 0);
    },
  });
  const floods = new Counter({ name: 'mqtt_broker_auth_floods_total', help: 'authentication floods detected (refused connects over the threshold)', registers: reg });
  new Gauge({
    name: 'mqtt_broker_auth_flooding',
    help: '1 while an authentication flood is going on',
    registers: reg,
    collect() {
      this.set(c.flooding ? 1 : 0);
    },
  });

  // packets are counted in typed arrays by the frame guards; the counters catch up on scrape
  const reported = { in: new Float64Array(16), out: new Float64Array(16) };
  const catchUp = (ctr: Counter<'type'>, now: Float64Array, seen: Float64Array) => {
    for (let t = 0; t < 16; t++) {
      const d = now[t]! - seen[t]!;
      if (d > 0) {
        ctr.inc({ type: PACKET_TYPES[t] }, d);
        seen[t] = now[t]!;
      }
    }
  };
  new Counter({
    name: 'mqtt_broker_packets_in_total',
    help: 'MQTT packets received, by type',
    labelNames: ['type'],
    registers: reg,
    collect() {
      catchUp(this, packetsIn, reported.in);
    },
  });
  new Counter({
    name: 'mqtt_broker_packets_out_total',
    help: 'MQTT packets sent, by type',
    labelNames: ['type'],
    registers: reg,
    collect() {
      catchUp(this, packetsOut, reported.out);
    },
  });

  return {
    registry,
    packetsIn,
    packetsOut,
    connect() {
      c.connects++;
      connects.inc();
    },
    authFailure(reason) {
      bump(authFailures, reason);
      authFail.inc({ reason });
    },
    publishRefused(reason) {
      bump(publishRefused, reason);
      pubRefused.inc({ reason });
    },
    subscribeRefused(reason) {
      bump(subscribeRefused, reason);
      subRefused.inc({ reason });
    },
    revoked() {
      c.revoked++;
      revokedC.inc();
    },
    protocolError(reason) {
      bump(protocolErrors, reason);
      protoErr.inc({ reason });
    },
    authFlood(started) {
      c.flooding = started;
      if (started) {
        c.floods++;
        floods.inc();
      }
    },
    snapshot() {
      return {
        clientsConnected: connectedClients(),
        connects: c.connects,
        authFailures: { ...authFailures },
        publishRefused: { ...publishRefused },
        subscribeRefused: { ...subscribeRefused },
        revoked: c.revoked,
        packetsIn: sum(packetsIn),
        packetsOut: sum(packetsOut),
        protocolErrors: { ...protocolErrors },
        authVerifications: authStats().verifications,
        authCacheHits: authStats().hits,
        pendingConnections: guard?.pendingCount ?? 0,
        authQueue: guard?.queueLength ?? 0,
        authFloods: c.floods,
        authFlooding: c.flooding,
      };
    },
  };
}
