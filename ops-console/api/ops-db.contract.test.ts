/**
 * The ops DB's repositories against both backends: the embedded DuckDB file (the default) and a
 * real PostgreSQL 15 (testing/postgres.ts, OPS_DB_URL). The same cases run on each; "two nodes"
 * are two repositories over the database (for PostgreSQL two pools, as two API processes have).
 * PostgreSQL cases skip with a loud message where the server binary is absent (fail in CI).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent, GeofenceEvent } from '../../contract';
import { tempDir, waitFor } from '../../testing/net';
import { postgresSuiteGate, startPostgres, type PostgresServer } from '../../testing/postgres';
import { usersInDbFromList } from './lib/users';
import { createAlertsRepo } from './plugins/app/alerts-repo';
import { createAuditRepo } from './plugins/app/audit-repo';
import { createGeofenceRepo } from './plugins/app/geofences-repo';
import { createHotlistRepo } from './plugins/app/hotlist-repo';
import { openOpsDb, openPgOpsDb, statements, type OpsDb } from './plugins/app/ops-db';
import { createReportsRepo, SCHEMA as REPORTS_SCHEMA } from './plugins/app/reports-repo';
import { createDbTickets } from './plugins/app/tickets';

const pgOk = postgresSuiteGate('ops DB contract (PostgreSQL)');
let server: PostgresServer | undefined;
let dbs = 0;
const opened: OpsDb[] = [];

beforeAll(async () => {
  if (pgOk) server = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const db of opened) await db.close().catch(() => undefined);
  await server?.stop();
}, 60_000);

interface Fresh {
  db: OpsDb;
  /** another node's handle on the same database (DuckDB: the same handle — one process owns the file) */
  second(): Promise<OpsDb>;
  /** a new handle after closing this one (a restart) */
  reopen(): Promise<OpsDb>;
}

const keep = (db: OpsDb) => (opened.push(db), db);

const backends: { name: string; fresh(): Promise<Fresh> }[] = [
  {
    name: 'duckdb',
    async fresh() {
      const file = path.join(tempDir('opsdb-contract-'), 'ops.duckdb');
      const db = keep(await openOpsDb(file));
      for (const s of statements(REPORTS_SCHEMA)) await db.run(s);
      return { db, second: async () => db, reopen: async () => (await db.close(), keep(await openOpsDb(file))) };
    },
  },
  ...(pgOk
    ? [
        {
          name: 'postgres',
          async fresh(): Promise<Fresh> {
            const url = await server!.createDatabase(`ops_contract_${++dbs}`);
            const db = keep(await openPgOpsDb(url));
            for (const s of statements(REPORTS_SCHEMA)) await db.run(s);
            return { db, second: async () => keep(await openPgOpsDb(url)), reopen: async () => (await db.close(), keep(await openPgOpsDb(url))) };
          },
        },
      ]
    : []),
];

const ev = (event: AlertEvent['event'], at: number, extra: Partial<AlertEvent> = {}): AlertEvent => ({
  alertId: 'air_quality.aq-001.1',
  event,
  at,
  rule: 'air_quality',
  severity: 'warning',
  deviceId: 'aq-001',
  kind: 'air',
  district: 'Centro',
  title: 'PM2.5 high',
  code: 'aq.pm25_high',
  params: { value: 80 },
  ...extra,
});

