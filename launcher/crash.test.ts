/**
 * Crash tests: `npm start` as a user runs it (fleet off), a provisioned truck publishes bursts of
 * QoS 1 GPS fixes; right after the last PUBACK of a burst, kill -9: the broker process, then the
 * core process (store, ingest, API), then the whole process group (npm start itself). After the
 * restarts every acknowledged fix is stored exactly once — with the embedded DuckDB store and
 * with InfluxDB 1.6.7 (a real influxd) as the store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDuckDbStore } from '../store/duckdb/index';
import { openInfluxStore } from '../store/influx/index';
import { childPid, firstTruck, killGroup, pubackAnomalies, launch, launcherEnv, operatorToken, publishBurstWhenUp, running, storedTs, type Burst, type Launched } from '../testing/crash';
import { influxdSuiteGate, startInfluxd, type Influxd } from '../testing/influxd';
import { tempDir, waitFor } from '../testing/net';

const root = path.resolve(import.meta.dirname, '..');
const N = 800;

const launched: Launched[] = [];
const dirs: string[] = [];
let influx: Influxd | null = null;
afterAll(async () => {
  for (const l of launched) killGroup(l);
  await influx?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function up(env: NodeJS.ProcessEnv): Promise<Launched> {
  const l = launch(env, root);
  launched.push(l);
  await running(l);
  return l;
}

/** Three crashes, one burst before each; then every acknowledged fix must be stored once. */
async function crashSequence(extra: Record<string, string>, countStored: (dataDir: string, deviceId: string, from: number, to: number) => Promise<number>) {
  const dataDir = tempDir('cityops-crash-');
  dirs.push(dataDir);
  const env = await launcherEnv(dataDir, extra);
  const first = await up(env);
  const truck = firstTruck(dataDir, Number(env.MQTT_PORT));
  const base = Date.now() - 10 * 60_000;
  const bursts: { what: string; b: Burst }[] = [];

  // 1. kill -9 the broker process right after the last PUBACK; the supervisor restarts it
  const broker = childPid(first, 'broker');
  bursts.push({ what: 'broker killed', b: await publishBurstWhenUp(truck, N, () => process.kill(broker, 'SIGKILL'), base) });
  await waitFor(
    () => {
      try {
        return childPid(first, 'broker') !== broker;
      } catch {
        return false;
      }
    },
    20_000,
    100,
    'a new broker process',
  );

  // 2. kill -9 the core process (ingest, store, API): the broker keeps the messages for ingest's session
  const core = childPid(first, 'core');
  bursts.push({ what: 'core killed', b: await publishBurstWhenUp(truck, N, () => process.kill(core, 'SIGKILL'), base + N) });
  await waitFor(
    () => {
      try {
        return childPid(first, 'core') !== core;
      } catch {
        return false;
      }
    },
    20_000,
    100,
    'a new core process',
  );

  // 3. kill -9 the whole process group (npm start and its children) right after a burst
  bursts.push({ what: 'npm start killed', b: await publishBurstWhenUp(truck, N, () => killGroup(first), base + 2 * N) });
  await first.exited;

  for (const { what, b } of bursts) {
    expect(b.failed, what).toBe(0);
    expect(b.acked.length, what).toBe(N);
    expect(pubackAnomalies(b), what).toEqual({ ids: N, notOnce: [] }); // one PUBACK per message id
  }

  // restart; wait (through the console API) until every acknowledged fix is queryable
  const second = await up(env);
  const token = await operatorToken(dataDir, Number(env.HTTP_PORT));
  let ts: number[] = [];
  await waitFor(
    async () => (ts = await storedTs(Number(env.HTTP_PORT), token, truck.deviceId, base, base + 3 * N)).length >= 3 * N,
    45_000,
    250,
    `all ${3 * N} acknowledged fixes stored (have ${ts.length})`,
  ).catch((err) => {
    const have = new Set(ts);
    const lost = bursts.map(({ what, b }) => `${what}: ${b.acked.filter((t) => !have.has(t)).length} lost`);
    throw new Error(`${(err as Error).message} — ${lost.join(', ')}`);
  });
  expect(ts.length).toBe(3 * N); // exactly once: no duplicate event times
  expect(new Set(ts).size).toBe(3 * N);
  second.child.kill('SIGINT');
  expect(await second.exited).toBe(0);
  // and in the store itself, per burst
  for (const [i, { what }] of bursts.entries()) {
    expect(await countStored(dataDir, truck.deviceId, base + i * N, base + (i + 1) * N), what).toBe(N);
  }
}

describe('crash: kill -9 right after the PUBACKs', () => {
  it('embedded DuckDB: broker, core and npm start killed in turn, every acknowledged fix stored exactly once', async () => {
    await crashSequence({}, async (dataDir, deviceId, from, to) => {
      const store = await openDuckDbStore({ file: path.join(dataDir, 'telemetry.duckdb') });
      try {
        return await store.count({ deviceId, stream: 'gps', from, to });
      } finally {
        await store.close();
      }
    });
  }, 600_000);

  const withInflux = influxdSuiteGate('crash tests with InfluxDB');
  it.runIf(withInflux)(
    'InfluxDB 1.6.7 as the store: the same crashes, every acknowledged fix stored exactly once',
    async () => {
      influx = await startInfluxd();
      const extra = { INFLUX_URL: influx.url, INFLUX_API: 'v1', INFLUX_BUCKET: 'city' };
      await crashSequence(extra, async (dataDir, deviceId, from, to) => {
        const store = await openInfluxStore({ url: influx!.url, token: '', org: '', bucket: 'city', api: 'v1', spillDir: path.join(dataDir, 'spill-check') });
        try {
          return await store.count({ deviceId, stream: 'gps', from, to });
        } finally {
          await store.close();
        }
      });
    },
    600_000,
  );
});
