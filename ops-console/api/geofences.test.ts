/**
 * Geofence routes: roles (admin edits, operators and planners read), validation with named
 * codes, audit entries, the first-start seed; and the whole path on a real broker: the API
 * publishes the set retained on svc/geofences, ingest's rules follow a truck publishing its own
 * GPS over MQTT, the enter / exit events come back as a visit and a restricted zone as an alert.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { deviceTopic, svcTopics, type Geofence, type GeofenceSet } from '../../contract';
import { offsetM } from '../../contract/geo';
import { startIngest } from '../../ingest/index';
import { createRuleEngine } from '../../ingest/rules/index';
import path from 'node:path';
import { tempDir, waitFor } from '../../testing/net';
import { TEST_PASSWORD } from '../../testing/registry-fixture';
import type { GeofenceVisit } from '../shared/geofences';
import { demoGeofencesFor } from '../../demo/seeds';
import { loadCity } from '../../city/city';
import { makeTestApi, startConsoleStack, testCity, type ConsoleStack, type TestApi } from './test-support';

// inside testCity()'s bbox [-94.45, 18.1, -94.4, 18.2]
const C: [number, number] = [-94.43, 18.14];
const at = (e: number, n = 0) => offsetM(C, e, n) as [number, number];
const squareRing = (half: number) => [at(-half, -half), at(half, -half), at(half, half), at(-half, half), at(-half, -half)];

describe('geofence routes (inject)', () => {
  let t: TestApi;
  let admin: string;
  beforeAll(async () => {
    t = await makeTestApi();
    admin = await t.token('boss');
  });
  afterAll(() => t.close());
  const req = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, who: string | null, payload?: unknown) => {
    const headers: Record<string, string> = who ? { authorization: `Bearer ${who === 'admin' ? admin : await t.token(who)}` } : {};
    return t.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  };

  it('an admin creates a polygon and a circle; operators and planners read them; others may not', async () => {
    const poly = await req('POST', '/api/geofences', 'admin', {
      name: 'Escuela Primaria Benito Juárez',
      kind: 'school',
      geometry: { type: 'polygon', coordinates: squareRing(80) },
      dwellLimitMin: 20,
    });
    expect(poly.statusCode, poly.body).toBe(201);
    const g = poly.json() as Geofence;
    expect(g).toMatchObject({ name: 'Escuela Primaria Benito Juárez', kind: 'school', dwellLimitMin: 20, active: true, geometry: { type: 'polygon' } });
    expect(g.id).toMatch(/^escuela-primaria-benito-juarez-[0-9a-f]{6}$/);
    const circ = await req('POST', '/api/geofences', 'admin', { name: 'Zona de carga', kind: 'restricted', geometry: { type: 'circle', center: at(500), radiusM: 120 } });
    expect(circ.statusCode, circ.body).toBe(201);

    for (const who of ['op', 'plan']) {
      const list = await req('GET', '/api/geofences', who);
      expect(list.statusCode).toBe(200);
      const s = list.json() as GeofenceSet;
      expect(s.version).toBe(2);
      expect(s.geofences.map((x) => x.name)).toEqual(['Escuela Primaria Benito Juárez', 'Zona de carga']);
      expect((await req('GET', `/api/geofences/${g.id}`, who)).json()).toEqual(g);
    }
    expect((await req('GET', '/api/geofences', 'inv')).statusCode).toBe(403);
    expect((await req('GET', '/api/geofences', null)).statusCode).toBe(401);
    for (const who of ['op', 'plan', 'inv']) {
      expect((await req('POST', '/api/geofences', who, { name: 'x', kind: 'other', geometry: { type: 'circle', center: C, radiusM: 50 } })).statusCode).toBe(403);
      expect((await req('DELETE', `/api/geofences/${g.id}`, who)).statusCode).toBe(403);
    }
  });

  it('refuses bad shapes with a code naming the problem, and stores nothing', async () => {
    const before = (await req('GET', '/api/geofences', 'op')).json() as GeofenceSet;
    const bad = async (geometry: unknown, code: string, extra: Record<string, unknown> = {}) => {
      const r = await req('POST', '/api/geofences', 'admin', { name: 'Mala', kind: 'other', geometry, ...extra });
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json()).toMatchObject({ code });
      return r.json() as { message: string };
    };
    await bad({ type: 'polygon', coordinates: squareRing(50).slice(0, 4) }, 'E_GEOFENCE_NOT_CLOSED');
    await bad({ type: 'polygon', coordinates: [at(0), at(10), at(0)] }, 'E_GEOFENCE_VERTICES');
    await bad({ type: 'polygon', coordinates: [] }, 'E_GEOFENCE_VERTICES');
    const many = Array.from({ length: 260 }, (_, i) => at(100 * Math.cos(i / 40), 100 * Math.sin(i / 40)));
    await bad({ type: 'polygon', coordinates: [...many, many[0]] }, 'E_GEOFENCE_VERTICES');
    await bad({ type: 'polygon', coordinates: [at(0), at(100, 100), at(100), at(0, 100), at(0)] }, 'E_GEOFENCE_SELF_INTERSECTS');
    const m = await bad({ type: 'polygon', coordinates: [at(0), [-94.3, 18.14], at(0, 100), at(0)] }, 'E_GEOFENCE_OUTSIDE_CITY');
    expect(m.message).toMatch(/vertex 2 is \d+ m outside the city/);
    await bad({ type: 'circle', center: [-94.3, 18.14], radiusM: 100 }, 'E_GEOFENCE_OUTSIDE_CITY');
    await bad({ type: 'circle', center: C, radiusM: 3 }, 'E_GEOFENCE_RADIUS');
    await bad({ type: 'circle', center: C, radiusM: 50_000 }, 'E_GEOFENCE_RADIUS');
    await bad({ type: 'circle', center: C, radiusM: 50 }, 'E_REQUEST_VALIDATION', { kind: 'castle' });
    await bad({ type: 'square', center: C }, 'E_REQUEST_VALIDATION');
    await bad({ type: 'circle', center: C, radiusM: 50 }, 'E_REQUEST_VALIDATION', { dwellLimitMin: -5 });
    expect(((await req('GET', '/api/geofences', 'op')).json() as GeofenceSet).version).toBe(before.version);
  });

  it('edits (name, kind, dwell, active) and deletes, each audited; an unknown id is 404', async () => {
    const s = (await req('GET', '/api/geofences', 'op')).json() as GeofenceSet;
    const g = s.geofences.find((x) => x.kind === 'school')!;
    const put = await req('PUT', `/api/geofences/${g.id}`, 'admin', { name: 'Mercado Hidalgo', kind: 'market', geometry: g.geometry, dwellLimitMin: null, active: false });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toEqual({ id: g.id, name: 'Mercado Hidalgo', kind: 'market', geometry: g.geometry, active: false });
    const del = await req('DELETE', `/api/geofences/${g.id}`, 'admin');
    expect(del.statusCode).toBe(200);
    expect((del.json() as GeofenceSet).geofences.map((x) => x.id)).not.toContain(g.id);
    expect((await req('GET', `/api/geofences/${g.id}`, 'op')).json()).toMatchObject({ code: 'E_GEOFENCE_UNKNOWN' });
    expect((await req('DELETE', `/api/geofences/${g.id}`, 'admin')).statusCode).toBe(404);
    expect((await req('PUT', `/api/geofences/nope-nope`, 'admin', { name: 'x', kind: 'other', geometry: g.geometry })).statusCode).toBe(404);
    const audit = (await req('GET', '/api/audit?limit=50', 'admin')).json() as { entries: { action: string; actor: string; query: { id?: string } }[] };
    const mine = audit.entries.filter((e) => e.action.startsWith('geofence_'));
    expect(mine.map((e) => e.action).sort()).toEqual(['geofence_create', 'geofence_create', 'geofence_delete', 'geofence_update']);
    expect(mine.every((e) => e.actor === 'boss')).toBe(true);
  });

  it('visits: folded from events (idempotent), filtered by truck and local day', async () => {
    const base = Date.UTC(2026, 11, 1, 15, 0); // 09:00 in Mexico City
    const ev = { geofenceId: 'base-norte', name: 'Base Norte', kind: 'depot' as const, deviceId: 'truck-01', district: 'Centro', enteredAt: base, late: false };
    const visitId = `base-norte.truck-01.${base.toString(36)}`;
    await t.app.geofences.applyEvent({ ...ev, visitId, event: 'enter', at: base });
    await t.app.geofences.applyEvent({ ...ev, visitId, event: 'enter', at: base }); // redelivered
    let v = ((await req('GET', '/api/geofences/visits?deviceId=truck-01', 'plan')).json() as { visits: GeofenceVisit[] }).visits;
    expect(v).toEqual([
      {
        visitId,
        geofenceId: 'base-norte',
        name: 'Base Norte',
        kind: 'depot',
        deviceId: 'truck-01',
        district: 'Centro',
        enteredAt: base,
        exitedAt: null,
        durationS: null,
        dwellOverAt: null,
        exitReason: null,
        late: false,
      },
    ]);
    await t.app.geofences.applyEvent({ ...ev, visitId, event: 'exit', at: base + 25 * 60_000 });
    v = ((await req('GET', '/api/geofences/visits?deviceId=truck-01&date=2026-12-01', 'op')).json() as { visits: GeofenceVisit[] }).visits;
    expect(v).toMatchObject([{ visitId, exitedAt: base + 25 * 60_000, durationS: 1500 }]);
    expect(((await req('GET', '/api/geofences/visits?deviceId=truck-01&date=2026-12-02', 'op')).json() as { visits: unknown[] }).visits).toEqual([]);
    expect(((await req('GET', '/api/geofences/visits?deviceId=truck-02', 'op')).json() as { visits: unknown[] }).visits).toEqual([]);
    expect((await req('GET', '/api/geofences/visits?date=2026-13-45', 'op')).statusCode).toBe(400);
    expect((await req('GET', '/api/geofences/visits', 'inv')).statusCode).toBe(403);
  });
});

describe('first-start seed', () => {
  it('the demo city starts with its depots and landfill, once; an admin deleting them all is not undone', async () => {
    const city = loadCity();
    const t0 = await makeTestApi({ city });
    const seed = demoGeofencesFor({ registry: { city: city.name } } as never, city);
    await t0.close();
    expect(seed.map((g) => `${g.kind}:${g.id}`)).toEqual(['depot:depot-norte', 'depot:depot-sur', 'landfill:relleno-sanitario']);
    const opsDbFile = path.join(tempDir('geofence-seed-'), 'ops.duckdb');
    const t = await makeTestApi({ city, seedGeofences: seed, opsDbFile });
    const admin = await t.token('boss');
    const s = (await t.app.inject({ url: '/api/geofences', headers: { authorization: `Bearer ${admin}` } })).json() as GeofenceSet;
    expect(s.geofences.map((g) => g.id).sort()).toEqual(['depot-norte', 'depot-sur', 'relleno-sanitario']);
    // the seed is a valid set for the routes too (inside the city, closed, …)
    for (const g of s.geofences) {
      const r = await t.app.inject({
        method: 'PUT',
        url: `/api/geofences/${g.id}`,
        headers: { authorization: `Bearer ${admin}` },
        payload: { name: g.name, kind: g.kind, geometry: g.geometry, dwellLimitMin: g.dwellLimitMin ?? null, active: g.active },
      });
      expect(r.statusCode, r.body).toBe(200);
    }
    for (const g of s.geofences) expect((await t.app.inject({ method: 'DELETE', url: `/api/geofences/${g.id}`, headers: { authorization: `Bearer ${admin}` } })).statusCode).toBe(200);
    await t.close();
    // the next start finds the admin's (empty) set: no seed again
    const again = await makeTestApi({ city, seedGeofences: seed, opsDbFile });
    expect((await again.app.geofences.current()).geofences).toEqual([]);
    const audit = await again.app.audit.list({ action: 'geofence_seed', limit: 10 });
    expect(audit).toHaveLength(1);
    await again.close();
  });
});

describe('geofences over the broker: drawn → a truck entering it raises the event', () => {
  let stack: ConsoleStack;
  let stopIngest: () => Promise<unknown>;
  let truck: mqtt.MqttClient;
  beforeAll(async () => {
    stack = await startConsoleStack('geofences-mqtt-', { jwtSecret: 'geofence-test-secret-geofence-test', city: testCity() });
    const mqttUrl = `mqtt://127.0.0.1:${stack.broker.port}`;
    const ingest = await startIngest({
      registry: stack.registry,
      store: stack.store,
      mqttUrl,
      username: 'ingest',
      password: TEST_PASSWORD('ingest'),
      flushMs: 50,
      rules: ({ publish, publishGeofence }) => createRuleEngine({ registry: stack.registry, publish, publishGeofence }),
    });
    stopIngest = () => ingest.stop();
    truck = await mqtt.connectAsync(mqttUrl, { username: 'truck-01', password: TEST_PASSWORD('truck-01'), clientId: 'truck-01', reconnectPeriod: 0 });
  }, 60_000);
  afterAll(async () => {
    await truck?.endAsync();
    await stopIngest?.();
    await stack?.stop();
  });

  it('the set is retained on svc/geofences; the truck drives in and out; the visit and the restricted-zone alert follow', async () => {
    const app = stack.api.app;
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'boss', password: 'boss-pass' } });
    const auth = { authorization: `Bearer ${(login.json() as { token: string }).token}` };
    const created = await app.inject({
      method: 'POST',
      url: '/api/geofences',
      headers: auth,
      payload: { name: 'Zona restringida Malecón', kind: 'restricted', geometry: { type: 'polygon', coordinates: squareRing(100) } },
    });
    expect(created.statusCode, created.body).toBe(201);
    const g = created.json() as Geofence;

    // a late subscriber gets the retained set (what ingest reads on every start)
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.broker.port}`, { username: 'nodered', password: TEST_PASSWORD('nodered'), reconnectPeriod: 0 });
    const retained = new Promise<GeofenceSet>((resolve) => watcher.on('message', (topic, p) => topic === svcTopics.geofences && resolve(JSON.parse(p.toString()) as GeofenceSet)));
    await watcher.subscribeAsync(svcTopics.geofences, { qos: 1 });
    expect((await retained).geofences.map((x) => x.id)).toEqual([g.id]);
    await watcher.endAsync();

    // ingest has the set once a fix inside opens a visit; drive west → east through the square
    const t0 = Date.now() - 5_000;
    let i = 0;
    const drive = async (east: number) => {
      const [lon, lat] = at(east);
      await truck.publishAsync(deviceTopic('truck', 'truck-01', 'gps'), JSON.stringify({ ts: t0 + i++ * 500, lat, lon, speedKmh: 25, heading: 90, sats: 9, hdop: 0.9 }), { qos: 1 });
    };
    const visits = async () => ((await app.inject({ url: '/api/geofences/visits?deviceId=truck-01', headers: auth })).json() as { visits: GeofenceVisit[] }).visits;
    await drive(-250);
    // until ingest has the set, the fixes inside open nothing; the truck stays inside meanwhile
    await waitFor(
      async () => {
        await drive(0);
        return (await visits()).length > 0;
      },
      20_000,
      200,
      'the enter event stored as a visit',
    );
    const [v] = await visits();
    expect(v).toMatchObject({ geofenceId: g.id, name: 'Zona restringida Malecón', kind: 'restricted', deviceId: 'truck-01', exitedAt: null, late: false });
    const alerts = async () =>
      (
        (await app.inject({ url: '/api/alerts?rule=geofence_restricted&state=all', headers: auth })).json() as {
          alerts: { rule: string; code: string; state: string; params: Record<string, unknown> }[];
        }
      ).alerts;
    await waitFor(async () => (await alerts()).some((a) => a.state === 'open'), 10_000, 100, 'restricted-zone alert open');
    expect((await alerts())[0]).toMatchObject({ code: 'geofence_restricted', params: { geofenceId: g.id, name: 'Zona restringida Malecón' } });

    await drive(250);
    await waitFor(async () => (await visits())[0]?.exitedAt !== null, 10_000, 100, 'the exit stored');
    expect((await visits())[0]!.durationS).toBeGreaterThan(0);
    await waitFor(async () => (await alerts()).every((a) => a.state === 'auto_resolved'), 10_000, 100, 'the alert resolved on exit');
    expect(await alerts()).toHaveLength(1);
    expect(await visits()).toHaveLength(1);
  }, 60_000);
});
