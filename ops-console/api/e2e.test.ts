/**
 * End to end over real sockets: broker (broker/index.ts) + ingest (ingest/index.ts) writing to a
 * real DuckDB store + the console API. A device publishes with the mqtt client; a WebSocket
 * client on /api/live receives the update; the stored point is served by the history routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { startIngest } from '../../ingest/index';
import { createLogger } from '../../lib/log';
import { deviceTopic } from '../../contract';
import { waitFor } from '../../testing/net';
import { TEST_PASSWORD } from '../../testing/registry-fixture';
import type { LiveMessage } from '../shared/live';
import { startConsoleStack, type ConsoleStack } from './test-support';

let stack: ConsoleStack;
let broker: ConsoleStack['broker'];
let api: ConsoleStack['api'];
let ingest: Awaited<ReturnType<typeof startIngest>>;

beforeAll(async () => {
  stack = await startConsoleStack('console-e2e-', { jwtSecret: 'e2e' });
  ({ broker, api } = stack);
  const { registry, store } = stack;
  ingest = await startIngest({ registry, store, mqttUrl: `mqtt://127.0.0.1:${broker.port}`, username: 'ingest', password: TEST_PASSWORD('ingest'), flushMs: 50, log: createLogger('ingest', 'warn') });
});

afterAll(async () => {
  await ingest?.stop();
  await stack?.stop();
});

describe('device → broker → ingest → API → WebSocket', () => {
  it('a GPS fix published by a truck reaches a live client and the history routes', async () => {
    const login = await fetch(`http://127.0.0.1:${api.port}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'op', password: 'op-pass' }),
    });
    const { token } = (await login.json()) as { token: string };
    const tr = await fetch(`http://127.0.0.1:${api.port}/api/auth/ticket`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ path: '/api/live' }),
    });
    const ws = new WebSocket(`ws://127.0.0.1:${api.port}${((await tr.json()) as { url: string }).url}`);
    const msgs: LiveMessage[] = [];
    ws.on('message', (d) => msgs.push(JSON.parse((d as Buffer).toString('utf8')) as LiveMessage));
    await waitFor(() => msgs.length > 0, 5000, 20, 'snapshot');
    expect(msgs[0]!.type).toBe('snapshot');

    const truck = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: 'truck-01', password: TEST_PASSWORD('truck-01'), clientId: 'truck-01', reconnectPeriod: 0 });
    const ts = Date.now() - 1000;
    const fix = { ts, lat: 18.1401, lon: -94.4372, speedKmh: 23.5, heading: 87 };
    const published = Date.now();
    await truck.publishAsync(deviceTopic('truck', 'truck-01', 'gps'), JSON.stringify(fix), { qos: 1 });

    const got = await waitFor(
      () => msgs.flatMap((m) => m.devices).find((d) => d.deviceId === 'truck-01' && (d.latest.gps?.data as { ts?: number } | undefined)?.ts === ts),
      15_000,
      20,
      'truck-01 on the live stream',
    );
    const latencyMs = Date.now() - published;
    expect(got!.latest.gps!.data).toEqual(fix);
    expect(got!.kind).toBe('truck');
    expect(got!.district).toBe('Centro');
    expect(latencyMs).toBeLessThan(5000);
    console.log(`device publish → WebSocket delta: ${latencyMs} ms`);

    // the stored point is served by the history route and the device detail
    const h = { authorization: `Bearer ${token}` };
    const track = await waitFor(
      async () => {
        const r = (await (await fetch(`http://127.0.0.1:${api.port}/api/history/track?deviceId=truck-01&from=${ts - 1}&to=${ts + 1}`, { headers: h })).json()) as { points: unknown[] };
        return r.points.length ? r : null;
      },
      10_000,
      50,
      'stored track point',
    );
    expect(track!.points[0]).toMatchObject({ ts, lat: 18.1401, lon: -94.4372 });
    const dev = (await (await fetch(`http://127.0.0.1:${api.port}/api/devices/truck-01`, { headers: h })).json()) as { latest: { gps: { ts: number } }; lastSeen: number };
    expect(dev.latest.gps.ts).toBe(ts);

    await truck.endAsync();
    ws.close();
  });
});
