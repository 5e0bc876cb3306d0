/**
 * Ingest keeps commissioning readings apart (validated, never telemetry) and reports a planned
 * device's first real reading once (lifecycle: planned → installed).
 */
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commissioningTopic, deviceTopic } from '../contract';
import { addDevice, markInstalled } from '../registry/admin';
import { loadCity } from '../city/city';
import { loadDeviceConfig } from '../registry/device-config';
import { readServiceSecrets } from '../demo/provision';
import { loadRegistryFile } from '../registry/registry';
import { createLogger } from '../lib/log';
import { openDuckDbStore } from '../store/duckdb/index';
import type { TelemetryStore } from '../store/types';
import { startDemoBroker, type DemoBroker } from '../testing/demo-broker';
import { waitFor } from '../testing/net';
import { startIngest, type IngestHandle } from './index';

const log = createLogger('commissioning-test', 'silent');

describe('ingest: commissioning readings and first contact', () => {
  let demo: DemoBroker;
  let store: TelemetryStore;
  let ingest: IngestHandle;
  const firstContacts: string[] = [];

  beforeAll(async () => {
    demo = await startDemoBroker(log);
    const svc = readServiceSecrets(demo.servicesFile);
    store = await openDuckDbStore({ file: ':memory:', threads: 1 });
    await store.init();
    const registryFile = path.join(demo.dir, 'registry.json');
    ingest = await startIngest({
      registry: demo.registry,
      store,
      mqttUrl: demo.url,
      username: svc.ingest.username,
      password: svc.ingest.password,
      batchSize: 10,
      flushMs: 20,
      onFirstContact: (id) => (firstContacts.push(id), markInstalled(registryFile, id)),
      log,
    });
  });
  afterAll(async () => {
    await ingest?.stop();
    await demo?.broker.stop();
    await store?.close();
    demo?.registry.close();
  });

  const publish = async (id: string, secret: string, topic: string, body: unknown) => {
    const c = await mqtt.connectAsync(demo.url, { clientId: id, username: id, password: secret, reconnectPeriod: 0 });
    await c.publishAsync(topic, JSON.stringify(body), { qos: 1 });
    await c.endAsync();
  };

  it('a commissioning reading is validated like the real stream and stored apart; a bad envelope is named', async () => {
    const cfg = loadDeviceConfig(path.join(demo.dir, 'devices', 'air-01.json'));
    const now = Date.now();
    await publish('air-01', cfg.secret, commissioningTopic('air', 'air-01'), { checkId: 'abc123', stream: 'air', reading: { ts: now, windowS: 60, pm25: 12 } });
    await publish('air-01', cfg.secret, commissioningTopic('air', 'air-01'), { checkId: 'bad456', stream: 'air', reading: { ts: now, windowS: 60, pm25: 12, colour: 'red' } });
    await publish('air-01', cfg.secret, commissioningTopic('air', 'air-01'), { stream: 'air' });
    const letters = await waitFor(
      async () => {
        const l = await store.deadLetters({ deviceId: 'air-01', reason: 'commissioning', limit: 100 });
        return l.length >= 3 ? l : null;
      },
      10_000,
      100,
      'commissioning letters',
    );
    const details = letters!.map((l) => l.detail).sort();
    expect(details).toEqual(
      [
        'check ?: rejected reading: schema: commissioning envelope /checkId: Expected required property',
        'check abc123: accepted air reading (commissioning data, kept apart from telemetry)',
        'check bad456: rejected air reading: schema: unknown field: colour',
      ].sort(),
    );
    expect(await store.count({})).toBe(0);
    expect(ingest.liveState('air-01')).toBeUndefined();
    expect(ingest.counters().rejected.commissioning).toBe(3);
  });

  it("a planned device's first real reading is reported once (it becomes installed); commissioning readings do not count", async () => {
    const registryFile = path.join(demo.dir, 'registry.json');
    const { secret } = addDevice(
      registryFile,
      { id: 'air-70', kind: 'air', model: 'AQ', district: 'Centro', location: { lat: 18.14, lon: -94.44 }, intervals: { dataS: 60, statusS: 300 } },
      { cost: 1024, city: loadCity(demo.cityFile) },
    );
    await waitFor(() => demo.registry.device('air-70') !== undefined, 10_000, 100, 'registry reload');
    await publish('air-70', secret, commissioningTopic('air', 'air-70'), { checkId: 'c0ffee', stream: 'air', reading: { ts: Date.now(), windowS: 60, pm25: 9 } });
    await waitFor(async () => (await store.deadLetters({ deviceId: 'air-70', reason: 'commissioning', limit: 100 })).length === 1, 10_000, 100, 'commissioning letter');
    expect(firstContacts).toEqual([]);
    expect(loadRegistryFile(registryFile).devices.find((d) => d.id === 'air-70')!.status).toBe('planned');
    const t = Date.now();
    await publish('air-70', secret, deviceTopic('air', 'air-70', 'air'), { ts: t, windowS: 60, pm25: 9 });
    await publish('air-70', secret, deviceTopic('air', 'air-70', 'air'), { ts: t + 1000, windowS: 60, pm25: 10 });
    await waitFor(async () => (await store.count({})) >= 2, 10_000, 100, 'stored');
    expect(firstContacts).toEqual(['air-70']);
    expect(loadRegistryFile(registryFile).devices.find((d) => d.id === 'air-70')!.status).toBe('installed');
  });
});
