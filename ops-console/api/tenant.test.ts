/**
 * Two municipalities, each its own console API (own registry, store, ops DB, users, signing key),
 * as npm start runs them with TENANTS: an operator of A sees nothing of B, and the state level
 * (role state) sees both cities' aggregates — and nothing else (routes/state.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../contract';
import { loadConfig } from '../../lib/config';
import { RegistryView } from '../../registry/registry';
import { openDuckDbStore } from '../../store/duckdb/index';
import type { TelemetryStore } from '../../store/types';
import { tempDir } from '../../testing/net';
import { writeTestRegistry } from '../../testing/registry-fixture';
import type { Role } from '../shared/live';
import { fixture } from './fixtures.test-data';
import { startApi } from './index';
import { makeTestApi, testCity } from './test-support';
import type { CitySummary } from './routes/state';

const TOKEN = 'state-token-of-the-installation';
const USERS: { username: string; password: string; role: Role }[] = [
  { username: 'op', password: 'op-pass-123', role: 'operator' },
  { username: 'estatal', password: 'estatal-pass', role: 'state' },
];

interface City {
  tenant: string;
  url: string;
  store: TelemetryStore;
  api: Awaited<ReturnType<typeof startApi>>;
  registry: RegistryView;
  token(u: string): Promise<string>;
  get(path: string, token?: string, headers?: Record<string, string>): Promise<Response>;
}

async function city(tenant: string, extraDevice: string, peers: { tenant: string; url: string }[], token = TOKEN): Promise<City> {
  const dir = tempDir(`tenants-api-${tenant}-`);
  // the same test registry in both cities (same ids), plus one station only this city has
  const registry = new RegistryView(
    writeTestRegistry(dir, [
      { id: extraDevice, kind: 'air', model: 'sim-aq', district: `Centro ${tenant}`, status: 'active', location: { lat: 18.15, lon: -94.43 }, intervals: { dataS: 60, statusS: 300 } },
    ]),
  );
  const store = await openDuckDbStore({ file: ':memory:' });
  await store.init();
  const cfg = loadConfig({}, { DATA_DIR: dir, TENANTS: 'coatzacoalcos,minatitlan', TENANT: tenant });
  const api = await startApi({
    cfg,
    store,
    registry,
    city: testCity(),
    opsDbFile: ':memory:',
    users: USERS,
    jwtSecret: `jwt-secret-of-${tenant}`,
    port: 0,
    host: '127.0.0.1',
    state: { peers, token },
  });
  const url = `http://127.0.0.1:${api.port}`;
  const get = (path: string, tok?: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...headers } });
  return {
    tenant,
    url,
    store,
    api,
    registry,
    get,
    async token(u) {
      const p = USERS.find((x) => x.username === u)!;
      const r = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u, password: p.password }) });
      expect(r.status).toBe(200);
      return ((await r.json()) as { token: string }).token;
    },
  };
}

const alert = (deviceId: string, severity: AlertEvent['severity'], n: number): AlertEvent => ({
  alertId: `air_quality:${deviceId}:${n}`,
  event: 'open',
  at: Date.now() - 60_000,
  rule: 'air_quality',
  severity,
  deviceId,
  kind: 'air',
  district: 'Centro',
  title: `PM2.5 ${deviceId}`,
  detail: { pm25: 80 },
});

let A: City;
let B: City;
beforeAll(async () => {
  // B first (A's peer), then A, then B learns A (a test-only re-wiring: npm start knows every port up front)
  B = await city('minatitlan', 'air-mina', []);
  A = await city('coatzacoalcos', 'air-coatza', [{ tenant: 'minatitlan', url: B.url }]);
  await A.store.writeBatch(fixture().records);
  await A.api.app.alerts.apply(alert('air-01', 'critical', 1));
  await A.api.app.alerts.apply(alert('air-coatza', 'warning', 2));
  await B.api.app.alerts.apply(alert('air-mina', 'info', 3));
  A.api.app.live.presence('air-01', 'air', 'Centro', true, Date.now());
  A.api.app.live.presence('air-coatza', 'air', 'Centro', true, Date.now());
  B.api.app.live.presence('air-mina', 'air', 'Centro', false, Date.now());
}, 60_000);
afterAll(async () => {
  for (const c of [A, B]) {
    await c?.api.stop();
    await c?.store.close();
    c?.registry.close();
  }
});

describe('tenants: an operator of one city sees nothing of another', () => {
  it("A's operator lists A's devices and alerts, none of B's", async () => {
    const op = await A.token('op');
    const devices = ((await (await A.get('/api/devices', op)).json()) as { devices: { id: string }[] }).devices.map((d) => d.id);
    expect(devices).toContain('air-coatza');
    expect(devices).not.toContain('air-mina');
    const alerts = ((await (await A.get('/api/alerts', op)).json()) as { alerts: { id: string }[] }).alerts.map((a) => a.id);
    expect(alerts.sort()).toEqual(['air_quality:air-01:1', 'air_quality:air-coatza:2']);
    expect((await A.get('/api/devices/air-mina', op)).status).toBe(404);
  });

  it("A's session is worthless in B's console (each city signs its own)", async () => {
    const op = await A.token('op');
    expect((await B.get('/api/devices', op)).status).toBe(401);
    expect((await B.get('/api/alerts', op)).status).toBe(401);
  });
});

describe('tenants: the state level', () => {
  it('sees every city: devices online, open alerts by severity, air index per station-day, noise exceedances', async () => {
    const st = await A.token('estatal');
    const r = await A.get('/api/state/cities?days=7', st);
    expect(r.status).toBe(200);
    const { cities } = (await r.json()) as { cities: CitySummary[] };
    expect(cities.map((c) => c.tenant)).toEqual(['coatzacoalcos', 'minatitlan']);
    const [a, b] = cities as [CitySummary, CitySummary];
    expect(a.devices).toMatchObject({ total: 6, online: 2 });
    expect(a.devices.byKind.air).toEqual({ total: 2, online: 2 });
    expect(a.alerts).toEqual({ open: 2, bySeverity: { info: 0, warning: 1, critical: 1 } });
    expect(b.devices).toMatchObject({ total: 6, online: 0 });
    expect(b.alerts).toEqual({ open: 1, bySeverity: { info: 1, warning: 0, critical: 0 } });
    // the fixture's air-01 hours (PM2.5 80 µg/m³ → an index) and noise-01 at 60 dB(A) over its limit
    expect(a.air.some((row) => row.deviceId === 'air-01' && row.category !== null)).toBe(true);
    expect(a.noise.exceeded).toBeGreaterThan(0);
    expect(a.noise.rows.every((row) => row.deviceId === 'noise-01')).toBe(true);
    expect(b.air.every((row) => row.category === null)).toBe(true);
    expect(b.noise.exceeded).toBe(0);
    // no plates, no raw readings, no people: the fixture's plates and alert titles never appear
    const text = JSON.stringify(cities);
    for (const secret of ['ABC123', 'XYZ999', 'PM2.5', 'pm25', 'lat', 'assignee', 'op']) expect(text).not.toContain(`"${secret}"`);
    expect(text).not.toContain('ABC123');
  });

  it('may use no other route of the city (403), and its own only with a login', async () => {
    const st = await A.token('estatal');
    for (const path of [
      '/api/devices',
      '/api/alerts',
      '/api/dead-letters',
      '/api/history/air-index?from=0&to=3600000',
      '/api/plates/search?plate=ABC123',
      '/api/audit',
      '/api/users',
      '/api/reports',
      '/api/geofences',
      '/api/hotlist',
    ]) {
      const r = await A.get(path, st);
      expect([403, 404], `${path} → ${r.status}`).toContain(r.status);
      expect(r.status === 404 ? path : 'ok', `${path} should exist`).toBe('ok');
    }
    const op = await A.token('op');
    expect((await A.get('/api/state/cities', op)).status).toBe(403);
    expect((await A.get('/api/state/summary')).status).toBe(401);
  });

  it("a sibling's summary needs the installation's token; a city that does not answer is named, not a 5xx", async () => {
    expect((await B.get('/api/state/peer-summary')).status).toBe(401);
    expect((await B.get('/api/state/peer-summary', undefined, { 'x-state-token': 'wrong' })).status).toBe(401);
    const ok = await B.get('/api/state/peer-summary?days=1', undefined, { 'x-state-token': TOKEN });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as CitySummary).tenant).toBe('minatitlan');

    const lonely = await city('coatzacoalcos', 'air-x', [{ tenant: 'minatitlan', url: 'http://127.0.0.1:9' }], '');
    try {
      expect((await lonely.get('/api/state/peer-summary', undefined, { 'x-state-token': '' })).status).toBe(404);
      const r = await lonely.get('/api/state/cities?days=1', await lonely.token('estatal'));
      expect(r.status).toBe(200);
      expect(((await r.json()) as { cities: unknown[] }).cities[1]).toEqual({ tenant: 'minatitlan', error: 'E_STATE_PEER' });
    } finally {
      await lonely.api.stop();
      await lonely.store.close();
      lonely.registry.close();
    }
  });

  it('is in the OpenAPI document with its schemas', async () => {
    const doc = (await (await A.get('/docs/json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/state/summary', '/api/state/cities', '/api/state/peer-summary']));
  });
});

describe("tenants: a device added or rotated in a city's admin console", () => {
  it('gets a config that logs in as <city>:<id>', async () => {
    const dir = tempDir('tenants-admin-');
    const t = await makeTestApi({ loginRateLimit: 1000, cfg: loadConfig({}, { DATA_DIR: dir, TENANTS: 'coatzacoalcos,minatitlan', TENANT: 'minatitlan' }) });
    try {
      const H = { authorization: `Bearer ${await t.token('boss')}` };
      const cam = { id: 'cam-07', kind: 'camera', model: 'lpr-x', district: 'Centro', lat: 18.1232, lon: -94.4323, road: 'Puente Coatzacoalcos I', direction: 'both', lanes: 2 };
      const add = await t.app.inject({ method: 'POST', url: '/api/admin/devices', headers: H, payload: cam });
      expect(add.statusCode, add.body).toBe(201);
      expect(add.json().config).toMatchObject({ deviceId: 'cam-07', clientId: 'cam-07', username: 'minatitlan:cam-07' });
      const rot = await t.app.inject({ method: 'POST', url: '/api/admin/devices/cam-07/rotate', headers: H });
      expect(rot.statusCode, rot.body).toBe(200);
      expect(rot.json().config.username).toBe('minatitlan:cam-07');
    } finally {
      await t.close();
    }
  });
});
