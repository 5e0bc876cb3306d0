/**
 * Attacks on the broker from the hardening run (issue 14), each performed on loopback and
 * bounded in count and time: a CONNECT flood of wrong passwords, log amplification through huge
 * user names, unfinished CONNECTs, forged alert events from a service account, and the MQTT
 * conformance cases the hooks fix (zero-length client id with CleanSession = 0, U+0000 in a topic).
 *
 * The attacker connects from 127.0.0.2 (Linux routes all of 127/8 to loopback), the legitimate
 * devices from 127.0.0.1, as an attacker on the Internet and the city's devices would.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTopic, SUB_ALL_DEVICE_DATA, svcTopics } from '../contract';
import { hashPasswordSync } from '../registry/credentials';
import { saveRegistryFile, RegistryView } from '../registry/registry';
import { tempDir, waitFor } from '../testing/net';
import { buildTestRegistry, TEST_PASSWORD } from '../testing/registry-fixture';
import { CONNACK } from './auth';
import { startBroker } from './index';
import { closed, collect, startTestBroker, type TestBroker } from './test-support';

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const str = (s: string | Buffer) => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
/** A hand-built MQTT 3.1.1 CONNECT with user name and password. */
function connectPacket(clientId: string, username: string, password: string, clean = true): Buffer {
  const flags = 0xc0 | (clean ? 0x02 : 0);
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, flags, 0, 60]), str(clientId), str(username), str(password)]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}
/** Connect from `localAddress`, send one CONNECT, resolve with the CONNACK return code (or -1 when closed without one). */
function rawConnect(port: number, packet: Buffer, localAddress = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    let code = -1;
    s.on('error', () => {});
    s.on('connect', () => s.write(packet));
    s.on('data', (d: Buffer) => {
      if (d[0] === 0x20 && d.length >= 4) code = d[3]!;
      s.destroy();
    });
    s.on('close', () => resolve(code));
  });
}

/** a log that counts what it is given */
function countingLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines, bytes: () => lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0) };
}

