/**
 * Benchmark 5 — planners' queries over a month of the demo city's telemetry, for both stores.
 *
 *   npx tsx bench/queries.ts [--rounds 3] [--days 30] [--gpsS 60] [--warm 5]
 *
 * Fill: a generator writes contract records (contract/records.ts) for the demo city's devices
 * (demo/demo-registry.ts demoDevices: 40 trucks, 6 air, 7 noise stations, 8 plate cameras) through
 * `store.writeBatch`, over `days` days ending now. Rates are lowered to keep the fill bounded
 * but the month span is kept: truck GPS every `gpsS` s during an 8-hour shift (positions on a
 * loop around the city centre, not on the street graph), ~60 bin lifts per truck-day, air and
 * noise readings every 5 min, ~400 plate reads per camera-day with a daily traffic profile.
 *
 * Then each planner query runs through the TelemetryStore interface, per round: "cold" = the
 * first run after closing and reopening the store (DuckDB: the database file reopened; InfluxDB:
 * influxd restarted on the same data), "warm" = median of the next `warm` runs. The OS page cache
 * stays warm in both cases (no root to drop it).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AnyTelemetryRecord, PlateDirection } from '../contract';
import { loadCity } from '../city/city';
import { demoDevices, veracruzPlate, type DeviceSpec } from '../demo/demo-registry';
import { seededRng } from '../lib/rng';
import { createLogger } from '../lib/log';
import { openDuckDbStore } from '../store/duckdb/index';
import { openInfluxStore } from '../store/influx/index';
import type { TelemetryStore } from '../store/types';
import { startInfluxd, type Influxd } from '../testing/influxd';
import { tempDir } from '../testing/net';
import { parseArgs, findPid, fmtSpread, printTable, procSample, round, spread, writeResult, type Spread } from './lib';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const log = createLogger('bench-queries', 'error');

interface FillOpts {
  days: number;
  gpsS: number;
}

/** Records of one day for every device, in time order per device. */
function* dayRecords(devices: DeviceSpec[], dayStart: number, o: FillOpts, rng: () => number): Generator<AnyTelemetryRecord[]> {
  const rec = <S extends AnyTelemetryRecord['stream']>(d: DeviceSpec, stream: S, ts: number, payload: object) =>
    ({ deviceId: d.id, kind: d.kind, stream, ts, receivedAt: ts + 200, late: false, district: d.district, payload: { ts, ...payload } }) as AnyTelemetryRecord;
  const centre = [-94.45, 18.13];
  for (const [k, d] of devices.entries()) {
    const out: AnyTelemetryRecord[] = [];
    if (d.kind === 'truck') {
      const shift = dayStart + 12 * HOUR; // 06:00 local ≈ 12:00 UTC
      const n = Math.floor((8 * HOUR) / (o.gpsS * 1000));
      for (let i = 0; i < n; i++) {
        const ts = shift + i * o.gpsS * 1000;
        const a = (i / n) * 2 * Math.PI * 4 + k;
        out.push(
          rec(d, 'gps', ts, { lat: centre[1]! + 0.02 * Math.sin(a), lon: centre[0]! + 0.025 * Math.cos(a * 1.3), speedKmh: 10 + 30 * rng(), heading: Math.round(rng() * 359), hdop: 0.9, sats: 9 }),
        );
      }
      for (let i = 0; i < 60; i++) {
        const ts = shift + 1000 + Math.floor((i / 60) * 8 * HOUR);
        out.push(rec(d, 'event', ts, { type: 'bin_lift', lat: centre[1]! + 0.01 * rng(), lon: centre[0]! + 0.01 * rng(), binId: `bin-${k}-${i}`, weightKg: Math.round(20 + 80 * rng()) }));
      }
    } else if (d.kind === 'air') {
      for (let t = dayStart; t < dayStart + DAY; t += 300_000) {
        const h = ((t - dayStart) / HOUR + 18) % 24;
        out.push(
          rec(d, 'air', t, {
            windowS: 300,
            pm25: round(8 + 20 * Math.max(0, Math.sin(((h - 6) / 24) * 2 * Math.PI)) + 5 * rng(), 1),
            pm10: round(20 + 30 * rng(), 1),
            o3: round(0.02 + 0.03 * rng(), 3),
            no2: round(0.01 + 0.02 * rng(), 3),
            tempC: 26 + 4 * rng(),
            rhPct: 70 + 20 * rng(),
          }),
        );
      }
    } else if (d.kind === 'noise') {
      for (let t = dayStart; t < dayStart + DAY; t += 300_000) {
        const l = 50 + 15 * rng();
        out.push(rec(d, 'noise', t, { windowS: 300, laeq: round(l, 1), lamax: round(l + 10 + 5 * rng(), 1), lamin: round(l - 10, 1) }));
      }
    } else if (d.kind === 'camera') {
      const dir: PlateDirection = d.camera?.direction === 'leaving' ? 'leaving' : 'entering';
      let t = dayStart;
      for (let i = 0; i < 400; i++) {
        t += 1000 + Math.floor((rng() * (2 * DAY)) / 400);
        if (t >= dayStart + DAY) break;
        out.push(rec(d, 'plate', t, { plate: veracruzPlate(rng), region: 'VER', confidence: round(0.8 + 0.2 * rng(), 2), direction: dir, lane: 1 + Math.floor(rng() * 2), frames: 5 }));
      }
    }
    yield out;
  }
}

