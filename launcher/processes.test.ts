/**
 * `npm start`'s process layout as a user runs it (SIM=on): broker, core, Node-RED and the fleet
 * each in their own process under the supervisor. kill -9 the Node-RED process, then the fleet
 * process: each is restarted, the console keeps serving and the fleet's live data keeps arriving.
 * Ctrl-C then stops the parts in order (fleet, Node-RED, core, broker) with nothing left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../testing/net';
import { childrenOf, killGroup, launch, launcherEnv, running, type Launched } from '../testing/crash';

const root = path.resolve(import.meta.dirname, '..');

async function metric(port: string, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith('#')) sum += Number(line.split(' ').pop());
  return sum;
}

type Part = 'broker' | 'core' | 'fleet' | 'node-red';
/** The pid of one part: a launcher/child.ts child, or Node-RED (red.js), right under the supervisor. */
function pidOf(l: Launched, part: Part): number | null {
  const kids = childrenOf(l.child.pid!);
  const k = part === 'node-red' ? kids.find((c) => c.cmd.includes('node-red/red.js')) : kids.find((c) => c.cmd.includes('launcher/child.ts') && c.cmd.trim().endsWith(` ${part}`));
  return k?.pid ?? null;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start: Node-RED and the fleet in their own supervised processes', () => {
  const dataDir = tempDir('cityops-procs-');
  const launched: Launched[] = [];
  afterAll(() => {
    for (const l of launched) killGroup(l);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('restarts a Node-RED or fleet process killed with -9 while the console serves and data keeps arriving; Ctrl-C stops fleet, Node-RED, core, broker in that order', async () => {
    // no history backfill: the live fleet is what this test watches
    const env = await launcherEnv(dataDir, { SIM: 'on', SIM_BACKFILL_DAYS: '0', LOG_LEVEL: 'info' });
    const l = launch(env, root);
    launched.push(l);
    await running(l, 300_000);
    const health = async () => (await fetch(`http://127.0.0.1:${env.HTTP_PORT}/health`, { signal: AbortSignal.timeout(10_000) })).status;
    await waitFor(async () => (await health()) === 200, 30_000, 500, 'GET /health 200');

    const pids = Object.fromEntries((['broker', 'core', 'fleet', 'node-red'] as const).map((p) => [p, pidOf(l, p)])) as Record<Part, number | null>;
    for (const p of ['broker', 'core', 'fleet', 'node-red'] as const) expect(pids[p], `${p} process under the supervisor`).toBeTypeOf('number');
    expect(new Set(Object.values(pids)).size).toBe(4);
    // the banner names each process
    expect(l.out()).toMatch(new RegExp(`Node-RED pid ${pids['node-red']}`));
    expect(l.out()).toMatch(new RegExp(`fleet pid ${pids.fleet}`));

    const written = () => metric(env.METRICS_PORT!, 'ingest_records_written_total');
    const clients = () => metric(env.METRICS_PORT!, 'mqtt_broker_clients_connected');
    await waitFor(async () => (await written()) >= 20, 90_000, 250, 'the fleet’s readings written');
    // every MQTT client up: ingest, console, Node-RED and the fleet's devices
    let before = 0;
    await waitFor(async () => (before = await clients()) > 3, 60_000, 250, 'clients connected');

    // 1. kill -9 Node-RED: restarted (a new process), back on MQTT; the console and the data go on meanwhile
    process.kill(pids['node-red']!, 'SIGKILL');
    expect(await health()).toBe(200);
    let nodeRed2: number | null = null;
    await waitFor(() => (nodeRed2 = pidOf(l, 'node-red')) !== null && nodeRed2 !== pids['node-red'], 60_000, 200, 'a new Node-RED process');
    await waitFor(() => l.out().includes('node-red process restarted'), 90_000, 200, 'Node-RED restarted');
    await waitFor(async () => (await clients()) >= before, 60_000, 250, 'Node-RED back on the broker');
    const w1 = await written();
    await waitFor(async () => (await written()) >= w1 + 20, 60_000, 250, 'readings keep arriving after the Node-RED kill');
    expect(await health()).toBe(200);

    // 2. kill -9 the fleet: restarted, its devices reconnect and their live data arrives again
    process.kill(pids.fleet!, 'SIGKILL');
    expect(await health()).toBe(200);
    let fleet2: number | null = null;
    await waitFor(() => (fleet2 = pidOf(l, 'fleet')) !== null && fleet2 !== pids.fleet, 60_000, 200, 'a new fleet process');
    await waitFor(() => l.out().includes('fleet process restarted'), 90_000, 200, 'fleet restarted');
    await waitFor(async () => (await clients()) >= before, 60_000, 250, 'the fleet’s devices back on the broker');
    const w2 = await written();
    await waitFor(async () => (await written()) >= w2 + 20, 60_000, 250, 'readings from the restarted fleet');
    expect(await health()).toBe(200);
    expect(l.out()).toMatch(/node-red process died; restarting/);
    expect(l.out()).toMatch(/fleet process died; restarting/);
    // the broker and the core were not touched
    expect(pidOf(l, 'broker')).toBe(pids.broker);
    expect(pidOf(l, 'core')).toBe(pids.core);

    // 3. Ctrl-C: the parts stop in order, nothing unwritten, no process left
    const kids = childrenOf(l.child.pid!).map((k) => k.pid);
    const from = l.out().length;
    process.kill(-l.child.pid!, 'SIGINT');
    expect(await l.exited, l.out().slice(-4000)).toBe(0);
    const tail = l.out().slice(from);
    expect(tail).toContain('City Ops Center stopped; all accepted data is stored.');
    const at = (s: string) => tail.indexOf(s);
    const order = [at('"msg":"fleet process stopping"'), at('"msg":"node-red stopped"'), at('"msg":"core process stopping"'), at('"msg":"broker process stopping"')];
    for (const i of order) expect(i, tail.slice(-3000)).toBeGreaterThanOrEqual(0);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    await waitFor(() => kids.every((k) => !alive(k)), 15_000, 100, 'no child outlives the supervisor');
  }, 900_000);
});
