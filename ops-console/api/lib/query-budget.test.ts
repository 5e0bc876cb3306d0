/**
 * Query time budgets (issue 14, item 4) against a real DuckDB file whose plate table is made slow
 * on purpose: `t_plate` is a view over twenty billion generated rows, so any plate query scans far
 * longer than its budget. The budget must cancel it in DuckDB (the next query runs at once, which
 * it could not while the scan went on), answer 503 E_QUERY_BUDGET with the console's message key,
 * count it, and keep /health answering meanwhile.
 */
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config';
import { openDuckDbStore } from '../../../store/duckdb/index';
import { tempDir, waitFor } from '../../../testing/net';
import { startConsoleStack, type ConsoleStack } from '../test-support';
import { DICTIONARY } from '../../web/src/i18n';

const BUDGET_MS = 1000;
/**
 * Bounds for "at once": an uncancelled scan of these views runs for minutes, so a few seconds
 * still prove the cancellation — and leave room for a loaded CI machine (2 cores, other suites).
 */
const SLACK_MS = 10_000;
const DAY = 86_400_000;

async function slowPlateStore(file: string) {
  const inst = await DuckDBInstance.create(file);
  const c = await inst.connect();
  await c.run(
    `CREATE VIEW t_plate AS SELECT 'cam-01' AS device_id, i AS ts, 'ABC' || (i % 1000)::VARCHAR AS plate, 'MX' AS region, 0.9::DOUBLE AS confidence, 'in' AS direction, 1 AS lane, 'Centro' AS district FROM range(0, 20000000000) t(i)`,
  );
  // and the trucks' events, which a fleet report reads first
  await c.run(
    `CREATE VIEW t_event AS SELECT 'truck-01' AS device_id, i AS ts, 'bin_lift' AS event_type, NULL::DOUBLE AS lat, NULL::DOUBLE AS lon, NULL::VARCHAR AS bin_id, NULL::DOUBLE AS weight_kg, 'Centro' AS district FROM range(0, 20000000000) t(i) WHERE hash(i) % 1000 = 0`,
  );
  c.closeSync();
  inst.closeSync();
  const store = await openDuckDbStore({ file });
  await store.init();
  return store;
}

let stack: ConsoleStack;
let base: string;
const tokens: Record<string, string> = {};
const login = async (username: string, password: string) => {
  const r = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  tokens[username] = ((await r.json()) as { token: string }).token;
};
const get = (url: string, user?: string) => fetch(`${base}${url}`, { headers: user ? { authorization: `Bearer ${tokens[user]}` } : {} });

