import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerHandle } from '../broker/index';
import { startIngest, type IngestHandle } from '../ingest/index';
import { startApi } from '../ops-console/api/index';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/log';
import { openDuckDbStore } from '../store/duckdb/index';
import type { TelemetryStore } from '../store/types';
import { loadCity, type City } from '../firmware-config/city';
import { loadDeviceConfig, type DeviceConfig } from '../firmware-config/device-config';
import { offsetM } from '../firmware-config/geo';
import { readServiceSecrets } from '../firmware-config/provision';
import type { RegistryView } from '../firmware-config/registry';
import { startDemoBroker } from '../testing/demo-broker';
import { formatCheck, runCheck, type CheckOptions, type CheckResult } from './check';

const log = createLogger('check-test', 'silent');

describe('commissioning check, end to end (broker + ingest + DuckDB + console API)', () => {
  let dir: string;
  let registry: RegistryView;
  let broker: BrokerHandle;
  let store: TelemetryStore;
  let ingest: IngestHandle;
  let api: { port: number; stop(): Promise<void> };
  let city: City;
  let base: Omit<CheckOptions, 'config'>;
  const cfg = (id: string): DeviceConfig => loadDeviceConfig(path.join(dir, 'devices', `${id}.json`));
  const item = (r: CheckResult, name: string) => r.items.find((i) => i.name === name)!;

  beforeAll(async () => {
    const demo = await startDemoBroker(log);
    ({ dir, registry, broker } = demo);
    const url = demo.url;
    city = loadCity(demo.cityFile);
    const svc = readServiceSecrets(demo.servicesFile);
    store = await openDuckDbStore({ file: ':memory:', threads: 1 });
    await store.init();
    ingest = await startIngest({ registry, store, mqttUrl: url, username: svc.ingest.username, password: svc.ingest.password, batchSize: 100, flushMs: 20, log });
    api = await startApi({
      cfg: loadConfig({}, { DATA_DIR: dir }),
      store,
      registry,
      city,
      mqtt: { url, username: svc.console.username, password: svc.console.password },
      opsDbFile: ':memory:',
      users: [{ username: 'installer', password: 'inst-pass', role: 'operator' }],
      jwtSecret: 'test-secret',
      port: 0,
    });
    base = { mqttUrl: url, apiUrl: `http://127.0.0.1:${api.port}`, apiUser: 'installer', apiPassword: 'inst-pass', city, timeoutMs: 8000 };
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

  it('names a wrong topic (another device\'s prefix): the broker refuses it', async () => {
    const r = await runCheck({ ...base, config: cfg('air-02'), topic: 'city/v1/noise/noise-01/noise' });
    expect(item(r, 'config')).toMatchObject({ ok: false, detail: expect.stringMatching(/wrong topic/) });
    expect(item(r, 'publish')).toMatchObject({ ok: false, detail: expect.stringMatching(/wrong topic.*closed the connection/) });
  });

  it('gives the ingest\'s reason for a rejected payload and for a stream the device does not have', async () => {
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
});
