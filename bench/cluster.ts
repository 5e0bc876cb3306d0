/**
 * npm run bench:cluster — throughput of 1, 2 and 4 broker+ingest pairs on Redis + InfluxDB (issue 18).
 *
 * Each round starts P brokers (`broker/cli.ts`, BROKER_PERSISTENCE=redis) and P ingest workers
 * (`ingest/cli.ts`, INGEST_WORKERS=P, worker i on broker i), a fresh InfluxDB database, and T trucks
 * spread over the brokers publishing GPS fixes at QoS 1 with W in flight each for S seconds. It
 * reports: acknowledged/s (durable in Redis), stored/s (until every acknowledged fix is in
 * InfluxDB), Redis commands and round trips per message (INFO commandstats: a MULTI…EXEC and a
 * script count as one round trip each, their inner commands not), and the CPU seconds per message
 * of each kind of process — from which the 16-core figure is a calculation, printed with its terms.
 * Ratios are against the 1-pair round of the same run.
 *
 *   npm run bench:cluster -- --seconds 8 --pairs 1,2,4 --trucks 16 --window 16
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { openInfluxStore } from '../store/influx/index';
import { startInfluxd } from '../testing/influxd';
import { freePort, tempDir, waitFor } from '../testing/net';
import { startRedis } from '../testing/redis';
import { BENCH_DIR, loadTrucks, machine, parseArgs, printTable, procSample, round, TEST_PASSWORD, writeBenchRegistry, writeResult } from './lib';

const ROOT = path.resolve(BENCH_DIR, '..');
const args = parseArgs(process.argv.slice(2));
const SECONDS = Number(args.seconds ?? 8);
const PAIRS = (args.pairs ?? '1,2,4').split(',').map(Number);
const TRUCKS = Number(args.trucks ?? 16);
const WINDOW = Number(args.window ?? 16);

interface Proc {
  name: string;
  child: ChildProcess;
  out(): string;
  exited: Promise<void>;
}
function spawnTs(name: string, script: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-50_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-50_000)));
  return { name, child, out: () => out, exited: new Promise((r) => child.once('exit', () => r())) };
}
const until = (p: Proc, text: string) =>
  waitFor(
    () => {
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited: ${p.out().slice(-2000)}`);
      return p.out().includes(text);
    },
    90_000,
    100,
    `${p.name}: ${text}`,
  );

/** INFO commandstats → calls per command; round trips = client requests (MULTI…EXEC and EVALSHA once, their inner commands not) */
function redisCost(stats: Record<string, { calls: number }>) {
  const calls = Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v.calls]));
  const total = Object.values(calls).reduce((a, b) => a + b, 0);
  const multi = calls.multi ?? 0;
  // inside MULTI (enqueue: mset + rpush; QoS 2 pubrel: lrem+rpush+set) and inside the clear script (get, lrem, decr, del)
  const inner = (calls.mset ?? 0) + (calls.rpush ?? 0) + (calls.exec ?? 0) + (calls.get ?? 0) + (calls.lrem ?? 0) + (calls.decr ?? 0) + (calls.del ?? 0);
  return { calls, total, roundTrips: total - inner, multi };
}

