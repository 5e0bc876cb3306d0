/**
 * The alarm-table workflow of the API against a real broker (Aedes over TCP), a real DuckDB ops
 * file and the real rule of the hotlist: alerts arrive as AlertEvents with code + params published
 * by the `ingest` service account; operators filter, comment, assign, bulk-acknowledge and
 * bulk-resolve; every action is in the alert's history and published on svc/alerts; the plate of
 * a hotlist hit is revealed to an operator on request and the reveal is audit-logged.
 * 400 / 403 / 404 / 409 for what is wrong; code + params survive a restart of the API.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { svcTopics, type AlertEvent } from '../../contract';
import { waitFor } from '../../testing/net';
import { TEST_PASSWORD } from '../../testing/registry-fixture';
import type { Alert } from '../shared/live';
import { openOpsDb } from './plugins/app/ops-db';
import { createAlertsRepo } from './plugins/app/alerts-repo';
import { PLATE_HIDDEN } from './lib/alert-redact';
import { USERS, startConsoleStack, type ConsoleStack } from './test-support';

let stack: ConsoleStack;
let ingest: MqttClient;
let watcher: MqttClient;
let opsFile: string;
const seen: AlertEvent[] = [];
const tokens = new Map<string, string>();
const T0 = Date.now() - 3_600_000;

const base = () => `http://127.0.0.1:${stack.api.port}`;
async function token(username: string): Promise<string> {
  if (!tokens.has(username)) {
    const u = USERS.find((x) => x.username === username)!;
    const r = await fetch(`${base()}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: u.password }) });
    tokens.set(username, ((await r.json()) as { token: string }).token);
  }
  return tokens.get(username)!;
}
async function call(user: string, method: string, url: string, body?: unknown) {
  const r = await fetch(`${base()}${url}`, {
    method,
    headers: { authorization: `Bearer ${await token(user)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> & { alerts?: Alert[]; code?: string } };
}

const ev = (alertId: string, over: Partial<AlertEvent>): AlertEvent => ({
  alertId,
  event: 'open',
  at: T0,
  rule: 'noise',
  severity: 'warning',
  deviceId: 'noise-01',
  kind: 'noise',
  district: 'Centro',
  title: 'english fallback',
  ...over,
});
const ALERTS: AlertEvent[] = [
  ev('noise.noise-01.1', { code: 'noise', params: { laeq: 72.4, limitDb: 50, period: 'night', zone: 'residential', minutes: 12 } }),
  ev('battery_low.air-01.1', { rule: 'battery_low', deviceId: 'air-01', kind: 'air', district: 'Norte', at: T0 + 60_000, code: 'battery_low', params: { pct: 9 } }),
  ev('truck_idle.truck-01.1', { rule: 'truck_idle', deviceId: 'truck-01', kind: 'truck', severity: 'warning', at: T0 + 120_000, code: 'truck_idle', params: { minutes: 14 } }),
  ev('hotlist.cam-01.ABC1234.1', {
    rule: 'hotlist',
    deviceId: 'cam-01',
    kind: 'camera',
    severity: 'critical',
    at: T0 + 180_000,
    title: 'Hotlisted plate ABC-1234 (VER) entering',
    code: 'hotlist',
    params: { plate: 'ABC-1234', region: 'VER', direction: 'entering', road: 'Carretera 180', reason: 'robo' },
    detail: { plate: 'ABC-1234', region: 'VER' },
  }),
];

beforeAll(async () => {
  stack = await startConsoleStack('console-alerts-', { jwtSecret: 'alerts-test' });
  // a real ops DB file: reopened at the end to check what was stored
  opsFile = path.join(stack.dir, 'ops.duckdb');
  await stack.api.stop();
  const { startApi } = await import('./index');
  const { loadConfig } = await import('../../lib/config');
  stack.api = await startApi({
    cfg: loadConfig({}, { DATA_DIR: stack.dir }),
    store: stack.store,
    registry: stack.registry,
    opsDbFile: opsFile,
    users: USERS,
    jwtSecret: 'alerts-test',
    mqtt: { url: `mqtt://127.0.0.1:${stack.broker.port}`, username: 'console', password: TEST_PASSWORD('console') },
    port: 0,
  });
  await waitFor(async () => (await fetch(`${base()}/health`)).status === 200, 10_000, 50, 'API up');
  const connect = (u: string) =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${stack.broker.port}`, { username: u, password: TEST_PASSWORD(u), clientId: `${u}-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 0 });
  ingest = await connect('ingest');
  watcher = await connect('nodered');
  watcher.on('message', (_t, p) => seen.push(JSON.parse(String(p)) as AlertEvent));
  await watcher.subscribeAsync(svcTopics.alertAll, { qos: 1 });
  for (const a of ALERTS) await ingest.publishAsync(svcTopics.alert(a.alertId), JSON.stringify(a), { qos: 1 });
  await waitFor(async () => ((await call('op', 'GET', '/api/alerts')).body.alerts ?? []).length === ALERTS.length, 15_000, 100, 'alerts stored');
}, 60_000);

afterAll(async () => {
  await ingest?.endAsync();
  await watcher?.endAsync();
  await stack?.stop();
});

describe('alert workflow', () => {
  it('keeps code and params from the rule, and filters by rule, kind, district, severity, state and time', async () => {
    const all = (await call('op', 'GET', '/api/alerts')).body.alerts!;
    expect(all.find((a) => a.id === 'noise.noise-01.1')).toMatchObject({ code: 'noise', params: { laeq: 72.4, period: 'night' } });
    const ids = async (q: string) => ((await call('op', 'GET', `/api/alerts?${q}`)).body.alerts ?? []).map((a) => a.id).sort();
    expect(await ids('rule=battery_low')).toEqual(['battery_low.air-01.1']);
    expect(await ids('kind=truck')).toEqual(['truck_idle.truck-01.1']);
    expect(await ids('district=Norte')).toEqual(['battery_low.air-01.1']);
    expect(await ids('code=truck_idle')).toEqual(['truck_idle.truck-01.1']);
    expect((await ids('severity=critical')).length).toBe(1);
    expect(await ids(`to=${T0 + 90_000}`)).toEqual(['battery_low.air-01.1', 'noise.noise-01.1']);
    expect(await ids('state=resolved')).toEqual([]);
    expect((await call('op', 'GET', '/api/alerts?kind=boat')).status).toBe(400);
    expect((await call('op', 'GET', '/api/alerts?from=-5')).status).toBe(400);
  });

  it('operators comment (author and time) and assign; both in the history and published on svc/alerts', async () => {
    const c = await call('op', 'POST', '/api/alerts/noise.noise-01.1/comment', { note: 'patrulla enviada' });
    expect(c.status).toBe(200);
    const users = await call('op', 'GET', '/api/alerts/assignees');
    expect(users.status).toBe(200);
    const people = (users.body.users as { username: string; role: string }[]).map((u) => u.username);
    expect(people).toEqual(USERS.map((u) => u.username));
    const as = await call('op', 'POST', '/api/alerts/noise.noise-01.1/assign', { assignee: 'boss' });
    expect(as.body.assignee).toBe('boss');
    const one = (await call('plan', 'GET', '/api/alerts/noise.noise-01.1')).body as unknown as Alert;
    const h = one.history;
    expect(h.map((x) => x.event)).toEqual(['open', 'comment', 'assign']);
    expect(h[1]).toMatchObject({ event: 'comment', by: 'op', note: 'patrulla enviada' });
    expect(h[1]!.at).toBeGreaterThan(T0);
    expect(h[2]).toMatchObject({ event: 'assign', by: 'op', assignee: 'boss' });
    await waitFor(
      () => seen.some((e) => e.event === 'comment' && e.alertId === 'noise.noise-01.1' && e.by === 'op' && e.note === 'patrulla enviada' && e.code === 'noise'),
      10_000,
      50,
      'comment on svc/alerts',
    );
    await waitFor(() => seen.some((e) => e.event === 'assign' && e.assignee === 'boss'), 10_000, 50, 'assign on svc/alerts');
  });

  it('the new routes are in the OpenAPI document with their schemas', async () => {
    const doc = (await (await fetch(`${base()}/docs/json`)).json()) as { paths: Record<string, Record<string, { requestBody?: unknown; responses?: Record<string, unknown> }>> };
    for (const [p, m] of [
      ['/api/alerts/bulk', 'post'],
      ['/api/alerts/{id}/comment', 'post'],
      ['/api/alerts/{id}/reveal', 'post'],
      ['/api/alerts/assignees', 'get'],
    ] as const) {
      expect(doc.paths[p]?.[m], `${m} ${p}`).toBeDefined();
      expect(Object.keys(doc.paths[p]![m]!.responses ?? {})).toEqual(expect.arrayContaining(['200', '401', '403']));
    }
    expect(doc.paths['/api/alerts/bulk']!.post!.requestBody).toBeDefined();
  });

  it('refuses what is wrong: no note (400), a planner (403), unknown alerts (404), wrong state (409)', async () => {
    expect((await call('op', 'POST', '/api/alerts/noise.noise-01.1/comment', {})).status).toBe(400);
    expect((await call('op', 'POST', '/api/alerts/noise.noise-01.1/comment', { note: '' })).status).toBe(400);
    expect((await call('plan', 'POST', '/api/alerts/noise.noise-01.1/comment', { note: 'x' })).status).toBe(403);
    expect((await call('plan', 'GET', '/api/alerts/assignees')).status).toBe(403);
    const nf = await call('op', 'POST', '/api/alerts/nope/comment', { note: 'x' });
    expect(nf).toMatchObject({ status: 404, body: { code: 'E_ALERT_UNKNOWN' } });
    expect((await call('op', 'POST', '/api/alerts/bulk', { ids: ['noise.noise-01.1'], action: 'resolve' })).body.code).toBe('E_ALERT_NOTE_REQUIRED');
    expect((await call('op', 'POST', '/api/alerts/bulk', { ids: ['noise.noise-01.1'], action: 'assign' })).body.code).toBe('E_ALERT_ASSIGNEE_REQUIRED');
    // assignees are console users (the picker lists them): anyone else is refused, per alert in bulk
    expect((await call('op', 'POST', '/api/alerts/noise.noise-01.1/assign', { assignee: 'nodered' })).body.code).toBe('E_USER_UNKNOWN');
    const bulkUnknown = await call('op', 'POST', '/api/alerts/bulk', { ids: ['noise.noise-01.1'], action: 'assign', assignee: 'ghost' });
    expect(bulkUnknown.body).toMatchObject({ done: 0, failed: 1, results: [{ ok: false, code: 'E_USER_UNKNOWN' }] });
    expect((await call('op', 'POST', '/api/alerts/bulk', { ids: [], action: 'ack' })).status).toBe(400);
    expect((await call('op', 'POST', '/api/alerts/bulk', { ids: ['a'], action: 'explode' })).status).toBe(400);
    expect((await call('plan', 'POST', '/api/alerts/bulk', { ids: ['noise.noise-01.1'], action: 'ack' })).status).toBe(403);
  });

  it('bulk acknowledge answers per alert (unknown → E_ALERT_UNKNOWN), bulk resolve needs and keeps the note', async () => {
    const ack = await call('op', 'POST', '/api/alerts/bulk', { ids: ['noise.noise-01.1', 'battery_low.air-01.1', 'nope'], action: 'ack' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ done: 2, failed: 1 });
    const results = ack.body.results as { id: string; ok: boolean; code?: string; alert?: Alert }[];
    expect(results.find((r) => r.id === 'nope')).toMatchObject({ ok: false, code: 'E_ALERT_UNKNOWN' });
    expect(results.filter((r) => r.ok).every((r) => r.alert!.state === 'acknowledged')).toBe(true);
    // again: already acknowledged → 409 per alert
    const again = await call('op', 'POST', '/api/alerts/bulk', { ids: ['noise.noise-01.1'], action: 'ack' });
    expect((again.body.results as { code?: string }[])[0]!.code).toBe('E_ALERT_STATE');
    const res = await call('op', 'POST', '/api/alerts/bulk', { ids: ['noise.noise-01.1', 'battery_low.air-01.1'], action: 'resolve', note: 'atendidas en campo' });
    expect(res.body).toMatchObject({ done: 2, failed: 0 });
    for (const id of ['noise.noise-01.1', 'battery_low.air-01.1']) {
      const a = (await call('op', 'GET', `/api/alerts/${id}`)).body as unknown as Alert;
      expect(a.state).toBe('resolved');
      expect(a.history.at(-1)).toMatchObject({ event: 'resolve', by: 'op', note: 'atendidas en campo' });
    }
    expect(((await call('op', 'GET', '/api/alerts?state=resolved')).body.alerts ?? []).length).toBe(2);
    // a comment on a resolved alert is still allowed
    expect((await call('op', 'POST', '/api/alerts/noise.noise-01.1/comment', { note: 'vecinos avisados' })).status).toBe(200);
    await waitFor(() => seen.filter((e) => e.event === 'resolve').length >= 2, 10_000, 50, 'resolves on svc/alerts');
  });

  it('a hotlist hit: operators see it redacted, reveal the plate with one audited call; planners may not', async () => {
    const hit = ((await call('op', 'GET', '/api/alerts?rule=hotlist')).body.alerts ?? [])[0]!;
    expect(hit.params!.plate).toBe(PLATE_HIDDEN);
    expect(JSON.stringify(hit)).not.toMatch(/ABC-?1234/);
    const r = await call('op', 'POST', `/api/alerts/${encodeURIComponent(hit.id)}/reveal`);
    expect(r).toMatchObject({ status: 200, body: { plate: 'ABC-1234', region: 'VER', alertId: hit.id } });
    expect((await call('plan', 'POST', `/api/alerts/${encodeURIComponent(hit.id)}/reveal`)).status).toBe(403);
    expect((await call('op', 'POST', '/api/alerts/nope/reveal')).status).toBe(404);
    const noPlate = await call('op', 'POST', '/api/alerts/truck_idle.truck-01.1/reveal');
    expect(noPlate).toMatchObject({ status: 409, body: { code: 'E_ALERT_NO_PLATE' } });
    const audit = await call('boss', 'GET', '/api/audit?action=alert_plate_reveal');
    const entries = (audit.body.entries ?? audit.body.audit ?? []) as { actor: string; role: string; query: { alertId: string } }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'op', role: 'operator', query: { alertId: hit.id } });
    expect(JSON.stringify(entries)).not.toMatch(/ABC-?1234/);
  });

  it('code, params and the history (assignee included) are in the ops DB file after the API stops', async () => {
    await stack.api.stop();
    const db = await openOpsDb(opsFile);
    try {
      const repo = await createAlertsRepo(db);
      const a = (await repo.get('noise.noise-01.1'))!;
      expect(a).toMatchObject({ code: 'noise', params: { zone: 'residential' }, state: 'resolved', assignee: 'boss' });
      expect(a.history.map((h) => h.event)).toEqual(['open', 'comment', 'assign', 'acknowledge', 'resolve', 'comment']);
      expect(a.history[2]!.assignee).toBe('boss');
    } finally {
      await db.close();
    }
    stack.api = { ...stack.api, stop: async () => undefined };
  });

  it('an ops DB of the previous version (no code/params columns) opens and is migrated', async () => {
    const file = path.join(stack.dir, 'old-ops.duckdb');
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(file);
    const conn = await inst.connect();
    await conn.run(`CREATE TABLE alerts (id VARCHAR PRIMARY KEY, rule VARCHAR, severity VARCHAR, state VARCHAR, device_id VARCHAR, kind VARCHAR,
      district VARCHAR, title VARCHAR, detail VARCHAR, opened_at BIGINT, updated_at BIGINT, assignee VARCHAR, escalated BOOLEAN)`);
    await conn.run(`CREATE TABLE alert_history (alert_id VARCHAR, event VARCHAR, at_ms BIGINT, by_whom VARCHAR, note VARCHAR)`);
    await conn.run(`INSERT INTO alerts VALUES ('old.1','offline','warning','open','air-01','air','Centro','air-01 offline',NULL,1,1,NULL,false)`);
    await conn.run(`INSERT INTO alert_history VALUES ('old.1','open',1,NULL,NULL)`);
    conn.closeSync();
    inst.closeSync();
    const db = await openOpsDb(file);
    try {
      const repo = await createAlertsRepo(db);
      expect(repo.active().map((a) => a.id)).toEqual(['old.1']);
      expect(repo.active()[0]!.code).toBeUndefined();
      const next = await repo.apply(ev('old.1', { event: 'update', at: 2, rule: 'offline', deviceId: 'air-01', kind: 'air', code: 'offline.last_will', params: {} }));
      expect(next).toMatchObject({ code: 'offline.last_will', params: {} });
    } finally {
      await db.close();
    }
    expect(fs.existsSync(file)).toBe(true);
  });
});

describe('live hub: the device issue', () => {
  it("carries ingest's issue (why a device is not reporting normally) over later states, and clears it on null", async () => {
    const { LiveHub } = await import('./plugins/app/live-hub');
    const { createApiMetrics } = await import('./plugins/app/metrics');
    const hub = new LiveHub(() => [], createApiMetrics(), { tickMs: 60_000 }, { alertsFor: (a) => a });
    const s = (extra: Record<string, unknown>, ts: number) => ({
      deviceId: 'air-01',
      kind: 'air' as const,
      district: 'Centro',
      latest: { status: { ts, late: false, data: { ts } } },
      lastSeen: ts,
      ...extra,
    });
    const issue = { code: 'clock_skew.rejected', reason: 'future_timestamp', since: 1, lastAt: 1 };
    hub.updateState(s({ issue }, 1));
    hub.updateState(s({}, 2));
    expect((hub.states.get('air-01') as { issue?: unknown }).issue).toEqual(issue);
    hub.updateState(s({ issue: null }, 3));
    expect((hub.states.get('air-01') as { issue?: unknown }).issue).toBeNull();
    hub.close();
  });

  it('GET /api/devices/:id says why (issue) next to online, from the live state ingest publishes', async () => {
    const { makeTestApi } = await import('./test-support');
    const t = await makeTestApi();
    try {
      const tok = await t.token('op');
      const ts = Date.now();
      const st = (issue: unknown) => ({ deviceId: 'air-01', kind: 'air' as const, district: 'Centro', latest: {}, online: true, lastSeen: ts, issue }) as never;
      t.app.live.updateState(st({ code: 'credentials_refused', reason: 'bad_password', since: ts - 1000, lastAt: ts }));
      const one = await t.app.inject({ method: 'GET', url: '/api/devices/air-01', headers: { authorization: `Bearer ${tok}` } });
      expect(one.json()).toMatchObject({ online: true, issue: { code: 'credentials_refused', reason: 'bad_password', since: ts - 1000 } });
      const list = await t.app.inject({ method: 'GET', url: '/api/devices', headers: { authorization: `Bearer ${tok}` } });
      expect((list.json() as { devices: { id: string; issue?: unknown }[] }).devices.find((d) => d.id === 'air-01')!.issue).toMatchObject({ code: 'credentials_refused' });
      t.app.live.updateState(st(null));
      const cleared = await t.app.inject({ method: 'GET', url: '/api/devices/air-01', headers: { authorization: `Bearer ${tok}` } });
      expect(cleared.json().issue).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
