/**
 * The installer's commissioning check: be the device for a moment and prove, end to end, that
 * the platform accepts it.
 *
 *   1 config     the rendered config is complete and its topics are the device's own
 *   2 connect    MQTT login with the device's credentials (bad credentials / retired / unreachable)
 *   3 clock      device clock (+ `clockOffsetMs`) vs the server (HTTP Date header): "clock off by N s"
 *   4 gps        fix quality (trucks): hdop and satellites
 *   5 ranges     the test reading is valid for the contract and inside plausible ranges
 *   6 publish    the broker takes the test reading; when it closes the connection instead, the
 *                broker's own notice (contract/commissioning.ts) says why: "topic refused" or
 *                "session taken over by another connection"
 *   7 accepted   ingest validated the reading like a real one (else its reason: "rejected
 *                payload: schema: ...")
 *   8 location   the device is where the registry says (fixed stations), or its GPS fix (or `at`)
 *                is on the street network (trucks)
 *
 * The test reading is commissioning data: published on the device's `…/commissioning` topic,
 * validated by ingest and kept apart from telemetry — never in plate search, charts, coverage or
 * rules. The check connects without a last will and publishes no presence, so it leaves no alert
 * behind. (`topic` overrides this for tooling: the reading then goes to that topic as real data.)
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { commissioningTopic, decodeMessage, DEFAULT_TIME_POLICY, noticeTopic, type BrokerNotice, type Stream } from '../contract';
import type { City, Position } from '../city/city';
import type { DeviceConfig } from '../registry/device-config';
import { distanceM, pointLineDistanceM } from '../contract/geo';
import { ApiClientError, ConsoleApiClient } from './api-client';
import { connackReason } from './device';
import { modelFor } from './models';
import { TruckModel } from './models/truck';
import { withDefaults } from '../lib/options';

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
  /** trucks: largest accepted distance of the GPS fix from the street network (default 30 m) */
  maxStreetDistanceM?: number;
  /** identifies this run's commissioning reading (default random) */
  checkId?: string;
  /** called right before the publish step (tests: another connection takes the session over) */
  beforePublish?: () => Promise<void>;
}

const MAIN_STREAM: Record<DeviceConfig['kind'], Stream> = { truck: 'gps', air: 'air', noise: 'noise', camera: 'plate' };

/** plausible ranges for the demo city's climate and devices (tighter than the contract's limits) */
const SANE: Record<string, [number, number]> = {
  pm25: [0, 500],
  pm10: [0, 600],
  o3: [0, 0.5],
  no2: [0, 1],
  so2: [0, 1],
  co: [0, 50],
  tempC: [0, 50],
  rhPct: [5, 100],
  laeq: [25, 120],
  lamax: [25, 140],
  lamin: [15, 120],
  speedKmh: [0, 130],
  confidence: [0.3, 1],
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
    // where the installer stands (--at), else where the truck's model puts it on its route
    const p: Position = o.at ? [o.at.lon, o.at.lat] : (modelFor(cfg, { city: o.city, start: now - 10_000 }) as TruckModel).position();
    return { ts: now, lat: Math.round(p[1] * 1e6) / 1e6, lon: Math.round(p[0] * 1e6) / 1e6, speedKmh: 0, heading: 0, hdop: 0.9, sats: 11 };
  }
  const m = modelFor(cfg, { city: o.city ?? ({ routes: [], depots: [], streets: { features: [] } } as unknown as City), start: now - cfg.intervals.dataS * 1000 });
  const e = m.advance(now).at(-1);
  return { ...(e?.payload as unknown as Record<string, unknown>), ts: now };
}

interface Conn {
  client: MqttClient;
  /** the broker's notices to this connection (why it closes it) */
  notices: BrokerNotice[];
}

/** Connect as the device, without a last will (a check must leave no presence behind), and listen for the broker's notices. */
function connect(cfg: DeviceConfig, url: string): Promise<Conn | { error: string }> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, {
      clientId: cfg.clientId,
      username: cfg.username,
      password: cfg.secret,
      reconnectPeriod: 0,
      connectTimeout: 8000,
      clean: true,
    });
    const notices: BrokerNotice[] = [];
    const nt = noticeTopic(cfg.kind, cfg.deviceId);
    c.on('message', (topic, payload) => {
      if (topic !== nt) return;
      try {
        notices.push(JSON.parse(payload.toString('utf8')) as BrokerNotice);
      } catch {
        // not a notice
      }
    });
    const done = (r: Conn | { error: string }) => {
      c.removeAllListeners('connect');
      c.removeAllListeners('error');
      c.removeAllListeners('close');
      c.on('error', () => {});
      resolve(r);
    };
    c.once('connect', () => {
      c.subscribe(nt, { qos: 0 }, () => done({ client: c, notices }));
    });
    c.once('error', (err) => (c.end(true), done({ error: connackReason(err) })));
    c.once('close', () => (c.end(true), done({ error: `broker ${url} closed the connection before accepting it (unreachable?)` })));
  });
}