let t: TestBroker | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('CONNECT flood (issue 14, item 2)', () => {
  it('legitimate devices connect within 1 s while 200 sockets flood wrong passwords for their ids; the flood is counted and alerted', { timeout: 60_000 }, async () => {
    // production scrypt cost for the devices under attack: each wrong password is a real scrypt run
    const dir = tempDir('broker-flood-');
    const reg = buildTestRegistry();
    const targets = ['truck-01', 'truck-02', 'air-01', 'noise-01', 'cam-01'];
    for (const d of reg.devices) if (targets.includes(d.id)) d.passwordHash = hashPasswordSync(TEST_PASSWORD(d.id), 16384);
    const file = `${dir}/registry.json`;
    saveRegistryFile(file, reg);
    const registry = new RegistryView(file);
    const broker = await startBroker({ registry, port: 0, watchRegistry: false, log: pino({ level: 'silent' }), limits: { floodWindowMs: 3000 } });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const mqtt = (await import('mqtt')).default;
    const admin = await mqtt.connectAsync(url, { username: 'admin', password: TEST_PASSWORD('admin'), clientId: 'admin-watch', reconnectPeriod: 0 });
    const alerts = collect(admin);
    await admin.subscribeAsync(svcTopics.alertAll, { qos: 1 });

    // the attacker: a child process with 200 sockets, each CONNECTing again as soon as it is refused, for 6 s
    const attacker = spawn(process.execPath, ['-e', ATTACKER, String(broker.port), targets.join(','), '200', '6000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let attackerOut = '';
    attacker.stdout.on('data', (d: Buffer) => (attackerOut += d.toString()));
    const attackerDone = new Promise<void>((r) => attacker.once('exit', () => r()));
    try {
      await waitFor(() => Object.values(broker.metrics().authFailures).reduce((a, b) => a + b, 0) >= 400, 20_000, 20, `the flood under way`).catch((err) => {
        throw new Error(`${err}: ${JSON.stringify(broker.metrics())} ${attackerOut}`);
      });
      const times: number[] = [];
      for (const id of targets) {
        const t0 = performance.now();
        const c = await mqtt.connectAsync(url, { username: id, password: TEST_PASSWORD(id), clientId: id, reconnectPeriod: 0, connectTimeout: 5000 });
        times.push(performance.now() - t0);
        await c.endAsync();
      }
      expect(attacker.exitCode).toBeNull(); // still flooding while the devices connected
      for (const ms of times) expect(ms).toBeLessThan(1000);
    } finally {
      await attackerDone;
    }
    const attempts = Number(/attempts=(\d+)/.exec(attackerOut)?.[1] ?? 0);
    expect(attempts).toBeGreaterThan(200);
    const m = broker.metrics();
    // most attempts were refused without scrypt (back-off / full queue), and far fewer scrypt runs than attempts
    expect((m.authFailures.backoff_source ?? 0) + (m.authFailures.backoff_client ?? 0) + (m.authFailures.auth_queue_full ?? 0)).toBeGreaterThan(0);
    expect(m.authVerifications).toBeLessThan(attempts);
    expect(m.authFloods).toBe(1);
    const metricsText = await broker.metricsRegistry.metrics();
    expect(metricsText).toMatch(/mqtt_broker_auth_floods_total 1/);
    await waitFor(() => alerts.some((a) => JSON.parse(a.payload).code === 'auth_flood'), 5000, 20, 'auth_flood alert');
    const open = JSON.parse(alerts.find((a) => JSON.parse(a.payload).code === 'auth_flood')!.payload);
    expect(open).toMatchObject({ event: 'open', rule: 'auth_flood', code: 'auth_flood', severity: 'warning' });
    expect(targets).toContain(open.deviceId);
    // the flood ends by itself once the attacker stops: the alert auto-resolves
    await waitFor(() => alerts.some((a) => JSON.parse(a.payload).event === 'auto_resolve'), 20_000, 100, 'flood ended');
    expect(broker.metrics().authFlooding).toBe(false);
    await admin.endAsync();
    await broker.stop();
    registry.close();
  });

  it('a flood of invented user names raises no alert; each registered device under attack gets one, bounded, resolved when the flood ends', { timeout: 60_000 }, async () => {
    const lines = countingLog();
    t = await startTestBroker({ log: lines.log, limits: { floodThreshold: 50, floodWindowMs: 2000, floodDeviceMin: 10, maxFloodDevices: 3, maxHoldMs: 20, firstBackoffMs: 20, maxBackoffMs: 20 } });
    const admin = await t.connect('admin', { clientId: 'admin-watch' });
    const alerts = collect(admin);
    await admin.subscribeAsync(svcTopics.alertAll, { qos: 1 });
    // 600 refused CONNECTs from 8 addresses: 500 with fresh invented names, 25 each with the
    // names of four registered devices (wrong passwords)
    const attacked = ['truck-01', 'truck-02', 'air-01', 'noise-01'];
    const names = Array.from({ length: 600 }, (_, i) => (i % 6 === 5 ? attacked[Math.floor(i / 6) % 4]! : `inventado-${i}-${Math.random().toString(36).slice(2)}`));
    let next = 0;
    const codes: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async (_, w) => {
        while (next < names.length) {
          const u = names[next++]!;
          codes.push(await rawConnect(t!.broker.port, connectPacket(`c-${next}`, u, 'wrong'), `127.0.0.${2 + (w % 8)}`));
        }
      }),
    );
    expect(codes.every((c) => c !== 0)).toBe(true);
    expect(t.broker.metrics().authFloods).toBe(1);
    await waitFor(() => alerts.filter((a) => JSON.parse(a.payload).event === 'open').length >= 3, 10_000, 20, 'per-device flood alerts');
    // the flood ends by itself once the attack stops; every flood alert resolves
    await waitFor(() => alerts.filter((a) => JSON.parse(a.payload).event === 'auto_resolve').length >= 3, 20_000, 100, 'flood ended');
    await new Promise((r) => setTimeout(r, 300)); // nothing else is coming
    const evs = alerts.map((a) => JSON.parse(a.payload) as { event: string; code: string; deviceId: string; alertId: string; params: { user: string } });
    const opened = evs.filter((e) => e.event === 'open');
    expect(opened.every((e) => e.code === 'auth_flood')).toBe(true);
    expect(opened).toHaveLength(3); // four devices attacked, at most maxFloodDevices alerts
    for (const e of evs) {
      expect(attacked).toContain(e.deviceId);
      expect(e.params.user).toBe(e.deviceId);
      expect(e.alertId).not.toMatch(/inventado/);
    }
    expect(new Set(opened.map((e) => e.deviceId)).size).toBe(3);
    expect(
      evs
        .filter((e) => e.event === 'auto_resolve')
        .map((e) => e.alertId)
        .sort(),
    ).toEqual(opened.map((e) => e.alertId).sort());
    // one flood start and one end in the log, not a line per name
    expect(lines.lines.filter((l) => l.includes('"E_AUTH_FLOOD"'))).toHaveLength(1);
    expect(lines.lines.filter((l) => l.includes('"E_AUTH_FLOOD_END"'))).toHaveLength(1);
    expect(lines.lines.length).toBeLessThan(100); // refusal lines are rate-limited per reason
    expect(lines.lines.filter((l) => l.includes('inventado')).length).toBeLessThan(60);
  });

  it('unfinished CONNECTs are bounded per source and time out; other sources still connect', { timeout: 30_000 }, async () => {
    t = await startTestBroker({ connectTimeoutMs: 1000, limits: { maxPendingPerSource: 50 } });
    const socks: net.Socket[] = [];
    for (let i = 0; i < 300; i++) {
      const s = net.connect({ port: t.broker.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      s.on('error', () => {});
      socks.push(s);
    }
    await waitFor(() => (t!.broker.metrics().authFailures.too_many_pending ?? 0) >= 250, 10_000, 20, 'connections over the cap closed');
    expect(t.broker.metrics().pendingConnections).toBeLessThanOrEqual(50);
    const dev = await t.connect('truck-01'); // from 127.0.0.1
    expect(dev.connected).toBe(true);
    // the silent ones are closed by the connect timeout
    await waitFor(() => t!.broker.metrics().pendingConnections === 0, 10_000, 50, 'silent connections timed out');
    await waitFor(() => socks.every((s) => s.destroyed || s.readyState === 'closed'), 10_000, 50, 'sockets closed');
  });

  it('an unknown user name costs a scrypt run like a wrong password (ids cannot be probed by timing)', { timeout: 30_000 }, async () => {
    const dir = tempDir('broker-timing-');
    const reg = buildTestRegistry();
    for (const d of reg.devices) d.passwordHash = hashPasswordSync(TEST_PASSWORD(d.id), 16384);
    saveRegistryFile(`${dir}/registry.json`, reg);
    const registry = new RegistryView(`${dir}/registry.json`);
    const broker = await startBroker({ registry, port: 0, watchRegistry: false, log: pino({ level: 'silent' }), limits: { failuresBeforeBackoff: 1000 } });
    const time = async (user: string) => {
      const ms: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        expect(await rawConnect(broker.port, connectPacket(user, user, `wrong-${i}-${Math.random()}`))).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
        ms.push(performance.now() - t0);
      }
      return ms.sort((a, b) => a - b)[2]!;
    };
    const known = await time('truck-01');
    const unknown = await time('truck-77');
    expect(unknown).toBeGreaterThan(known * 0.4);
    await broker.stop();
    registry.close();
  });
});

describe('log amplification (issue 14, item 3)', () => {
  it('refused CONNECTs with 60,000-byte user names log a bounded amount', { timeout: 30_000 }, async () => {
    const out = countingLog();
    t = await startTestBroker({ log: out.log, limits: { failuresBeforeBackoff: 1000 } });
    const before = out.bytes();
    const n = 60;
    for (let i = 0; i < n; i++) {
      const huge = 'x'.repeat(60_000) + i;
      expect(await rawConnect(t.broker.port, connectPacket(`c${i}`, huge, 'nope'))).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
    }
    expect(t.broker.metrics().authFailures.unknown_user).toBe(n);
    const grown = out.bytes() - before;
    // unthrottled this was 2 × 60 kB per attempt; now each line is cut and at most 5 per reason per 10 s
    expect(out.lines.every((l) => l.length < 2000)).toBe(true);
    expect(grown / n).toBeLessThan(200);
    expect(grown).toBeLessThan(10_000);
  });
});

describe('service accounts publish only the alert events they own (issue 14, item 6)', () => {
  it('a forged alert event from nodered is refused; its own escalation passes', async () => {
    t = await startTestBroker();
    const watcher = await t.connect('admin', { clientId: 'admin-1' });
    const got = collect(watcher);
    await watcher.subscribeAsync(svcTopics.alertAll, { qos: 1 });
    const base = { alertId: 'a-1', at: Date.now(), rule: 'air_quality', severity: 'critical', deviceId: 'air-01', kind: 'air', district: 'Centro' };

    // a fake critical alert with HTML in its title
    let nr = await t.connect('nodered', { clientId: 'nodered-1' });
    let gone = closed(nr);
    nr.publish(svcTopics.alert('a-1'), JSON.stringify({ ...base, event: 'open', title: '<img src=x onerror=alert(1)>' }), { qos: 1 });
    await gone;
    // a real alert resolved "by operador"
    nr = await t.connect('nodered', { clientId: 'nodered-2' });
    gone = closed(nr);
    nr.publish(svcTopics.alert('a-1'), JSON.stringify({ ...base, event: 'resolve', title: 'x', by: 'operador' }), { qos: 1 });
    await gone;
    // an escalation in someone else's name
    nr = await t.connect('nodered', { clientId: 'nodered-3' });
    gone = closed(nr);
    nr.publish(svcTopics.alert('a-1'), JSON.stringify({ ...base, event: 'escalate', title: 'x', by: 'admin' }), { qos: 1 });
    await gone;
    // the console may not claim a service did it
    const cons = await t.connect('console', { clientId: 'console-1' });
    gone = closed(cons);
    cons.publish(svcTopics.alert('a-1'), JSON.stringify({ ...base, event: 'resolve', title: 'x', by: 'nodered' }), { qos: 1 });
    await gone;
    expect(t.broker.metrics().publishRefused).toEqual({ alert_event_not_owned: 2, alert_by_mismatch: 2 });

    // what each owns still passes
    nr = await t.connect('nodered', { clientId: 'nodered-4' });
    await nr.publishAsync(svcTopics.alert('a-1'), JSON.stringify({ ...base, event: 'escalate', title: 'x', by: 'nodered' }), { qos: 1 });
    const cons2 = await t.connect('console', { clientId: 'console-2' });
    await cons2.publishAsync(svcTopics.alert('a-1'), JSON.stringify({ ...base, event: 'acknowledge', title: 'x', by: 'operador' }), { qos: 1 });
    await waitFor(() => got.length === 2, 5000, 20, 'the two legitimate events');
    expect(got.map((m) => JSON.parse(m.payload).event)).toEqual(['escalate', 'acknowledge']);
    expect(nr.connected && cons2.connected).toBe(true);
  });
});

describe('MQTT 3.1.1 conformance fixed in the hooks (issue 14, item 10)', () => {
  it('[MQTT-3.1.3-8] a zero-length client id with CleanSession = 0 gets return code 2; with CleanSession = 1 it is accepted', async () => {
    t = await startTestBroker();
    expect(await rawConnect(t.broker.port, connectPacket('', 'console', TEST_PASSWORD('console'), false))).toBe(CONNACK.IDENTIFIER_REJECTED);
    expect(t.broker.metrics().authFailures).toEqual({ client_id_empty: 1 });
    expect(await rawConnect(t.broker.port, connectPacket('', 'console', TEST_PASSWORD('console'), true))).toBe(0);
  });

  it('[MQTT-4.7.3-2] a topic containing U+0000 under the device’s own prefix is refused and routed to no one', async () => {
    t = await startTestBroker();
    const ingest = await t.connect('ingest', { clientId: 'ingest-1' });
    const got = collect(ingest);
    await ingest.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
    const dev = await t.connect('air-01');
    const gone = closed(dev);
    dev.publish(`${deviceTopic('air', 'air-01', 'air')}\u0000x`, '{"pm25":1}', { qos: 1 });
    await gone;
    expect(t.broker.metrics().publishRefused).toEqual({ bad_topic: 1 });
    const again = await t.connect('air-01');
    await again.publishAsync(deviceTopic('air', 'air-01', 'air'), 'after', { qos: 1 });
    await waitFor(() => got.some((m) => m.payload === 'after'), 5000, 20, 'the next good message');
    expect(got.map((m) => m.payload)).toEqual(['after']);
  });
});

/** The attacker process (plain Node): argv = port, ids, sockets, duration ms. Prints attempts=N. */
const ATTACKER = `
const net = require('node:net');
const [port, ids, n, ms] = process.argv.slice(1);
const idList = ids.split(',');
const until = Date.now() + Number(ms);
let attempts = 0;
const str = (s) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]); };
function packet(id) {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str(id), str(id), str('wrong-' + Math.random())]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}
let live = 0;
function one(i) {
  if (Date.now() > until) { if (--live === 0) { console.log('attempts=' + attempts); process.exit(0); } return; }
  const s = net.connect({ port: Number(port), host: '127.0.0.1', localAddress: '127.0.0.2' });
  s.on('error', () => {});
  s.on('connect', () => { attempts++; s.write(packet(idList[i % idList.length])); });
  s.on('data', () => s.destroy());
  s.on('close', () => setImmediate(one, i));
}
for (let i = 0; i < Number(n); i++) { live++; one(i); }
`;