async function fill(store: TelemetryStore, devices: DeviceSpec[], start: number, o: FillOpts): Promise<{ rows: Record<string, number>; ms: number }> {
  const rng = seededRng(42);
  const rows: Record<string, number> = {};
  const t0 = performance.now();
  let batch: AnyTelemetryRecord[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const r = await store.writeBatch(batch);
    if (r.written !== batch.length) throw new Error(`fill: wrote ${r.written} of ${batch.length} (duplicates ${r.duplicates})`);
    batch = [];
  };
  for (let day = 0; day < o.days; day++) {
    for (const recs of dayRecords(devices, start + day * DAY, o, rng)) {
      for (const r of recs) {
        rows[r.stream] = (rows[r.stream] ?? 0) + 1;
        batch.push(r);
        if (batch.length >= 5000) await flush();
      }
    }
  }
  await flush();
  return { rows, ms: performance.now() - t0 };
}

interface Query {
  name: string;
  run(s: TelemetryStore): Promise<number>;
}
function queries(start: number, days: number, devices: DeviceSpec[]): Query[] {
  const month = { from: start, to: start + days * DAY };
  const d0 = Math.min(10, days - 1);
  const day = { from: start + d0 * DAY, to: start + (d0 + 1) * DAY };
  const truck = devices.find((d) => d.kind === 'truck')!.id;
  const air = devices.find((d) => d.kind === 'air')!.id;
  return [
    { name: 'track of a truck-day', run: async (s) => (await s.track({ deviceId: truck, ...day })).length },
    { name: 'hourly PM2.5, one station, month', run: async (s) => (await s.series({ stream: 'air', field: 'pm25', deviceIds: [air], windowMs: HOUR, ...month })).length },
    { name: 'hourly noise LAeq, all stations, month', run: async (s) => (await s.series({ stream: 'noise', field: 'laeq', windowMs: HOUR, ...month })).length },
    { name: 'plate counts per entrance per hour, month', run: async (s) => (await s.plateCounts(month)).length },
    {
      name: 'route-day coverage inputs (track + bin lifts)',
      run: async (s) => {
        const [t, e] = await Promise.all([s.track({ deviceId: truck, ...day }), s.truckEvents({ deviceIds: [truck], ...day })]);
        return t.length + e.length;
      },
    },
  ];
}

interface Backend {
  name: 'duckdb' | 'influx';
  open(): Promise<TelemetryStore>;
  /** make the next query cold: close and reopen (and restart influxd) */
  reopen(s: TelemetryStore): Promise<TelemetryStore>;
  pid(): number | null;
  cleanup(): Promise<void>;
}

