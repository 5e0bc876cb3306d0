/**
 * End to end over real sockets: broker (broker/index.ts) + ingest (ingest/index.ts) writing to a
 * real DuckDB store + the console API. A device publishes with the mqtt client; a WebSocket
 * client on /api/live receives the update; the stored point is served by the history routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { startBroker } from '../../broker/index';
import { startIngest } from '../../ingest/index';
import { RegistryView } from '../../firmware-config/registry';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { openDuckDbStore } from '../../store/duckdb/index';
import type { TelemetryStore } from '../../store/types';
import { deviceTopic } from '../../contract';
import { tempDir, waitFor } from '../../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../../testing/registry-fixture';
import type { LiveMessage } from '../shared/live';
import { startApi } from './index';
import { USERS } from './test-support';

let broker: Awaited<ReturnType<typeof startBroker>>;
let ingest: Awaited<ReturnType<typeof startIngest>>;
let api: Awaited<ReturnType<typeof startApi>>;
let store: TelemetryStore;
let registry: RegistryView;

beforeAll(async () => {
  const dir = tempDir('console-e2e-');
  registry = new RegistryView(writeTestRegistry(dir));
  broker = await startBroker({ registry, port: 0, watchRegistry: false });
  store = await openDuckDbStore({ file: ':memory:' });
  await store.init();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  ingest = await startIngest({ registry, store, mqttUrl: url, username: 'ingest', password: TEST_PASSWORD('ingest'), flushMs: 50, log: createLogger('ingest', 'warn') });
  api = await startApi({
    cfg: loadConfig({}, { DATA_DIR: dir }),
    store,
    registry,
    opsDbFile: ':memory:',
    users: USERS,
    jwtSecret: 'e2e',
    mqtt: { url, username: 'console', password: TEST_PASSWORD('console') },
    port: 0,
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${api.port}/health`)).status === 200, 10_000, 50, 'API healthy');
});

afterAll(async () => {
  await api?.stop();
  await ingest?.stop();
  await broker?.stop();
  await store?.close();
  registry?.close();
});

describe('device → broker → ingest → API → WebSocket', () => {
  it('a GPS fix published by a truck reaches a live client and the history routes', async () => {
    const login = await fetch(`http://127.0.0.1:${api.port}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'op', password: 'op-pass' }) });
    const { token } = (await login.json()) as { token: string };
    const ws = new WebSocket(`ws://127.0.0.1:${api.port}/api/live?token=${token}`);
    const msgs: LiveMessage[] = [];
    ws.on('message', (d) => msgs.push(JSON.parse(String(d)) as LiveMessage));
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
    const track = await waitFor(async () => {
      const r = (await (await fetch(`http://127.0.0.1:${api.port}/api/history/track?deviceId=truck-01&from=${ts - 1}&to=${ts + 1}`, { headers: h })).json()) as { points: unknown[] };
      return r.points.length ? r : null;
    }, 10_000, 50, 'stored track point');
    expect(track!.points[0]).toMatchObject({ ts, lat: 18.1401, lon: -94.4372 });
    const dev = (await (await fetch(`http://127.0.0.1:${api.port}/api/devices/truck-01`, { headers: h })).json()) as { latest: { gps: { ts: number } }; lastSeen: number };
    expect(dev.latest.gps.ts).toBe(ts);

    await truck.endAsync();
    ws.close();
  });
});