/** Why the broker closed the connection, from its notice (waits a moment for one), never a guess. */
async function closeReason(conn: Conn, topic: string): Promise<string> {
  const deadline = Date.now() + 1000;
  while (!conn.notices.length && Date.now() < deadline) await sleep(50);
  const n = conn.notices.at(-1);
  if (!n) return `the broker closed the connection while publishing on ${topic} and gave no reason`;
  if (n.reason === 'session_taken_over')
    return `session taken over by another connection: ${n.detail} (is the device itself, or another check, connected with client id ${conn.client.options.clientId}? stop it during the check)`;
  return `topic refused by the broker: ${n.topic ?? topic}: ${n.detail}`;
}

function publishAcked(c: MqttClient, topic: string, text: string, timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    if (!c.connected) return resolve('closed');
    const t = setTimeout(() => resolve('no acknowledgement from the broker'), timeoutMs);
    const onClose = () => (clearTimeout(t), resolve('closed'));
    c.once('close', onClose);
    c.publish(topic, text, { qos: 1 }, (err) => {
      clearTimeout(t);
      c.off('close', onClose);
      resolve(err ? err.message : null);
    });
  });
}

/** defaults of the options (lib/options.ts) */
export const CHECK_DEFAULTS = { clockOffsetMs: 0, timeoutMs: 15_000, maxLocationErrorM: 50, maxStreetDistanceM: 30 };

export async function runCheck(options: CheckOptions): Promise<CheckResult> {
  const o = withDefaults(CHECK_DEFAULTS, options);
  const cfg = o.config;
  const items: CheckItem[] = [];
  const add = (name: CheckName, ok: boolean | null, detail: string) => items.push({ name, ok, detail });
  const deviceNow = () => Date.now() + o.clockOffsetMs;
  const stream = MAIN_STREAM[cfg.kind];
  const streamTopic = (cfg.topics.publish as Partial<Record<Stream, string>>)[stream] ?? `${cfg.topics.prefix}${stream}`;
  const topic = o.topic ?? streamTopic;
  /** commissioning data unless a topic override asks for a real publish */
  const asCommissioning = o.topic === undefined;
  const checkId = o.checkId ?? randomBytes(6).toString('hex');
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
      add(
        'clock',
        Math.abs(skewS) <= tol,
        Math.abs(skewS) <= tol
          ? `clock within ${Math.abs(skewS).toFixed(1)} s of the server`
          : `clock off by ${sign}${Math.round(skewS)} s (device ${skewS > 0 ? 'ahead of' : 'behind'} the server; check NTP ${cfg.time.ntpServer})`,
      );
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
  let reading: Record<string, unknown> = {};
  try {
    const now = deviceNow();
    reading = testReading(o, now);
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
      add(
        'ranges',
        out.length === 0,
        out.length ? `out of plausible range: ${out.map(([k, v]) => `${k}=${String(v)} (expected ${SANE[k]![0]}–${SANE[k]![1]})`).join(', ')}` : 'reading inside plausible ranges',
      );
    }

    // 6 publish
    await o.beforePublish?.();
    const sentAt = Date.now();
    const pubTopic = asCommissioning ? commissioningTopic(cfg.kind, cfg.deviceId) : topic;
    const body = asCommissioning ? JSON.stringify({ checkId, stream, reading }) : text;
    const perr = await publishAcked(client, pubTopic, body);
    if (perr) {
      add('publish', false, perr === 'closed' ? await closeReason(conn, topic) : `${topic}: ${perr}`);
      return finish();
    }
    add('publish', true, asCommissioning ? `published on ${pubTopic} (commissioning data for ${topic})` : `published on ${topic}`);

    // 7 accepted (through the console API)
    let dev: Awaited<ReturnType<ConsoleApiClient['device']>> | null = null;
    if (!api) {
      add('accepted', null, 'skipped: no console API URL (--api)');
    } else {
      try {
        if (o.apiUser && o.apiPassword) await api.login(o.apiUser, o.apiPassword);
        dev = await api.device(cfg.deviceId);
        const r = asCommissioning ? await commissioningOutcome(api, cfg.deviceId, checkId, sentAt, o.timeoutMs) : await realOutcome(api, cfg.deviceId, stream, topic, reading, sentAt, o.timeoutMs);
        add('accepted', r.ok, r.detail);
      } catch (err) {
        const e = err as ApiClientError;
        add('accepted', false, e.code === 'E_API_AUTH' ? `console API refused the login (give --api-user/--api-password): ${e.message}` : e.message);
      }
    }

    // 8 location
    const at = o.at ?? cfg.location;
    if (cfg.kind === 'truck') {
      const p: Position = [Number(reading.lon), Number(reading.lat)];
      if (o.city && Number.isFinite(p[0]) && Number.isFinite(p[1])) {
        let best = Infinity;
        for (const f of o.city.streets.features) best = Math.min(best, pointLineDistanceM(p, f.geometry.coordinates as Position[]));
        const max = o.maxStreetDistanceM;
        add('location', best <= max, best <= max ? `on the street network (${best.toFixed(0)} m)` : `wrong location: GPS fix ${formatM(best)} from the nearest street (at most ${max} m)`);
      } else add('location', null, 'skipped: no city data');
    } else if (!api || !dev) add('location', null, 'skipped: no console API (the registered place comes from it)');
    else if (!dev.location) add('location', false, 'wrong location: the registry has no place for this device');
    else if (!at) add('location', null, 'skipped: no installed position given (--at lat,lon)');
    else {
      const m = distanceM([at.lon, at.lat], [dev.location.lon, dev.location.lat]);
      const max = o.maxLocationErrorM;
      add(
        'location',
        m <= max,
        m <= max ? `at the registered place (${m.toFixed(0)} m)` : `wrong location: installed ${formatM(m)} from the registered place (${dev.location.lat}, ${dev.location.lon})`,
      );
    }
  } finally {
    await new Promise<void>((res) => {
      const t = setTimeout(res, 2000);
      client.end(!client.connected, {}, () => (clearTimeout(t), res()));
    });
  }
  return finish();
}

