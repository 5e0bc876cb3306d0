/**
 * Load generator for benchmarks: many devices from one process, each on its own MQTT connection
 * with its own credentials, publishing valid contract payloads at a target total rate (QoS 1 by
 * default, with a per-connection in-flight limit so a slow broker slows the generator instead of
 * piling up memory). Reports the publish rate achieved and how many were acknowledged.
 *
 *   const devices = provisionLoadDevices('data/registry.json', 500);  // load-0001..load-0500, low scrypt cost
 *   const report = await runLoad({ mqttUrl, configs: devices, rate: 5000, durationS: 30 });
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../lib/log';
import { generateSecret, hashPasswordSync } from '../registry/credentials';
import { renderDeviceConfig, type DeviceConfig } from '../registry/device-config';
import { loadRegistryFile, saveRegistryFile } from '../registry/registry';
import type { RegistryDevice } from '../registry/schema';
import type { Stream } from '../contract';
import { connackReason } from './device';
import { withDefaults } from '../lib/options';

export interface LoadOptions {
  mqttUrl: string;
  configs: DeviceConfig[];
  /** use the first N configs (default all) */
  devices?: number;
  /** total messages per second (0 = as fast as the in-flight limits allow) */
  rate: number;
  durationS: number;
  qos?: 0 | 1;
  /** un-acknowledged QoS 1 messages per connection (default 100) */
  maxInflight?: number;
  /** parallel connects (default 20) */
  connectConcurrency?: number;
  /** called about once a second */
  onProgress?: (p: LoadProgress) => void;
  log?: Logger;
}

export interface LoadProgress {
  elapsedS: number;
  sent: number;
  acked: number;
  errors: number;
  connected: number;
  ratePerSec: number;
}

export interface LoadReport {
  devices: number;
  connected: number;
  connectFailures: { id: string; reason: string }[];
  targetRate: number;
  durationS: number;
  sent: number;
  acked: number;
  errors: number;
  /** messages still un-acknowledged when the run ended (after a 10 s drain) */
  unacked: number;
  achievedRate: number;
  ackedRate: number;
  ackLatencyMs: { p50: number; p95: number; p99: number; max: number };
  /** times the generator wanted to send but every connection was at its in-flight limit */
  stalls: number;
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

/** A small valid payload for a kind (stream, JSON). */
function payloadFor(kind: DeviceConfig['kind'], ts: number, i: number): [Stream, string] {
  switch (kind) {
    case 'air':
      return ['air', `{"ts":${ts},"windowS":1,"pm25":${(10 + (i % 40)).toFixed(1)},"no2":0.0${20 + (i % 60)}}`];
    case 'noise':
      return ['noise', `{"ts":${ts},"windowS":1,"laeq":${50 + (i % 20)},"lamax":${65 + (i % 20)},"lamin":${40 + (i % 10)}}`];
    case 'truck':
      return ['gps', `{"ts":${ts},"lat":${(18.12 + (i % 100) * 1e-4).toFixed(5)},"lon":${(-94.46 + (i % 77) * 1e-4).toFixed(5)},"speedKmh":${i % 50},"heading":${i % 360},"hdop":0.9,"sats":10}`];
    case 'camera':
      return ['plate', `{"ts":${ts},"plate":"YKR-${String(100 + (i % 900))}-A","region":"VER","confidence":0.95,"direction":"entering","lane":1}`];
  }
}

interface Conn {
  cfg: DeviceConfig;
  client: MqttClient;
  inflight: number;
  lastTs: number;
  topic: string;
  stream: Stream;
}

function connectOne(cfg: DeviceConfig, url: string, deadline: number): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const c = mqtt.connect(url, { clientId: cfg.clientId, username: cfg.username, password: cfg.secret, reconnectPeriod: 0, connectTimeout: 10_000, keepalive: 60, clean: true });
      c.once('connect', () => {
        c.removeAllListeners('error');
        c.on('error', () => {});
        resolve(c);
      });
      c.once('error', (err) => {
        c.end(true);
        // the broker may not have reloaded a freshly written registry yet: retry until the deadline
        if (Date.now() < deadline) setTimeout(attempt, 300);
        else reject(new Error(connackReason(err)));
      });
    };
    attempt();
  });
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** defaults of runLoad's options (lib/options.ts) */
export const LOAD_DEFAULTS = { qos: 1 as 0 | 1, maxInflight: 100, connectConcurrency: 20 };