async function duckBackend(): Promise<Backend> {
  const dir = tempDir('bench-q-duck-');
  const file = path.join(dir, 'telemetry.duckdb');
  const open = async () => {
    const s = await openDuckDbStore({ file, log });
    await s.init();
    return s;
  };
  return {
    name: 'duckdb',
    open,
    async reopen(s) {
      await s.close();
      return open();
    },
    pid: () => process.pid,
    async cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function influxBackend(): Promise<Backend> {
  const influx: Influxd = await startInfluxd();
  const spillDir = tempDir('bench-q-spill-');
  const open = async () => {
    const s = await openInfluxStore({ url: influx.url, bucket: 'city', api: 'v1', spillDir, retentionDays: 90, log });
    await s.init();
    return s;
  };
  return {
    name: 'influx',
    open,
    async reopen(s) {
      await s.close();
      await influx.restart();
      return open();
    },
    pid: () => findPid(influx.dir),
    async cleanup() {
      await influx.stop();
      fs.rmSync(spillDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const rounds = Number(a.rounds ?? 3);
  const warmRuns = Number(a.warm ?? 5);
  const o: FillOpts = { days: Number(a.days ?? 30), gpsS: Number(a.gpsS ?? 60) };
  const devices = demoDevices(loadCity()).filter((d) => d.status === 'active');
  const start = Math.floor((Date.now() - (o.days + 1) * DAY) / DAY) * DAY;
  const qs = queries(start, o.days, devices);
  console.log(`queries bench: ${devices.length} demo devices, ${o.days} days, GPS every ${o.gpsS} s, ${rounds} rounds`);

  const out: Record<
    string,
    { fill: { rows: Record<string, number>; ms: number; rowsPerS: number; rssMB: number }; cold: Record<string, Spread>; warm: Record<string, Spread>; resultRows: Record<string, number> }
  > = {};
  for (const make of [duckBackend, influxBackend]) {
    const b = await make();
    try {
      let store = await b.open();
      const f = await fill(store, devices, start, o);
      const total = Object.values(f.rows).reduce((x, y) => x + y, 0);
      const rss = procSample(b.pid() ?? process.pid)?.rssMB ?? NaN;
      console.log(`  [${b.name}] filled ${total} rows ${JSON.stringify(f.rows)} in ${Math.round(f.ms / 1000)} s (${Math.round(total / (f.ms / 1000))} rows/s)`);
      const cold: Record<string, number[]> = {};
      const warm: Record<string, number[]> = {};
      const resultRows: Record<string, number> = {};
      for (let r = 0; r < rounds; r++) {
        for (const q of qs) {
          // every query gets its own cold start: reopen before it
          store = await b.reopen(store);
          let t0 = performance.now();
          resultRows[q.name] = await q.run(store);
          (cold[q.name] ??= []).push(performance.now() - t0);
          const w: number[] = [];
          for (let i = 0; i < warmRuns; i++) {
            t0 = performance.now();
            await q.run(store);
            w.push(performance.now() - t0);
          }
          (warm[q.name] ??= []).push(spread(w).median);
        }
        console.log(`  [${b.name}] round ${r + 1}: ${qs.map((q) => `${q.name} ${Math.round(cold[q.name]!.at(-1)!)}/${Math.round(warm[q.name]!.at(-1)!)} ms`).join('; ')}`);
      }
      await store.close();
      out[b.name] = {
        fill: { ...f, ms: Math.round(f.ms), rowsPerS: Math.round(total / (f.ms / 1000)), rssMB: round(rss) },
        cold: Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, spread(v)])),
        warm: Object.fromEntries(Object.entries(warm).map(([k, v]) => [k, spread(v)])),
        resultRows,
      };
    } finally {
      await b.cleanup();
    }
  }

  const rows: (string | number)[][] = [['query (month span)', 'rows', 'DuckDB cold ms', 'DuckDB warm ms', 'InfluxDB cold ms', 'InfluxDB warm ms', 'influx/duckdb warm', '< 500 ms']];
  const ratios: Record<string, Spread> = {};
  for (const q of qs) {
    const d = out.duckdb!,
      i = out.influx!;
    const ratio = spread(d.warm[q.name]!.runs.map((x, k) => i.warm[q.name]!.runs[k]! / x));
    ratios[q.name] = ratio;
    const worst = Math.max(d.cold[q.name]!.median, d.warm[q.name]!.median, i.cold[q.name]!.median, i.warm[q.name]!.median);
    rows.push([
      q.name,
      `${d.resultRows[q.name]}/${i.resultRows[q.name]}`,
      fmtSpread(d.cold[q.name]!, 1),
      fmtSpread(d.warm[q.name]!, 1),
      fmtSpread(i.cold[q.name]!, 1),
      fmtSpread(i.warm[q.name]!, 1),
      fmtSpread(ratio, 2, '×'),
      worst < 500 ? 'yes' : 'NO',
    ]);
  }
  console.log('');
  printTable(rows);
  const file = writeResult('queries', { options: { ...o, rounds, warmRuns, devices: devices.length, start: new Date(start).toISOString() }, stores: out, influxOverDuckdbWarm: ratios });
  console.log(`\nwritten ${file}`);
}

main().then(
  () => process.exit(0),
  (e) => (console.error(e), process.exit(1)),
);
