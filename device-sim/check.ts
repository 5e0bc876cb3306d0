/**
 * The installer's commissioning check: be the device for a moment and prove, end to end, that
 * the platform accepts it.
 *
 *   1 config     the rendered config is complete and its topics are the device's own
 *   2 connect    MQTT login with the device's credentials (bad credentials / retired / unreachable)
 *   3 clock      device clock vs the server (HTTP Date header): "clock off by N s"
 *   4 gps        fix quality (trucks): hdop and satellites
 *   5 ranges     the test reading is valid for the contract and inside plausible ranges
 *   6 publish    the broker takes the test reading on the device's topic ("wrong topic" otherwise)
 *   7 accepted   the console API shows the reading as the device's latest (else the ingest's
 *                dead-letter reason: "rejected payload: schema: ...")
 *   8 location   the device is where the registry says (fixed stations), or on the street network (trucks)
 */
import mqtt, { type MqttClient } from 'mqtt';
import { decodeMessage, DEFAULT_TIME_POLICY, type Stream } from '../contract';
import type { City, Position } from '../firmware-config/city';
import type { DeviceConfig } from '../firmware-config/device-config';
import { distanceM, pointLineDistanceM } from '../firmware-config/geo';
import { ApiClientError, ConsoleApiClient } from './api-client';
import { connackReason } from './device';
import { modelFor } from './models';
import { TruckModel } from './models/truck';

export type CheckName = 'config' | 'connect' | 'clock' | 'gps' | 'ranges' | 'publish' | 'accepted' | 'location';
export interface CheckItem {
  name: CheckName;
  /** null = skipped */
  ok: boolean | null;
  detail: string;
}
export interface CheckResult {
  ok: boolean;
  deviceId: string;
  items: CheckItem[];
}

export interface CheckOptions {
  config: DeviceConfig;
  city?: City;
  /** override the config's broker URL */
  mqttUrl?: string;
  /** console API base URL (default the config's apiUrl); without it the end-to-end items are skipped */
  apiUrl?: string;
  apiUser?: string;
  apiPassword?: string;
  /** where the installer actually is (default: the config's location) */
  at?: { lat: number; lon: number };
  /** the device's clock offset from true time (ms): simulates a device whose clock is off */
  clockOffsetMs?: number;
  /** replace the test reading (installer tooling, tests) */
  reading?: Record<string, unknown>;
  /** publish on this topic instead of the config's */
  topic?: string;
  /** how long to wait for the reading to show up in the API (default 15 s) */
  timeoutMs?: number;
  /** largest accepted distance from the registered place (default 50 m) */
  maxLocationErrorM?: number;
}

const MAIN_STREAM: Record<DeviceConfig['kind'], Stream> = { truck: 'gps', air: 'air', noise: 'noise', camera: 'plate' };

/** plausible ranges for the demo city's climate and devices (tighter than the contract's limits) */
const SANE: Record<string, [number, number]> = {
  pm25: [0, 500], pm10: [0, 600], o3: [0, 0.5], no2: [0, 1], so2: [0, 1], co: [0, 50], tempC: [0, 50], rhPct: [5, 100],
  laeq: [25, 120], lamax: [25, 140], lamin: [15, 120], speedKmh: [0, 130], confidence: [0.3, 1],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function testReading(o: CheckOptions, now: number): Record<string, unknown> {
  if (o.reading) return { ...o.reading };
  const cfg = o.config;
  if (cfg.kind === 'camera') {
    return { ts: now, plate: 'PRUEBA-01', region: 'VER', confidence: 0.99, direction: cfg.camera?.direction === 'leaving' ? 'leaving' : 'entering', lane: 1, frames: 5 };
  }
  if (cfg.kind === 'truck') {
    if (!o.city) throw Object.assign(new Error('truck check needs the city data'), { code: 'E_CHECK_CITY' });
    const m = modelFor(cfg, { city: o.city, start: now - 10_000 }) as TruckModel;
    const p = m.position();
    return { ts: now, lat: Math.round(p[1] * 1e6) / 1e6, lon: Math.round(p[0] * 1e6) / 1e6, speedKmh: 0, heading: 0, hdop: 0.9, sats: 11 };
  }
  const m = modelFor(cfg, { city: o.city ?? ({ routes: [], depots: [], streets: { features: [] } } as unknown as City), start: now - cfg.intervals.dataS * 1000 });
  const e = m.advance(now).at(-1);
  return { ...(e?.payload as unknown as Record<string, unknown>), ts: now };
}

function connect(cfg: DeviceConfig, url: string): Promise<{ client: MqttClient } | { error: string }> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, {
      clientId: cfg.clientId,
      username: cfg.username,
      password: cfg.secret,
      reconnectPeriod: 0,
      connectTimeout: 8000,
      clean: true,
      will: { topic: cfg.will.topic, payload: Buffer.from(cfg.will.payload), qos: 1, retain: true },
    });
    const done = (r: { client: MqttClient } | { error: string }) => {
      c.removeAllListeners('connect');
      c.removeAllListeners('error');
      c.removeAllListeners('close');
      c.on('error', () => {});
      resolve(r);
    };
    c.once('connect', () => done({ client: c }));
    c.once('error', (err) => (c.end(true), done({ error: connackReason(err) })));
    c.once('close', () => (c.end(true), done({ error: `broker ${url} closed the connection before accepting it (unreachable?)` })));
  });
}

