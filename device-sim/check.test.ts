import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../contract';
import { addDevice } from '../registry/admin';
import { renderDeviceConfig, writeDeviceConfig } from '../registry/device-config';
import { loadRegistryFile } from '../registry/registry';
import { createRuleEngine } from '../ingest/rules/index';
import type { RuleEngine } from '../ingest/rule-engine';
import type { BrokerHandle } from '../broker/index';
import { startIngest, type IngestHandle } from '../ingest/index';
import { startApi } from '../ops-console/api/index';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/log';
import { openDuckDbStore } from '../store/duckdb/index';
import type { TelemetryStore } from '../store/types';
import { loadCity, type City } from '../city/city';
import { loadDeviceConfig, type DeviceConfig } from '../registry/device-config';
import { offsetM } from '../contract/geo';
import { readServiceSecrets } from '../demo/provision';
import type { RegistryView } from '../registry/registry';
import { startDemoBroker } from '../testing/demo-broker';
import { formatCheck, runCheck, type CheckOptions, type CheckResult } from './check';

const log = createLogger('check-test', 'silent');
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const simCli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', path.join(root, 'device-sim', 'cli.ts'), ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('commissioning check, end to end (broker + ingest + DuckDB + console API)', () => {
  let dir: string;
  let registry: RegistryView;
  let broker: BrokerHandle;
  let store: TelemetryStore;
  let ingest: IngestHandle;
  let api: { port: number; stop(): Promise<void> };
  let city: City;
  let base: Omit<CheckOptions, 'config'>;
  let url: string;
  let apiUrl: string;
  let rules: RuleEngine;
  const alerts: AlertEvent[] = [];
  const cfg = (id: string): DeviceConfig => loadDeviceConfig(path.join(dir, 'devices', `${id}.json`));
  const item = (r: CheckResult, name: string) => r.items.find((i) => i.name === name)!;

  beforeAll(async () => {
    const demo = await startDemoBroker(log);
    ({ dir, registry, broker } = demo);
    url = demo.url;
    city = loadCity(demo.cityFile);
    const svc = readServiceSecrets(demo.servicesFile);
    store = await openDuckDbStore({ file: ':memory:', threads: 1 });
    await store.init();
    ingest = await startIngest({
      registry,
      store,
      mqttUrl: url,
      username: svc.ingest.username,
      password: svc.ingest.password,
      batchSize: 100,
      flushMs: 20,
      // the city's real rules, alerts collected: a check must leave none behind
      rules: ({ publish }) => (rules = createRuleEngine({ registry, city, publish: (a) => (alerts.push(a), publish(a)), log })),
      log,
    });
    api = await startApi({
      cfg: loadConfig({}, { DATA_DIR: dir }),
      store,
      registry,
      city,
      mqtt: { url, username: svc.console.username, password: svc.console.password },
      opsDbFile: ':memory:',
      users: [
        { username: 'installer', password: 'inst-pass', role: 'operator' },
        { username: 'detective', password: 'det-pass', role: 'investigator' },
      ],
      jwtSecret: 'test-secret',
      // every check logs in; this suite runs more than the default 10 a minute
      loginRateLimit: 200,
      port: 0,
    });
    apiUrl = `http://127.0.0.1:${api.port}`;
    base = { mqttUrl: url, apiUrl, apiUser: 'installer', apiPassword: 'inst-pass', city, timeoutMs: 8000 };
  });
  afterAll(async () => {
    await api?.stop();
    await ingest?.stop();
    await broker?.stop();
    await store?.close();
    registry?.close();
  });

  it('passes for a good air station and a good truck', async () => {
    for (const id of ['air-01', 'truck-05', 'cam-02', 'noise-03']) {
      const r = await runCheck({ ...base, config: cfg(id) });
      expect(r.ok, formatCheck(r)).toBe(true);
      expect(item(r, 'accepted').ok).toBe(true);
      expect(item(r, 'clock').ok).toBe(true);
      expect(item(r, 'location').ok).toBe(true);
      if (id.startsWith('truck')) expect(item(r, 'gps').ok).toBe(true);
    }
  });

  it('names bad credentials', async () => {
    const r = await runCheck({ ...base, config: { ...cfg('air-02'), secret: 'not-the-secret' } });
    expect(r.ok).toBe(false);
    expect(item(r, 'connect')).toMatchObject({ ok: false, detail: expect.stringMatching(/bad credentials/) });
  });

  it("names a wrong topic (another device's prefix): the broker refuses it", async () => {
    const r = await runCheck({ ...base, config: cfg('air-02'), topic: 'city/v1/noise/noise-01/noise' });
    expect(item(r, 'config')).toMatchObject({ ok: false, detail: expect.stringMatching(/wrong topic/) });
    // the broker's own reason, read from its notice to the connection
    expect(item(r, 'publish')).toMatchObject({ ok: false, detail: expect.stringMatching(/^topic refused by the broker: city\/v1\/noise\/noise-01\/noise: .*air-02/) });
    expect(item(r, 'publish').detail).not.toMatch(/taken over/);
  });

  it("diagnoses a takeover during the publish from the broker's notice", async () => {
    const c = cfg('air-06');
    const r = await runCheck({
      ...base,
      config: c,
      // connect as the device right before the check publishes: the broker closes the check's session
      beforePublish: async () => {
        const dev = mqtt.connect(url, { clientId: c.clientId, username: c.username, password: c.secret, reconnectPeriod: 0 });
        await new Promise<void>((res, rej) => (dev.once('connect', () => res()), dev.once('error', rej)));
        setTimeout(() => dev.end(true), 3000);
      },
    });
    expect(item(r, 'publish')).toMatchObject({ ok: false, detail: expect.stringMatching(/^session taken over by another connection: another connection logged in as air-06 from /) });
    expect(item(r, 'publish').detail).not.toMatch(/topic refused/);
  });

  it("gives the ingest's reason for a rejected payload and for a stream the device does not have", async () => {
    const c = cfg('air-03');
    const bad = await runCheck({ ...base, config: c, reading: { ts: Date.now(), windowS: 60, pm25: 12, colour: 'red' } });
    expect(item(bad, 'accepted')).toMatchObject({ ok: false, detail: expect.stringMatching(/rejected payload: schema: unknown field: colour/) });
    const wrongStream = await runCheck({ ...base, config: c, topic: 'city/v1/air/air-03/noise' });
    expect(item(wrongStream, 'accepted')).toMatchObject({ ok: false, detail: expect.stringMatching(/rejected payload: unknown_topic/) });
  });

  it('names a clock that is off, and the future-timestamp rejection it causes', async () => {
    const r = await runCheck({ ...base, config: cfg('noise-02'), clockOffsetMs: 600_000 });
    expect(item(r, 'clock')).toMatchObject({ ok: false, detail: expect.stringMatching(/clock off by \+(599|600|601) s/) });
    expect(item(r, 'accepted')).toMatchObject({ ok: false, detail: expect.stringMatching(/future_timestamp/) });
  });

  it('names a wrong location, poor GPS fixes and out-of-range readings', async () => {
    const c = cfg('noise-04');
    const [lon, lat] = offsetM([c.location!.lon, c.location!.lat], 400, 300);
    const r = await runCheck({ ...base, config: c, at: { lat, lon } });
    expect(item(r, 'location')).toMatchObject({ ok: false, detail: expect.stringMatching(/wrong location: installed (49\d|50\d) m from the registered place/) });
    const t = cfg('truck-07');
    const poor = await runCheck({ ...base, config: t, reading: { ts: Date.now(), lat: 18.12, lon: -94.47, speedKmh: 0, heading: 0, hdop: 8.5, sats: 3 } });
    expect(item(poor, 'gps')).toMatchObject({ ok: false, detail: expect.stringMatching(/poor GPS fix \(hdop 8.5, 3 satellites\)/) });
    const hot = await runCheck({ ...base, config: cfg('air-04'), reading: { ts: Date.now(), windowS: 60, tempC: 65 } });
    expect(item(hot, 'ranges')).toMatchObject({ ok: false, detail: expect.stringMatching(/tempC=65/) });
  });

  const cliArgs = (id: string) => ['check', id, '--mqtt-url', url, '--api', apiUrl, '--api-user', 'installer', '--api-password', 'inst-pass', '--timeout', '8', '--json'];

  it('sim check --at honours the position for a truck: a fix off the street network FAILs with the distance', async () => {
    // 2 km north of the city, in the Gulf
    const r = await simCli([...cliArgs('truck-20'), '--at', '18.18,-94.47'], { DATA_DIR: dir });
    expect(r.code, r.stderr).toBe(1);
    const res = JSON.parse(r.stdout) as CheckResult;
    expect(item(res, 'location')).toMatchObject({ ok: false, detail: expect.stringMatching(/^wrong location: GPS fix (\d+ m|[\d.]+ km) from the nearest street \(at most 30 m\)/) });
    const m = /GPS fix ([\d.]+) (m|km)/.exec(item(res, 'location').detail)!;
    expect(Number(m[1]) * (m[2] === 'km' ? 1000 : 1)).toBeGreaterThan(1000);
    // the same truck where its route is: on the network
    const ok = await simCli(cliArgs('truck-20'), { DATA_DIR: dir });
    expect(item(JSON.parse(ok.stdout) as CheckResult, 'location')).toMatchObject({ ok: true, detail: expect.stringMatching(/on the street network/) });
  }, 90_000);

  it("sim check --clock-offset 600 FAILs naming the offset, and ingest's future-timestamp rejection", async () => {
    const r = await simCli([...cliArgs('air-06'), '--clock-offset', '600'], { DATA_DIR: dir });
    expect(r.code, r.stderr).toBe(1);
    const res = JSON.parse(r.stdout) as CheckResult;
    expect(item(res, 'clock')).toMatchObject({ ok: false, detail: expect.stringMatching(/^clock off by \+(599|600|601) s \(device ahead of the server/) });
    expect(item(res, 'accepted')).toMatchObject({ ok: false, detail: expect.stringMatching(/rejected payload: future_timestamp/) });
    const text = await simCli(['check', 'air-06', '--mqtt-url', url, '--api', apiUrl, '--api-user', 'installer', '--api-password', 'inst-pass', '--timeout', '8', '--clock-offset', '-300'], {
      DATA_DIR: dir,
    });
    expect(text.stdout).toMatch(/\[FAIL\] clock +clock off by -(299|300|301) s \(device behind the server/);
  }, 90_000);

  it('a check leaves no alert, no plate read and no telemetry behind; its reading is kept apart and shown in the report; a planned device stays planned', async () => {
    const registryFile = path.join(dir, 'registry.json');
    const entrance = city.entrances[0]!;
    const { device, secret } = addDevice(
      registryFile,
      {
        id: 'cam-60',
        kind: 'camera',
        model: 'LPR-2',
        district: entrance.district,
        location: { lat: entrance.lat, lon: entrance.lon },
        camera: { road: entrance.road, direction: 'entering', lanes: 2 },
        intervals: { dataS: 1, statusS: 60 },
      },
      { cost: 1024, city },
    );
    expect(device.status).toBe('planned');
    const conf = renderDeviceConfig(device, { brokerUrl: url, secret, timezone: 'America/Mexico_City' });
    writeDeviceConfig(path.join(dir, 'devices'), conf);
    await new Promise((res) => setTimeout(res, 1200)); // the registry file is polled every 500 ms
    const before = await store.count({});
    const since = Date.now() - 60_000;

    const r = await runCheck({ ...base, config: conf });
    expect(r.ok, formatCheck(r)).toBe(true);
    expect(item(r, 'accepted').detail).toMatch(/accepted plate reading \(commissioning data, kept apart from telemetry\)/);
    const active = await runCheck({ ...base, config: cfg('cam-03') });
    expect(active.ok, formatCheck(active)).toBe(true);

    // nothing reached telemetry: no record, no plate read (store and the investigator's plate search)
    await new Promise((res) => setTimeout(res, 500));
    expect(await store.count({})).toBe(before);
    const login = (await (
      await fetch(`${apiUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'detective', password: 'det-pass' }) })
    ).json()) as { token: string };
    const search = (await (
      await fetch(`${apiUrl}/api/plates/search?plate=PRUEBA-01&from=${since}&to=${Date.now() + 60_000}&reason=commissioning-check`, { headers: { authorization: `Bearer ${login.token}` } })
    ).json()) as { count: number };
    expect(search.count).toBe(0);
    expect(ingest.liveState('cam-60')).toBeUndefined();
    // the commissioning readings are there, apart: only when asked for
    const op = (await (
      await fetch(`${apiUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'installer', password: 'inst-pass' }) })
    ).json()) as { token: string };
    const auth = { authorization: `Bearer ${op.token}` };
    const kept = (await (await fetch(`${apiUrl}/api/dead-letters?deviceId=cam-60&reason=commissioning`, { headers: auth })).json()) as { deadLetters: { detail: string; payload: string }[] };
    expect(kept.deadLetters).toHaveLength(1);
    expect(kept.deadLetters[0]!.detail).toMatch(/^check [0-9a-f]+: accepted plate reading/);
    expect(kept.deadLetters[0]!.payload).toBe('(redacted: plate data)'); // an operator never sees the test plate either
    const normal = (await (await fetch(`${apiUrl}/api/dead-letters?deviceId=cam-60`, { headers: auth })).json()) as { deadLetters: unknown[] };
    expect(normal.deadLetters).toEqual([]);

    // no alert for the checked devices, even hours later (planned: no presence alerts at all)
    rules.tick(Date.now() + 3 * 3_600_000);
    expect(alerts.filter((a) => a.deviceId === 'cam-60')).toEqual([]);
    expect(loadRegistryFile(registryFile).devices.find((d) => d.id === 'cam-60')!.status).toBe('planned');
    // the active camera's only alert is the one any silent device gets: the check left no trace of its own
    expect(alerts.filter((a) => a.deviceId === 'cam-03' && a.rule !== 'offline')).toEqual([]);
    expect(alerts.filter((a) => a.deviceId === 'cam-03').every((a) => /no message since the platform started/.test(a.title))).toBe(true);
  }, 90_000);
});
