/**
 * Fleet report cost: the demo city's trucks simulated by the real truck model
 * (device-sim/models/truck.ts: shifts, trips, bin lifts, unloads, ignition) for `days` days, written
 * to an in-memory DuckDB store, then `fleetReport` (ops-console/api/lib/fleet-report.ts) for every
 * truck over the whole range. Baseline, measured in the same run: reading the same fixes and
 * events from the store alone (`store.track` per truck + `store.truckEvents`), the floor any report
 * pays; the figure is the report's time as a ratio of it.
 *
 *   npx tsx bench/fleet-report.ts [--days 2] [--trucks 40] [--rounds 3]
 */
import type { AnyTelemetryRecord } from '../contract';
import { loadCity } from '../city/city';
import { demoDevices } from '../demo/demo-registry';
import type { RegistryView } from '../registry/registry';
import type { RegistryDevice } from '../registry/schema';
import { TruckModel } from '../device-sim/models/truck';
import { openDuckDbStore } from '../store/duckdb/index';
import { localDays } from '../ops-console/api/lib/local-days';
import { fleetReport } from '../ops-console/api/lib/fleet-report';
import { machine, parseArgs, printTable, round, spread, writeResult } from './lib';
import { CITY_TZ } from '../norms/local-time';

const args = parseArgs(process.argv.slice(2));
const DAYS = Number(args.days ?? 2);
const TRUCKS = Number(args.trucks ?? 40);
const ROUNDS = Number(args.rounds ?? 3);
const TZ = CITY_TZ;

const city = loadCity();
const trucks = demoDevices(city)
  .filter((d) => d.kind === 'truck')
  .slice(0, TRUCKS)
  .map((d) => ({ ...d, status: 'active', passwordHash: 'scrypt$x', intervals: { dataS: 5, statusS: 60 } }) as unknown as RegistryDevice);
const byId = new Map(trucks.map((d) => [d.id, d]));
const registry = { registry: { devices: trucks }, device: (id: string) => byId.get(id) } as unknown as RegistryView;

const now = Date.now();
const days = localDays(now - DAYS * 86_400_000, now, TZ);
const from = days[1]?.dayStart ?? days[0]!.dayStart; // whole local days
const to = days[days.length - 1]!.dayStart;

const store = await openDuckDbStore({ file: ':memory:' });
await store.init();
let t0 = performance.now();
let written = 0;
for (const d of trucks) {
  const m = new TruckModel({ deviceId: d.id, city, routeId: d.truck!.routeId, gpsS: 5, parkedGpsS: 300, timezone: TZ, start: from, natural: true });
  const recs: AnyTelemetryRecord[] = [];
  for (let t = from; t < to; t += 3_600_000) {
    for (const e of m.advance(Math.min(to, t + 3_600_000))) {
      const ts = (e.payload as { ts: number }).ts;
      recs.push({ deviceId: d.id, kind: 'truck', stream: e.stream, ts, receivedAt: ts, late: false, district: d.district, payload: e.payload } as AnyTelemetryRecord);
    }
  }
  for (let i = 0; i < recs.length; i += 20_000) written += (await store.writeBatch(recs.slice(i, i + 20_000))).written;
}
const fillS = (performance.now() - t0) / 1000;
console.log(`filled ${written} records (${trucks.length} trucks × ${Math.round((to - from) / 86_400_000)} days) in ${round(fillS, 1)} s`);

const ctx = { store, registry, city, tz: TZ };
const base: number[] = [];
const rep: number[] = [];
let last = null as Awaited<ReturnType<typeof fleetReport>> | null;
for (let r = 0; r < ROUNDS; r++) {
  t0 = performance.now();
  let fixes = 0;
  for (const d of trucks) fixes += (await store.track({ deviceId: d.id, from: from - 900_000, to })).length;
  await store.truckEvents({ deviceIds: trucks.map((d) => d.id), from: from - 86_400_000, to });
  base.push(performance.now() - t0);
  t0 = performance.now();
  last = await fleetReport(ctx, { from, to }, to);
  rep.push(performance.now() - t0);
  if (r === 0) console.log(`round 1: ${fixes} fixes read`);
}
const b = spread(base);
const f = spread(rep);
printTable([
  ['measure', 'median ms', 'min', 'max'],
  ['baseline: read fixes + events', round(b.median, 0), round(b.min, 0), round(b.max, 0)],
  ['fleet report (all trucks, whole range)', round(f.median, 0), round(f.min, 0), round(f.max, 0)],
  ['ratio report / baseline', round(f.median / b.median, 2), '', ''],
]);
console.log(
  `report: ${last!.days.length} truck-days, ${last!.trips.length} trips, ${last!.stops.length} stops, ${last!.totals.distanceKm} km, ${last!.totals.engineHours} engine h, ${last!.totals.binsLifted} bins`,
);
const file = writeResult('fleet-report', {
  machine: machine(),
  settings: { days: Math.round((to - from) / 86_400_000), trucks: trucks.length, rounds: ROUNDS, gpsS: 5 },
  records: written,
  baselineMs: b,
  reportMs: f,
  ratio: round(f.median / b.median, 2),
  report: last!.totals,
});
console.log(`wrote ${file}`);
await store.close();
