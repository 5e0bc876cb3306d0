/**
 * The combined table: reads bench/results/*.json, prints a Markdown table and writes
 * bench/results/summary.md (the figures for bench/README.md; README.md keeps a summary line).
 *
 *   npx tsx bench/summary.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR, type Spread } from './lib';

// bench/results/*.json come from many versions of the benchmarks: read as `any`, a missing figure prints 'n/a'.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-assignment -- see above */
type J = Record<string, any>;

const load = (name: string): J | null => {
  const f = path.join(RESULTS_DIR, `${name}.json`);
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as J) : null;
};
const n = (x: number, d = 0) => (Number.isFinite(x) ? (Math.round(x * 10 ** d) / 10 ** d).toLocaleString('en-US') : 'n/a');
const sp = (s: Spread | undefined, d = 0, unit = '') => (s && Number.isFinite(s.median) ? `${n(s.median, d)}${unit} (${n(s.min, d)}–${n(s.max, d)})` : 'n/a');

export function summaryMarkdown(): string {
  const out: string[] = [];
  const row = (...c: string[]) => out.push(`| ${c.join(' | ')} |`);
  const head = (...c: string[]) => (row(...c), row(...c.map(() => '---')));
  const p = load('pipeline');
  const machine = (p ?? load('queries') ?? load('map') ?? load('connections') ?? load('fanout'))?.machine;
  if (machine) out.push(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGB} GB, Node ${machine.node}. Medians of ≥ 3 rounds (min–max).`, '');

  if (p) {
    const s = p.summary as J;
    out.push(
      `**1. Pipeline** (device → broker → ingest → store, QoS 1; ${p.options.devices} publishers; ${p.options.windowMs / 1000} s windows; ${p.date.slice(0, 10)}; 1.5× load steps until a step fails, then one bisection)`,
      '',
    );
    head('configuration', 'highest rate with zero loss (msg/s)', 'vs broker alone', 'vs Node-RED flow', 'latency p50 / p99 at 80 % (ms)');
    for (const cfg of ['broker-alone', 'duckdb', 'influx', 'node-red']) {
      const c = s[cfg] as J | undefined;
      if (!c) continue;
      const name = { 'broker-alone': 'broker alone (1 plain subscriber)', duckdb: 'pipeline, DuckDB store', influx: 'pipeline, InfluxDB 1.6.7 store', 'node-red': 'Node-RED mqtt in → influxdb out' }[
        cfg
      ]!;
      row(
        name,
        sp(c.sustained),
        cfg === 'broker-alone' ? '1' : sp(c.vsBrokerAlone, 2, '×'),
        cfg === 'node-red' ? '1' : sp(c.vsNodeRed, 1, '×'),
        `${sp(c.latencyAt80?.p50)} / ${sp(c.latencyAt80?.p99)}`,
      );
    }
    row('InfluxDB /write ceiling (points/s, 2 writers × 5,000-point batches)', sp(s.influxCeiling?.pointsPerS), '', '', '');
    out.push('');
  }
  const c = load('connections');
  if (c) {
    const s = c.summary as J;
    out.push(`**2. Connections** (${c.options.devices} devices, ${c.options.devices / 10} publishing at 1 Hz; ${c.date.slice(0, 10)})`, '');
    head('metric', 'median (min–max)');
    row('connect rate (connections/s)', sp(s.connectRate));
    row('connect latency p50 / p99 (ms)', `${sp(s.connectP50Ms)} / ${sp(s.connectP99Ms)}`);
    row('broker RSS idle → all connected → peak (MB)', `${sp(s.idleRssMB)} → ${sp(s.connectedRssMB)} → ${sp(s.peakRssMB)}`);
    row('RSS per connection (KB)', sp(s.perConnKB, 1));
    row('broker CPU while 10 % publish (%)', sp(s.brokerCpuPctPublishing));
    out.push('');
  }
  const f = load('fanout');
  if (f) {
    const s = f.summary as J;
    out.push(`**3. Live stream fan-out** (${f.options.devices} devices at 1 Hz; ${f.date.slice(0, 10)})`, '');
    head('phase', 'API CPU %', 'API peak RSS MB', 'lag server tick → client p50 / p99 (ms)', 'device → client p50 / p99 (ms)', 'MB/s per client');
    for (const ph of s.phases as J[])
      row(ph.name, sp(ph.apiCpuPct), sp(ph.apiPeakRssMB), `${sp(ph.lagP50Ms)} / ${sp(ph.lagP99Ms)}`, `${sp(ph.deviceLagP50Ms)} / ${sp(ph.deviceLagP99Ms)}`, sp(ph.mbPerClientPerS, 2));
    out.push('', `API CPU, ${f.options.clients} clients / 1 client: ${sp(s.apiCpuManyOverOne, 2, '×')}; API peak RSS growth with a stalled client: ${sp(s.apiPeakRssGrowthWithStalledMB)} MB.`, '');
  }
  const m = load('map');
  if (m && m.options.fleets) {
    const o = m.options as J;
    out.push(
      `**4. The map** (fleets of ${(o.fleets as number[]).map((x) => n(x)).join(' and ')} trucks at 1 Hz, ${(o.sizes as string[]).join(' and ')}, headless Chromium, software WebGL, ${o.seconds} s per cell, ${o.rounds} rounds; ${m.date.slice(0, 10)})`,
      '',
    );
    head(
      'cell',
      'median frame (ms)',
      'p95 frame (ms)',
      'time in frames > 50 ms (ms/s)',
      'map repaints/s',
      'fleet canvas draws/s',
      'longest task (ms)',
      'tasks > 100 ms',
      'main thread per update: decode / apply / upload (ms)',
      'stream KB/s per client',
      'naive p95 ÷ p95',
    );
    for (const [k, c] of Object.entries(m.summary as Record<string, J>)) {
      row(
        k,
        sp(c.medianMs, 1),
        sp(c.p95Ms, 1),
        sp(c.over50MsPerS),
        sp(c.repaintsPerS, 1),
        sp(c.fleetDrawsPerS, 1),
        sp(c.longestTaskMs),
        sp(c.longTasksOver100),
        `${sp(c.decodeMs, 1)} / ${sp(c.applyMs, 1)} / ${sp(c.uploadMs, 1)}`,
        sp(c.streamKBps),
        c.naiveOverP95 ? sp(c.naiveOverP95, 1, '×') : '',
      );
    }
    out.push('');
  }
  const q = load('queries');
  if (q) {
    const st = q.stores as J;
    const rows = (Object.values(st.duckdb.fill.rows) as number[]).reduce((x, y) => x + y, 0);
    out.push(
      `**5. Planners' queries** (${q.options.days} days of the demo city, ${n(rows)} rows: ${Object.entries(st.duckdb.fill.rows as Record<string, number>)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ')}; ${q.date.slice(0, 10)})`,
      '',
    );
    head('query', 'DuckDB cold / warm (ms)', 'InfluxDB cold / warm (ms)', 'InfluxDB ÷ DuckDB (warm)');
    for (const name of Object.keys(st.duckdb.cold)) {
      row(name, `${sp(st.duckdb.cold[name], 1)} / ${sp(st.duckdb.warm[name], 1)}`, `${sp(st.influx.cold[name], 1)} / ${sp(st.influx.warm[name], 1)}`, sp(q.influxOverDuckdbWarm[name], 2, '×'));
    }
    out.push('', `Fill through writeBatch: DuckDB ${n(st.duckdb.fill.rowsPerS)} rows/s, InfluxDB ${n(st.influx.fill.rowsPerS)} rows/s.`, '');
  }
  return out.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const md = summaryMarkdown();
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'summary.md'), md + '\n');
  console.log(md);
}
