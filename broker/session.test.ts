import { afterEach, describe, expect, it } from 'vitest';
import { deviceTopic, SUB_ALL_DEVICE_DATA } from '../contract';
import { waitFor } from '../testing/net';
import { CONNACK } from './auth';
import { collect, startTestBroker, type TestBroker } from './test-support';

const started: TestBroker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.close()));
});
const fresh = async () => {
  const t = await startTestBroker();
  started.push(t);
  return t;
};

describe('sessions and metrics', () => {
  it('QoS 1 persistent session: messages published while the subscriber is away are delivered when it returns', async () => {
    const t = await fresh();
    const first = await t.connect('ingest', { clientId: 'ingest-durable', clean: false });
    await first.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
    await first.endAsync();

    const dev = await t.connect('truck-01');
    for (let i = 0; i < 5; i++) await dev.publishAsync(deviceTopic('truck', 'truck-01', 'gps'), `fix-${i}`, { qos: 1 });

    const back = await t.connect('ingest', { clientId: 'ingest-durable', clean: false });
    const got = collect(back);
    await waitFor(() => got.length === 5, 5000, 20, 'queued messages');
    expect(got.map((m) => m.payload)).toEqual(['fix-0', 'fix-1', 'fix-2', 'fix-3', 'fix-4']);
  });

  it('another identity cannot take over a stored persistent session (nor its queued messages)', async () => {
    const t = await fresh();
    const c = await t.connect('console', { clientId: 'console-durable', clean: false });
    await c.subscribeAsync('city/v1/#', { qos: 1 });
    await c.endAsync();
    const dev = await t.connect('air-01');
    await dev.publishAsync(deviceTopic('air', 'air-01', 'air'), 'queued-for-console', { qos: 1 });

    expect(await t.refusedCode('nodered', { clientId: 'console-durable', clean: false })).toBe(CONNACK.IDENTIFIER_REJECTED);
    expect(await t.refusedCode('nodered', { clientId: 'console-durable', clean: true })).toBe(CONNACK.IDENTIFIER_REJECTED);
    expect(t.broker.metrics().authFailures).toEqual({ client_id_taken: 2 });

    const back = await t.connect('console', { clientId: 'console-durable', clean: false });
    const got = collect(back);
    await waitFor(() => got.length === 1, 5000, 20, 'queued message');
    expect(got[0]!.payload).toBe('queued-for-console');
    // a clean connect by the owner ends the session and frees the id
    await back.endAsync();
    await (await t.connect('console', { clientId: 'console-durable', clean: true })).endAsync();
    await waitFor(() => t.broker.metrics().clientsConnected === 1, 5000, 20, 'console gone');
    expect((await t.connect('nodered', { clientId: 'console-durable' })).connected).toBe(true);
  });

  it('two brokers in one process keep separate prom-client registries', async () => {
    const a = await fresh();
    const b = await fresh();
    await a.connect('truck-01');
    await a.connect('truck-02');
    await b.refusedCode('truck-01', { password: 'wrong' });
    const textA = await a.broker.metricsRegistry.metrics();
    const textB = await b.broker.metricsRegistry.metrics();
    expect(textA).toMatch(/^mqtt_broker_connects_total 2$/m);
    expect(textA).toMatch(/^mqtt_broker_clients_connected 2$/m);
    expect(textA).toMatch(/^mqtt_broker_packets_in_total\{type="connect"\} 2$/m);
    expect(textA).toMatch(/^mqtt_broker_packets_out_total\{type="connack"\} 2$/m);
    expect(textB).toMatch(/^mqtt_broker_connects_total 0$/m);
    expect(textB).toMatch(/^mqtt_broker_auth_failures_total\{reason="bad_password"\} 1$/m);
    expect(a.broker.metrics().authFailures).toEqual({});
  });
});