describe.each(backends)('ops DB on $name', (backend) => {
  it('migrations are idempotent: a reopened database keeps its rows', async () => {
    const f = await backend.fresh();
    await createAuditRepo(f.db).write({ actor: 'boss', role: 'admin', action: 'plate_search', query: { plate: 'ABC' }, resultCount: 1, detail: null });
    const again = await f.reopen();
    for (const s of statements(REPORTS_SCHEMA)) await again.run(s);
    const rows = await createAuditRepo(again).list({ limit: 10 });
    expect(rows.map((r) => r.query)).toEqual([{ plate: 'ABC' }]);
    expect(await again.ping()).toBe(true);
  }, 60_000);

  it('alerts: fold, store, filter; a redelivered event changes nothing; a reopened repo loads the active ones', async () => {
    const f = await backend.fresh();
    const repo = await createAlertsRepo(f.db);
    const t0 = 1_800_000_000_000;
    expect((await repo.apply(ev('open', t0)))?.state).toBe('open');
    expect(await repo.apply(ev('open', t0))).toBeNull();
    await repo.apply(ev('update', t0 + 1000, { severity: 'critical', params: { value: 120 } }));
    const acked = await repo.apply(ev('acknowledge', t0 + 2000, { by: 'op' }), { from: ['open'] });
    expect(acked).toMatchObject({ state: 'acknowledged', severity: 'critical', params: { value: 120 } });
    await repo.apply(ev('open', t0, { alertId: 'noise.ns-1.1', rule: 'noise', deviceId: 'ns-1', kind: 'noise', district: 'Norte' }));
    expect((await repo.list({ state: ['acknowledged'], limit: 10 })).map((a) => a.id)).toEqual(['air_quality.aq-001.1']);
    expect((await repo.list({ district: 'Norte', limit: 10 })).map((a) => a.id)).toEqual(['noise.ns-1.1']);
    expect((await repo.list({ from: t0 + 1500, limit: 10 })).map((a) => a.id)).toEqual(['air_quality.aq-001.1']);
    const reloaded = await createAlertsRepo(await f.reopen());
    expect(
      reloaded
        .active()
        .map((a) => a.id)
        .sort(),
    ).toEqual(['air_quality.aq-001.1', 'noise.ns-1.1']);
    const a = await reloaded.get('air_quality.aq-001.1');
    expect(a?.history.map((h) => h.event)).toEqual(['open', 'update', 'acknowledge']);
    await reloaded.apply(ev('resolve', t0 + 3000, { by: 'op', note: 'ok' }), { from: ['open', 'acknowledged'] });
    expect(reloaded.active().map((x) => x.id)).toEqual(['noise.ns-1.1']);
    // a transition from a state the alert is not in: 409, and no trace in the history
    await expect(reloaded.apply(ev('acknowledge', t0 + 4000, { by: 'op' }), { from: ['open'] })).rejects.toMatchObject({ statusCode: 409, code: 'E_ALERT_STATE' });
    expect((await reloaded.get('air_quality.aq-001.1'))?.history.map((h) => h.event)).toEqual(['open', 'update', 'acknowledge', 'resolve']);
  }, 60_000);

  it('alerts on two nodes: two operators acknowledge at once — one wins, the other gets 409; one event seen by both is stored once', async () => {
    const f = await backend.fresh();
    const n1 = await createAlertsRepo(f.db);
    const n2 = await createAlertsRepo(await f.second());
    const t0 = 1_800_000_100_000;
    // the same MQTT event reaches both nodes
    const opened = await Promise.all([n1.apply(ev('open', t0)), n2.apply(ev('open', t0))]);
    expect(opened.filter(Boolean)).toHaveLength(1);
    for (let round = 0; round < 3; round++) {
      const id = `air_quality.aq-001.r${round}`;
      await n1.apply(ev('open', t0, { alertId: id }));
      const results = await Promise.allSettled([
        n1.apply(ev('acknowledge', t0 + 10, { alertId: id, by: 'op1' }), { from: ['open'] }),
        n2.apply(ev('acknowledge', t0 + 11, { alertId: id, by: 'op2' }), { from: ['open'] }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toMatchObject({ statusCode: 409, code: 'E_ALERT_STATE' });
      for (const n of [n1, n2]) {
        const a = await n.get(id);
        expect(a?.state).toBe('acknowledged');
        expect(a?.history.filter((h) => h.event === 'acknowledge')).toHaveLength(1);
      }
    }
    // the other node's cached active set follows the database
    await n2.get('air_quality.aq-001.r0');
    expect(n2.active().find((a) => a.id === 'air_quality.aq-001.r0')?.state).toBe('acknowledged');
  }, 60_000);

  it('hotlist: upsert, replace all, remove; the version counts every change, also from two nodes at once', async () => {
    const f = await backend.fresh();
    const h1 = await createHotlistRepo(f.db);
    const h2 = await createHotlistRepo(await f.second());
    await h1.upsert([{ plate: 'ABC1234', reason: 'robo', direction: 'entering', activeHours: { from: 6, to: 22 }, expiresAt: 1_900_000_000_000 }], 'inv');
    await h1.upsert(
      [
        { plate: 'ABC1234', reason: 'robo confirmado' },
        { plate: 'XYZ9876', reason: 'amparo' },
      ],
      'inv',
    );
    expect(await h2.get('ABC1234')).toEqual({ plate: 'ABC1234', reason: 'robo confirmado' });
    await Promise.all([h1.upsert([{ plate: 'AAA0001', reason: 'a' }], 'inv'), h2.upsert([{ plate: 'BBB0002', reason: 'b' }], 'inv')]);
    expect((await h1.current()).version).toBe(4);
    expect(await h2.remove('NOPE')).toBeNull();
    expect((await h2.remove('XYZ9876'))?.entries.map((e) => e.plate)).toEqual(['AAA0001', 'ABC1234', 'BBB0002']);
    const all = await h1.upsert([{ plate: 'ONLY001', reason: 'x' }], 'inv', true);
    expect(all).toEqual({ version: 6, entries: [{ plate: 'ONLY001', reason: 'x' }] });
  }, 60_000);

  it('audit: newest first, filtered by actor, action and time; written by two nodes', async () => {
    const f = await backend.fresh();
    const a1 = createAuditRepo(f.db);
    const a2 = createAuditRepo(await f.second());
    await a1.write({ actor: 'inv', role: 'investigator', action: 'plate_search', query: { plate: 'A' }, resultCount: 2, detail: '10.0.0.1', at: 1000 });
    await a2.write({ actor: 'boss', role: 'admin', action: 'hotlist_upsert', query: { n: 1 }, resultCount: null, detail: null, at: 2000 });
    await a1.write({ actor: 'inv', role: 'investigator', action: 'plate_search', query: { plate: 'B' }, resultCount: 0, detail: null, at: 3000 });
    const all = await a2.list({ limit: 10 });
    expect(all.map((e) => e.at)).toEqual([3000, 2000, 1000]);
    expect(all[1]).toMatchObject({ actor: 'boss', resultCount: null, detail: null, query: { n: 1 } });
    expect((await a1.list({ actor: 'inv', limit: 10 })).map((e) => e.query.plate)).toEqual(['B', 'A']);
    expect((await a1.list({ action: 'hotlist_upsert', limit: 10 })).length).toBe(1);
    expect((await a1.list({ from: 1500, to: 3000, limit: 10 })).map((e) => e.at)).toEqual([2000]);
  }, 60_000);

  it('geofences: put, seed, remove with a version; visits fold idempotently and filter', async () => {
    const f = await backend.fresh();
    const g = await createGeofenceRepo(f.db);
    const square = {
      type: 'polygon' as const,
      coordinates: [
        [-94.44, 18.14],
        [-94.43, 18.14],
        [-94.43, 18.15],
        [-94.44, 18.15],
      ] as [number, number][],
    };
    await g.putAll([{ id: 'depot-1', name: 'Depot', kind: 'depot', geometry: square, active: true }], 'system');
    const s = await g.put({ id: 'zone-1', name: 'Zona escolar', kind: 'school', geometry: square, dwellLimitMin: 15, active: false }, 'boss');
    expect(s.version).toBe(2);
    expect(await g.get('zone-1')).toMatchObject({ dwellLimitMin: 15, active: false, geometry: square });
    expect((await g.remove('depot-1'))?.geofences.map((x) => x.id)).toEqual(['zone-1']);
    const visit = (event: GeofenceEvent['event'], at: number): GeofenceEvent => ({
      visitId: 'v1',
      event,
      geofenceId: 'zone-1',
      name: 'Zona escolar',
      kind: 'school',
      deviceId: 'truck-1',
      district: 'Centro',
      at,
      enteredAt: 1000,
      late: false,
      lat: 18.145,
      lon: -94.435,
    });
    for (const e of [visit('enter', 1000), visit('dwell', 61_000), visit('exit', 121_000), visit('exit', 121_000)]) await g.applyEvent(e);
    const v = await g.visits({ limit: 10 });
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ visitId: 'v1', enteredAt: 1000, exitedAt: 121_000, dwellOverAt: 61_000, durationS: 120 });
    expect(await g.visits({ deviceId: 'truck-2', limit: 10 })).toEqual([]);
    expect(await g.visits({ from: 200_000, limit: 10 })).toEqual([]);
  }, 60_000);

  it('citizen reports: numbered from 1001, duplicates found, status history in order, contacts purged', async () => {
    const f = await backend.fresh();
    const r = createReportsRepo(f.db);
    const base = {
      serviceCode: 'missed_collection' as const,
      description: 'no pasó el camión',
      lat: 18.14,
      lon: -94.44,
      address: 'Calle s1',
      segmentId: 's1',
      district: 'Centro',
      attributes: {},
      evidence: null,
      due: { from: 1000, to: 2000 },
    };
    const a = await r.create({ ...base, requestedAt: 5000, contact: { email: 'vecina@example.mx', phone: null, firstName: 'Ana', lastName: null } });
    const b = await r.create({ ...base, requestedAt: 6000, contact: null });
    expect(a).toMatchObject({ id: '1001', duplicateOf: null });
    expect(b).toMatchObject({ id: '1002', duplicateOf: '1001' });
    expect(await r.byToken(a.token)).toBe('1001');
    await r.setState('1001', { state: 'in_progress', by: 'op', role: 'operator', note: 'en camino', withoutEvidence: false, at: 7000 });
    await r.setState('1001', { state: 'fixed', by: 'op', role: 'operator', note: 'recogido', withoutEvidence: true, at: 7000 });
    const got = await r.get('1001');
    expect(got?.history.map((h) => h.state)).toEqual(['open', 'in_progress', 'fixed']);
    expect(got).toMatchObject({ status: 'closed', closedWithoutEvidence: true, duplicates: ['1002'], hasContact: true, lat: 18.14 });
    expect((await r.list({ states: ['duplicate'], limit: 10 })).map((x) => x.id)).toEqual(['1002']);
    expect(await r.contact('1001')).toEqual({ email: 'vecina@example.mx', phone: null, firstName: 'Ana', lastName: null });
    expect(await r.purgeContacts(5500)).toBe(1);
    expect(await r.contact('1001')).toBeNull();
  }, 60_000);

  it('one-time tickets in the database: issued on one node, redeemed once on another; wrong path or expired = null', async () => {
    const f = await backend.fresh();
    let now = 1_000_000;
    const t1 = createDbTickets(f.db, () => now);
    const t2 = createDbTickets(await f.second(), () => now);
    const user = { sub: 'op', role: 'operator' as const };
    const { ticket } = await t1.issue(user, '/api/live');
    const both = await Promise.all([t2.redeem(ticket, '/api/live'), t1.redeem(ticket, '/api/live')]);
    expect(both.filter(Boolean)).toEqual([user]);
    const wrong = await t1.issue(user, '/api/live');
    expect(await t2.redeem(wrong.ticket, '/api/fleet/gpx')).toBeNull();
    expect(await t2.redeem(wrong.ticket, '/api/live')).toBeNull();
    const old = await t1.issue(user, '/api/live');
    now += 31_000;
    expect(await t2.redeem(old.ticket, '/api/live')).toBeNull();
  }, 60_000);

  it('users in the database: created, changed or disabled on one node, seen on the other', async () => {
    const f = await backend.fresh();
    const list = [{ username: 'boss', password: 'boss-pass', role: 'admin' as const }];
    const u1 = await usersInDbFromList(f.db, list);
    const u2 = await usersInDbFromList(await f.second(), list);
    try {
      expect(u2.list()).toEqual([{ username: 'boss', role: 'admin' }]);
      await u1.create!({ username: 'ana', role: 'operator', password: 'contraseña-larga' });
      await expect(u2.create!({ username: 'ana', role: 'planner', password: 'otra-contraseña' })).rejects.toMatchObject({ code: 'E_USER_DUPLICATE' });
      expect(await u2.verify('ana', 'contraseña-larga')).toEqual({ username: 'ana', role: 'operator' });
      await u1.setPassword!('ana', 'nueva-contraseña');
      expect(await u2.verify('ana', 'contraseña-larga')).toBeNull();
      expect(await u2.verify('ana', 'nueva-contraseña')).toEqual({ username: 'ana', role: 'operator' });
      await u2.setDisabled!('ana', true);
      expect(await u1.verify('ana', 'nueva-contraseña')).toBeNull();
      await waitFor(() => u1.isActive!('ana') === false, 10_000, 50, 'node 1 sees ana disabled');
      await expect(u1.setPassword!('nadie', 'contraseña-larga')).rejects.toMatchObject({ code: 'E_USER_UNKNOWN' });
      expect(await u1.verify('nadie', 'contraseña-larga')).toBeNull();
    } finally {
      u1.close?.();
      u2.close?.();
    }
  }, 60_000);
});

describe.runIf(pgOk)('ops DB on postgres: start-up', () => {
  it('three API nodes migrating one empty database at once all come up (advisory lock)', async () => {
    const url = await server!.createDatabase(`ops_contract_${++dbs}`);
    const nodes = await Promise.all([openPgOpsDb(url), openPgOpsDb(url), openPgOpsDb(url)]);
    for (const n of nodes) keep(n);
    // and each runs a repository's own schema statements (reports) at the same moment
    await Promise.all(
      nodes.map(async (n) => {
        for (const s of statements(REPORTS_SCHEMA)) await n.run(s);
      }),
    );
    // 10 tables of ops-db.ts + 3 of the citizen reports
    expect(await nodes[2]!.all(`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'`)).toEqual([{ n: 13 }]);
  }, 60_000);

  it('a database that is not there: E_OPSDB_OPEN naming the URL without its password; connections the server kills are replaced', async () => {
    await expect(openPgOpsDb(`postgres://postgres:secret@127.0.0.1:${server!.port}/no_such_db`)).rejects.toMatchObject({
      code: 'E_OPSDB_OPEN',
      message: expect.stringMatching(/postgres:\*\*\*@127.0.0.1:\d+\/no_such_db \(OPS_DB_URL\): database "no_such_db" does not exist/),
    });
    const url = await server!.createDatabase(`ops_contract_${++dbs}`);
    const db = await openPgOpsDb(url);
    await server!.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [`ops_contract_${dbs}`]);
    // the pool drops the killed connections and opens new ones
    await waitFor(() => db.ping(), 10_000, 100, 'ping after the connections were killed');
    await db.close();
  }, 60_000);
});
