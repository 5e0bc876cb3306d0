/**
 * Two stateless API nodes (startApi twice, as two processes behind a balancer would be) on one
 * real PostgreSQL ops database (OPS_DB_URL, testing/postgres.ts), driven over HTTP like the
 * console does: a user created or a password changed on node 1 logs in on node 2; a one-time
 * ticket issued by node 1 opens the live stream on node 2, once; two operators acknowledging one
 * alert on the two nodes at once — one wins, the other gets 409 and the history holds one ack;
 * both nodes write one audit log. Skipped loudly where PostgreSQL is not installed (fails in CI).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AlertEvent } from '../../contract';
import { RegistryView } from '../../registry/registry';
import { loadConfig } from '../../lib/config';
import { openDuckDbStore } from '../../store/duckdb/index';
import type { TelemetryStore } from '../../store/types';
import { tempDir, waitFor } from '../../testing/net';
import { postgresSuiteGate, startPostgres, type PostgresServer } from '../../testing/postgres';
import { writeTestRegistry } from '../../testing/registry-fixture';
import { DEMO_HOTLIST } from '../../demo/demo-registry';
import { startApi } from './index';
import { demoGeofencesFor } from '../../demo/seeds';
import { USERS, testCity } from './test-support';

const run = postgresSuiteGate('two API nodes on one PostgreSQL ops DB');

describe.runIf(run)('two API nodes on one PostgreSQL ops database', () => {
  let pg: PostgresServer;
  let store: TelemetryStore;
  let registry: RegistryView;
  const nodes: Awaited<ReturnType<typeof startApi>>[] = [];
  const base = (i: number) => `http://127.0.0.1:${nodes[i]!.port}`;

  const call = async (i: number, method: string, url: string, token?: string, body?: unknown) => {
    const r = await fetch(`${base(i)}${url}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  };
  const login = async (i: number, username: string, password: string) => call(i, 'POST', '/api/auth/login', undefined, { username, password });
  const tokenOf = async (i: number, username: string) => {
    const r = await login(i, username, USERS.find((u) => u.username === username)!.password);
    expect(r.status).toBe(200);
    return String(r.body.token);
  };

  beforeAll(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase('ops_cluster');
    const dir = tempDir('ops-cluster-');
    registry = new RegistryView(writeTestRegistry(dir));
    store = await openDuckDbStore({ file: ':memory:' });
    await store.init();
    // the nodes start at once (both migrate the empty database and seed the users)
    nodes.push(
      ...(await Promise.all(
        [1, 2].map((n) =>
          startApi({
            cfg: loadConfig({}, { DATA_DIR: tempDir(`ops-node${n}-`), OPS_DB_URL: url }),
            store,
            registry,
            city: testCity(),
            users: USERS,
            seedHotlist: DEMO_HOTLIST.map((e) => ({ ...e })),
            seedGeofences: demoGeofencesFor(registry, testCity()),
            // every node signs and checks session tokens with the same key (JWT_SECRET)
            jwtSecret: 'cluster-test-secret-1234',
            port: 0,
          }),
        ),
      )),
    );
  }, 180_000);

  afterAll(async () => {
    for (const n of nodes) await n.stop();
    await store?.close();
    registry?.close();
    await pg?.stop();
  }, 60_000);

  it('/health on both nodes reports the shared ops DB', async () => {
    for (const i of [0, 1]) {
      const r = await call(i, 'GET', '/health');
      expect(r.status).toBe(200);
      expect(r.body.opsDb).toEqual({ ok: true });
    }
  });

  it("the first start's seeds (hotlist, geofences) are applied once though both nodes started at once", async () => {
    const boss = await tokenOf(0, 'boss');
    const audit = await call(1, 'GET', '/api/audit?limit=100', boss);
    const actions = (audit.body.entries as { action: string }[]).map((e) => e.action);
    expect(actions.filter((a) => a === 'hotlist_seed')).toHaveLength(1);
    expect(actions.filter((a) => a === 'geofence_seed')).toHaveLength(1);
    for (const n of nodes) {
      expect((await n.app.hotlist.current()).version).toBe(1);
      expect((await n.app.geofences.current()).version).toBe(1);
    }
  });

  it('a user created on node 1 logs in on node 2; a password reset on node 1 is the one node 2 accepts; disabled on node 1, refused on node 2', async () => {
    const boss1 = await tokenOf(0, 'boss');
    const created = await call(0, 'POST', '/api/users', boss1, { username: 'ana.ruiz', role: 'operator', password: 'contraseña-inicial' });
    expect(created.status).toBe(201);
    // her session from node 1 works on node 2 at once (node 2 has not seen her yet)
    const fromNode1 = await login(0, 'ana.ruiz', 'contraseña-inicial');
    expect(fromNode1.status).toBe(200);
    expect((await call(1, 'GET', '/api/auth/me', String(fromNode1.body.token))).body).toEqual({ username: 'ana.ruiz', role: 'operator' });
    const first = await login(1, 'ana.ruiz', 'contraseña-inicial');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ role: 'operator', username: 'ana.ruiz' });
    // a second node cannot create the same user again
    const boss2 = await tokenOf(1, 'boss');
    expect((await call(1, 'POST', '/api/users', boss2, { username: 'ana.ruiz', role: 'planner', password: 'otra-contraseña' })).status).toBe(409);
    expect((await call(0, 'POST', '/api/users/ana.ruiz/password', boss1, { password: 'contraseña-nueva' })).status).toBe(200);
    expect((await login(1, 'ana.ruiz', 'contraseña-inicial')).status).toBe(401);
    expect((await login(1, 'ana.ruiz', 'contraseña-nueva')).status).toBe(200);
    // node 2's user list shows her
    const listed = await call(1, 'GET', '/api/users', boss2);
    expect((listed.body.users as { username: string }[]).map((u) => u.username)).toContain('ana.ruiz');
    // her session from node 2 stops working once node 1 disables her
    const anaToken = String(first.body.token);
    expect((await call(1, 'GET', '/api/auth/me', anaToken)).status).toBe(200);
    expect((await call(0, 'POST', '/api/users/ana.ruiz/disable', boss1, { disabled: true })).status).toBe(200);
    expect((await login(1, 'ana.ruiz', 'contraseña-nueva')).status).toBe(401);
    await waitFor(async () => (await call(1, 'GET', '/api/auth/me', anaToken)).status === 401, 10_000, 100, 'node 2 refuses the disabled user');
  }, 60_000);

  it('a one-time ticket issued by node 1 opens the live stream on node 2, and only once', async () => {
    const op = await tokenOf(0, 'op');
    const t = await call(0, 'POST', '/api/auth/ticket', op, { path: '/api/live' });
    expect(t.status).toBe(200);
    const ws = new WebSocket(`ws://127.0.0.1:${nodes[1]!.port}${String(t.body.url)}`);
    const first = await new Promise<string>((res, rej) => {
      ws.once('message', (d: Buffer) => res(d.toString('utf8')));
      ws.once('error', rej);
      ws.once('unexpected-response', (_q, r) => rej(new Error(`upgrade refused: ${r.statusCode}`)));
    });
    expect(JSON.parse(first)).toMatchObject({ type: 'snapshot' });
    ws.close();
    for (const i of [0, 1]) {
      const again = new WebSocket(`ws://127.0.0.1:${nodes[i]!.port}${String(t.body.url)}`);
      again.on('error', () => undefined);
      const status = await new Promise<number>((res) => again.on('unexpected-response', (_q, r) => res(r.statusCode ?? 0)));
      expect(status).toBe(401);
    }
  }, 30_000);

  it('two operators acknowledge one alert on two nodes at once: one 200, one 409, one ack in the history', async () => {
    // two operators: op, and lucia created for this case
    const boss = await tokenOf(0, 'boss');
    expect((await call(0, 'POST', '/api/users', boss, { username: 'lucia', role: 'operator', password: 'contraseña-lucia' })).status).toBe(201);
    const op1 = await tokenOf(0, 'op');
    const l = await login(1, 'lucia', 'contraseña-lucia');
    expect(l.status).toBe(200);
    const op2 = String(l.body.token);
    for (let round = 0; round < 3; round++) {
      const id = `air_quality.aq-001.c${round}`;
      const open: AlertEvent = { alertId: id, event: 'open', at: Date.now(), rule: 'air_quality', severity: 'warning', deviceId: 'aq-001', kind: 'air', district: 'Centro', title: 'PM2.5 high' };
      // the alert event as ingest publishes it reaches both nodes
      await Promise.all(nodes.map((n) => n.app.alerts.apply(open)));
      // both consoles show it open
      for (const i of [0, 1]) expect((await call(i, 'GET', `/api/alerts/${id}`, op1)).body.state).toBe('open');
      const [a, b] = await Promise.all([call(0, 'POST', `/api/alerts/${id}/ack`, op1, { note: 'voy' }), call(1, 'POST', `/api/alerts/${id}/ack`, op2, { note: 'yo también' })]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const lost = a.status === 409 ? a : b;
      expect(lost.body).toMatchObject({ code: 'E_ALERT_STATE' });
      expect(String(lost.body.message)).toMatch(/acknowledged/);
      for (const i of [0, 1]) {
        const got = await call(i, 'GET', `/api/alerts/${id}`, op1);
        expect(got.body.state).toBe('acknowledged');
        const hist = got.body.history as { event: string }[];
        expect(hist.map((h) => h.event)).toEqual(['open', 'acknowledge']);
      }
    }
  }, 60_000);

  it("both nodes write one audit log: the admin reads either node's actions on either node", async () => {
    const [boss1, boss2] = [await tokenOf(0, 'boss'), await tokenOf(1, 'boss')];
    expect((await call(0, 'POST', '/api/users', boss1, { username: 'beto', role: 'planner', password: 'contraseña-beto' })).status).toBe(201);
    expect((await call(1, 'POST', '/api/users/beto/password', boss2, { password: 'contraseña-beto-2' })).status).toBe(200);
    for (const i of [0, 1]) {
      const r = await call(i, 'GET', '/api/audit?limit=50', i === 0 ? boss1 : boss2);
      expect(r.status).toBe(200);
      const entries = r.body.entries as { action: string; query: { username?: string } }[];
      const beto = entries.filter((e) => e.query.username === 'beto').map((e) => e.action);
      expect(beto).toEqual(['user_password_reset', 'user_create']);
    }
  }, 30_000);
});
