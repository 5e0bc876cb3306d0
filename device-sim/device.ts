/**
 * One simulated device on a real MQTT connection with its own credentials: QoS 1, retained
 * presence ("online" on connect) and a last will ("offline"), status every `statusS`, the
 * model's readings as simulated time advances, and the connection-level faults.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../lib/log';
import type { DeviceConfig } from '../registry/device-config';
import { seededRng, hashString } from '../lib/rng';
import type { Stream } from '../contract';
import { malform, type Fault, type FaultType } from './faults';
import type { DeviceModel, Emit } from './models/types';
import { withDefaults } from '../lib/options';

/** A connection's message counters; the fleet's are their sums. */
export interface MessageCounts {
  published: number;
  acked: number;
  errors: number;
  connectErrors: number;
  dropped: number;
  buffered: number;
}
export const MESSAGE_COUNTS = ['published', 'acked', 'errors', 'connectErrors', 'dropped', 'buffered'] as const satisfies readonly (keyof MessageCounts)[];
export const zeroCounts = (): MessageCounts => ({ published: 0, acked: 0, errors: 0, connectErrors: 0, dropped: 0, buffered: 0 });

export interface DeviceStats extends MessageCounts {
  id: string;
  kind: string;
  online: boolean;
  lastError?: string;
  byStream: Partial<Record<Stream, number>>;
}

export interface SimDeviceOptions {
  mqttUrl?: string;
  log?: Logger;
  /** real ms between reconnect attempts (default 3000) */
  reconnectMs?: number;
  /** firmware version in status */
  fw?: string;
  /** buffer cap while offline (readings) */
  maxBuffer?: number;
  /** simulated ms per real ms of fault timers (an outage of S s lasts S/timeScale real seconds); default 1 */
  timeScale?: number;
  /** the device's wall clock (presence times, fault windows); default Date.now */
  clock?: () => number;
}

interface Out {
  topic: string;
  text: string;
  stream: Stream;
  retain?: boolean;
}

/** Human reason for an MQTT CONNACK refusal. */
export function connackReason(err: unknown): string {
  const code = (err as { code?: number }).code;
  const msg = (err as Error)?.message ?? String(err);
  if (code === 4 || code === 134 || /bad user ?name or password/i.test(msg)) return 'bad credentials (broker refused user name or password)';
  if (code === 5 || code === 135 || /not authori[sz]ed/i.test(msg)) return 'not authorized (device retired, or will/topic not allowed)';
  if (code === 2 || code === 133 || /identifier rejected/i.test(msg)) return 'client id rejected (must equal the device id)';
  if (/ECONNREFUSED/.test(msg)) return 'broker unreachable (connection refused)';
  return msg;
}

/** defaults of the options (lib/options.ts) */
export const SIM_DEVICE_DEFAULTS = { clock: Date.now as () => number, reconnectMs: 3000, timeScale: 1, fw: '2.4.1', maxBuffer: 20_000 };

export class SimDevice {
  readonly stats: DeviceStats;
  private client: MqttClient | null = null;
  private readonly buffer: Out[] = [];
  private readonly faults = new Map<FaultType, { fault: Fault; until: number }>();
  private outageUntil = 0;
  private outageTimer: NodeJS.Timeout | null = null;
  private nextStatus = 0;
  private readonly bootAt: number;
  private readonly rng;
  private stopped = false;
  private readonly now: () => number;

  private readonly o: SimDeviceOptions & typeof SIM_DEVICE_DEFAULTS;

  constructor(
    readonly cfg: DeviceConfig,
    readonly model: DeviceModel,
    opts: SimDeviceOptions = {},
  ) {
    this.o = withDefaults(SIM_DEVICE_DEFAULTS, opts);
    this.stats = { id: cfg.deviceId, kind: cfg.kind, online: false, ...zeroCounts(), byStream: {} };
    this.rng = seededRng(hashString(cfg.deviceId + '|faults'));
    this.now = this.o.clock;
    this.bootAt = this.now() - Math.floor(this.rng() * 86_400_000 * 10);
  }

  get url(): string {
    return this.o.mqttUrl ?? this.cfg.broker.url;
  }