export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const o = withDefaults(LOAD_DEFAULTS, opts);
  const configs = o.configs.slice(0, o.devices ?? o.configs.length);
  const { qos, maxInflight } = o;
  const conns: Conn[] = [];
  const failures: { id: string; reason: string }[] = [];
  const queue = [...configs];
  const connectDeadline = Date.now() + 15_000;
  await Promise.all(
    Array.from({ length: Math.min(o.connectConcurrency, queue.length) }, async () => {
      for (let cfg = queue.shift(); cfg; cfg = queue.shift()) {
        try {
          const client = await connectOne(cfg, o.mqttUrl, connectDeadline);
          const [stream] = payloadFor(cfg.kind, 0, 0);
          conns.push({ cfg, client, inflight: 0, lastTs: 0, stream, topic: (cfg.topics.publish as Partial<Record<Stream, string>>)[stream] ?? cfg.topics.prefix + stream });
        } catch (err) {
          failures.push({ id: cfg.deviceId, reason: (err as Error).message });
        }
      }
    }),
  );
  o.log?.info({ connected: conns.length, failed: failures.length }, 'load: devices connected');

  let sent = 0,
    acked = 0,
    errors = 0,
    stalls = 0;
  const latencies: number[] = [];
  let rr = 0;
  const start = Date.now();
  const end = start + o.durationS * 1000;
  let lastProgress = start;
  let lastProgressSent = 0;

  const sendOne = (): boolean => {
    for (let k = 0; k < conns.length; k++) {
      const c = conns[(rr + k) % conns.length]!;
      if (qos === 1 && c.inflight >= maxInflight) continue;
      if (!c.client.connected) continue;
      rr = (rr + k + 1) % conns.length;
      const now = Date.now();
      const ts = (c.lastTs = Math.max(c.lastTs + 1, now));
      const [, text] = payloadFor(c.cfg.kind, ts, sent);
      sent++;
      if (qos === 1) c.inflight++;
      const t0 = now;
      c.client.publish(c.topic, text, { qos }, (err) => {
        if (qos === 1) c.inflight--;
        if (err) errors++;
        else {
          acked++;
          if (latencies.length < 200_000) latencies.push(Date.now() - t0);
        }
      });
      return true;
    }
    return false;
  };

  if (conns.length) {
    await new Promise<void>((resolve) => {
      const loop = () => {
        const now = Date.now();
        if (now >= end) return resolve();
        const due = o.rate > 0 ? Math.floor(((now - start) / 1000) * o.rate) - sent : 2000;
        let n = 0;
        for (; n < Math.min(due, 5000); n++) {
          if (!sendOne()) {
            stalls++;
            break;
          }
        }
        if (now - lastProgress >= 1000) {
          o.onProgress?.({
            elapsedS: (now - start) / 1000,
            sent,
            acked,
            errors,
            connected: conns.filter((c) => c.client.connected).length,
            ratePerSec: ((sent - lastProgressSent) * 1000) / (now - lastProgress),
          });
          lastProgress = now;
          lastProgressSent = sent;
        }
        // yield to the socket callbacks: immediately when behind, else after a short sleep
        if (n > 0 && due > n) setImmediate(loop);
        else setTimeout(loop, 2);
      };
      loop();
    });
  }
  const elapsed = (Date.now() - start) / 1000;
  // drain: wait for outstanding acknowledgements
  const drainUntil = Date.now() + 10_000;
  while (qos === 1 && acked + errors < sent && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
  await Promise.all(conns.map((c) => new Promise<void>((r) => c.client.end(false, {}, () => r()))));
  latencies.sort((a, b) => a - b);
  return {
    devices: configs.length,
    connected: conns.length,
    connectFailures: failures,
    targetRate: o.rate,
    durationS: round(elapsed, 2),
    sent,
    acked: qos === 1 ? acked : sent,
    errors,
    unacked: qos === 1 ? sent - acked - errors : 0,
    achievedRate: round(sent / elapsed),
    ackedRate: round((qos === 1 ? acked : sent) / elapsed),
    ackLatencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 },
    stalls,
  };
}

/**
 * Register (or re-issue) `n` load-test devices `load-0001…` in a registry file, low scrypt cost,
 * one registry write. Returns their rendered configs (fresh secrets: the old ones stop working).
 */
/** defaults of provisionLoadDevices' options (lib/options.ts) */
export const PROVISION_LOAD_DEFAULTS = { cost: 1024, brokerUrl: 'mqtt://127.0.0.1:1883', kind: 'air' as DeviceConfig['kind'], prefix: 'load' };

export function provisionLoadDevices(registryFile: string, n: number, options: { cost?: number; brokerUrl?: string; kind?: DeviceConfig['kind']; prefix?: string } = {}): DeviceConfig[] {
  const opts = withDefaults(PROVISION_LOAD_DEFAULTS, options);
  const reg = loadRegistryFile(registryFile);
  const { kind, prefix } = opts;
  const byId = new Map(reg.devices.map((d) => [d.id, d]));
  const out: DeviceConfig[] = [];
  for (let i = 1; i <= n; i++) {
    const id = `${prefix}-${String(i).padStart(4, '0')}`;
    const secret = generateSecret();
    const base: Omit<RegistryDevice, 'passwordHash'> = {
      id,
      kind,
      model: 'load-generator',
      district: 'Carga',
      status: 'active',
      intervals: { dataS: 1, statusS: 3600 },
      ...(kind === 'truck' ? { truck: { depotId: 'depot-load', routeId: 'route-load' } } : { location: { lat: 18.12 + (i % 100) * 1e-4, lon: -94.46 + (i % 77) * 1e-4 } }),
      ...(kind === 'noise' ? { noiseZone: 'residential' as const } : {}),
      ...(kind === 'camera' ? { camera: { road: 'Carga', direction: 'entering' as const, lanes: 2 } } : {}),
    };
    const d: RegistryDevice = { ...base, passwordHash: hashPasswordSync(secret, opts.cost), credentialsIssuedAt: Date.now() };
    const prev = byId.get(id);
    if (prev) Object.assign(prev, d);
    else reg.devices.push(d);
    out.push(renderDeviceConfig(d, { brokerUrl: opts.brokerUrl, secret, timezone: reg.timezone }));
  }
  saveRegistryFile(registryFile, reg);
  return out;
}
