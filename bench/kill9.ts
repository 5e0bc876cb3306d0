/**
 * The issue's crash scenario, measured: `npm start` (embedded default, fleet off); a provisioned
 * truck publishes N QoS 1 GPS fixes and receives every PUBACK; the whole process group is killed
 * with kill -9 right after the last one; `npm start` again; once the store stops growing, how
 * many of the acknowledged fixes are stored (lost = acknowledged − stored).
 *
 *   npm run bench:kill9 -- [--n 3000] [--cwd <checkout>] [--env KEY=V,KEY=V] [--label x] [--out kill9]
 *
 * `--cwd` runs another checkout's launcher (e.g. the code before the fix) with this harness.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openDuckDbStore } from '../store/duckdb/index';
import { firstTruck, killGroup, launch, launcherEnv, publishBurst, running } from '../testing/crash';
import { tempDir } from '../testing/net';
import { BENCH_DIR, machine, parseArgs, RESULTS_DIR, sleep } from './lib';

const args = parseArgs(process.argv.slice(2));
const n = Number(args.n ?? 3000);
const cwd = path.resolve(args.cwd ?? path.join(BENCH_DIR, '..'));
const extra = Object.fromEntries((args.env ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
const label = args.label ?? 'this checkout';

async function stored(dataDir: string, deviceId: string): Promise<number> {
  const store = await openDuckDbStore({ file: path.join(dataDir, 'telemetry.duckdb') });
  try {
    return await store.count({ deviceId, stream: 'gps' });
  } finally {
    await store.close();
  }
}

async function main() {
  const dataDir = tempDir('kill9-');
  const env = await launcherEnv(dataDir, extra);
  const first = launch(env, cwd);
  await running(first);
  const truck = firstTruck(dataDir, Number(env.MQTT_PORT));
  const t0 = Date.now();
  const burst = await publishBurst(truck, n, () => killGroup(first));
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
    const text = await fetch(`http://127.0.0.1:${env.METRICS_PORT}/metrics`).then((r) => r.text(), () => '');
    const w = Number(/^ingest_records_written_total (\d+)/m.exec(text)?.[1] ?? -1);
    if (w !== last) {
      last = w;
      stillSince = Date.now();
    }
  }
  second.child.kill('SIGINT');
  await second.exited;
  const got = await stored(dataDir, truck.deviceId);
  const result = {
    label,
    cwd,
    env: extra,
    published: n,
    acknowledged: burst.acked.length,
    failed: burst.failed,
    burstMs,
    stored: got,
    lost: burst.acked.length - got,
    machine: machine(),
    at: new Date().toISOString(),
  };
  console.log(`kill -9 after ${burst.acked.length} PUBACKs (${label}${Object.keys(extra).length ? `, ${JSON.stringify(extra)}` : ''}): ${got} stored after restart, ${result.lost} lost`);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${args.out ?? 'kill9'}.json`);
  const prev: unknown = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : [];
  fs.writeFileSync(file, JSON.stringify([...(Array.isArray(prev) ? (prev as unknown[]) : []), result], null, 2) + '\n');
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
