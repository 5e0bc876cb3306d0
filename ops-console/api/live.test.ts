/**
 * The live path against a real Aedes broker (broker/index.ts) over sockets: the API connects as
 * the `console` service account; an `ingest` client publishes svc/state, svc/plate and
 * svc/alerts; a device publishes presence; WebSocket clients on /api/live receive a snapshot and
 * coalesced deltas (plates only for plate roles); console transitions and the hotlist are
 * published on MQTT; a client that stops reading is skipped and later re-sent a snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { svcTopics, deviceTopic, type AlertEvent, type Hotlist, type LiveState } from '../../contract';
import { waitFor } from '../../testing/net';
import { TEST_PASSWORD } from '../../testing/registry-fixture';
import type { LiveMessage, LiveSnapshot } from '../shared/live';
import { decodePositions, fixAt, type PositionsFrame } from '../shared/live-positions';
import { USERS, startConsoleStack, type ConsoleStack } from './test-support';

let stack: ConsoleStack;
let broker: ConsoleStack['broker'];
let api: ConsoleStack['api'];
let ingest: MqttClient;
let watcher: MqttClient;
const watched: { topic: string; body: unknown; retain: boolean }[] = [];
const sockets: WebSocket[] = [];

const connect = (username: string) =>
  mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username, password: TEST_PASSWORD(username), clientId: `${username}-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 0 });

async function login(username: string): Promise<string> {
  const u = USERS.find((x) => x.username === username)!;
  const r = await fetch(`http://127.0.0.1:${api.port}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: u.password }) });
  return ((await r.json()) as { token: string }).token;
}

/** a one-time ticket URL for the live stream (POST /api/auth/ticket) */
async function ticketUrl(token: string, path = '/api/live'): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${api.port}/api/auth/ticket`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ path }),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { url: string }).url;
}

/** A WebSocket client collecting messages. */
async function liveClient(username: string) {
  const token = await login(username);
  const ws = new WebSocket(`ws://127.0.0.1:${api.port}${await ticketUrl(token)}`);
  sockets.push(ws);
  const msgs: LiveMessage[] = [];
  ws.on('message', (d) => msgs.push(JSON.parse((d as Buffer).toString('utf8')) as LiveMessage));
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  await waitFor(() => msgs.length > 0, 5000, 20, 'snapshot');
  return { ws, msgs };
}

const state = (deviceId: string, kind: LiveState['kind'], stream: string, data: Record<string, unknown>, ts = Date.now()): LiveState => ({
  deviceId,
  kind,
  district: 'Centro',
  latest: { [stream]: { ts, late: false, data: { ts, ...data } } },
  lastSeen: ts,
});

beforeAll(async () => {
  stack = await startConsoleStack('console-live-', { jwtSecret: 'live-test', live: { tickMs: 250 } });
  ({ broker, api } = stack);
  ingest = await connect('ingest');
  watcher = await connect('nodered');
  watcher.on('message', (topic, payload, packet) => {
    let body: unknown;
    try {
      body = JSON.parse(payload.toString());
    } catch {
      body = payload.toString();
    }
    watched.push({ topic, body, retain: packet.retain });
  });
  await watcher.subscribeAsync(['city/v1/svc/#'], { qos: 1 });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await ingest?.endAsync();
  await watcher?.endAsync();
  await stack?.stop();
});

