/**
 * The broker cluster, as deployed (issue 18): real processes on loopback — 2 brokers
 * (`broker/cli.ts`, BROKER_PERSISTENCE=redis) + 2 ingest workers (`ingest/cli.ts`,
 * INGEST_WORKERS=2) + a real redis-server + a real influxd 1.6.7 as the store.
 *
 * Eight trucks, four per broker, publish GPS fixes at QoS 1 (persistent sessions, each subscribed
 * to its config topic). Mid-stream broker A and worker 0 are killed with SIGKILL; the trucks on A
 * reconnect to B (MQTT.js `servers` = the load balancer's list) and find their session there
 * (CONNACK sessionPresent); a replacement worker 0 (same INGEST_WORKER, same client id) starts
 * against B and resumes ingest-1's session. Every acknowledged fix is then in the store exactly
 * once (counted per fix: its event time). Then a replacement broker A joins, a truck's credentials
 * are rotated in broker B's registry file, and the old password is refused by both nodes (the
 * new one accepted by both).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceTopic, type GpsFix } from '../contract';
import { rotateCredentials } from '../registry/admin';
import { saveRegistryFile } from '../registry/registry';
import type { RegistryDevice } from '../registry/schema';
import { openInfluxStore } from '../store/influx/index';
import { influxdSuiteGate, startInfluxd, type Influxd } from '../testing/influxd';
import { freePort, tempDir, waitFor } from '../testing/net';
import { redisSuiteGate, startRedis, type RedisServer } from '../testing/redis';
import { buildTestRegistry, TEST_PASSWORD } from '../testing/registry-fixture';
import { workerOf } from '../ingest/partition';

const ROOT = path.resolve(__dirname, '..');
const run = redisSuiteGate('broker cluster') && influxdSuiteGate('broker cluster');

const TRUCKS = Array.from({ length: 8 }, (_, i) => `truck-c${i + 1}`);
const extraTrucks: Omit<RegistryDevice, 'passwordHash'>[] = TRUCKS.map((id) => ({
  id,
  kind: 'truck',
  model: 'sim-gps',
  district: 'Centro',
  status: 'active',
  truck: { depotId: 'depot-1', routeId: 'route-01' },
  intervals: { dataS: 5, statusS: 60 },
}));
const fix = (ts: number): GpsFix => ({ ts, lat: 18.14, lon: -94.43, speedKmh: 25, heading: 180, hdop: 0.9, sats: 9 });

interface Proc {
  name: string;
  child: ChildProcess;
  out(): string;
  exited: Promise<void>;
}

function spawnTs(name: string, script: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-200_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-200_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { name, child, out: () => out, exited };
}

const until = (p: Proc, text: string, timeoutMs = 60_000) =>
  waitFor(
    () => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`${p.name} exited: ${p.out().slice(-3000)}`);
      return p.out().includes(text);
    },
    timeoutMs,
    100,
    `${p.name}: "${text}"`,
  );

describe.runIf(run)('broker cluster on Redis: 2 brokers + 2 ingest workers + InfluxDB', () => {
  const procs: Proc[] = [];
  const clients: MqttClient[] = [];
  let redis: RedisServer | undefined;
  let influx: Influxd | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    for (const c of clients) c.end(true);
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await influx?.stop();
    await redis?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('kill -9 of a broker and a worker mid-stream: every acknowledged fix stored exactly once; a rotation on one node is refused on both', async () => {
    const t0 = Date.now();
    [redis, influx] = await Promise.all([startRedis({ password: 'cluster-redis-pw' }), startInfluxd()]);
    const reg = buildTestRegistry(extraTrucks);
    const dirOf = (name: string) => {
      const d = tempDir(`cluster-${name}-`);
      dirs.push(d);
      saveRegistryFile(path.join(d, 'registry.json'), reg);
      return d;
    };
    const common = { HOST: '127.0.0.1', LOG_LEVEL: 'info', REDIS_URL: redis.url };
    const ports = { a: await freePort(), b: await freePort() };
    const httpPorts = { a: await freePort(), b: await freePort() };
    const brokerEnv = (id: 'a' | 'b', dir: string) => ({
      ...common,
      DATA_DIR: dir,
      BROKER_PERSISTENCE: 'redis',
      BROKER_ID: `broker-${id}`,
      MQTT_PORT: String(ports[id]),
      MQTT_WS_PORT: String(0),
      METRICS_PORT: String(httpPorts[id]),
    });
    const readiness = async (port: number) => {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      return { status: res.status, body: await res.json() };
    };
    const dirA = dirOf('broker-a');
    const dirB = dirOf('broker-b');
    // a port picked free may be taken by a parallel test before the broker binds it: pick again
    const gone = (p: Proc) => p.child.exitCode !== null || p.child.signalCode !== null;
    const startBroker = async (id: 'a' | 'b', dir: string): Promise<Proc> => {
      for (let attempt = 0; ; attempt++) {
        const p = spawnTs(`broker ${id.toUpperCase()}`, 'broker/cli.ts', brokerEnv(id, dir));
        procs.push(p);
        await waitFor(() => gone(p) || p.out().includes('broker ready'), 60_000, 100, `${p.name}: "broker ready"`);
        if (!gone(p)) return p;
        if (attempt >= 2 || !/E_START_PORT_IN_USE/.test(p.out())) throw new Error(`${p.name} exited: ${p.out().slice(-3000)}`);
        ports[id] = await freePort();
        httpPorts[id] = await freePort();
      }
    };
    // eslint-disable-next-line prefer-const -- brokerA is restarted below, brokerB never
    let [brokerA, brokerB] = await Promise.all([startBroker('a', dirA), startBroker('b', dirB)]);

    const workerDirs = [dirOf('worker-0'), dirOf('worker-1')];
    const workerHttp = [await freePort(), await freePort()];
    const workerEnv = async (i: number, broker: 'a' | 'b') => ({
      ...common,
      DATA_DIR: workerDirs[i]!,
      MQTT_URL: `mqtt://127.0.0.1:${ports[broker]}`,
      METRICS_PORT: String(workerHttp[i]),
      INFLUX_URL: influx!.url,
      INFLUX_API: 'v1',
      INFLUX_BUCKET: 'city',
      INGEST_PASSWORD: TEST_PASSWORD('ingest'),
      INGEST_WORKERS: '2',
      INGEST_WORKER: String(i),
      INGEST_RULES: 'off',
      FLUSH_MS: '50',
    });
    let worker0 = spawnTs('worker 0', 'ingest/cli.ts', await workerEnv(0, 'a'));
    const worker1 = spawnTs('worker 1', 'ingest/cli.ts', await workerEnv(1, 'b'));
    procs.push(worker0, worker1);
    await Promise.all([until(worker0, 'ingest ready'), until(worker1, 'ingest ready')]);
    // what a load balancer / systemd health check asks: every node ready
    for (const port of [httpPorts.a, httpPorts.b, ...workerHttp]) expect(await readiness(port)).toEqual({ status: 200, body: { ok: true } });
    // both workers own trucks, and trucks of each worker sit on each broker
    expect(new Set(TRUCKS.map((t) => workerOf(t, 2)))).toEqual(new Set([0, 1]));

    // ── devices: trucks 1–4 on A, 5–8 on B; the load balancer's list is both brokers ──
    const acked = new Map<string, number[]>(TRUCKS.map((t) => [t, []]));
    const sessionOnReconnect = new Map<string, boolean>();
    let publishing = true;
    const firstTs = Date.now() - 20 * 60_000;
    const loops = TRUCKS.map(async (id, n) => {
      const home = n < 4 ? 'a' : 'b';
      const order = home === 'a' ? [ports.a, ports.b] : [ports.b, ports.a];
      const c = mqtt.connect({
        servers: order.map((port) => ({ host: '127.0.0.1', port })),
        username: id,
        password: TEST_PASSWORD(id),
        clientId: id,
        clean: false,
        reconnectPeriod: 200,
        connectTimeout: 5_000,
      });
      clients.push(c);
      c.on('error', () => {});
      let connects = 0;
      c.on('connect', (ack) => {
        if (connects++ > 0) sessionOnReconnect.set(id, ack.sessionPresent);
      });
      await new Promise<void>((r) => c.once('connect', () => r()));
      await c.subscribeAsync(`city/v1/truck/${id}/config`, { qos: 1 });
      let i = 0;
      while (publishing) {
        const ts = firstTs + n * 100_000 + i++;
        // at most a few in flight per truck: a steady stream, ~8 × 40 fixes/s
        await new Promise<void>((resolve) => {
          c.publish(deviceTopic('truck', id, 'gps'), JSON.stringify(fix(ts)), { qos: 1 }, (err) => {
            if (!err) acked.get(id)!.push(ts);
            resolve();
          });
          setTimeout(resolve, 25);
        });
      }
    });

    const total = () => [...acked.values()].reduce((a, v) => a + v.length, 0);
    await waitFor(() => total() >= 400, 30_000, 50, 'a stream of acknowledged fixes');
    // ── kill -9 broker A and worker 0 (connected to A) mid-stream ──
    brokerA.child.kill('SIGKILL');
    worker0.child.kill('SIGKILL');
    await Promise.all([brokerA.exited, worker0.exited]);
    const ackedAtKill = total();
    // the trucks that were on A reconnect to B and find their session there
    await waitFor(() => TRUCKS.slice(0, 4).every((t) => sessionOnReconnect.has(t)), 30_000, 50, 'trucks of A reconnected to B');
    expect(TRUCKS.slice(0, 4).map((t) => sessionOnReconnect.get(t))).toEqual([true, true, true, true]);
    // a replacement worker 0 (same number → same client id ingest-1) against B resumes the session
    worker0 = spawnTs('worker 0 (replacement)', 'ingest/cli.ts', await workerEnv(0, 'b'));
    procs.push(worker0);
    await until(worker0, 'ingest ready');
    expect(worker0.out()).toMatch(/"sessionPresent":true/);
    expect(await readiness(workerHttp[0]!)).toEqual({ status: 200, body: { ok: true } });
    await waitFor(() => total() >= ackedAtKill + 400, 30_000, 50, 'the stream goes on after the kills');
    publishing = false;
    await Promise.all(loops);

    // ── every acknowledged fix is in InfluxDB exactly once ──
    const store = await openInfluxStore({ url: influx.url, token: '', org: '', bucket: 'city', api: 'v1', spillDir: path.join(dirOf('check'), 'spill') });
    try {
      const stored = async (id: string) => (await store.track({ deviceId: id, from: firstTs - 1, to: Date.now() + 1 })).map((p) => p.ts);
      let missing: Record<string, string> = {};
      try {
        await waitFor(
          async () => {
            missing = {};
            for (const id of TRUCKS) {
              const have = new Set(await stored(id));
              const lost = acked.get(id)!.filter((ts) => !have.has(ts));
              if (lost.length)
                missing[id] = `worker ${workerOf(id, 2)}: ${lost.length} of ${acked.get(id)!.length} missing (${have.size} stored), e.g. ${lost
                  .slice(0, 3)
                  .map((t) => t - firstTs)
                  .join(', ')}`;
            }
            return Object.keys(missing).length === 0;
          },
          60_000,
          500,
          'every acknowledged fix stored',
        );
      } catch (err) {
        console.error(JSON.stringify(missing, null, 1));
        for (const p of procs)
          console.error(
            `── ${p.name}\n${p
              .out()
              .split('\n')
              .filter((l) => /"level":(4|5|6)0/.test(l))
              .slice(-15)
              .join('\n')}`,
          );
        throw err;
      }
      let ackedTotal = 0;
      for (const id of TRUCKS) {
        const ts = await stored(id);
        const perFix = new Map<number, number>();
        for (const t of ts) perFix.set(t, (perFix.get(t) ?? 0) + 1);
        const twice = [...perFix.entries()].filter(([, n]) => n > 1);
        expect(twice, `${id}: fixes stored more than once`).toEqual([]);
        for (const t of acked.get(id)!) expect(perFix.get(t), `${id} fix ${t}`).toBe(1);
        ackedTotal += acked.get(id)!.length;
      }
      console.log(`cluster: ${ackedTotal} acknowledged fixes from 8 trucks (${ackedAtKill} before the kills), each stored exactly once; ${((Date.now() - t0) / 1000).toFixed(1)} s so far`);
    } finally {
      await store.close();
    }

    // ── a replacement broker A joins; a rotation on B is refused on both nodes ──
    brokerA = spawnTs('broker A (replacement)', 'broker/cli.ts', brokerEnv('a', dirA));
    procs.push(brokerA);
    await until(brokerA, 'broker ready');
    const victim = TRUCKS[0]!;
    const { secret } = rotateCredentials(path.join(dirB, 'registry.json'), victim);
    const connack = (port: number, password: string) =>
      new Promise<number>((resolve) => {
        const c = mqtt.connect({ host: '127.0.0.1', port, username: victim, password, clientId: `${victim}`, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
        c.on('connect', () => {
          c.end(true);
          resolve(0);
        });
        c.on('error', (err) => {
          c.end(true);
          resolve(typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1);
        });
      });
    // B reads its file (watch), publishes the new registry; A takes it from Redis
    await until(brokerB, 'registry change published to the cluster', 15_000);
    await until(brokerA, 'registry updated from the cluster', 15_000);
    expect(await connack(ports.a, TEST_PASSWORD(victim))).toBe(4);
    expect(await connack(ports.b, TEST_PASSWORD(victim))).toBe(4);
    expect(await connack(ports.a, secret)).toBe(0);
    expect(await connack(ports.b, secret)).toBe(0);
    console.log(`cluster test: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(Date.now() - t0).toBeLessThan(120_000);
  }, 180_000);
});