async function round1(pairs: number, redis: Awaited<ReturnType<typeof startRedis>>, influxUrl: string) {
  const base = tempDir(`bench-cluster-${pairs}-`);
  const devices = loadTrucks(TRUCKS, `c${pairs}`);
  const procs: Proc[] = [];
  const clients: MqttClient[] = [];
  const admin = redis.client();
  await admin.flushall();
  const bucket = `cluster_p${pairs}`;
  try {
    const ports = await Promise.all(Array.from({ length: pairs }, () => freePort()));
    for (let i = 0; i < pairs; i++) {
      const dir = path.join(base, `broker-${i}`);
      writeBenchRegistry(path.join(dir, 'registry.json'), devices);
      procs.push(
        spawnTs(`broker ${i}`, 'broker/cli.ts', {
          DATA_DIR: dir,
          HOST: '127.0.0.1',
          BROKER_PERSISTENCE: 'redis',
          REDIS_URL: redis.url,
          BROKER_ID: `b${i}`,
          MQTT_PORT: String(ports[i]),
          MQTT_WS_PORT: '0',
          METRICS_PORT: String(await freePort()),
        }),
      );
    }
    await Promise.all(procs.map((p) => until(p, 'broker ready')));
    const workers: Proc[] = [];
    for (let i = 0; i < pairs; i++) {
      const dir = path.join(base, `ingest-${i}`);
      writeBenchRegistry(path.join(dir, 'registry.json'), devices);
      workers.push(
        spawnTs(`ingest ${i}`, 'ingest/cli.ts', {
          DATA_DIR: dir,
          HOST: '127.0.0.1',
          MQTT_URL: `mqtt://127.0.0.1:${ports[i]}`,
          METRICS_PORT: String(await freePort()),
          INFLUX_URL: influxUrl,
          INFLUX_API: 'v1',
          INFLUX_BUCKET: bucket,
          INGEST_PASSWORD: TEST_PASSWORD('ingest'),
          INGEST_WORKERS: String(pairs),
          INGEST_WORKER: String(i),
          INGEST_RULES: 'off',
          REDIS_URL: redis.url,
        }),
      );
    }
    procs.push(...workers);
    await Promise.all(workers.map((p) => until(p, 'ingest ready')));

    const conns = await Promise.all(
      devices.map(async (d, j) => {
        const c = mqtt.connect(`mqtt://127.0.0.1:${ports[j % pairs]}`, { username: d.id, password: TEST_PASSWORD(d.id), clientId: d.id, clean: true, reconnectPeriod: 0 });
        clients.push(c);
        await new Promise<void>((r, x) => (c.once('connect', () => r()), c.once('error', x)));
        return c;
      }),
    );
    const redisPid = Number(((await admin.info('server')) as string).match(/process_id:(\d+)/)![1]);
    const pidsOf = (re: RegExp) => procs.filter((p) => re.test(p.name)).map((p) => p.child.pid!);
    const sample = () => ({ broker: pidsOf(/^broker/).map(procSample), ingest: pidsOf(/^ingest/).map(procSample), redis: [procSample(redisPid)] });
    await redis.resetStats();
    const cpu0 = sample();
    const firstTs = Date.now() - 30 * 60_000;
    let acked = 0;
    const t0 = performance.now();
    const stopAt = t0 + SECONDS * 1000;
    await Promise.all(
      conns.map(async (c, j) => {
        let i = 0;
        const topic = `city/v1/truck/${devices[j]!.id}/gps`;
        await new Promise<void>((done) => {
          let inflight = 0;
          const pump = () => {
            while (inflight < WINDOW && performance.now() < stopAt) {
              inflight++;
              const ts = firstTs + i++;
              c.publish(topic, JSON.stringify({ ts, lat: 18.14, lon: -94.43, speedKmh: 25, heading: 180, hdop: 0.9, sats: 9 }), { qos: 1 }, (err) => {
                inflight--;
                if (!err) acked++;
                if (performance.now() < stopAt) pump();
                else if (inflight === 0) done();
              });
            }
          };
          pump();
        });
      }),
    );
    const pubS = (performance.now() - t0) / 1000;
    const store = await openInfluxStore({ url: influxUrl, token: '', org: '', bucket, api: 'v1', spillDir: path.join(base, 'spill') });
    let stored = 0;
    try {
      await waitFor(
        async () => {
          stored = 0;
          for (const d of devices) stored += await store.count({ deviceId: d.id, stream: 'gps', from: firstTs - 1, to: firstTs + 10_000_000 });
          return stored >= acked;
        },
        120_000,
        500,
        'every acknowledged fix stored',
      );
    } finally {
      await store.close();
    }
    const allS = (performance.now() - t0) / 1000;
    const cpu1 = sample();
    const cpuS = (k: 'broker' | 'ingest' | 'redis') => cpu1[k].reduce((a, s, i) => a + ((s?.cpuS ?? 0) - (cpu0[k][i]?.cpuS ?? 0)), 0);
    const cost = redisCost(await redis.stats());
    return {
      pairs,
      acknowledged: acked,
      stored,
      ackPerS: round(acked / pubS),
      storedPerS: round(acked / allS),
      redisCommandsPerMsg: round(cost.total / acked, 2),
      redisRoundTripsPerMsg: round(cost.roundTrips / acked, 2),
      redisCalls: cost.calls,
      cpuMsPerMsg: { broker: round((1000 * cpuS('broker')) / acked, 3), ingest: round((1000 * cpuS('ingest')) / acked, 3), redis: round((1000 * cpuS('redis')) / acked, 3) },
    };
  } finally {
    for (const c of clients) c.end(true);
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 20_000))]);
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    admin.disconnect();
    fs.rmSync(base, { recursive: true, force: true });
  }
}