const formatM = (m: number) => (m >= 10_000 ? `${(m / 1000).toFixed(1)} km` : `${m.toFixed(0)} m`);

/** The commissioning reading's outcome, as ingest stored it (apart from telemetry). */
async function commissioningOutcome(api: ConsoleApiClient, deviceId: string, checkId: string, sentAt: number, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const deadline = Date.now() + timeoutMs;
  const prefix = `check ${checkId}: `;
  for (;;) {
    const l = (await api.deadLetters(deviceId, sentAt - 5000, 'commissioning')).find((x) => x.detail.startsWith(prefix));
    if (l) {
      const d = l.detail.slice(prefix.length);
      const m = /^rejected (\w+) reading: (.*)$/s.exec(d);
      return m ? { ok: false, detail: `rejected payload: ${m[2]}` } : { ok: true, detail: `${d}; seen by ingest at ${new Date(l.receivedAt).toISOString()}` };
    }
    if (Date.now() > deadline) return { ok: false, detail: `not seen by the platform within ${Math.round(timeoutMs / 1000)} s (is ingest running?)` };
    await sleep(300);
  }
}

/** A reading published as real data (topic override): the device's latest, or the dead letter with its reason. */
async function realOutcome(
  api: ConsoleApiClient,
  deviceId: string,
  stream: Stream,
  topic: string,
  reading: Record<string, unknown>,
  sentAt: number,
  timeoutMs: number,
): Promise<{ ok: boolean; detail: string }> {
  const deadline = Date.now() + timeoutMs;
  const mine = (l: { receivedAt: number; topic: string }) => l.receivedAt >= sentAt - 1000 && l.topic === topic;
  for (;;) {
    const dl = (await api.deadLetters(deviceId, sentAt - 5000)).find(mine) ?? (await api.deadLetters(null, sentAt - 5000)).find(mine);
    if (dl) return { ok: false, detail: `rejected payload: ${dl.reason}: ${dl.detail}` };
    const dev = await api.device(deviceId);
    const latest = dev.latest[stream];
    if (latest && latest.ts === reading.ts) return { ok: true, detail: `stored and shown: latest ${stream} at ${new Date(Number(reading.ts)).toISOString()}` };
    if (Date.now() > deadline) return { ok: false, detail: `not seen by the platform within ${Math.round(timeoutMs / 1000)} s (is ingest running?)` };
    await sleep(300);
  }
}

/** The checklist as text: one line per item. */
export function formatCheck(r: CheckResult): string {
  const mark = (ok: boolean | null) => (ok === null ? 'SKIP' : ok ? 'PASS' : 'FAIL');
  const lines = [`commissioning check for ${r.deviceId}: ${r.ok ? 'PASS' : 'FAIL'}`];
  for (const i of r.items) lines.push(`  [${mark(i.ok)}] ${i.name.padEnd(9)} ${i.detail}`);
  return lines.join('\n');
}