beforeAll(async () => {
  const dir = tempDir('query-budget-');
  const store = await slowPlateStore(path.join(dir, 'telemetry.duckdb'));
  stack = await startConsoleStack('query-budget-', { jwtSecret: 'query-budget-test-secret', store, cfg: loadConfig({}, { DATA_DIR: dir, QUERY_BUDGET_MS: BUDGET_MS }) });
  base = `http://127.0.0.1:${stack.api.port}`;
  await login('plan', 'plan-pass');
  await login('inv', 'inv-pass');
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

/** /health every 100 ms until `done` settles: the slowest answer and every status */
async function healthWhile(done: Promise<unknown>) {
  let finished = false;
  void done.finally(() => (finished = true));
  const times: number[] = [];
  const statuses: number[] = [];
  while (!finished) {
    const t0 = performance.now();
    const r = await get('/health');
    await r.arrayBuffer();
    times.push(performance.now() - t0);
    statuses.push(r.status);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { max: Math.max(...times), n: times.length, statuses };
}

describe('query time budgets (issue 14)', () => {
  it('a query slower than its budget is cancelled in DuckDB: 503 E_QUERY_BUDGET near the budget, counted, /health answers meanwhile, the next query works', { timeout: 60_000 }, async () => {
    const t0 = performance.now();
    const slow = get(`/api/history/plate-counts?from=0&to=${30 * DAY}`, 'plan').then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { code: string; message: string },
      ms: performance.now() - t0,
    }));
    const health = await healthWhile(slow);
    const res = await slow;
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('E_QUERY_BUDGET');
    expect(res.body.message).toMatch(/budget of 1 s/);
    expect(res.ms).toBeGreaterThanOrEqual(BUDGET_MS - 50);
    expect(res.ms).toBeLessThan(BUDGET_MS + SLACK_MS);
    // /health kept answering, quickly and 200 (the store's health has its own connection)
    expect(health.n).toBeGreaterThanOrEqual(1); // polled while the query ran (more when the machine is idle)
    expect(health.max).toBeLessThan(SLACK_MS / 2);
    expect(health.statuses.every((s) => s === 200)).toBe(true);

    // the scan was stopped: the next query on the same read connection answers at once
    const t1 = performance.now();
    const next = await get(`/api/history/series?stream=air&field=pm25&from=0&to=${DAY}&windowMs=3600000`, 'plan');
    expect(next.status).toBe(200);
    expect(performance.now() - t1).toBeLessThan(SLACK_MS);

    const metrics = await (await get('/metrics')).text();
    expect(metrics).toMatch(/console_query_budget_exceeded_total\{query="plate-counts"\} 1/);
    // the console phrases the code in both languages
    expect(DICTIONARY.es.err_E_QUERY_BUDGET).toMatch(/tardó más/);
    expect(DICTIONARY.en.err_E_QUERY_BUDGET).toMatch(/took longer/);
  });

  it('queued behind a slow one, a plate search is cut at its own budget too (queueing counts), and both free the store', { timeout: 60_000 }, async () => {
    const t0 = performance.now();
    const timed = (p: Promise<Response>) => p.then(async (r) => ({ status: r.status, code: ((await r.json()) as { code: string }).code, ms: performance.now() - t0 }));
    const [a, b] = await Promise.all([
      timed(get(`/api/history/plate-counts?from=0&to=${30 * DAY}`, 'plan')),
      timed(get(`/api/plates/search?plate=C12&partial=true&reason=caso%201234&from=0&to=${30 * DAY}`, 'inv')),
    ]);
    expect(a).toMatchObject({ status: 503, code: 'E_QUERY_BUDGET' });
    expect(b).toMatchObject({ status: 503, code: 'E_QUERY_BUDGET' });
    expect(Math.max(a.ms, b.ms)).toBeLessThan(BUDGET_MS + SLACK_MS);
    const next = await get(`/api/history/series?stream=noise&field=laeq&from=0&to=${DAY}&windowMs=3600000`, 'plan');
    expect(next.status).toBe(200);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toMatch(/console_query_budget_exceeded_total\{query="plate-search"\} 1/);
  });

  it('a fleet report and a GPX day share the budget: 503 E_QUERY_BUDGET, counted, and the store is free afterwards', { timeout: 60_000 }, async () => {
    for (const [url, name] of [
      [`/api/fleet/report?from=0&to=${31 * DAY}&deviceIds=truck-01`, 'fleet_report'],
      [`/api/fleet/gpx?deviceId=truck-01&date=1970-01-10`, 'fleet_gpx'],
    ] as const) {
      const t0 = performance.now();
      const r = await get(url, 'plan');
      expect(r.status).toBe(503);
      expect(((await r.json()) as { code: string }).code).toBe('E_QUERY_BUDGET');
      expect(performance.now() - t0).toBeLessThan(BUDGET_MS + SLACK_MS);
      const metrics = await (await get('/metrics')).text();
      expect(metrics).toMatch(new RegExp(`console_query_budget_exceeded_total\\{query="${name}"\\} 1`));
    }
    const next = await get(`/api/history/series?stream=air&field=pm25&from=0&to=${DAY}&windowMs=3600000`, 'plan');
    expect(next.status).toBe(200);
  });

  it('cancelling an export stops its store query at once (the export budget and cancel interrupt DuckDB)', { timeout: 60_000 }, async () => {
    const created = await fetch(`${base}/api/exports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.plan}` },
      body: JSON.stringify({ kind: 'plate-counts', format: 'csv', from: 0, to: 30 * DAY }),
    });
    expect(created.status).toBe(202);
    const job = (await created.json()) as { id: string };
    await waitFor(async () => ((await (await get(`/api/exports/${job.id}`, 'plan')).json()) as { state: string }).state === 'running', 10_000, 50, 'export running');
    await new Promise((r) => setTimeout(r, 300)); // inside its first day's scan
    const t0 = performance.now();
    const cancel = await fetch(`${base}/api/exports/${job.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${tokens.plan}` } });
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as { state: string }).state).toBe('cancelled');
    expect(performance.now() - t0).toBeLessThan(SLACK_MS);
    const next = await get(`/api/history/series?stream=air&field=pm25&from=0&to=${DAY}&windowMs=3600000`, 'plan');
    expect(next.status).toBe(200);
  });
});