async function main() {
  const [redis, influx] = await Promise.all([startRedis({ password: 'bench' }), startInfluxd()]);
  const rounds = [];
  try {
    for (const p of PAIRS) {
      const r = await round1(p, redis, influx.url);
      console.log(`${p} pair(s): ${r.ackPerS} acknowledged/s, ${r.storedPerS} stored/s, Redis ${r.redisRoundTripsPerMsg} round trips (${r.redisCommandsPerMsg} commands) per message`);
      rounds.push(r);
    }
  } finally {
    await influx.stop();
    await redis.stop();
  }
  const b = rounds[0]!;
  printTable([
    ['pairs', 'ack/s', 'stored/s', '× 1 pair', 'Redis RT/msg', 'cmds/msg', 'CPU ms/msg broker', 'ingest', 'redis'],
    ...rounds.map((r) => [
      r.pairs,
      r.ackPerS,
      r.storedPerS,
      round(r.storedPerS / b.storedPerS, 2),
      r.redisRoundTripsPerMsg,
      r.redisCommandsPerMsg,
      r.cpuMsPerMsg.broker,
      r.cpuMsPerMsg.ingest,
      r.cpuMsPerMsg.redis,
    ]),
  ]);
  // the 16-core figure, as a calculation from the measured CPU cost per message. Every broker node
  // receives every city/ message from Redis (one pattern per node), so a broker's cost per message
  // grows with the number of nodes: take the cost of the largest round (the shape 16 cores would run).
  const big = rounds[rounds.length - 1]!;
  const c = big.cpuMsPerMsg;
  const perMsg = c.broker + c.ingest + c.redis;
  const cores16 = (16 * 1000) / perMsg;
  const redisCap = 1000 / c.redis;
  const calc = `16 cores, ${big.pairs} pairs: 16 × 1000 ms / (${c.broker} broker + ${c.ingest} ingest + ${c.redis} Redis = ${round(perMsg, 3)} ms CPU per message, all processes of the round) = ${round(cores16)} msg/s if CPU were the only limit; Redis is one thread: 1000 / ${c.redis} = ${round(redisCap)} msg/s at most; so ≈ ${round(Math.min(cores16, redisCap))} msg/s (InfluxDB's CPU not counted: its own machine in a deployment). Measured here on ${machine().cores} cores at load ${machine().loadavg[0]}: ${big.storedPerS} stored/s — latency-bound (each connection's publishes are handled one after another, each waiting for Redis), not CPU-bound`;
  console.log(calc);
  const file = writeResult('cluster', {
    settings: { seconds: SECONDS, pairs: PAIRS, trucks: TRUCKS, window: WINDOW },
    rounds,
    ratioTo1Pair: rounds.map((r) => round(r.storedPerS / b.storedPerS, 2)),
    calculation16Cores: calc,
    machine: machine(),
  });
  console.log(`results: ${file}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
