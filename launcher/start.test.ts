/**
 * The README's first command, as a user runs it: `npm start` on a fresh DATA_DIR brings up the
 * whole operations center with a simulated fleet; Ctrl-C stops it cleanly; started again, it
 * carries on with the data it has.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../testing/net';
import { childrenOf, launch, launcherEnv } from '../testing/crash';
import { openDuckDbStore } from '../store/duckdb/index';

const root = path.resolve(import.meta.dirname, '..');

const envFor = (dataDir: string) => launcherEnv(dataDir, { SIM: 'on' });
const start = (env: NodeJS.ProcessEnv) => launch(env, root);

async function metric(port: string, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith('#')) sum += Number(line.split(' ').pop());
  return sum;
}

async function storedPoints(dataDir: string): Promise<number> {
  const store = await openDuckDbStore({ file: path.join(dataDir, 'telemetry.duckdb') });
  try {
    return await store.count({});
  } finally {
    await store.close();
  }
}

describe('npm start (one-command start)', () => {
  const dataDir = tempDir('cityops-start-');
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts everything on a fresh DATA_DIR, stores the fleet’s data, stops cleanly, and carries on after a restart', async () => {
    const env = await envFor(dataDir);
    const first = start(env);
    children.push(first.child);
    await waitFor(() => first.out().includes('is running'), 240_000, 100, `start-up (output so far: ${first.out().slice(-2000)})`);
    // every part healthy (on a loaded machine a part may answer late just after the start: poll)
    let health = '';
    await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${env.HTTP_PORT}/health`);
        health = await r.text();
        return r.status === 200;
      },
      30_000,
      500,
      'GET /health 200',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${health}`);
    });
    expect(fs.existsSync(path.join(dataDir, 'registry.json'))).toBe(true);
    const registryBefore = fs.readFileSync(path.join(dataDir, 'registry.json'), 'utf8');
    expect(registryBefore).not.toMatch(/"password"\s*:/); // hashes only

    // the simulated fleet's readings flow through broker and ingest into the store
    await waitFor(async () => (await metric(env.METRICS_PORT!, 'ingest_records_written_total')) >= 20, 60_000, 250, 'readings written');

    // one /metrics for the process: the broker's counters beside ingest's
    expect(await metric(env.METRICS_PORT!, 'mqtt_broker_clients_connected')).toBeGreaterThan(0);

    // Ctrl-C in a terminal: SIGINT to the whole process group
    process.kill(-first.child.pid!, 'SIGINT');
    expect(await first.exited, first.out().slice(-4000)).toBe(0);
    // the supervisor's last line comes from the children's stop reports (nothing left unwritten)
    expect(first.out()).toContain('City Ops Center stopped; all accepted data is stored.');
    expect(first.out()).toMatch(/stopped/);
    const afterFirst = await storedPoints(dataDir);
    expect(afterFirst).toBeGreaterThanOrEqual(20);

    // second start: same registry (not re-provisioned), same data, and more on top
    const env2 = await envFor(dataDir);
    const second = start(env2);
    children.push(second.child);
    await waitFor(() => second.out().includes('is running'), 240_000, 100, 'second start-up');
    expect(fs.readFileSync(path.join(dataDir, 'registry.json'), 'utf8')).toBe(registryBefore);
    await waitFor(async () => (await metric(env2.METRICS_PORT!, 'ingest_records_written_total')) >= 5, 60_000, 250, 'readings written after restart');
    // `kill -- -PGID` / systemd: SIGTERM to the whole group at once. The broker must not stop before
    // the core has written and acknowledged what it holds, and no child may outlive the supervisor.
    // broker, core, fleet (launcher/child.ts) and Node-RED (red.js, its own process group)
    const kids = childrenOf(second.child.pid!).filter((c) => c.cmd.includes('child.ts') || c.cmd.includes('node-red/red.js'));
    expect(kids.length).toBe(4);
    const t0 = Date.now();
    process.kill(-second.child.pid!, 'SIGTERM');
    expect(await second.exited, second.out().slice(-4000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(second.out()).toContain('City Ops Center stopped; all accepted data is stored.');
    expect(second.out()).not.toMatch(/did not stop in/);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(() => kids.every((k) => !alive(k.pid)), 10_000, 100, 'children gone after the supervisor');
    expect(await storedPoints(dataDir)).toBeGreaterThan(afterFirst);
  }, 600_000);
});