  /** Connect; resolves on the first CONNACK, rejects with the refusal reason (the client keeps retrying unless stopped). */
  connect(secret = this.cfg.secret): Promise<void> {
    const c = mqtt.connect(this.url, {
      clientId: this.cfg.clientId,
      username: this.cfg.username,
      password: secret,
      keepalive: this.cfg.broker.keepaliveS,
      clean: true,
      reconnectPeriod: this.o.reconnectMs,
      // firmware keeps trying after a refusal (wrong or rotated credentials), as real devices do
      reconnectOnConnackError: true,
      connectTimeout: 10_000,
      will: { topic: this.cfg.will.topic, payload: Buffer.from(this.cfg.will.payload), qos: 1, retain: true },
    });
    this.client = c;
    c.on('connect', () => {
      this.stats.online = true;
      c.publish(this.cfg.topics.presence, JSON.stringify({ state: 'online', ts: this.now() }), { qos: 1, retain: true }, () => {});
      this.flush();
    });
    c.on('close', () => (this.stats.online = false));
    c.on('offline', () => (this.stats.online = false));
    c.on('error', (err) => {
      this.stats.connectErrors++;
      this.stats.lastError = connackReason(err);
      this.o.log?.debug({ deviceId: this.cfg.deviceId, err: this.stats.lastError }, 'device connection error');
    });
    return new Promise((resolve, reject) => {
      const onOk = () => (c.off('error', onErr), resolve());
      const onErr = (err: Error) => (c.off('connect', onOk), reject(Object.assign(new Error(connackReason(err)), { code: 'E_SIM_CONNECT' })));
      c.once('connect', onOk);
      c.once('error', onErr);
    });
  }

  /**
   * Publish a reading of the device's history on its own connection (QoS 1); resolves on the
   * PUBACK. Used by the first start's backfill (backfill.ts), beside the live readings.
   */
  publishHistory(topic: string, text: string): Promise<void> {
    if (!this.client) return Promise.reject(Object.assign(new Error(`${this.cfg.deviceId}: not connected`), { code: 'E_SIM_CONNECT' }));
    return this.client.publishAsync(topic, text, { qos: 1 }).then(() => undefined);
  }

  /** Apply a fault now (real time). */
  fault(f: Fault): void {
    const durS = f.forS ?? (f.type === 'offline' || f.type === 'offline-will' || f.type === 'burst' ? (f.param ?? 60) : Infinity);
    const until = this.now() + durS * 1000;
    const m = this.model.faults;
    this.faults.set(f.type, { fault: f, until });
    if (f.type === 'stuck') this.model.faults.stuck = true;
    if (f.type === 'drift') this.model.faults.gpsDrift = true;
    if (f.type === 'jumps') this.model.faults.gpsJumps = true;
    if (f.type === 'pollution') m.pollution = f.param ?? 4;
    if (f.type === 'loud') m.loudDb = f.param ?? 15;
    if (f.type === 'idle') m.idleMin = f.param ?? 30;
    if (f.type === 'skip') m.skipM = f.param ?? 100;
    if (f.type === 'hotlist') m.hotlistRead = true;
    if (f.type === 'badauth') this.badAuth();
    if (f.type === 'offline' || f.type === 'offline-will' || f.type === 'burst') this.goOffline(f.type, durS);
    this.o.log?.info({ deviceId: this.cfg.deviceId, fault: f }, 'fault on');
  }

  clearFault(type: FaultType): void {
    this.faults.delete(type);
    if (type === 'stuck') this.model.faults.stuck = false;
    if (type === 'drift') this.model.faults.gpsDrift = false;
    if (type === 'jumps') this.model.faults.gpsJumps = false;
    const m = this.model.faults;
    if (type === 'pollution') delete m.pollution;
    if (type === 'loud') delete m.loudDb;
    if (type === 'idle') delete m.idleMin;
    if (type === 'skip') delete m.skipM;
    if (type === 'hotlist') delete m.hotlistRead;
    if (type === 'badauth' && !this.stopped) {
      // the right credentials again (re-provisioned): reconnect with them
      const c = this.client;
      this.client = null;
      c?.end(true);
      this.connect().catch(() => {});
    }
  }

  /** Credentials that stop working: disconnect cleanly, then keep reconnecting with a wrong password. */
  private badAuth(): void {
    const c = this.client;
    this.client = null;
    this.stats.online = false;
    c?.end(false);
    this.connect(`${this.cfg.secret}-wrong`).catch(() => {});
  }

  activeFaults(): FaultType[] {
    return [...this.faults.keys()];
  }