describe('live stream over a real broker', () => {
  it('snapshot on connect, then deltas with states, presence, alerts; plates only for plate roles', async () => {
    const opC = await liveClient('op');
    const invC = await liveClient('inv');
    expect(opC.msgs[0]).toMatchObject({ type: 'snapshot', devices: [], alerts: [] });

    await ingest.publishAsync(svcTopics.state('air', 'air-01'), JSON.stringify(state('air-01', 'air', 'air', { windowS: 60, pm25: 42 })), { qos: 1, retain: true });
    await ingest.publishAsync(svcTopics.plate('cam-01'), JSON.stringify(state('cam-01', 'camera', 'plate', { plate: 'ABC123', region: 'VER', confidence: 0.9, direction: 'entering', lane: 1 })), {
      qos: 1,
    });
    const open: AlertEvent = {
      alertId: 'noise:noise-01:1',
      event: 'open',
      at: Date.now(),
      rule: 'noise',
      severity: 'warning',
      deviceId: 'noise-01',
      kind: 'noise',
      district: 'Centro',
      title: 'Ruido sobre el límite',
    };
    await ingest.publishAsync(svcTopics.alert(open.alertId), JSON.stringify(open), { qos: 1 });
    const dev = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: 'noise-01', password: TEST_PASSWORD('noise-01'), clientId: 'noise-01', reconnectPeriod: 0 });
    await dev.publishAsync(deviceTopic('noise', 'noise-01', 'presence'), JSON.stringify({ state: 'online', ts: Date.now() }), { qos: 1, retain: true });
    await dev.endAsync();

    const merged = (msgs: LiveMessage[]) => {
      const devices = new Map<string, LiveState>();
      const plates: string[] = [];
      const alerts = new Set<string>();
      for (const m of msgs) {
        for (const d of m.devices) devices.set(d.deviceId, d);
        if (m.type === 'delta') for (const p of m.plates) plates.push(p.read.plate);
        for (const a of m.alerts) alerts.add(a.id);
      }
      return { devices, plates, alerts };
    };
    await waitFor(
      () => {
        const m = merged(invC.msgs);
        return m.devices.get('noise-01')?.online === true && m.plates.length === 1 && m.alerts.size === 1 && m.devices.has('air-01');
      },
      10_000,
      50,
      'investigator deltas',
    );
    await waitFor(() => merged(opC.msgs).alerts.size === 1 && merged(opC.msgs).devices.get('noise-01')?.online === true, 10_000, 50, 'operator deltas');
    const inv = merged(invC.msgs);
    expect(inv.plates).toEqual(['ABC123']);
    expect((inv.devices.get('air-01')!.latest.air!.data as { pm25: number }).pm25).toBe(42);
    expect((inv.devices.get('cam-01')!.latest.plate!.data as { plate: string }).plate).toBe('ABC123');
    const opm = merged(opC.msgs);
    expect(opm.plates).toEqual([]);
    expect(opm.devices.get('cam-01')?.latest.plate).toBeUndefined();
    expect(JSON.stringify(opC.msgs)).not.toContain('ABC123');

    // a new client's snapshot has the current state and the open alert
    const late = await liveClient('plan');
    const snap = late.msgs[0]!;
    expect(snap.type).toBe('snapshot');
    expect(snap.devices.map((d) => d.deviceId).sort()).toEqual(['air-01', 'cam-01', 'noise-01']);
    expect(snap.alerts.map((a) => a.id)).toEqual([open.alertId]);
    expect(JSON.stringify(snap)).not.toContain('ABC123');
  });

  it('coalesces per device: many updates → at most one entry per device per delta, ≤ 4 deltas/s', async () => {
    const c = await liveClient('op');
    const start = c.msgs.length;
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) {
      await ingest.publishAsync(svcTopics.state('air', 'air-01'), JSON.stringify(state('air-01', 'air', 'air', { windowS: 60, pm25: i }, t0 + i)), { qos: 0 });
    }
    await waitFor(() => c.msgs.some((m) => m.devices.some((d) => (d.latest.air?.data as { pm25: number } | undefined)?.pm25 === 99)), 10_000, 20, 'last update');
    const deltas = c.msgs.slice(start).filter((m) => m.type === 'delta');
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.length).toBeLessThan(100 / 4);
    for (const d of deltas) expect(d.devices.filter((x) => x.deviceId === 'air-01').length).toBeLessThanOrEqual(1);
    for (let i = 1; i < deltas.length; i++) expect(deltas[i]!.at - deltas[i - 1]!.at).toBeGreaterThanOrEqual(200);
  });

  it('console transitions and the hotlist are published on MQTT (AlertEvent; retained Hotlist)', async () => {
    const boss = await login('boss');
    const r = await fetch(`http://127.0.0.1:${api.port}/api/alerts/noise:noise-01:1/ack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${boss}`, 'content-type': 'application/json' },
      body: '{"note":"en camino"}',
    });
    expect(r.status).toBe(200);
    const ev = await waitFor(() => watched.find((w) => w.topic === svcTopics.alert('noise:noise-01:1') && (w.body as AlertEvent).event === 'acknowledge'), 5000, 20, 'published ack');
    expect(ev!.body).toMatchObject({ alertId: 'noise:noise-01:1', event: 'acknowledge', by: 'boss', note: 'en camino', rule: 'noise' });
    // the echo from the broker does not add a second history entry
    await new Promise((res) => setTimeout(res, 300));
    const a = (await (await fetch(`http://127.0.0.1:${api.port}/api/alerts/noise:noise-01:1`, { headers: { authorization: `Bearer ${boss}` } })).json()) as { history: unknown[]; state: string };
    expect(a.state).toBe('acknowledged');
    expect(a.history).toHaveLength(2);

    const put = await fetch(`http://127.0.0.1:${api.port}/api/hotlist/entries/ROB001`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${boss}`, 'content-type': 'application/json' },
      body: '{"reason":"robo"}',
    });
    expect(put.status).toBe(200);
    const version = ((await put.json()) as Hotlist).version;
    await waitFor(() => watched.find((w) => w.topic === svcTopics.hotlist && (w.body as Hotlist).version === version), 5000, 20, 'published hotlist');
    // retained: a client subscribing later gets it
    const later = await connect('nodered');
    const got = new Promise<{ body: Hotlist; retain: boolean }>((res) => later.on('message', (_t, p, pk) => res({ body: JSON.parse(p.toString()) as Hotlist, retain: pk.retain })));
    await later.subscribeAsync(svcTopics.hotlist, { qos: 1 });
    const h = await got;
    expect(h.retain).toBe(true);
    expect(h.body).toEqual({ version, entries: [{ plate: 'ROB001', reason: 'robo' }] });
    await later.endAsync();
  });

  it('bad service messages are counted, not fatal', async () => {
    await ingest.publishAsync(svcTopics.state('air', 'air-01'), 'not json', { qos: 1 });
    await ingest.publishAsync(svcTopics.alert('x'), JSON.stringify({ alertId: 'x', event: 'open' }), { qos: 1 });
    await waitFor(
      async () => {
        const m = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
        return /console_mqtt_rejected_total\{type="state"\} [1-9]/.test(m) && /console_mqtt_rejected_total\{type="alerts"\} [1-9]/.test(m);
      },
      5000,
      50,
      'rejections counted',
    );
    expect((await fetch(`http://127.0.0.1:${api.port}/health`)).status).toBe(200);
  });

  it('columnar clients get GPS-only truck changes as binary position frames, the rest as JSON; JSON clients get all as JSON', async () => {
    const token = await login('op');
    const ws = new WebSocket(`ws://127.0.0.1:${api.port}${await ticketUrl(token)}&format=columnar`);
    sockets.push(ws);
    const json: LiveMessage[] = [];
    const frames: PositionsFrame[] = [];
    let bytes = { json: 0, bin: 0 };
    ws.on('message', (d, isBinary) => {
      const buf = d as Buffer;
      if (isBinary) {
        frames.push(decodePositions(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)));
        bytes.bin += buf.byteLength;
      } else {
        json.push(JSON.parse((d as Buffer).toString('utf8')) as LiveMessage);
        bytes.json += buf.byteLength;
      }
    });
    await new Promise<void>((res, rej) => (ws.once('open', () => res()), ws.once('error', rej)));
    const plain = await liveClient('op');
    await waitFor(() => json.length > 0, 5000, 20, 'columnar snapshot');
    expect(json[0]!.type).toBe('snapshot');
    const t0 = Date.now();
    const gps = (id: string, ts: number, lon: number) => state(id, 'truck', 'gps', { lat: 18.14, lon, speedKmh: 30, heading: 90, hdop: 0.9 }, ts);
    // the first sight of a truck is a full state (JSON), later fixes are GPS-only
    for (let i = 0; i < 20; i++) await ingest.publishAsync(svcTopics.state('truck', `truck-${100 + i}`), JSON.stringify(gps(`truck-${100 + i}`, t0, -94.44)), { qos: 1 });
    await waitFor(() => json.some((m) => m.devices.some((d) => d.deviceId === 'truck-119')), 10_000, 20, 'trucks first seen, as JSON');
    bytes = { json: 0, bin: 0 };
    for (let k = 1; k <= 3; k++)
      for (let i = 0; i < 20; i++)
        await ingest.publishAsync(svcTopics.state('truck', `truck-${100 + i}`), JSON.stringify(gps(`truck-${100 + i}`, t0 + k * 1000, -94.44 + k * 1e-4 + i * 1e-6)), { qos: 1 });
    const lastFix = () => {
      const seen = new Map<number, number>();
      for (const f of frames) for (let i = 0; i < f.n; i++) seen.set(f.index[i]!, fixAt(f, i).lon);
      return seen;
    };
    await waitFor(() => [...lastFix().values()].filter((lon) => Math.abs(lon - (-94.44 + 3e-4)) < 1e-4).length === 20, 10_000, 20, 'last fixes in frames');
    // an event on one truck: not GPS-only, so JSON
    await ingest.publishAsync(svcTopics.state('truck', 'truck-100'), JSON.stringify(state('truck-100', 'truck', 'event', { type: 'bin_lift' }, t0 + 3500)), { qos: 1 });
    await waitFor(() => json.some((m) => m.devices.some((d) => d.deviceId === 'truck-100' && d.latest.event)), 10_000, 20, 'event as JSON');
    // ingest publishes the whole merged state: a newer fix with the same (older) event is GPS-only again
    const merged = (ts: number): LiveState => ({
      ...gps('truck-100', ts, -94.43),
      latest: { ...gps('truck-100', ts, -94.43).latest, event: { ts: t0 + 3500, late: false, data: { ts: t0 + 3500, type: 'bin_lift' } } },
    });
    const framesBefore = frames.length;
    await ingest.publishAsync(svcTopics.state('truck', 'truck-100'), JSON.stringify(merged(t0 + 5000)), { qos: 1 });
    await waitFor(() => frames.slice(framesBefore).some((f) => f.n === 1 && Math.abs(fixAt(f, 0).lon - -94.43) < 1e-6), 10_000, 20, 'merged state with an unchanged event → a position frame');
    // names: every index in a frame was named in a frame (the snapshot named none of these yet)
    const names = new Map(frames.flatMap((f) => f.names));
    expect([...lastFix().keys()].every((i) => names.get(i)?.startsWith('truck-1'))).toBe(true);
    const f = frames.find((x) => x.n > 0)!;
    expect(fixAt(f, 0).hdop).toBe(0.9);
    // GPS-only fixes never also went out as JSON to the columnar client
    const jsonFixes = json
      .slice(1)
      .flatMap((m) => m.devices)
      .filter((d) => d.latest.gps && !d.latest.event && (d.latest.gps.ts ?? 0) > t0);
    expect(jsonFixes).toEqual([]);
    // the JSON client got everything as JSON
    await waitFor(() => plain.msgs.some((m) => m.devices.some((d) => d.deviceId === 'truck-119' && d.latest.gps!.ts === t0 + 3000)), 10_000, 20, 'plain client fixes');
    expect(bytes.bin).toBeGreaterThan(0);
    // a new columnar client's snapshot names every numbered device
    const ws2 = new WebSocket(`ws://127.0.0.1:${api.port}${await ticketUrl(token)}&format=columnar`);
    sockets.push(ws2);
    const snap = await new Promise<LiveSnapshot>((res) => ws2.once('message', (d) => res(JSON.parse((d as Buffer).toString('utf8')) as LiveSnapshot)));
    expect(snap.positionIds).toEqual(expect.arrayContaining(['truck-100', 'truck-119']));
    expect(new Set(snap.positionIds!.map((id, i) => names.get(i) === id)).has(false)).toBe(false);
  });

  it('refuses the upgrade without a valid ticket (401): none, forged, a session token in the URL, a used one', async () => {
    const token = await login('op');
    const used = await ticketUrl(token);
    const first = new WebSocket(`ws://127.0.0.1:${api.port}${used}`);
    sockets.push(first);
    await new Promise<void>((res, rej) => {
      first.once('open', () => res());
      first.once('error', rej);
    });
    for (const url of [
      `ws://127.0.0.1:${api.port}/api/live`,
      `ws://127.0.0.1:${api.port}/api/live?ticket=forged`,
      `ws://127.0.0.1:${api.port}/api/live?token=${token}`,
      `ws://127.0.0.1:${api.port}${used}`,
    ]) {
      const ws = new WebSocket(url);
      ws.on('error', () => undefined);
      const status = await new Promise<number>((res) => ws.on('unexpected-response', (_req, r) => res(r.statusCode ?? 0)));
      expect(status).toBe(401);
    }
  });

  it('a client that stops reading is skipped, then re-sent a fresh snapshot', async () => {
    const c = await liveClient('op');
    const hub = api.app.live;
    // make deltas big, pause the client's socket so the server's buffer fills
    (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = 'x'.repeat(256 * 1024);
    const skippedBefore = (await api.app.metrics.liveSkipped.get()).values[0]?.value ?? 0;
    let i = 0;
    await waitFor(
      async () => {
        for (let k = 0; k < 20; k++) hub.updateState(state('air-01', 'air', 'air', { windowS: 60, pm25: i++, note: big }, Date.now() + i));
        hub.tick();
        const m = await api.app.metrics.liveSkipped.get();
        return m.values[0]!.value > skippedBefore;
      },
      20_000,
      10,
      'client skipped',
    );
    const snapsBefore = c.msgs.filter((m) => m.type === 'snapshot').length;
    (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor(() => c.msgs.filter((m) => m.type === 'snapshot').length > snapsBefore, 20_000, 20, 'fresh snapshot');
    const snap = c.msgs.filter((m) => m.type === 'snapshot').at(-1)!;
    expect(snap.devices.find((d) => d.deviceId === 'air-01')).toBeDefined();
    const reasons = await api.app.metrics.liveSnapshots.get();
    expect(reasons.values.find((v) => v.labels.reason === 'caught_up')?.value).toBeGreaterThan(0);
  });
  it("a device's issue from ingest (credentials refused) reaches GET /api/devices/:id with online false; cleared, it goes", async () => {
    const token = await login('op');
    const get = async () =>
      (await (await fetch(`http://127.0.0.1:${api.port}/api/devices/cam-01`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        online: boolean | null;
        issue?: { code: string; reason: string };
      };
    const at = Date.now();
    const s: LiveState = {
      deviceId: 'cam-01',
      kind: 'camera',
      district: 'Entrada Sur',
      latest: {},
      lastSeen: at,
      online: false,
      issue: { code: 'credentials_refused', reason: 'bad_password', since: at, lastAt: at },
    };
    await ingest.publishAsync(svcTopics.state('camera', 'cam-01'), JSON.stringify(s), { qos: 1, retain: true });
    const d = (await waitFor(async () => ((await get()).issue ? get() : null), 5000, 50, 'issue on the device'))!;
    expect(d).toMatchObject({ online: false, issue: { code: 'credentials_refused', reason: 'bad_password' } });
    await ingest.publishAsync(svcTopics.state('camera', 'cam-01'), JSON.stringify({ ...s, online: true, issue: null, lastSeen: at + 1 }), { qos: 1, retain: true });
    await waitFor(async () => ((await get()).issue === undefined ? true : null), 5000, 50, 'issue cleared');
    expect((await get()).online).toBe(true);
  });
});
