/**
 * `npm run influx:setup` — create what the InfluxDB store needs, idempotently:
 * 1.x: database, `raw` retention policy (default, 30 d unless told), `rollup` retention policy and
 * the hourly air/noise continuous queries. Running it again changes nothing ("ok" on every line).
 * 2.x/3.x: prints the equivalent (buckets + a downsampling task) to apply with the `influx` CLI.
 *
 * Defaults come from the environment (lib/config.ts: INFLUX_URL, INFLUX_TOKEN, INFLUX_BUCKET,
 * INFLUX_API); flags override them.
 */
import { Command } from 'commander';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../lib/config';
import { StoreError } from '../errors';
import { createQlClient } from './influxql';
import { ensureRetention, rollupQuery, type SetupStep } from './retention';
import { probeVersion, type InfluxApi } from './transport';

export interface SetupOptions {
  url: string;
  token: string;
  db: string;
  api: 'auto' | InfluxApi;
  rawDays: number;
  rollupDays: number;
}

export async function runSetup(o: SetupOptions, out: (line: string) => void = console.log): Promise<SetupStep[]> {
  const url = o.url.replace(/\/$/, '');
  const probed = await probeVersion(url).catch((err: Error) => {
    throw new StoreError('E_STORE_UNREACHABLE', `InfluxDB at ${url} is not reachable: ${err.message}`, undefined, { cause: err });
  });
  const api = o.api === 'auto' ? probed.api : o.api;
  out(`InfluxDB ${probed.version || '(version unknown)'} at ${url} — ${api === 'v1' ? '1.x' : '2.x/3.x'} API`);
  if (api === 'v2') {
    out('2.x/3.x: retention and downsampling are buckets and a task. Apply once with the influx CLI:');
    out(`  influx bucket create -n ${o.db} -r ${o.rawDays > 0 ? `${o.rawDays}d` : '0'}`);
    out(`  influx bucket create -n ${o.db}_rollup -r ${o.rollupDays}d`);
    out(`  influx v1 dbrp create --db ${o.db} --rp raw --bucket-id <id of ${o.db}> --default   # InfluxQL reads`);
    out(`  influx task create --file store/influx/downsample-task.flux   # hourly rollups (edit bucket names)`);
    return [];
  }
  const ql = createQlClient({ url, token: o.token, api, db: o.db });
  const steps = await ensureRetention(ql, { db: o.db, rawDays: o.rawDays, rollupDays: o.rollupDays });
  const width = Math.max(...steps.map((s) => s.what.length));
  for (const s of steps) out(`  ${s.what.padEnd(width)}  ${s.action}`);
  const changed = steps.filter((s) => s.action !== 'ok').length;
  out(changed ? `${changed} change(s) applied.` : 'Nothing to do: everything was already set up.');
  return steps;
}

export function setupCommand(): Command {
  const cfg = loadConfig();
  return new Command('influx:setup')
    .description('Create the InfluxDB database, retention policies and hourly rollups (idempotent)')
    .option('--url <url>', 'InfluxDB URL', cfg.INFLUX_URL || 'http://127.0.0.1:8086')
    .option('--token <token>', 'token, or user:password for 1.x', cfg.INFLUX_TOKEN)
    .option('--db <name>', '1.x database / 2.x bucket', cfg.INFLUX_BUCKET)
    .option('--api <api>', 'auto | v1 | v2', cfg.INFLUX_API)
    .option('--raw-days <days>', 'days of raw data to keep (0 = forever)', '30')
    .option('--rollup-days <days>', 'days of hourly aggregates to keep', '730')
    .option('--print-cq', 'print the continuous queries and exit')
    .action(async (opts: { url: string; token: string; db: string; api: string; rawDays: string; rollupDays: string; printCq?: boolean }) => {
      const rawDays = Number(opts.rawDays);
      const rollupDays = Number(opts.rollupDays);
      if (!Number.isFinite(rawDays) || rawDays < 0 || !Number.isFinite(rollupDays) || rollupDays <= 0) {
        throw Object.assign(new Error('--raw-days must be >= 0 and --rollup-days > 0'), { code: 'E_STORE_SETUP_USAGE' });
      }
      if (!['auto', 'v1', 'v2'].includes(opts.api)) throw Object.assign(new Error('--api must be auto, v1 or v2'), { code: 'E_STORE_SETUP_USAGE' });
      if (opts.printCq) {
        for (const s of ['air', 'noise'] as const) console.log(`${rollupQuery(opts.db, s, 'raw', 'rollup').text};`);
        return;
      }
      await runSetup({ url: opts.url, token: opts.token, db: opts.db, api: opts.api as SetupOptions['api'], rawDays, rollupDays });
    });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  setupCommand()
    .parseAsync(process.argv)
    .catch((err: Error & { code?: string }) => {
      console.error(`influx:setup failed [${err.code ?? 'E_STORE_SETUP'}]: ${err.message}`);
      process.exitCode = 1;
    });
}
