/**
 * Test support for the console API: a real registry file (testing/registry-fixture), a real
 * in-memory DuckDB telemetry store, a small city with one route, and users with known passwords.
 */
import type { FastifyInstance } from 'fastify';
import { startBroker, type BrokerHandle } from '../../broker/index';
import { loadConfig, type Config } from '../../lib/config';
import { RegistryView } from '../../registry/registry';
import type { City } from '../../city/city';
import { openDuckDbStore } from '../../store/duckdb/index';
import type { TelemetryStore } from '../../store/types';
import { tempDir, waitFor } from '../../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../../testing/registry-fixture';
import type { Role } from '../shared/live';
import { buildApp, startApi, type BuildAppOptions } from './index';

export const USERS: { username: string; password: string; role: Role }[] = [
  { username: 'op', password: 'op-pass', role: 'operator' },
  { username: 'plan', password: 'plan-pass', role: 'planner' },
  { username: 'boss', password: 'boss-pass', role: 'admin' },
  { username: 'inv', password: 'inv-pass', role: 'investigator' },
];

/** A tiny city: three streets in a row along a parallel, route-01 collects the first two. */
export function testCity(): City {
  const lat = 18.14;
  const street = (id: string, lon0: number, lon1: number) => ({
    type: 'Feature' as const,
    geometry: {
      type: 'LineString' as const,
      coordinates: [
        [lon0, lat],
        [lon1, lat],
      ] as [number, number][],
    },
    properties: { segmentId: id, name: `Calle ${id}`, class: 'residential' as const, district: 'Centro' },
  });
  return {
    type: 'City',
    version: 1,
    name: 'Test',
    timezone: 'America/Mexico_City',
    generated: true,
    note: 'test',
    center: [-94.43, lat],
    bbox: [-94.45, 18.1, -94.4, 18.2],
    streets: { type: 'FeatureCollection', features: [street('s1', -94.44, -94.438), street('s2', -94.438, -94.436), street('s3', -94.436, -94.434)] },
    districts: { type: 'FeatureCollection', features: [] },
    water: { type: 'FeatureCollection', features: [] },
    depots: [{ id: 'depot-1', name: 'Depot', lat, lon: -94.44, district: 'Centro', unload: true }],
    routes: [{ id: 'route-01', depotId: 'depot-1', district: 'Centro', segments: ['s1', 's2', 's3'], collectFrom: 0, collectTo: 1, shiftStart: 6, shiftHours: 8 }],
    entrances: [],
  };
}

export interface TestApi {
  app: FastifyInstance;
  store: TelemetryStore;
  registry: RegistryView;
  cfg: Config;
  dir: string;
  token(username: string): Promise<string>;
  close(): Promise<void>;
}

export async function makeTestApi(extra: Partial<BuildAppOptions> = {}): Promise<TestApi> {
  const dir = tempDir('console-api-');
  const registry = new RegistryView(writeTestRegistry(dir));
  const store = await openDuckDbStore({ file: ':memory:' });
  await store.init();
  const cfg = loadConfig({}, { DATA_DIR: dir, PLATE_RETENTION_DAYS: 90 });
  const app = await buildApp({ cfg, store, registry, city: testCity(), opsDbFile: ':memory:', users: USERS, jwtSecret: 'test-secret', ...extra });
  const tokens = new Map<string, string>();
  return {
    app,
    store,
    registry,
    cfg,
    dir,
    async token(username) {
      const cached = tokens.get(username);
      if (cached) return cached;
      const u = USERS.find((x) => x.username === username)!;
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: u.password } });
      if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
      const t = (res.json() as { token: string }).token;
      tokens.set(username, t);
      return t;
    },
    async close() {
      await app.close();
      await store.close();
      registry.close();
    },
  };
}

export interface ConsoleStack {
  dir: string;
  registry: RegistryView;
  broker: BrokerHandle;
  store: TelemetryStore;
  api: Awaited<ReturnType<typeof startApi>>;
  /** stops the API, then the broker, the store and the registry */
  stop(): Promise<void>;
}

/**
 * The console API listening on a free port, linked to a real broker as the `console` service
 * account, over an in-memory DuckDB store and the test registry; resolves once /health is 200.
 */
export async function startConsoleStack(dirPrefix: string, extra: Partial<BuildAppOptions> & { jwtSecret: string }): Promise<ConsoleStack> {
  const dir = tempDir(dirPrefix);
  const registry = new RegistryView(writeTestRegistry(dir));
  const broker = await startBroker({ registry, port: 0, watchRegistry: false });
  // a store of the caller's (a file prepared by the test), or an in-memory one
  const store = extra.store ?? (await openDuckDbStore({ file: ':memory:' }));
  await store.init();
  const api = await startApi({
    cfg: loadConfig({}, { DATA_DIR: dir }),
    store,
    registry,
    opsDbFile: ':memory:',
    users: USERS,
    mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, username: 'console', password: TEST_PASSWORD('console') },
    port: 0,
    ...extra,
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${api.port}/health`)).status === 200, 10_000, 50, 'API connected to the broker');
  return {
    dir,
    registry,
    broker,
    store,
    api,
    async stop() {
      await api.stop();
      await broker.stop();
      await store.close();
      registry.close();
    },
  };
}
