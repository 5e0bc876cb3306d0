/**
 * Benchmark 1 — ingest pipeline: device → broker → ingest → store (QoS 1), for both stores,
 * against three baselines measured in the same run:
 *   broker-alone  same publishers, one plain QoS 1 subscriber (no ingest): the ceiling on this box
 *   influx-ceiling InfluxDB's own write rate: batched line protocol over HTTP /write (5,000-point
 *                  batches, 2 writers)
 *   node-red      the flow a city would build: mqtt in → function (tags, time) → influxdb out
 *                  (node-red-contrib-influxdb), same broker, same InfluxDB
 *
 *   npx tsx bench/pipeline/index.ts [--rounds 3] [--window 10] [--devices 500] [--only duckdb,influx,...] [--out pipeline]
 *                             [--persistence level|memory] [--max-in-flight N] [--max-writes N]
 *   BENCH_CPU_PROF=/tmp/prof npx tsx bench/pipeline/index.ts ...   (a CPU profile of each server process)
 *
 * --persistence: the broker's session store, as npm start runs it (level = durable, LevelDB in a
 * temp dir; the default) or in memory (the price of durability). With `level` the broker-alone
 * subscriber keeps a persistent session (clean: false, like ingest), so every message goes
 * through the same durable session queue. --max-in-flight: ingest's window of un-acknowledged
 * messages (default: ingest's own, 2 × batch size).
 *
 * Processes: the broker runs in its own child process, ingest (with its store) in another, and
 * this process is the load generator. Offered load steps up geometrically (×1.5) until a step
 * fails: the generator cannot publish at the offered rate, the store is still more than 2 s
 * behind when the window ends, or a published+acknowledged message is missing from the store
 * (loss is counted: store count vs generator acks, never assumed). Rounds 2+ start two steps
 * below round 1's result. After each round's ceiling, one more window at 80 % of it measures
 * device-timestamp-to-queryable latency (a marker device publishes at 10 Hz; the store is
 * polled every 100 ms for its fixes, so latency includes up to ~100 ms of polling granularity).
 *
 * Files: index.ts (options, rounds, summary), run.ts (one configuration's round, the InfluxDB
 * ceiling), step.ts (one step and its per-id reconciliation), generator.ts (the load), sinks.ts
 * (what counts stored points), node-red.ts (the Node-RED baseline), children.ts (the broker and
 * sink child processes, through the shared bench/harness.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { startInfluxd } from '../../testing/influxd';
import { tempDir } from '../../testing/net';
import { killAllChildren } from '../harness';
import { fmtSpread, loadTrucks, machine, parseArgs, printTable, round, spread, writeBenchRegistry, writeResult } from '../lib';
import type { Opts } from './options';
import { brokerDirs, influxCeiling, runConfig, type Config, type RoundResult } from './run';

const USAGE = `npm run bench:pipeline -- [options]   (device → broker → ingest → store, QoS 1)

  --rounds N             rounds (default 3)
  --window S             seconds per load step (default 10)
  --devices N            publishers (default 500), plus one marker device
  --only a,b,...         configurations: broker-alone, duckdb, influx, node-red (default these four),
                         duckdb-memory (the DuckDB pipeline on in-memory broker sessions: the price
                         of durability), duckdb-serial (one store write at a time: what overlapped
                         writes gain)
  --maxRate N            highest offered load, msg/s (default 80000)
  --persistence level|memory   the broker's session store (default level, durable)
  --max-in-flight N      ingest's window of un-acknowledged messages (default ingest's own)
  --max-writes N         ingest's store writes under way at once (default ingest's own)
  --generator raw|mqttjs the load generator's client: raw MQTT 3.1.1 sockets through mqtt-packet
                         (default: cheap, so the system under test gets the cores) or MQTT.js
  --out NAME             result file bench/results/NAME.json (default pipeline)
  --help                 this text

  BENCH_CPU_PROF=<dir>   a V8 CPU profile of each server process`;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if ('help' in a || 'h' in a) {
    console.log(USAGE);
    return;
  }
  const o: Opts = {
    rounds: Number(a.rounds ?? 3),
    windowMs: Number(a.window ?? 10) * 1000,
    devices: Number(a.devices ?? 500),
    drainLimitMs: 2000,
    maxRate: Number(a.maxRate ?? 80_000),
    minRate: 30,
    only: (a.only ? a.only.split(',') : ['broker-alone', 'duckdb', 'influx', 'node-red']) as Config[],
    persistence: a.persistence === 'memory' ? 'memory' : 'level',
    maxInFlight: a['max-in-flight'] ? Number(a['max-in-flight']) : null,
    maxWrites: a['max-writes'] ? Number(a['max-writes']) : null,
    generator: a.generator === 'mqttjs' ? 'mqttjs' : 'raw',
  };
  if (a.generator && a.generator !== 'raw' && a.generator !== 'mqttjs') throw new Error(`--generator must be raw or mqttjs, not ${JSON.stringify(a.generator)}`);
  const startRates: Record<Config, number> = { 'broker-alone': 250, duckdb: 250, influx: 250, 'node-red': 125, 'duckdb-memory': 250, 'duckdb-serial': 250 };
  console.log(
    `pipeline bench: ${o.rounds} rounds, ${o.windowMs / 1000} s windows, ${o.devices} publishers + 1 marker, QoS 1, broker persistence ${o.persistence}, generator ${o.generator}${o.maxInFlight ? `, ingest in-flight window ${o.maxInFlight}` : ''}${o.maxWrites ? `, ingest writes at once ${o.maxWrites}` : ''}; machine ${JSON.stringify(machine())}`,
  );
  const loadavgAtStart = machine().loadavg;
  const regDir = tempDir('bench-pipe-reg-');
  const registry = path.join(regDir, 'registry.json');
  writeBenchRegistry(registry, [...loadTrucks(o.devices), ...loadTrucks(1, 'marker')]);
  const influx = await startInfluxd();
  const onSignal = () => {
    killAllChildren();
    void influx.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: Record<string, RoundResult[]> = {};
  const ceiling: { pointsPerS: number; influxCpuPct: number; influxRssMB: number }[] = [];
  try {
    for (let r = 1; r <= o.rounds; r++) {
      console.log(`round ${r}`);
      ceiling.push(await influxCeiling(influx, o.windowMs, r));
      console.log(`  [influx-ceiling r${r}] ${Math.round(ceiling[r - 1]!.pointsPerS)} points/s, influxd CPU ${ceiling[r - 1]!.influxCpuPct} %`);
      for (const cfg of o.only) {
        const prev = results[cfg]?.[0]?.sustained;
        const start = prev ? Math.max(startRates[cfg], Math.round(prev / 2.25)) : startRates[cfg];
        (results[cfg] ??= []).push(await runConfig(cfg, o, registry, influx, r, start));
      }
      // each round's results as they come: a run cut short still leaves its rounds
      writeResult(`${a.out || 'pipeline'}-partial`, { options: { ...o, loadavgAtStart }, rounds: results, influxCeilingRounds: ceiling, roundsDone: r, loadavgNow: machine().loadavg });
    }
  } finally {
    await influx.stop();
    fs.rmSync(regDir, { recursive: true, force: true });
    for (const d of brokerDirs) fs.rmSync(d, { recursive: true, force: true });
  }

  // ── summary ──────────────────────────────────────────────────────────────────────────────
  const sus = (cfg: Config) => spread((results[cfg] ?? []).map((x) => x.sustained));
  const ratios = (cfg: Config, base: Config) => spread((results[cfg] ?? []).map((x, i) => (results[base]?.[i]?.sustained ? x.sustained / results[base]![i]!.sustained : NaN)));
  const lat = (cfg: Config, k: 'latencyP50Ms' | 'latencyP99Ms') => spread((results[cfg] ?? []).map((x) => x.at80?.[k] ?? NaN));
  const cpu = (cfg: Config) => {
    const keys = new Set((results[cfg] ?? []).flatMap((x) => Object.keys(x.sustainedStep?.cpuPct ?? {})));
    return [...keys]
      .map(
        (k) =>
          `${k} ${round(spread((results[cfg] ?? []).map((x) => x.sustainedStep?.cpuPct[k] ?? NaN)).median)} %/${round(spread((results[cfg] ?? []).map((x) => x.sustainedStep?.rssMB[k] ?? NaN)).median)} MB`,
      )
      .join(', ');
  };
  const summary: Record<string, unknown> = {
    influxCeiling: { pointsPerS: spread(ceiling.map((c) => c.pointsPerS)), influxCpuPct: spread(ceiling.map((c) => c.influxCpuPct)), influxRssMB: spread(ceiling.map((c) => c.influxRssMB)) },
  };
  const rows: (string | number)[][] = [
    ['configuration', 'sustained msg/s, zero loss: median (min–max)', 'vs broker-alone', 'vs Node-RED', 'p50 / p99 latency at 80 % (ms)', 'CPU / RSS per process at the sustained step'],
  ];
  for (const cfg of o.only) {
    summary[cfg] = {
      sustained: sus(cfg),
      vsBrokerAlone: ratios(cfg, 'broker-alone'),
      vsNodeRed: ratios(cfg, 'node-red'),
      latencyAt80: { p50: lat(cfg, 'latencyP50Ms'), p99: lat(cfg, 'latencyP99Ms') },
      cpuPctAtSustained: Object.fromEntries(
        [...new Set((results[cfg] ?? []).flatMap((x) => Object.keys(x.sustainedStep?.cpuPct ?? {})))].map((k) => [k, spread((results[cfg] ?? []).map((x) => x.sustainedStep?.cpuPct[k] ?? NaN))]),
      ),
      rssMBAtSustained: Object.fromEntries(
        [...new Set((results[cfg] ?? []).flatMap((x) => Object.keys(x.sustainedStep?.rssMB ?? {})))].map((k) => [k, spread((results[cfg] ?? []).map((x) => x.sustainedStep?.rssMB[k] ?? NaN))]),
      ),
      crashes: (results[cfg] ?? []).flatMap((x, i) => x.crashes.map((c) => `round ${i + 1} ${c}`)),
      storeWriteBusyPctAtSustained: spread((results[cfg] ?? []).map((x) => x.sustainedStep?.storeWriteBusyPct ?? NaN)),
      storeWriteBusyPctAtFirstFail: spread((results[cfg] ?? []).map((x) => x.steps.find((st) => !st.pass)?.storeWriteBusyPct ?? NaN)),
    };
    rows.push([
      cfg,
      fmtSpread(sus(cfg)),
      fmtSpread(ratios(cfg, 'broker-alone'), 2, '×'),
      fmtSpread(ratios(cfg, 'node-red'), 1, '×'),
      `${fmtSpread(lat(cfg, 'latencyP50Ms'))} / ${fmtSpread(lat(cfg, 'latencyP99Ms'))}`,
      cpu(cfg),
    ]);
  }
  // same-run ratios between pipeline variants: what durability costs, what overlapped writes gain
  const pairs: [string, Config, Config][] = [
    ['priceOfDurability (duckdb ÷ duckdb-memory)', 'duckdb', 'duckdb-memory'],
    ['overlappedWritesGain (duckdb ÷ duckdb-serial)', 'duckdb', 'duckdb-serial'],
  ];
  for (const [name, x, base] of pairs) {
    if (!o.only.includes(x) || !o.only.includes(base)) continue;
    summary[name.split(' ')[0]!] = ratios(x, base);
    rows.push([name, '', '', '', '', `rate ratio ${fmtSpread(ratios(x, base), 2, '×')}`]);
  }
  rows.push(['influx-ceiling (points/s)', fmtSpread(spread(ceiling.map((c) => c.pointsPerS))), '', '', '', `influxd ${round(spread(ceiling.map((c) => c.influxCpuPct)).median)} %`]);
  console.log('');
  printTable(rows);
  for (const cfg of o.only) for (const c of (summary[cfg] as { crashes: string[] }).crashes) console.log(`CRASH ${cfg}: ${c}`);
  const file = writeResult(a.out || 'pipeline', {
    options: { ...o, loadavgAtStart, note: `windows of ${o.windowMs / 1000} s per step (the issue asks 30 s; shortened to keep the run bounded)` },
    summary,
    rounds: results,
    influxCeilingRounds: ceiling,
  });
  console.log(`\nwritten ${file}`);
}

main().then(
  () => process.exit(0),
  (e) => (console.error(e), process.exit(1)),
);
