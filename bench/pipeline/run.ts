/** One configuration's round (step up, bisect, 80 % latency window), and InfluxDB's own write ceiling. */
import fs from 'node:fs';
import path from 'node:path';
import type { Influxd } from '../../testing/influxd';
import { tempDir } from '../../testing/net';
import { forkChild, stderrTailOf, type BenchChild } from '../harness';
import { findPid, procDelta, procSample, round, sleep } from '../lib';
import { CHILDREN_SCRIPT_PATH } from './paths';
import { Generator } from './generator';
import { startNodeRed } from './node-red';
import { childSink, influxQuery, influxSink, type Sink } from './sinks';
import { step, type StepResult } from './step';
import type { Opts } from './options';

/** the broker's session directories (level persistence), removed at the end */
export const brokerDirs: string[] = [];

/** A child of bench/pipeline/children.ts; BENCH_CPU_PROF=<dir>: a V8 CPU profile of each, written when it exits. */
function startChild<Info = Record<string, unknown>>(role: string, args: Record<string, string>): Promise<BenchChild<Info>> {
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.BENCH_CPU_PROF, role)}`] : [];
  return forkChild<Info>(CHILDREN_SCRIPT_PATH, role, args, { execArgv: prof, stderr: 'pipe' });
}

/**
 * duckdb-memory: the DuckDB pipeline on a broker with in-memory sessions (the price of durability,
 * in the same run); duckdb-serial: the DuckDB pipeline writing one batch at a time (maxWrites 1,
 * before the overlapped writes: what they gain, in the same run)
 */
export type Config = 'broker-alone' | 'duckdb' | 'influx' | 'node-red' | 'duckdb-memory' | 'duckdb-serial';

export interface RoundResult {
  sustained: number;
  sustainedStep: StepResult | null;
  at80: StepResult | null;
  steps: StepResult[];
  /** server processes that died during the round (with the step's rate) */
  crashes: string[];
}

interface Env {
  broker: BenchChild<{ port: number }>;
  sinkChild: BenchChild | null;
  nodeRed: Awaited<ReturnType<typeof startNodeRed>> | null;
  sink: Sink;
  pids: Record<string, number>;
  gen: Generator;
}

const errorLine = (tail: string) => {
  const lines = tail.split('\n').map((l) => l.trim());
  const i = lines.findIndex((l) => /^\w*Error\b|Error:/.test(l));
  return i < 0
    ? (lines.filter(Boolean).slice(-1)[0] ?? '')
    : lines
        .slice(i, i + 3)
        .join(' | ')
        .slice(0, 300);
};

/** The name and stderr tail of a server process that died during the run, if any. */
function crashed(env: Env): string | null {
  for (const [name, c] of [
    ['broker', env.broker.proc],
    ['ingest/subscriber', env.sinkChild?.proc],
    ['node-red', env.nodeRed?.proc],
  ] as const) {
    if (c && c.exitCode !== null) return `${name} process died (exit ${c.exitCode}): ${errorLine(stderrTailOf(c))}`;
  }
  return null;
}

export async function runConfig(cfg: Config, o: Opts, registry: string, influx: Influxd, roundNo: number, startRate: number): Promise<RoundResult> {
  const dir = tempDir(`bench-pipe-${cfg}-`);
  const db = `bench_${cfg.replace('-', '_')}_r${roundNo}`;
  const influxPid = findPid(influx.dir);
  if (cfg === 'node-red') await influxQuery(influx.url, db, `CREATE DATABASE ${db}`);
  const setup = async (): Promise<Env> => {
    const brokerDir = tempDir(`bench-pipe-broker-`);
    brokerDirs.push(brokerDir);
    const persistence = cfg === 'duckdb-memory' ? 'memory' : o.persistence;
    const broker = await startChild<{ port: number }>('broker', { registry, persistence, dir: brokerDir });
    const mqttUrl = `mqtt://127.0.0.1:${broker.info.port}`;
    const env: Env = { broker, sinkChild: null, nodeRed: null, sink: null as unknown as Sink, pids: { broker: broker.proc.pid!, generator: process.pid }, gen: null as unknown as Generator };
    if (cfg === 'broker-alone') {
      env.sinkChild = await startChild('subscriber', { mqttUrl, persistence: o.persistence });
      env.pids.subscriber = env.sinkChild.proc.pid!;
      env.sink = childSink(env.sinkChild);
    } else if (cfg === 'node-red') {
      env.nodeRed = await startNodeRed(broker.info.port, influx.url, db);
      env.pids.nodeRed = env.nodeRed.proc.pid!;
      if (influxPid) env.pids.influxd = influxPid;
      env.sink = influxSink(influx.url, db);
    } else {
      const maxWrites = cfg === 'duckdb-serial' ? 1 : o.maxWrites;
      env.sinkChild = await startChild('ingest', {
        registry,
        mqttUrl,
        store: cfg === 'influx' ? 'influx' : 'duckdb',
        dir,
        influxUrl: influx.url,
        db,
        ...(o.maxInFlight ? { maxInFlight: String(o.maxInFlight) } : {}),
        ...(maxWrites ? { maxWrites: String(maxWrites) } : {}),
      });
      env.pids.ingest = env.sinkChild.proc.pid!;
      if (cfg === 'influx' && influxPid) env.pids.influxd = influxPid;
      env.sink = childSink(env.sinkChild);
    }
    env.gen = new Generator(
      Array.from({ length: o.devices }, (_, i) => `load-${String(i + 1).padStart(5, '0')}`),
      o.generator,
    );
    const connectMs = await env.gen.connect(broker.info.port);
    console.log(`  [${cfg} r${roundNo}] ${o.devices + 1} publishers connected in ${Math.round(connectMs)} ms`);
    await sleep(1000);
    return env;
  };
  const teardown = async (env: Env | null) => {
    if (!env) return;
    await env.gen?.close().catch(() => {});
    await env.sinkChild?.stop().catch(() => {});
    await env.nodeRed?.stop().catch(() => {});
    await env.broker.stop().catch(() => {});
  };
  let env: Env | null = null;
  const crashes: string[] = [];
  const run = async (rate: number): Promise<StepResult> => {
    const s = await step(env!.gen, env!.sink, env!.pids, rate, o.windowMs, o.drainLimitMs);
    const c = crashed(env!);
    if (c) {
      s.pass = false;
      s.why = `${c}${s.loss > 0 ? `; ${s.loss} acknowledged messages lost` : ''}`;
      s.crashed = c;
      crashes.push(`at ${rate} msg/s: ${c}`);
    }
    return s;
  };
  try {
    env = await setup();
    const steps: StepResult[] = [];
    let rate = startRate;
    let best: StepResult | null = null;
    for (;;) {
      const s = await run(rate);
      steps.push(s);
      if (!s.pass && !best && !s.crashed && rate / 2 >= o.minRate) {
        // the first step already failed: step down until one passes
        console.log(`  [${cfg} r${roundNo}] offered ${rate} msg/s → FAIL (${s.why}); stepping down`);
        rate = Math.round(rate / 2);
        await sleep(3000);
        continue;
      }
      console.log(
        `  [${cfg} r${roundNo}] offered ${rate} msg/s → ${s.pass ? 'ok  ' : 'FAIL'} published ${Math.round(s.publishedRate)}/s, acked ${s.acked}, stored ${s.stored}, loss ${s.loss} (per id: ${s.reconcile.verdict}, ${s.reconcile.ackedMissing} missing, ${s.reconcile.duplicateIds} dup), drain ${s.drainMs} ms, p50/p99 ${s.latencyP50Ms}/${s.latencyP99Ms} ms, cpu ${JSON.stringify(s.cpuPct)}${s.storeWriteBusyPct !== undefined && Number.isFinite(s.storeWriteBusyPct) ? `, store write busy ${s.storeWriteBusyPct} % (mean batch ${s.meanBatch})` : ''} ${s.why}`,
      );
      if (!s.pass) break;
      best = s;
      rate = Math.round(rate * 1.5);
      if (rate > o.maxRate) break;
      await sleep(1500);
    }
    const fresh = async () => {
      if (crashed(env!)) {
        await teardown(env);
        env = null;
        env = await setup();
      } else await sleep(3000);
    };
    // two bisection steps between the last pass and the first fail: the ×1.5 ladder's ceiling
    // to within ~11 % (one step left it within 22 %, too coarse for a ratio target)
    let firstFail = steps[steps.length - 1]!;
    for (let b = 0; b < 2 && best && !firstFail.pass; b++) {
      const mid = Math.round(Math.sqrt(best.offered * firstFail.offered));
      await fresh();
      const s = await run(mid);
      steps.push(s);
      console.log(
        `  [${cfg} r${roundNo}] bisect ${mid} msg/s → ${s.pass ? 'ok' : 'FAIL'} loss ${s.loss} (per id: ${s.reconcile.verdict}, ${s.reconcile.ackedMissing} missing), drain ${s.drainMs} ms ${s.why}`,
      );
      if (s.pass) best = s;
      else firstFail = s;
    }
    let at80: StepResult | null = null;
    if (best) {
      await fresh();
      at80 = await run(Math.round(0.8 * best.offered));
      console.log(
        `  [${cfg} r${roundNo}] 80 % = ${at80.offered} msg/s → latency p50 ${at80.latencyP50Ms} ms, p99 ${at80.latencyP99Ms} ms, loss ${at80.loss} (per id: ${at80.reconcile.verdict}, ${at80.reconcile.ackedMissing} missing) ${at80.why}`,
      );
    }
    return { sustained: best?.offered ?? 0, sustainedStep: best, at80, steps, crashes };
  } finally {
    await teardown(env);
    if (cfg !== 'broker-alone' && cfg !== 'duckdb') await influxQuery(influx.url, db, `DROP DATABASE ${db}`).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** InfluxDB's own write ceiling: 2 writers, 5,000-point batches of line protocol, for `ms`. */
export async function influxCeiling(influx: Influxd, ms: number, roundNo: number): Promise<{ pointsPerS: number; influxCpuPct: number; influxRssMB: number }> {
  const db = `bench_ceiling_r${roundNo}`;
  await influxQuery(influx.url, db, `CREATE DATABASE ${db}`);
  const pid = findPid(influx.dir);
  let ts = Date.now() - 3_600_000;
  const batch = () => {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const dev = `load-${String((i % 1000) + 1).padStart(5, '0')}`;
      ts++;
      lines.push(`gps,deviceId=${dev},kind=truck,district=Centro lat=${18.13 + (i % 100) * 0.0003},lon=${-94.45 + (ts % 1000) * 0.00001},speedKmh=${ts % 60},heading=${ts % 360}i ${ts}`);
    }
    return lines.join('\n');
  };
  let points = 0;
  const s0 = pid ? procSample(pid) : null;
  const t0 = performance.now();
  const writer = async () => {
    while (performance.now() - t0 < ms) {
      const body = batch();
      const r = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body });
      await r.arrayBuffer();
      if (r.status !== 204) throw new Error(`influx /write ${r.status}`);
      points += 5000;
    }
  };
  await Promise.all([writer(), writer()]);
  const el = (performance.now() - t0) / 1000;
  const d = procDelta(s0, pid ? procSample(pid) : null);
  const r = await influxQuery(influx.url, db, `SELECT count(lat) FROM gps`);
  const stored = Number(r.results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
  if (stored !== points) console.log(`  [influx-ceiling] WARNING wrote ${points}, counted ${stored}`);
  await influxQuery(influx.url, db, `DROP DATABASE ${db}`);
  return { pointsPerS: points / el, influxCpuPct: round(d.cpuPct), influxRssMB: round(d.rssMB) };
}