function publishAcked(c: MqttClient, topic: string, text: string, timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('no acknowledgement from the broker'), timeoutMs);
    const onClose = () => (clearTimeout(t), resolve('the broker closed the connection (topic not allowed for this device)'));
    c.once('close', onClose);
    c.publish(topic, text, { qos: 1 }, (err) => {
      clearTimeout(t);
      c.off('close', onClose);
      resolve(err ? err.message : null);
    });
  });
}

export async function runCheck(o: CheckOptions): Promise<CheckResult> {
  const cfg = o.config;
  const items: CheckItem[] = [];
  const add = (name: CheckName, ok: boolean | null, detail: string) => items.push({ name, ok, detail });
  const deviceNow = () => Date.now() + (o.clockOffsetMs ?? 0);
  const stream = MAIN_STREAM[cfg.kind];
  const topic = o.topic ?? (cfg.topics.publish as Partial<Record<Stream, string>>)[stream] ?? `${cfg.topics.prefix}${stream}`;
  const url = o.mqttUrl ?? cfg.broker.url;
  const apiUrl = o.apiUrl ?? cfg.apiUrl;
  const finish = (): CheckResult => ({ ok: items.every((i) => i.ok !== false), deviceId: cfg.deviceId, items });

  // 1 config
  const own = topic.startsWith(cfg.topics.prefix) && topic.split('/').length === 5;
  add('config', own ? true : false, own ? `topics under ${cfg.topics.prefix}` : `wrong topic: ${topic} is not under the device's own prefix ${cfg.topics.prefix}`);

  // 3 clock (before connecting: needs only the API)
  let api: ConsoleApiClient | null = null;
  if (apiUrl) {
    api = new ConsoleApiClient(apiUrl);
    try {
      const { serverMs, rttMs } = await api.serverTime();
      const skewS = (deviceNow() - rttMs / 2 - serverMs) / 1000;
      const tol = Math.max(2, Math.min(cfg.time.maxClockSkewS, 30));
      const sign = skewS >= 0 ? '+' : '';
      add('clock', Math.abs(skewS) <= tol, Math.abs(skewS) <= tol ? `clock within ${Math.abs(skewS).toFixed(1)} s of the server` : `clock off by ${sign}${Math.round(skewS)} s (device ${skewS > 0 ? 'ahead of' : 'behind'} the server; check NTP ${cfg.time.ntpServer})`);
    } catch (err) {
      add('clock', false, (err as Error).message);
    }
  } else add('clock', null, 'skipped: no console API URL');

  // 2 connect
  const conn = await connect(cfg, url);
  if ('error' in conn) {
    add('connect', false, conn.error);
    return finish();
  }
  add('connect', true, `connected to ${url} as ${cfg.username}`);
  const client = conn.client;
  try {
    const now = deviceNow();
    const reading = testReading(o, now);
    const text = JSON.stringify(reading);

    // 4 gps
    if (cfg.kind === 'truck') {
      const hdop = Number(reading.hdop ?? 99);
      const sats = Number(reading.sats ?? 0);
      const good = hdop <= 2.5 && sats >= 6;
      add('gps', good, good ? `fix quality good (hdop ${hdop}, ${sats} satellites)` : `poor GPS fix (hdop ${hdop}, ${sats} satellites): move the antenna to open sky`);
    } else add('gps', null, 'skipped: no GPS on this device');

    // 5 ranges
    const d = decodeMessage(`${cfg.topics.prefix}${stream}`, text, { ...DEFAULT_TIME_POLICY, now: Date.now(), maxFutureSkewMs: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.MAX_SAFE_INTEGER });
    if (!d.ok) add('ranges', false, `reading invalid (${d.reason}): ${d.detail}`);
    else {
      const out = Object.entries(reading).filter(([k, v]) => typeof v === 'number' && SANE[k] && (v < SANE[k]![0] || v > SANE[k]![1]));
      add('ranges', out.length === 0, out.length ? `out of plausible range: ${out.map(([k, v]) => `${k}=${v} (expected ${SANE[k]![0]}–${SANE[k]![1]})`).join(', ')}` : 'reading inside plausible ranges');
    }

    // 6 publish
    const sentAt = Date.now();
    const perr = await publishAcked(client, topic, text);
    if (perr) {
      add('publish', false, `wrong topic: ${topic}: ${perr}`);
      return finish();
    }
    add('publish', true, `published on ${topic}`);
    await new Promise<void>((res) => client.publish(cfg.topics.presence, JSON.stringify({ state: 'online', ts: Date.now() }), { qos: 1, retain: true }, () => res()));
    // a status record with the same event time: confirms arrival even where the API hides the stream (plates)
    const statusTopic = `${cfg.topics.prefix}status`;
    await publishAcked(client, statusTopic, JSON.stringify({ ts: reading.ts, fw: 'commissioning', uptimeS: Math.floor(process.uptime()), clockSkewMs: o.clockOffsetMs ?? 0 }));

    // 7 accepted + 8 location (through the console API)
    if (!api) {
      add('accepted', null, 'skipped: no console API URL (--api)');
    } else {
      try {
        if (o.apiUser && o.apiPassword) await api.login(o.apiUser, o.apiPassword);
        const deadline = Date.now() + (o.timeoutMs ?? 15_000);
        let seen = false;
        let reason: string | null = null;
        let dev = await api.device(cfg.deviceId);
        for (;;) {
          const latest = dev.latest[d.ok ? d.stream : stream];
          const hidden = stream === 'plate' && !('plate' in dev.latest) && dev.latest.status?.ts === reading.ts;
          const mine = (l: { receivedAt: number; topic: string }) => l.receivedAt >= sentAt - 1000 && l.topic === topic;
          const dl = (await api.deadLetters(cfg.deviceId, sentAt - 5000)).find(mine) ?? (await api.deadLetters(null, sentAt - 5000)).find(mine);
          if (!dl && ((latest && latest.ts === reading.ts) || hidden)) {
            seen = true;
            break;
          }
          if (dl) {
            reason = `rejected payload: ${dl.reason}: ${dl.detail}`;
            break;
          }
          if (Date.now() > deadline) break;
          await sleep(300);
          dev = await api.device(cfg.deviceId);
        }
        if (seen) add('accepted', true, `stored and shown: latest ${stream} at ${new Date(Number(reading.ts)).toISOString()}${stream === 'plate' && !('plate' in dev.latest) ? ' (plate data hidden for this role; confirmed by the status record)' : ''}`);
        else add('accepted', false, reason ?? `not seen by the platform within ${Math.round((o.timeoutMs ?? 15_000) / 1000)} s (is ingest running?)`);

        // location
        const at = o.at ?? cfg.location;
        if (cfg.kind === 'truck') {
          const p: Position = [Number(reading.lon), Number(reading.lat)];
          if (o.city) {
            let best = Infinity;
            for (const f of o.city.streets.features) best = Math.min(best, pointLineDistanceM(p, f.geometry.coordinates as Position[]));
            add('location', best <= 30, best <= 30 ? `on the street network (${best.toFixed(0)} m)` : `wrong location: GPS fix ${best.toFixed(0)} m from the nearest street`);
          } else add('location', null, 'skipped: no city data');
        } else if (!dev.location) add('location', false, 'wrong location: the registry has no place for this device');
        else if (!at) add('location', null, 'skipped: no installed position given (--at lat,lon)');
        else {
          const m = distanceM([at.lon, at.lat], [dev.location.lon, dev.location.lat]);
          const max = o.maxLocationErrorM ?? 50;
          add('location', m <= max, m <= max ? `at the registered place (${m.toFixed(0)} m)` : `wrong location: installed ${m.toFixed(0)} m from the registered place (${dev.location.lat}, ${dev.location.lon})`);
        }
      } catch (err) {
        const e = err as ApiClientError;
        add('accepted', false, e.code === 'E_API_AUTH' ? `console API refused the login (give --api-user/--api-password): ${e.message}` : e.message);
      }
    }
  } finally {
    await new Promise<void>((res) => {
      const t = setTimeout(res, 2000);
      client.end(!client.connected, {}, () => (clearTimeout(t), res()));
    });
  }
  return finish();
}

/** The checklist as text: one line per item. */
export function formatCheck(r: CheckResult): string {
  const mark = (ok: boolean | null) => (ok === null ? 'SKIP' : ok ? 'PASS' : 'FAIL');
  const lines = [`commissioning check for ${r.deviceId}: ${r.ok ? 'PASS' : 'FAIL'}`];
  for (const i of r.items) lines.push(`  [${mark(i.ok)}] ${i.name.padEnd(9)} ${i.detail}`);
  return lines.join('\n');
}
