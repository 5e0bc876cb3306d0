import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deviceTopic, SUB_ALL_DEVICE_DATA } from '../contract';
import { waitFor } from '../testing/net';
import { CONNACK } from './auth';
import { collect, startTestBroker, type TestBroker } from './test-support';

let t: TestBroker;
beforeEach(async () => {
  t = await startTestBroker();
});
afterEach(async () => {
  await t.close();
});

describe('MQTT over WebSocket (/mqtt)', () => {
  it('a WebSocket client connects and publishes; a TCP service subscriber receives it', async () => {
    const ingest = await t.connect('ingest', { clientId: 'ingest-1' });
    const got = collect(ingest);
    await ingest.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });

    const dev = await t.connect('truck-01', { ws: true });
    const topic = deviceTopic('truck', 'truck-01', 'gps');
    await dev.publishAsync(topic, '{"lat":18.14,"lon":-94.43}', { qos: 1 });
    await waitFor(() => got.length === 1, 5000, 20, 'ws message');
    expect(got[0]).toMatchObject({ topic, payload: '{"lat":18.14,"lon":-94.43}' });
    expect(t.broker.metrics().connects).toBe(2);
  });

  it('a WebSocket subscriber (console) receives what a TCP device publishes', async () => {
    const console_ = await t.connect('console', { clientId: 'console-ws', ws: true });
    const got = collect(console_);
    await console_.subscribeAsync('city/v1/#', { qos: 0 });
    const dev = await t.connect('noise-01');
    await dev.publishAsync(deviceTopic('noise', 'noise-01', 'noise'), 'la-eq', { qos: 1 });
    await waitFor(() => got.length === 1, 5000, 20, 'message over ws');
  });

  it('wrong password over WebSocket is refused with the same CONNACK code', async () => {
    const { default: mqtt } = await import('mqtt');
    const c = mqtt.connect(t.wsUrl, { username: 'air-01', password: 'nope', clientId: 'air-01', reconnectPeriod: 0 });
    t.clients.push(c);
    const code = await new Promise<number>((resolve) => c.once('error', (err) => resolve((err as { code?: number }).code ?? -1)));
    expect(code).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
  });

  it('garbage in a WebSocket message closes that socket only; a plain HTTP request gets 426', async () => {
    const ws = new WebSocket(t.wsUrl, 'mqtt');
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const gone = new Promise((resolve) => ws.once('close', resolve));
    ws.send(Buffer.from('this is not mqtt'));
    await gone;
    await waitFor(() => t.broker.metrics().protocolErrors.first_packet_not_connect === 1, 2000, 20, 'counted');

    const status = await new Promise<number>((resolve, reject) =>
      http
        .get(`http://127.0.0.1:${t.broker.wsPort}/`, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject),
    );
    expect(status).toBe(426);

    const dev = await t.connect('air-01', { ws: true });
    await dev.publishAsync(deviceTopic('air', 'air-01', 'air'), 'ok', { qos: 1 });
  });
});
