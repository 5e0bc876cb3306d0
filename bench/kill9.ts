/**
 * The issue's crash scenario, measured: `npm start` (embedded default, fleet off); a provisioned
 * truck publishes N QoS 1 GPS fixes and receives every PUBACK; the whole process group is killed
 * with kill -9 right after the last one; `npm start` again; once the store stops growing, how
 * many of the acknowledged fixes are stored, and how often: lost = acknowledged and not stored,
 * duplicates = stored rows beyond one per event time; exactly once = neither. Each round on a fresh
 * DATA_DIR; PUBACKs are counted per message id (one each).
 *
 *   npm run bench:kill9 -- [--rounds 3] [--n 3000] [--cwd <checkout>] [--env KEY=V,KEY=V] [--label x] [--out kill9]
 *
 * `--cwd` runs another checkout's launcher (e.g. the code before the fix) with this harness.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openDuckDbStore } from '../store/duckdb/index';
import { firstTruck, killGroup, launch, launcherEnv, pubackAnomalies, publishBurst, running } from '../testing/crash';
import { tempDir } from '../testing/net';
import { BENCH_DIR, machine, parseArgs, RESULTS_DIR, sleep } from './lib';

const args = parseArgs(process.argv.slice(2));
const n = Number(args.n ?? 3000);
const cwd = path.resolve(args.cwd ?? path.join(BENCH_DIR, '..'));
const extra = Object.fromEntries(
  (args.env ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
);
const label = args.label ?? 'this checkout';
const rounds = Number(args.rounds ?? 3);

/** Event times of the truck's stored GPS fixes (one per stored row). */
async function stored(dataDir: string, deviceId: string, from: number, to: number): Promise<number[]> {
  const store = await openDuckDbStore({ file: path.join(dataDir, 'telemetry.duckdb') });
  try {
    return (await store.track({ deviceId, from, to })).map((p) => p.ts);
  } finally {
    await store.close();
  }
}

async function round(r: number) {
  const dataDir = tempDir('kill9-');
  const env = await launcherEnv(dataDir, extra);
  const first = launch(env, cwd);
  await running(first);
  const truck = firstTruck(dataDir, Number(env.MQTT_PORT));
  const t0 = Date.now();
  const firstTs = Date.now() - 5 * 60_000;
  const burst = await publishBurst(truck, n, () => killGroup(first), firstTs);
  const burstMs = Date.now() - t0;
  await first.exited;
  await sleep(500);

  const second = launch(env, cwd);
  await running(second);
  // let redelivery finish: wait until ingest's written counter is still for 5 s (at most 90 s)
  let last = -1;
  let stillSince = Date.now();
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && Date.now() - stillSince < 5000) {
    await sleep(500);
    const text = await fetch(`http://127.0.0.1:${env.METRICS_PORT}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    const w = Number(/^ingest_records_written_total (\d+)/m.exec(text)?.[1] ?? -1);
    if (w !== last) {
      last = w;
      stillSince = Date.now();
    }
  }
  second.child.kill('SIGINT');
  await second.exited;
  const rows = await stored(dataDir, truck.deviceId, firstTs, firstTs + n);
  const counts = new Map<number, number>();
  for (const t of rows) counts.set(t, (counts.get(t) ?? 0) + 1);
  const lost = burst.acked.filter((t) => !counts.has(t)).length;
  const duplicates = rows.length - counts.size;
  const pubacks = pubackAnomalies(burst);
  const result = {
    label,
    round: r,
    cwd,
    env: extra,
    published: n,
    acknowledged: burst.acked.length,
    pubackIds: pubacks.ids,
    pubacksNotOnce: pubacks.notOnce.length,
    failed: burst.failed,
    burstMs,
    stored: counts.size,
    storedRows: rows.length,
    lost,
    duplicates,
    exactlyOnce: lost === 0 && duplicates === 0 && pubacks.notOnce.length === 0,
    machine: machine(),
    at: new Date().toISOString(),
  };
  console.log(
    `round ${r}: kill -9 after ${burst.acked.length} PUBACKs (${label}${Object.keys(extra).length ? `, ${JSON.stringify(extra)}` : ''}): ${counts.size} stored after restart, ${lost} lost, ${duplicates} duplicates${result.exactlyOnce ? ' — exactly once' : ''} (load average ${result.machine.loadavg.join(' ')})`,
  );
  fs.rmSync(dataDir, { recursive: true, force: true });
  return result;
}

async function main() {
  const results = [];
  for (let r = 1; r <= rounds; r++) results.push(await round(r));
  const ok = results.filter((x) => x.exactlyOnce).length;
  console.log(
    `${ok} of ${rounds} rounds exactly once; acknowledged ${results.map((x) => x.acknowledged).join(', ')}, stored ${results.map((x) => x.stored).join(', ')}, lost ${results.map((x) => x.lost).join(', ')}`,
  );
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${args.out ?? 'kill9'}.json`);
  const prev: unknown = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : [];
  fs.writeFileSync(file, JSON.stringify([...(Array.isArray(prev) ? (prev as unknown[]) : []), ...results], null, 2) + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
