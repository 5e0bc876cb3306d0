/**
 * Write throughput of the embedded store: batches of mixed points (gps, air, noise) into a temp
 * file, as ingest sends them. Prints points/s per batch; for information, not a test.
 *
 *   npx tsx bench/duckdb-write.ts [batchSize=20000] [batches=10]
 *
 * Wall-clock rates depend on what else runs on the machine; points per CPU-second (this process,
 * DuckDB's threads included) are steadier. Ends with the timings of typical queries.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AnyTelemetryRecord } from '../contract';
import { tempDir } from '../testing/net';
import { record } from '../testing/store-contract-suite';
import { openDuckDbStore } from '../store/duckdb/index';

export function mixedBatch(size: number, startTs: number, devices = 200): AnyTelemetryRecord[] {
  const recs: AnyTelemetryRecord[] = [];
  for (let i = 0; i < size; i++) {
    const ts = startTs + Math.floor(i / devices) * 1000;
    const d = i % devices;
    if (d < devices / 2) recs.push(record('gps', `bench-truck-${d}`, { ts, lat: 18.13 + i * 1e-7, lon: -94.45, speedKmh: 30, heading: 90, hdop: 0.9, sats: 9 }));
    else if (d < (devices * 3) / 4) recs.push(record('air', `bench-air-${d}`, { ts, windowS: 60, pm25: (i % 97) / 2, pm10: 40, o3: 0.03 }));
    else recs.push(record('noise', `bench-noise-${d}`, { ts, windowS: 1, laeq: 40 + (i % 30), lamax: 80, lamin: 35 }));
  }
  return recs;
}

async function main(): Promise<void> {
  const size = Number(process.argv[2] ?? 20_000);
  const batches = Number(process.argv[3] ?? 10);
  const dir = tempDir('duckdb-bench-');
  const store = await openDuckDbStore({ file: path.join(dir, 'telemetry.duckdb') });
  await store.init();
  const start = Date.UTC(2026, 0, 1);
  const rates: number[] = [];
  const cpuRates: number[] = [];
  let t = start;
  for (let b = 0; b < batches; b++) {
    const recs = mixedBatch(size, t);
    t = recs.at(-1)!.ts + 1000;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const res = await store.writeBatch(recs);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    rates.push(size / (ms / 1000));
    cpuRates.push(size / (cpuMs / 1000));
    console.log(
      `batch ${b + 1}: ${res.written} written in ${ms.toFixed(0)} ms = ${Math.round(size / (ms / 1000))} points/s (process CPU ${cpuMs.toFixed(0)} ms = ${Math.round(size / (cpuMs / 1000))} points per CPU-second)`,
    );
  }
  const timed = async <T>(what: string, fn: () => Promise<T>, show: (r: T) => string): Promise<void> => {
    const q0 = performance.now();
    const r = await fn();
    console.log(`${what}: ${show(r)} in ${(performance.now() - q0).toFixed(0)} ms`);
  };
  await timed(
    're-sent first batch',
    () => store.writeBatch(mixedBatch(size, start)),
    (r) => `${r.duplicates} duplicates`,
  );
  await timed(
    'series pm25, daily windows, whole range (rollup)',
    () => store.series({ stream: 'air', field: 'pm25', from: start, to: t, windowMs: 86_400_000 }),
    (r) => `${r.length} buckets`,
  );
  await timed(
    'series pm25, 15-min windows, last hour (raw)',
    () => store.series({ stream: 'air', field: 'pm25', from: t - 3_600_000, to: t, windowMs: 900_000 }),
    (r) => `${r.length} buckets`,
  );
  await timed(
    'track of one truck, last hour',
    () => store.track({ deviceId: 'bench-truck-3', from: t - 3_600_000, to: t }),
    (r) => `${r.length} points`,
  );
  await timed(
    'latest of every device',
    () => store.latest({}),
    (r) => `${r.length} records`,
  );
  await timed(
    'count of everything',
    () => store.count({}),
    (r) => `${r} points`,
  );
  console.log(`process RSS ${Math.round(process.memoryUsage().rss / 1e6)} MB`);
  const median = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  console.log(`median ${median(rates)} points/s (wall), ${median(cpuRates)} points per CPU-second, over ${batches} batches of ${size}; load average ${os.loadavg()[0]!.toFixed(1)}`);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
