/**
 * Crash test of the broker run alone (`tsx broker/cli.ts`, a real deployment), with its durable
 * default (BROKER_PERSISTENCE=level, the group-commit queue): a truck publishes a burst of QoS 1
 * fixes; right after the last PUBACK the broker is killed with kill -9; once restarted on the same
 * DATA_DIR, ingest's persistent session gets every acknowledged fix exactly once. Two rounds: with
 * ingest offline (the fixes wait in its queue) and with ingest online but holding its PUBACKs (the
 * fixes were delivered, in flight, when the broker died: redelivered after the restart).
 * Each publish's PUBACKs are counted per message id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, expect, it, onTestFailed } from 'vitest';
import { deviceTopic, SUB_ALL_DEVICE_DATA } from '../contract';
import { DEFERRED } from '../ingest/deferred-puback';
import { publishBurst, pubackAnomalies } from '../testing/crash';
import { freePort, tempDir, waitFor } from '../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../testing/registry-fixture';

const root = path.resolve(import.meta.dirname, '..');
// the steps with their times, printed when the test fails (where did the time go on a loaded machine)
const steps: string[] = [];
const step = (s: string) => steps.push(`${new Date().toISOString()} ${s}`);
const N = 1000;
const children: ChildProcess[] = [];
const clients: MqttClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function startBrokerProcess(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/cli.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.once('exit', r));
  await waitFor(() => out.includes('broker ready') || child.exitCode !== null, 40_000, 50, `broker start (output: ${out.slice(-1500)})`);
  if (child.exitCode !== null) throw new Error(`broker exited: ${out.slice(-2000)}`);
  return { child, exited };
}

/** ingest's persistent session; `hold` = receive but never acknowledge (as if its store write had not finished). */
function ingest(url: string, hold: boolean): { client: MqttClient; got: number[]; connected: Promise<void> } {
  const got: number[] = [];
  const client = mqtt.connect(url, { username: 'ingest', password: TEST_PASSWORD('ingest'), clientId: 'ingest-crash', clean: false, reconnectPeriod: 0, connectTimeout: 10_000 });
  clients.push(client);
  client.on('error', () => {});
  // listening from before the CONNACK: queued messages can come in the same read
  client.on('message', (_t, payload) => got.push((JSON.parse(payload.toString()) as { ts: number }).ts));
  if (hold) client.handleMessage = (_packet, cb) => cb(DEFERRED as unknown as Error);
  const connected = new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('close', () => reject(new Error('ingest: closed before CONNACK')));
  });
  return { client, got, connected };
}

it('broker alone (level): kill -9 right after the PUBACKs, restarted — every acknowledged fix reaches ingest’s session exactly once', async () => {
  onTestFailed(() => console.error(`steps:\n${steps.join('\n')}`));
  const dataDir = tempDir('persist-broker-crash-');
  const port = await freePort();
  const env = {
    ...process.env,
    DATA_DIR: dataDir,
    REGISTRY_FILE: writeTestRegistry(),
    HOST: '127.0.0.1',
    MQTT_PORT: String(port),
    MQTT_WS_PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
    BROKER_PERSISTENCE: 'level',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
  };
  const url = `mqtt://127.0.0.1:${port}`;
  const truck = { url, username: 'truck-01', secret: TEST_PASSWORD('truck-01'), clientId: 'truck-01', topic: deviceTopic('truck', 'truck-01', 'gps') };
  const base = Date.now() - 10 * 60_000;

  // the session exists, then ingest goes away
  let b = await startBrokerProcess(env);
  step('broker up');
  const first = ingest(url, false);
  await first.connected;
  await first.client.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
  await first.client.endAsync();

  for (const round of [
    { what: 'ingest offline', hold: false, from: base },
    { what: 'ingest online, PUBACKs held', hold: true, from: base + N },
  ]) {
    const holder = round.hold ? ingest(url, true) : null;
    if (holder) await holder.connected;
    step(`${round.what}: publishing`);
    const burst = await publishBurst(truck, N, () => b.child.kill('SIGKILL'), round.from);
    await b.exited;
    step(`${round.what}: killed`);
    expect(burst.failed, round.what).toBe(0);
    expect(burst.acked.length, round.what).toBe(N);
    expect(pubackAnomalies(burst), round.what).toEqual({ ids: N, notOnce: [] });
    if (holder) expect(holder.got.length, `${round.what}: delivered before the crash`).toBeGreaterThan(0);
    holder?.client.end(true);

    b = await startBrokerProcess(env);
    step(`${round.what}: restarted`);
    const back = ingest(url, false);
    await back.connected;
    step(`${round.what}: ingest back`);
    await waitFor(() => back.got.length >= N, 30_000, 50, `${round.what}: ${N} queued fixes after the restart`).catch((e: Error) => {
      throw new Error(`${e.message}: got ${back.got.length}, missing ${burst.acked.filter((t) => !back.got.includes(t)).length}`);
    });
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive now
    expect(back.got.length, `${round.what}: exactly once`).toBe(N);
    expect(
      [...back.got].sort((x, y) => x - y),
      round.what,
    ).toEqual([...burst.acked].sort((x, y) => x - y));
    await back.client.endAsync(); // acknowledged: the session's queue is empty for the next round
  }
  b.child.kill('SIGINT');
  await b.exited;
}, 180_000);