  private goOffline(type: 'offline' | 'offline-will' | 'burst', durS: number): void {
    const c = this.client;
    this.client = null;
    this.stats.online = false;
    this.outageUntil = this.now() + durS * 1000;
    if (c) {
      if (type === 'offline')
        c.end(false); // DISCONNECT: the broker discards the will
      else {
        // drop the TCP connection without DISCONNECT: the broker publishes the last will
        c.options.reconnectPeriod = 0;
        (c.stream as { destroy?: () => void } | undefined)?.destroy?.();
        c.end(true);
      }
    }
    if (this.outageTimer) clearTimeout(this.outageTimer);
    this.outageTimer = setTimeout(
      () => {
        this.outageTimer = null;
        this.faults.delete(type);
        if (!this.stopped) this.connect().catch(() => {});
      },
      (durS * 1000) / this.o.timeScale,
    );
  }

  private active(type: FaultType): Fault | undefined {
    const f = this.faults.get(type);
    if (!f) return undefined;
    if (this.now() > f.until) {
      this.clearFault(type);
      return undefined;
    }
    return f.fault;
  }

  /** Advance to simulated time `simNow` and publish what is due. */
  tick(simNow: number): void {
    if (this.stopped) return;
    for (const t of ['stuck', 'drift', 'jumps'] as const) this.active(t);
    const emits: Emit[] = this.model.advance(simNow);
    if (simNow >= this.nextStatus) {
      const skew = this.active('skew');
      this.nextStatus = simNow + this.cfg.intervals.statusS * 1000;
      const ts = simNow;
      emits.push({
        stream: 'status' as never,
        payload: {
          ts,
          fw: this.o.fw,
          uptimeS: Math.max(0, Math.floor((this.now() - this.bootAt) / 1000)),
          signalDbm: Math.round(-65 - this.rng() * 30),
          clockSkewMs: skew ? Math.round((skew.param ?? 600) * 1000) : Math.round((this.rng() - 0.5) * 400),
          ...this.model.statusExtras(ts),
          ...(this.active('battery') ? { batteryPct: this.active('battery')!.param ?? 8 } : {}),
        } as never,
      });
    }
    for (const e of emits) this.send(e.stream, e.payload as unknown as Record<string, unknown>);
  }

  private send(stream: Stream, payload: Record<string, unknown>): void {
    const skew = this.active('skew');
    if (skew && typeof payload.ts === 'number') payload = { ...payload, ts: payload.ts + Math.round((skew.param ?? 600) * 1000) };
    let text = JSON.stringify(payload);
    const bad = this.active('malformed');
    if (bad && this.rng() < (bad.param ?? 0.3)) text = malform(payload, this.rng).text;
    const topic = (this.cfg.topics.publish as Partial<Record<Stream, string>>)[stream] ?? this.cfg.topics.prefix + stream;
    const out: Out = { topic, text, stream };
    const copies = this.active('duplicates') ? 2 : 1;
    for (let i = 0; i < copies; i++) this.enqueue(out);
  }

  private enqueue(out: Out): void {
    if (this.client?.connected) return this.publish(out);
    // an outage without buffering loses the readings; otherwise (burst fault, or the network
    // dropped) the device keeps them and sends them after reconnecting
    if (this.active('offline') || this.active('offline-will')) {
      this.stats.dropped++;
      return;
    }
    if (this.buffer.length >= this.o.maxBuffer) {
      this.buffer.shift();
      this.stats.dropped++;
    }
    this.buffer.push(out);
    this.stats.buffered = this.buffer.length;
  }

  private publish(out: Out): void {
    const c = this.client!;
    this.stats.published++;
    this.stats.byStream[out.stream] = (this.stats.byStream[out.stream] ?? 0) + 1;
    c.publish(out.topic, out.text, { qos: 1, retain: !!out.retain }, (err) => {
      if (err) {
        this.stats.errors++;
        this.stats.lastError = err.message;
      } else this.stats.acked++;
    });
  }

  private flush(): void {
    while (this.buffer.length && this.client?.connected) this.publish(this.buffer.shift()!);
    this.stats.buffered = this.buffer.length;
  }

  /** Clean stop: retained "offline" presence, then DISCONNECT. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.outageTimer) clearTimeout(this.outageTimer);
    const c = this.client;
    this.client = null;
    if (!c) return;
    if (c.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        c.publish(this.cfg.topics.presence, JSON.stringify({ state: 'offline', ts: this.now(), reason: 'shutdown' }), { qos: 1, retain: true }, () => (clearTimeout(t), resolve()));
      });
    }
    await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
    this.stats.online = false;
  }
}
