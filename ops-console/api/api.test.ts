/**
 * Every route through app.inject against a real in-memory DuckDB telemetry store filled with
 * store.writeBatch: success paths, 400 (schema errors), 401/403 (roles) and 404 (unknown ids).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import type { AlertEvent } from '../../contract';
import { makeTestApi, type TestApi } from './test-support';
import { fixture, HOUR, type Fixture } from './fixtures.test-data';
import auth from './plugins/app/auth';
import { usersFromList } from './lib/users';

let t: TestApi;
let fx: Fixture;
const H = (tok: string) => ({ authorization: `Bearer ${tok}` });
let op: string, plan: string, boss: string, inv: string;

async function get(url: string, tok?: string) {
  return t.app.inject({ method: 'GET', url, headers: tok ? H(tok) : {} });
}

beforeAll(async () => {
  t = await makeTestApi();
  fx = fixture();
  const w = await t.store.writeBatch(fx.records);
  expect(w.written).toBe(fx.records.length);
  await t.store.writeDeadLetters(fx.letters);
  [op, plan, boss, inv] = await Promise.all(['op', 'plan', 'boss', 'inv'].map((u) => t.token(u)));
});
afterAll(async () => {
  await t?.close();
});

describe('auth and roles', () => {
  it('logs in with a known password and returns a token with the role', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'plan', password: 'plan-pass' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ role: 'planner', username: 'plan' });
    const me = await get('/api/auth/me', r.json().token);
    expect(me.json()).toEqual({ username: 'plan', role: 'planner' });
  });

  it('refuses a wrong password (401 E_AUTH_BAD_CREDENTIALS) and a malformed body (400)', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'plan', password: 'nope' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().code).toBe('E_AUTH_BAD_CREDENTIALS');
    const unknown = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'nobody', password: 'x' } });
    expect(unknown.statusCode).toBe(401);
    const malformed = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'plan' } });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'E_REQUEST_VALIDATION' });
    expect(malformed.json().message).toMatch(/password/);
  });

  it('needs a token (401) and the right role (403)', async () => {
    expect((await get('/api/devices')).statusCode).toBe(401);
    const forged = await get('/api/devices', 'not.a.token');
    expect(forged.statusCode).toBe(401);
    expect(forged.json().code).toBe('E_AUTH_REQUIRED');
    const r = await get('/api/audit', op);
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('E_AUTH_FORBIDDEN');
    // admin may use every route
    expect((await get('/api/devices', boss)).statusCode).toBe(200);
  });

  it('rejects a route that declares no roles at registration', async () => {
    const f = Fastify();
    await f.register(auth, { users: await usersFromList([]) });
    await f.after();
    expect(() => f.get('/api/oops', async () => 'x')).toThrow(/declares no roles/);
    expect(() => f.get('/api/fine', { config: { roles: ['operator'] } }, async () => 'x')).not.toThrow();
    await f.close().catch(() => undefined);
  });

  it('rate-limits logins', async () => {
    const small = await makeTestApi({ loginRateLimit: 2 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        codes.push((await small.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'op', password: 'wrong' } })).statusCode);
      }
      expect(codes).toEqual([401, 401, 429, 429]);
    } finally {
      await small.close();
    }
  });
});

describe('health, metrics, OpenAPI', () => {
  it('GET /health reports store and ops DB', async () => {
    const r = await get('/health');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'ok', store: { ok: true, backend: 'duckdb' }, opsDb: { ok: true }, broker: { configured: false }, ingest: { lastServiceMessageAt: null } });
  });
  it('GET /metrics is Prometheus text from the API registry', async () => {
    await get('/api/devices', op);
    const r = await get('/metrics');
    expect(r.statusCode).toBe(200);
    expect(r.body).toMatch(/console_http_requests_total\{route="\/api\/devices",status="200"\} \d+/);
  });
  it('serves the OpenAPI document with every route, units from the contract', async () => {
    const r = await get('/docs/json');
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    for (const p of ['/api/alerts/{id}/ack', '/api/history/coverage', '/api/plates/search', '/api/open/air', '/api/exports/{id}/download', '/health']) expect(doc.paths[p]).toBeDefined();
    expect(JSON.stringify(doc)).toContain('x-unit');
  });
  it('GET /api/config (public) names the city and its time zone', async () => {
    expect((await get('/api/config')).json()).toEqual({ city: 'Test city', timezone: 'America/Mexico_City' });
  });
  it('unknown API paths get a JSON 404 with a code', async () => {
    const r = await get('/api/nope', op);
    expect(r.statusCode).toBe(404);
    expect(r.json().code).toBe('E_REQUEST_NOT_FOUND');
  });
});

describe('devices', () => {
  it('lists devices with kind, district, status, last seen and firmware', async () => {
    const r = await get('/api/devices', op);
    expect(r.statusCode).toBe(200);
    const devs = r.json().devices as { id: string; firmware: string | null; lastSeen: number | null; status: string }[];
    expect(devs.map((d) => d.id)).toContain('air-99');
    const air = devs.find((d) => d.id === 'air-01')!;
    expect(air.firmware).toBe('1.4.2');
    expect(air.lastSeen).toBe(fx.t0 + HOUR);
    const onlyAir = await get('/api/devices?kind=air&status=active', plan);
    expect(onlyAir.json().devices.map((d: { id: string }) => d.id)).toEqual(['air-01']);
  });
  it('400 for a bad filter', async () => {
    const r = await get('/api/devices?kind=boat', op);
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/kind/);
  });
  it('one device with its latest record per stream; plates only for plate roles', async () => {
    const r = await get('/api/devices/cam-01', op);
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.location).toEqual({ lat: 18.1102, lon: -94.4521 });
    expect(body.latest.status.data.fw).toBe('1.4.2');
    expect(body.latest.plate).toBeUndefined();
    const byInv = (await get('/api/devices/cam-01', inv)).json();
    expect(byInv.latest.plate.data.plate).toBe('XYZ999');
  });
  it('404 for an unknown device', async () => {
    const r = await get('/api/devices/ghost-01', op);
    expect(r.statusCode).toBe(404);
    expect(r.json().code).toBe('E_DEVICE_UNKNOWN');
  });
});

describe('alerts', () => {
  const open: AlertEvent = {
    alertId: 'air_quality:air-01:1',
    event: 'open',
    at: Date.now() - 60_000,
    rule: 'air_quality',
    severity: 'warning',
    deviceId: 'air-01',
    kind: 'air',
    district: 'Centro',
    title: 'PM2.5 mala',
    detail: { pm25: 80 },
  };
  beforeAll(async () => {
    await t.app.alerts.apply(open);
  });
  const post = (url: string, tok: string, payload: unknown) => t.app.inject({ method: 'POST', url, headers: H(tok), payload: payload as object });

  it('lists active alerts and filters', async () => {
    const r = await get('/api/alerts', op);
    expect(r.json().alerts.map((a: { id: string }) => a.id)).toContain(open.alertId);
    expect((await get('/api/alerts?severity=critical', op)).json().alerts).toEqual([]);
    expect((await get('/api/alerts?severity=loud', op)).statusCode).toBe(400);
  });
  it('acknowledge, assign and resolve record who and when', async () => {
    const ack = await post(`/api/alerts/${open.alertId}/ack`, op, {});
    expect(ack.statusCode).toBe(200);
    expect(ack.json().state).toBe('acknowledged');
    expect((await post(`/api/alerts/${open.alertId}/ack`, op, {})).statusCode).toBe(409);
    const unknown = await post(`/api/alerts/${open.alertId}/assign`, op, { assignee: 'cuadrilla-3', note: 'revisar' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().code).toBe('E_USER_UNKNOWN');
    const as = await post(`/api/alerts/${open.alertId}/assign`, op, { assignee: 'boss', note: 'revisar' });
    expect(as.json().assignee).toBe('boss');
    const noNote = await post(`/api/alerts/${open.alertId}/resolve`, op, {});
    expect(noNote.statusCode).toBe(400);
    expect(noNote.json().message).toMatch(/note/);
    const res = await post(`/api/alerts/${open.alertId}/resolve`, op, { note: 'filtro cambiado' });
    expect(res.statusCode).toBe(200);
    const a = res.json();
    expect(a.state).toBe('resolved');
    expect(a.history.map((h: { event: string }) => h.event)).toEqual(['open', 'acknowledge', 'assign', 'resolve']);
    expect(a.history.slice(1).every((h: { by: string; at: number }) => h.by === 'op' && h.at > 0)).toBe(true);
    expect(a.history[3].note).toBe('filtro cambiado');
    // kept in the ops DB: no longer active, listed as resolved
    expect((await get('/api/alerts', op)).json().alerts.map((x: { id: string }) => x.id)).not.toContain(open.alertId);
    expect((await get('/api/alerts?state=resolved', plan)).json().alerts[0].id).toBe(open.alertId);
    expect((await get(`/api/alerts/${open.alertId}`, plan)).json().history).toHaveLength(4);
  });
  it('planners may read but not act (403); unknown alerts are 404', async () => {
    expect((await post(`/api/alerts/${open.alertId}/ack`, plan, {})).statusCode).toBe(403);
    const nf = await post('/api/alerts/nope/ack', op, {});
    expect(nf.statusCode).toBe(404);
    expect(nf.json().code).toBe('E_ALERT_UNKNOWN');
    expect((await get('/api/alerts/nope', op)).statusCode).toBe(404);
  });
});

describe('hotlist', () => {
  const put = (plate: string, tok: string, payload: unknown) => t.app.inject({ method: 'PUT', url: `/api/hotlist/entries/${plate}`, headers: H(tok), payload: payload as object });
  it('admin adds, imports, exports and deletes entries; every change is audited and versioned', async () => {
    const v0 = (await get('/api/hotlist', boss)).json().version;
    const r = await put('ABC123', boss, { reason: 'robo', direction: 'entering', activeHours: { from: 22, to: 6 } });
    expect(r.statusCode).toBe(200);
    expect(r.json().version).toBe(v0 + 1);
    expect(r.json().entries).toEqual([{ plate: 'ABC123', reason: 'robo', direction: 'entering', activeHours: { from: 22, to: 6 } }]);
    const csv = 'plate,reason,direction,active_from,active_to,expires_at\nXYZ999,"placa clonada, ver oficio",leaving,,,2030-01-01T00:00:00Z\nDEF456,amber,,,,\n';
    const imp = await t.app.inject({ method: 'POST', url: '/api/hotlist/import', headers: { ...H(boss), 'content-type': 'text/csv' }, payload: csv });
    expect(imp.statusCode).toBe(200);
    expect(imp.json().imported).toBe(2);
    expect(imp.json().hotlist.entries).toHaveLength(3);
    const exp = await get('/api/hotlist.csv', boss);
    expect(exp.headers['content-type']).toMatch(/text\/csv/);
    expect(exp.body).toContain('XYZ999,"placa clonada, ver oficio",leaving,,,2030-01-01T00:00:00.000Z');
    const del = await t.app.inject({ method: 'DELETE', url: '/api/hotlist/entries/DEF456', headers: H(boss) });
    expect(del.json().entries).toHaveLength(2);
    const audit = (await get('/api/audit?limit=50', boss)).json().entries.map((e: { action: string }) => e.action);
    for (const a of ['hotlist_upsert', 'hotlist_import', 'hotlist_export', 'hotlist_delete']) expect(audit).toContain(a);
  });
  it('400 for bad CSV (with the line) and bad entries; 403 for non-admins; 404 for unknown plates', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/hotlist/import', headers: { ...H(boss), 'content-type': 'text/csv' }, payload: 'plate,reason\nOK1234,x\nbad plate!,y\n' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'E_HOTLIST_CSV' });
    expect(bad.json().message).toMatch(/line 3/);
    expect((await put('ABC123', boss, { reason: '' })).statusCode).toBe(400);
    expect((await put('abc 1', boss, { reason: 'x' })).statusCode).toBe(400);
    expect((await put('ABC123', op, { reason: 'x' })).statusCode).toBe(403);
    expect((await get('/api/hotlist/entries/NOPE99', boss)).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/hotlist/entries/NOPE99', headers: H(boss) })).statusCode).toBe(404);
  });
});

describe('plate search and audit log', () => {
  it('exact and partial searches, each written to the audit log', async () => {
    const before = (await get('/api/audit?action=plate_search', boss)).json().entries.length;
    const exact = await get(`/api/plates/search?plate=ABC123&from=${fx.t0}&to=${fx.t1}&reason=caso-42`, inv);
    expect(exact.statusCode).toBe(200);
    expect(exact.json().count).toBe(3);
    expect(exact.json().reads[0]).toMatchObject({ cameraId: 'cam-01', plate: 'ABC123', direction: 'entering' });
    const partial = await get(`/api/plates/search?plate=xyz&partial=true&from=${fx.t0}&to=${fx.t1}&reason=caso-42`, boss);
    expect(partial.json().count).toBe(1);
    const log = (await get('/api/audit?action=plate_search', boss)).json().entries;
    expect(log.length).toBe(before + 2);
    expect(log[0]).toMatchObject({ actor: 'boss', role: 'admin', action: 'plate_search', resultCount: 1, query: { plate: 'XYZ', partial: true } });
    expect(log[1]).toMatchObject({ actor: 'inv', role: 'investigator', resultCount: 3, query: { plate: 'ABC123', from: fx.t0, to: fx.t1 } });
    expect(log[1].at).toBeGreaterThan(Date.now() - 60_000);
  });
  it('operators and planners may not search (403, nothing audited); bad queries are 400', async () => {
    const before = (await get('/api/audit?action=plate_search', boss)).json().entries.length;
    expect((await get(`/api/plates/search?plate=ABC123&from=${fx.t0}&to=${fx.t1}&reason=caso-42`, op)).statusCode).toBe(403);
    expect((await get(`/api/plates/search?plate=ABC123&from=${fx.t0}&to=${fx.t1}&reason=caso-42`, plan)).statusCode).toBe(403);
    const missing = await get('/api/plates/search?plate=ABC123&reason=caso-42', inv);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toMatch(/from/);
    expect((await get(`/api/plates/search?plate=ABC123&from=${fx.t1}&to=${fx.t0}&reason=caso-42`, inv)).json().code).toBe('E_QUERY_RANGE');
    expect((await get('/api/audit?action=plate_search', boss)).json().entries.length).toBe(before);
    expect((await get('/api/audit', inv)).statusCode).toBe(403);
  });
  it('the retention purge removes old plate reads and is audited', async () => {
    const old = Date.now() - 100 * 86_400_000;
    await t.store.writeBatch([
      {
        deviceId: 'cam-01',
        kind: 'camera',
        stream: 'plate',
        ts: old,
        receivedAt: old,
        late: false,
        district: 'Entrada Sur',
        payload: { ts: old, plate: 'OLD111', region: 'VER', confidence: 0.9, direction: 'leaving', lane: 2 },
      },
    ]);
    const q = `/api/plates/search?plate=OLD111&from=${old - 1000}&to=${old + 1000}&reason=caso-42`;
    expect((await get(q, inv)).json().count).toBe(1);
    await t.app.purgePlates();
    expect((await get(q, inv)).json().count).toBe(0);
    expect((await get(`/api/plates/search?plate=ABC123&from=${fx.t0}&to=${fx.t1}&reason=caso-42`, inv)).json().count).toBe(3);
    const purge = (await get('/api/audit?action=plate_purge', boss)).json().entries[0];
    expect(purge).toMatchObject({ actor: 'system', resultCount: 1 });
  });
});

describe('dead letters', () => {
  it('browse with filters; plate payloads redacted for operators', async () => {
    const all = await get('/api/dead-letters', op);
    expect(all.statusCode).toBe(200);
    const letters = all.json().deadLetters as { id: string; payload: string }[];
    expect(letters.map((l) => l.id).sort()).toEqual(['dl-1', 'dl-2', 'dl-3']);
    expect(letters.find((l) => l.id === 'dl-2')!.payload).not.toContain('SECRET1');
    expect((await get('/api/dead-letters', boss)).json().deadLetters.find((l: { id: string }) => l.id === 'dl-2').payload).toContain('SECRET1');
    expect((await get('/api/dead-letters?reason=unknown_device', op)).json().deadLetters.map((l: { id: string }) => l.id)).toEqual(['dl-3']);
    expect((await get('/api/dead-letters?deviceId=air-01', op)).json().deadLetters.map((l: { id: string }) => l.id)).toEqual(['dl-1']);
    expect((await get('/api/dead-letters/counts', op)).json().counts).toMatchObject({ schema: 2, unknown_device: 1 });
  });
  it('400 for an unknown reason, 403 for planners', async () => {
    expect((await get('/api/dead-letters?reason=bored', op)).statusCode).toBe(400);
    expect((await get('/api/dead-letters', plan)).statusCode).toBe(403);
  });
});

describe('history', () => {
  const range = () => `from=${fx.t0}&to=${fx.t1}`;
  it('track as JSON and GeoJSON; events', async () => {
    const j = await get(`/api/history/track?deviceId=truck-01&${range()}`, plan);
    expect(j.statusCode).toBe(200);
    expect(j.json().points).toHaveLength(21);
    const g = (await get(`/api/history/track?deviceId=truck-01&${range()}&format=geojson`, plan)).json();
    expect(g.geometry.type).toBe('LineString');
    expect(g.geometry.coordinates).toHaveLength(21);
    expect(g.properties.times[0]).toBe(fx.t0 + 600_000);
    expect((await get(`/api/history/events?deviceIds=truck-01&${range()}`, plan)).json().events[0]).toMatchObject({ type: 'bin_lift', binId: 'B-1' });
  });
  it('track errors: 404 unknown device, 400 not a truck, 400 bad range, 403 investigator', async () => {
    expect((await get(`/api/history/track?deviceId=ghost-01&${range()}`, plan)).statusCode).toBe(404);
    expect((await get(`/api/history/track?deviceId=air-01&${range()}`, plan)).json().code).toBe('E_DEVICE_KIND');
    expect((await get(`/api/history/track?deviceId=truck-01&from=${fx.t1}&to=${fx.t0}`, plan)).json().code).toBe('E_QUERY_RANGE');
    expect((await get(`/api/history/track?deviceId=truck-01&from=abc&to=1`, plan)).statusCode).toBe(400);
    expect((await get(`/api/history/track?deviceId=truck-01&${range()}`, inv)).statusCode).toBe(403);
  });
  it('series by window', async () => {
    const r = await get(`/api/history/series?stream=air&field=pm25&deviceIds=air-01&${range()}&windowMs=${HOUR}`, plan);
    expect(r.statusCode).toBe(200);
    const b = r.json().buckets as { t: number; mean: number; count: number }[];
    expect(b.map((x) => x.t)).toEqual([fx.t0, fx.t0 + HOUR, fx.t0 + 2 * HOUR, fx.t0 + 3 * HOUR]);
    expect(b[1]).toMatchObject({ mean: 80 });
    expect((await get(`/api/history/series?stream=air&field=laeq&${range()}`, plan)).json().code).toBe('E_QUERY_FIELD');
    expect((await get(`/api/history/series?stream=water&field=pm25&${range()}`, plan)).statusCode).toBe(400);
    expect((await get(`/api/history/series?stream=air&field=pm25&deviceIds=noise-01&${range()}`, plan)).statusCode).toBe(400);
  });
  it('Índice AIRE Y SALUD per station per hour', async () => {
    const r = await get(`/api/history/air-index?${range()}`, plan);
    expect(r.statusCode).toBe(200);
    const rows = r.json().rows as { deviceId: string; hour: number; category: string | null; pollutants: Record<string, { category: string }> }[];
    expect(rows.every((x) => x.deviceId === 'air-01')).toBe(true);
    expect(rows.map((x) => x.hour).slice(0, 3)).toEqual([fx.t0, fx.t0 + HOUR, fx.t0 + 2 * HOUR]);
    // hour 0 has PM2.5 = 10 µg/m³ and hours 1–2 have 80. The PM2.5 NowCast needs 2 of the last 3
    // hours, so hour 0 is rated on the other pollutants only; then PM2.5 drives the category up.
    expect(rows[0]!.pollutants.pm25).toBeUndefined();
    expect(rows[0]!.pollutants.o3).toBeDefined();
    const ranks = ['buena', 'aceptable', 'mala', 'muy_mala', 'extremadamente_mala'];
    const r1 = ranks.indexOf(rows[1]!.pollutants.pm25!.category);
    const r2 = ranks.indexOf(rows[2]!.pollutants.pm25!.category);
    expect(r2).toBeGreaterThanOrEqual(r1);
    expect(r2).toBeGreaterThan(0);
    expect(rows[2]!.category).toBe(rows[2]!.pollutants.pm25!.category);
    expect((await get(`/api/history/air-index?deviceIds=noise-01&${range()}`, plan)).statusCode).toBe(400);
  });
  it('noise exceedances against the station limit by day/night', async () => {
    const r = await get(`/api/history/noise-exceedances?${range()}`, plan);
    expect(r.statusCode).toBe(200);
    const rows = r.json().rows as { deviceId: string; zone: string; period: string; limitDb: number; leqDb: number; exceeded: boolean; hours: number }[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row).toMatchObject({ deviceId: 'noise-01', zone: 'residential', leqDb: 60, exceeded: true });
      expect(row.limitDb).toBe(row.period === 'day' ? 55 : 50);
    }
    expect(rows.reduce((a, x) => a + x.hours, 0)).toBe(4);
    expect(r.json().note).toMatch(/NOM-081/);
  });
  it('plate counts per camera per hour and direction', async () => {
    const r = await get(`/api/history/plate-counts?cameraIds=cam-01&${range()}`, op);
    expect(r.statusCode).toBe(200);
    expect(r.json().rows).toEqual(
      expect.arrayContaining([
        { cameraId: 'cam-01', hour: fx.t0, direction: 'entering', count: 1 },
        { cameraId: 'cam-01', hour: fx.t0 + HOUR, direction: 'entering', count: 2 },
        { cameraId: 'cam-01', hour: fx.t0 + HOUR, direction: 'leaving', count: 1 },
      ]),
    );
    expect(JSON.stringify(r.json())).not.toContain('ABC123');
  });
  it('route coverage: share of planned segments served within 25 m, and the missed ones', async () => {
    const r = await get(`/api/history/coverage?deviceIds=truck-01&${range()}`, plan);
    expect(r.statusCode).toBe(200);
    const rows = r.json().rows as { date: string; planned: number; served: number; share: number; missed: { segmentId: string }[]; fixes: number }[];
    const day = rows.find((x) => x.fixes > 0)!;
    expect(day).toMatchObject({ planned: 2, served: 1, share: 0.5, missed: [{ segmentId: 's2', name: 'Calle s2' }] });
    expect((await get(`/api/history/coverage?routeId=nope&${range()}`, plan)).statusCode).toBe(404);
  });
  it('data completeness per station per day', async () => {
    const r = await get(`/api/history/completeness?deviceIds=air-01,noise-01&from=${fx.t0}&to=${fx.t0 + 3 * HOUR}`, plan);
    expect(r.statusCode).toBe(200);
    const rows = r.json().rows as { deviceId: string; received: number; expected: number }[];
    const sum = (id: string, k: 'received' | 'expected') => rows.filter((x) => x.deviceId === id).reduce((a, x) => a + x[k], 0);
    expect(sum('air-01', 'expected')).toBe(180);
    expect(sum('air-01', 'received')).toBe(179); // the 180th reading is at t0+3h, outside [from, to)
    expect(sum('noise-01', 'received')).toBe(179);
    expect((await get(`/api/history/completeness?deviceIds=ghost-01&${range()}`, plan)).statusCode).toBe(404);
  });
});

describe('exports', () => {
  it('runs a GPX track export in the background with progress and a download link', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/exports', headers: H(plan), payload: { kind: 'track', format: 'gpx', from: fx.t0, to: fx.t1, deviceIds: ['truck-01'] } });
    expect(r.statusCode).toBe(202);
    const job = r.json();
    expect(job.state).toMatch(/queued|running/);
    await t.app.exportJobs.wait(job.id);
    const done = (await get(`/api/exports/${job.id}`, plan)).json();
    expect(done).toMatchObject({ state: 'done', progress: 1, rows: 21, downloadUrl: `/api/exports/${job.id}/download` });
    // a browser link carries a one-time ticket, never the session token
    expect((await get(`${done.downloadUrl}?token=${plan}`)).statusCode).toBe(401);
    const tk = await t.app.inject({ method: 'POST', url: '/api/auth/ticket', headers: H(plan), payload: { path: done.downloadUrl } });
    expect(tk.statusCode).toBe(200);
    const file = await get(tk.json().url);
    expect((await get(tk.json().url)).statusCode).toBe(401); // used once
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toMatch(/gpx/);
    expect(file.body.match(/<trkpt /g)).toHaveLength(21);
    // CSV series export
    const s = await t.app.inject({
      method: 'POST',
      url: '/api/exports',
      headers: H(plan),
      payload: { kind: 'series', format: 'csv', stream: 'noise', field: 'laeq', windowMs: 600_000, from: fx.t0, to: fx.t1 },
    });
    await t.app.exportJobs.wait(s.json().id);
    const csv = await get(`/api/exports/${s.json().id}/download`, plan);
    expect(csv.body.split('\n')[0]).toBe('deviceId,t,time,mean,min,max,count');
    expect(csv.body.trim().split('\n')).toHaveLength(1 + 19);
    expect((await get('/api/exports', plan)).json().jobs.length).toBe(2);
  });
  it('400 for a bad format or body, 404 for another user and unknown jobs, 403 for investigators', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/exports', headers: H(plan), payload: { kind: 'series', format: 'gpx', from: fx.t0, to: fx.t1, stream: 'air', field: 'pm25' } });
    expect(bad.json().code).toBe('E_EXPORT_FORMAT');
    expect((await t.app.inject({ method: 'POST', url: '/api/exports', headers: H(plan), payload: { kind: 'track', format: 'csv', from: fx.t0 } })).statusCode).toBe(400);
    const mine = (await get('/api/exports', plan)).json().jobs[0].id;
    expect((await get(`/api/exports/${mine}`, op)).statusCode).toBe(404);
    expect((await get(`/api/exports/00000000-0000-4000-8000-000000000000`, plan)).statusCode).toBe(404);
    expect((await get(`/api/exports/not-a-uuid`, plan)).statusCode).toBe(400);
    expect((await get('/api/exports', inv)).statusCode).toBe(403);
  });
});

describe('error matrix: every route refuses wrong roles, bad parameters and unknown ids', () => {
  it('answers each case with the right status and code', async () => {
    const r = `from=${fx.t0}&to=${fx.t1}`;
    const cases: [string, string, string | undefined, number, string?][] = [
      ['GET', '/api/auth/me', undefined, 401, 'E_AUTH_REQUIRED'],
      ['GET', '/api/devices/NOT_AN_ID!', op, 404, 'E_DEVICE_UNKNOWN'],
      ['GET', '/api/alerts?limit=0', op, 400, 'E_REQUEST_VALIDATION'],
      ['GET', '/api/alerts', inv, 403, 'E_AUTH_FORBIDDEN'],
      ['POST', '/api/alerts/x/assign', op, 400, 'E_REQUEST_VALIDATION'],
      ['GET', '/api/hotlist', op, 403, 'E_AUTH_FORBIDDEN'],
      ['GET', '/api/hotlist.csv', inv, 403, 'E_AUTH_FORBIDDEN'],
      ['POST', '/api/hotlist/import?mode=wipe', boss, 400, 'E_REQUEST_VALIDATION'],
      ['GET', '/api/audit?limit=abc', boss, 400, 'E_REQUEST_VALIDATION'],
      ['GET', '/api/dead-letters/counts?from=yesterday', op, 400, 'E_REQUEST_VALIDATION'],
      ['GET', '/api/dead-letters/counts', plan, 403, 'E_AUTH_FORBIDDEN'],
      ['GET', `/api/history/events?deviceIds=ghost-01&${r}`, plan, 404, 'E_DEVICE_UNKNOWN'],
      ['GET', `/api/history/events?${r}`, inv, 403, 'E_AUTH_FORBIDDEN'],
      ['GET', `/api/history/plate-counts?cameraIds=air-01&${r}`, plan, 400, 'E_DEVICE_KIND'],
      ['GET', `/api/history/plate-counts?cameraIds=cam-99&${r}`, plan, 404, 'E_DEVICE_UNKNOWN'],
      ['GET', `/api/history/noise-exceedances?from=${fx.t0}`, plan, 400, 'E_REQUEST_VALIDATION'],
      ['GET', `/api/history/noise-exceedances?deviceIds=ghost-01&${r}`, plan, 404, 'E_DEVICE_UNKNOWN'],
      ['GET', `/api/history/air-index?${r}`, inv, 403, 'E_AUTH_FORBIDDEN'],
      ['GET', `/api/history/coverage?deviceIds=air-01&${r}`, plan, 400, 'E_DEVICE_KIND'],
      ['GET', `/api/history/coverage?${r}&radiusM=1`, plan, 400, 'E_REQUEST_VALIDATION'],
      ['GET', `/api/history/completeness?deviceIds=truck-01&${r}`, plan, 400, 'E_DEVICE_KIND'],
      ['GET', `/api/history/completeness?from=0&to=${400 * 86_400_000}`, plan, 400, 'E_QUERY_RANGE_TOO_LONG'],
      ['GET', `/api/history/series?stream=air&field=pm25&${r}&windowMs=1000`, plan, 200],
      ['GET', `/api/history/series?stream=air&field=pm25&from=0&to=${300 * 86_400_000}&windowMs=1000`, plan, 400, 'E_QUERY_TOO_MANY_BUCKETS'],
      ['GET', '/api/exports/00000000-0000-4000-8000-000000000000/download', plan, 404, 'E_EXPORT_UNKNOWN'],
      ['GET', '/api/exports/00000000-0000-4000-8000-000000000000/download', undefined, 401, 'E_AUTH_REQUIRED'],
      ['POST', '/api/exports', inv, 403, 'E_AUTH_FORBIDDEN'],
      ['GET', '/api/plates/search?plate=A&from=0&to=1&reason=caso-42', inv, 400, 'E_REQUEST_VALIDATION'],
      ['GET', `/api/plates/search?plate=ABC123&${r}&cameraIds=ghost-01&reason=caso-42`, inv, 200],
      ['GET', '/api/open/air?deviceIds=noise-01', undefined, 400, 'E_DEVICE_KIND'],
    ];
    for (const [method, url, tok, status, code] of cases) {
      const res = await t.app.inject({ method: method as 'GET', url, headers: tok ? H(tok) : {}, ...(method === 'POST' ? { payload: {} } : {}) });
      expect({ url, status: res.statusCode, code: res.statusCode >= 400 ? res.json().code : undefined }).toEqual({ url, status, code });
    }
  });
});

describe('server errors', () => {
  it('a failing store gives 500 E_API_INTERNAL without its error text, and the API keeps serving', async () => {
    const broken = await makeTestApi();
    try {
      const tok = await broken.token('plan');
      await broken.store.close(); // the real store, closed: every query now fails
      const r = await broken.app.inject({ url: `/api/history/track?deviceId=truck-01&from=${fx.t0}&to=${fx.t1}`, headers: H(tok) });
      expect(r.statusCode).toBe(500);
      expect(r.json()).toEqual({ statusCode: 500, code: 'E_API_INTERNAL', error: 'Internal Server Error', message: 'internal error; see the server log' });
      expect(r.body).not.toMatch(/duckdb|closed|connection/i);
      const h = await broken.app.inject('/health');
      expect(h.statusCode).toBe(503);
      expect(h.json().store.ok).toBe(false);
      expect((await broken.app.inject({ url: '/api/auth/me', headers: H(tok) })).statusCode).toBe(200);
    } finally {
      await broken.app.close();
      broken.registry.close();
    }
  });
});

describe('open data', () => {
  it('hourly air and noise aggregates per station, public, JSON and CSV, never plates', async () => {
    const air = await get(`/api/open/air?${`from=${fx.t0}&to=${fx.t1}`}`);
    expect(air.statusCode).toBe(200);
    const body = air.json();
    expect(body.units.pm25).toBe('µg/m³');
    expect(body.rows[1]).toMatchObject({ deviceId: 'air-01', district: 'Centro', hour: new Date(fx.t0 + HOUR).toISOString(), pm25: 80, readings: 60 });
    const noise = await get(`/api/open/noise?from=${fx.t0}&to=${fx.t1}&format=csv`);
    expect(noise.headers['content-type']).toMatch(/text\/csv/);
    expect(noise.body.split('\n')[0]).toBe('deviceId,district,lat,lon,hour,readings,laeq,lamax,lamin');
    expect(noise.body).toContain(',60,72,48');
    for (const b of [air.body, noise.body]) expect(b).not.toMatch(/ABC123|plate/i);
  });
  it('400 for a bad range, 404 for an unknown station', async () => {
    expect((await get(`/api/open/air?from=${fx.t0}&to=${fx.t0 + 40 * 86_400_000}`)).json().code).toBe('E_QUERY_RANGE_TOO_LONG');
    expect((await get('/api/open/air?format=xml')).statusCode).toBe(400);
    expect((await get('/api/open/noise?deviceIds=ghost-01')).statusCode).toBe(404);
  });
});
