/**
 * Rules end to end: devices publish real MQTT messages to a real Aedes broker; the real ingest
 * worker validates, writes to a real DuckDB store and feeds the rule engine, which publishes on
 * city/v1/svc/alerts/<id>; a console client subscribed there sees the alert open, then resolve.
 */
import path from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic, svcTopics, type AlertEvent, type Hotlist } from '../../contract';
import { startBroker, type BrokerHandle } from '../../broker/index';
import { RegistryView } from '../../registry/registry';
import { createLogger } from '../../lib/log';
import { openDuckDbStore } from '../../store/duckdb/index';
import type { TelemetryStore } from '../../store/types';
import { tempDir, waitFor } from '../../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../../testing/registry-fixture';
import { startIngest, type IngestHandle } from '../index';
import { connectAs } from '../test-support';
import { HOUR_MS } from '../../norms/aire-salud';
import { createRuleEngine, type CityRuleEngine } from './index';
import { limitFor } from '../../norms/noise-limits';

const log = createLogger('rules-mqtt-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const MIN = 60_000;

let registry: RegistryView;
let broker: BrokerHandle;
let store: TelemetryStore;
let ingest: IngestHandle;
let url: string;
let engine: CityRuleEngine;
const clients: MqttClient[] = [];
const alerts: { topic: string; e: AlertEvent }[] = [];

const connect = (id: string, opts: IClientOptions = {}): Promise<MqttClient> => connectAs(url, registry, clients, id, opts, 'r');

const pub = (c: MqttClient, topic: string, body: unknown, retain = false) =>
  new Promise<void>((resolve, reject) => c.publish(topic, JSON.stringify(body), { qos: 1, retain }, (err) => (err ? reject(err) : resolve())));

const events = (rule: string, deviceId: string) => alerts.filter((a) => a.e.rule === rule && a.e.deviceId === deviceId);

beforeAll(async () => {
  const dir = tempDir('rules-mqtt-');
  registry = new RegistryView(writeTestRegistry(dir));
  broker = await startBroker({ registry, port: 0, log, watchRegistry: false });
  url = `mqtt://127.0.0.1:${broker.port}`;
  store = await openDuckDbStore({ file: path.join(dir, 'telemetry.duckdb'), threads: 1 });
  await store.init();
  ingest = await startIngest({
    registry,
    store,
    mqttUrl: url,
    username: 'ingest',
    password: TEST_PASSWORD('ingest'),
    metricsPort: undefined,
    batchSize: 200,
    flushMs: 20,
    // readings of past hours replayed in seconds: not late for ingest, not stale for the rules
    timePolicy: { lateAfterMs: 2 * 86_400_000, maxAgeMs: 7 * 86_400_000 },
    rules: ({ publish }) => (engine = createRuleEngine({ registry, publish, log, config: { staleAfterMs: 2 * 86_400_000, device: { startupGraceMs: 3_600_000 } } })),
    log,
  });
  const watcher = await connect('console');
  watcher.on('message', (topic, buf) => {
    try {
      alerts.push({ topic, e: JSON.parse(buf.toString()) as AlertEvent });
    } catch {
      /* not an alert */
    }
  });
  await new Promise<void>((resolve, reject) => watcher.subscribe(svcTopics.alertAll, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
  await ingest?.stop();
  await broker?.stop();
  await store?.close();
  registry?.close();
});

describe('alert rules through the broker and ingest', () => {
  it('air station: hourly O3 readings reach Mala → air_quality alert opens, then auto-resolves', async () => {
    const dev = await connect('air-01');
    const topic = deviceTopic('air', 'air-01', 'air');
    const h0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 6 * HOUR_MS;
    const o3 = [0.03, 0.03, 0.11, 0.03, 0.03];
    for (let h = 0; h < 4; h++) await pub(dev, topic, { ts: h0 + (h + 1) * HOUR_MS, windowS: 3600, o3: o3[h] });
    const open = (await waitFor(() => events('air_quality', 'air-01').find((a) => a.e.event === 'open'), 10_000, 50, 'air_quality open'))!;
    expect(open.topic).toBe(svcTopics.alert(open.e.alertId));
    expect(open.e).toMatchObject({ severity: 'warning', kind: 'air', district: 'Centro', at: h0 + 3 * HOUR_MS });
    expect(open.e.detail).toMatchObject({ pollutant: 'o3', category: 'mala', risk: 'Alto', value: 0.11 });
    expect(events('air_quality', 'air-01').some((a) => a.e.event === 'auto_resolve')).toBe(false);
    await pub(dev, topic, { ts: h0 + 5 * HOUR_MS, windowS: 3600, o3: o3[4] });
    const resolved = (await waitFor(() => events('air_quality', 'air-01').find((a) => a.e.event === 'auto_resolve'), 10_000, 50, 'air_quality auto_resolve'))!;
    expect(resolved.e.alertId).toBe(open.e.alertId);
    // the readings were stored like any others (the broker's PUBACK means in ingest's durable
    // session; the store write follows the rules' verdict by a flush: wait for it, with a deadline)
    await waitFor(async () => (await store.count({ deviceId: 'air-01', stream: 'air' })) >= 5 || null, 10_000, 50, 'five air readings stored');
    expect(await store.count({ deviceId: 'air-01', stream: 'air' })).toBe(5);
  });

  it('noise station: LAeq above the zone limit for the sustain time → noise alert (indicative), then auto-resolves', async () => {
    const dev = await connect('noise-01');
    const topic = deviceTopic('noise', 'noise-01', 'noise');
    const t0 = Math.floor(Date.now() / MIN) * MIN - 40 * MIN;
    const send = async (i: number, overDb: number) => {
      const ts = t0 + i * MIN;
      const lim = limitFor('residential', ts, registry.registry.timezone).limitDb!;
      const laeq = lim + overDb;
      await pub(dev, topic, { ts, windowS: 60, laeq, lamax: laeq + 6, lamin: laeq - 6 });
    };
    for (let i = 0; i < 14; i++) await send(i, 8);
    await new Promise((r) => setTimeout(r, 300));
    expect(events('noise', 'noise-01')).toHaveLength(0); // 14 min < 15 min sustain
    await send(14, 8);
    const open = (await waitFor(() => events('noise', 'noise-01').find((a) => a.e.event === 'open'), 10_000, 50, 'noise open'))!;
    expect(open.e.detail).toMatchObject({ zone: 'residential', indicative: true, norm: 'NOM-081-SEMARNAT-1994' });
    for (let i = 15; i < 21; i++) await send(i, -6);
    const resolved = (await waitFor(() => events('noise', 'noise-01').find((a) => a.e.event === 'auto_resolve'), 10_000, 50, 'noise auto_resolve'))!;
    expect(resolved.e.alertId).toBe(open.e.alertId);
  });

  it('camera: a plate on the hotlist → critical alert; removing it from the hotlist resolves it', async () => {
    const consoleSvc = await connect('console');
    const hot: Hotlist = { version: 1, entries: [{ plate: 'RBD4321', reason: 'reporte de robo' }] };
    await pub(consoleSvc, svcTopics.hotlist, hot, true);
    await waitFor(() => engine.stats().hotlistVersion === 1, 10_000, 20, 'hotlist received by ingest');
    const cam = await connect('cam-01');
    const now = Date.now();
    await pub(cam, deviceTopic('camera', 'cam-01', 'plate'), { ts: now - 2000, plate: 'AAA1111', region: 'VER', confidence: 0.95, direction: 'entering', lane: 1 });
    await pub(cam, deviceTopic('camera', 'cam-01', 'plate'), { ts: now - 1000, plate: 'RBD4321', region: 'VER', confidence: 0.91, direction: 'entering', lane: 2 });
    const open = (await waitFor(() => events('hotlist', 'cam-01').find((a) => a.e.event === 'open'), 10_000, 50, 'hotlist open'))!;
    expect(open.e).toMatchObject({ severity: 'critical', kind: 'camera' });
    expect(open.e.detail).toMatchObject({ plate: 'RBD4321', reason: 'reporte de robo' });
    expect(events('hotlist', 'cam-01')).toHaveLength(1); // AAA1111 is not listed
    await pub(consoleSvc, svcTopics.hotlist, { version: 2, entries: [] }, true);
    const resolved = (await waitFor(() => events('hotlist', 'cam-01').find((a) => a.e.event === 'auto_resolve'), 10_000, 50, 'hotlist auto_resolve'))!;
    expect(resolved.e.alertId).toBe(open.e.alertId);
  });

  it('device: last will on disconnect → offline alert; back online resolves it', async () => {
    const presence = deviceTopic('truck', 'truck-02', 'presence');
    const truck = await connect('truck-02', { will: { topic: presence, payload: Buffer.from(JSON.stringify({ state: 'offline', reason: 'last will' })), qos: 1, retain: true } });
    await pub(truck, presence, { state: 'online', ts: Date.now() }, true);
    await new Promise((r) => setTimeout(r, 200));
    (truck as unknown as { stream: { destroy(): void } }).stream.destroy(); // abrupt loss: the broker sends the will
    const open = (await waitFor(() => events('offline', 'truck-02').find((a) => a.e.event === 'open'), 10_000, 50, 'offline open'))!;
    expect(open.e.title).toMatch(/offline/);
    // the broker may not have noticed the dropped socket yet: retry until the client id is free
    const back = (await waitFor(() => connect('truck-02').catch(() => null), 10_000, 100, 'reconnect'))!;
    await pub(back, presence, { state: 'online', ts: Date.now() }, true);
    const resolved = (await waitFor(() => events('offline', 'truck-02').find((a) => a.e.event === 'auto_resolve'), 10_000, 50, 'offline auto_resolve'))!;
    expect(resolved.e.alertId).toBe(open.e.alertId);
  });
});
