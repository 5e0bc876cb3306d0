/**
 * Retention and downsampling on InfluxDB 1.x, idempotent (used by init() and `npm run influx:setup`):
 *
 * - database `<db>`;
 * - retention policy `raw` (DEFAULT; raw points kept `rawDays`, default 30);
 * - retention policy `rollup` (hourly aggregates kept `rollupDays`, default 730);
 * - continuous queries `cq_air_1h`, `cq_noise_1h`: mean/min/max/count per field per device and hour
 *   into `rollup.air_1h` / `rollup.noise_1h`, resampled over the last 2 h so that readings up to
 *   an hour late are still folded in.
 *
 * Each step checks what exists first; running it twice changes nothing and reports "ok".
 * On 2.x/3.x the equivalent is a bucket per retention plus a task (see README); `setup` reports
 * it instead of guessing.
 */
import { AIR_FIELDS, NOISE_FIELDS } from '../../contract';
import { ident, rowsOf, type QlClient } from './influxql';
import { MEASUREMENT } from './schema';
import { withDefaults } from '../../lib/options';

export interface RetentionOptions {
  db: string;
  /** days of raw data; 0 = keep forever */
  rawDays?: number;
  rollupDays?: number;
  /** name of the raw retention policy (default 'raw') */
  rawPolicy?: string;
  rollupPolicy?: string;
}

export interface SetupStep {
  what: string;
  action: 'created' | 'altered' | 'ok' | 'replaced';
}

const dur = (days: number) => (days > 0 ? `${Math.round(days * 24)}h0m0s` : '0s');
const durLiteral = (days: number) => (days > 0 ? `${Math.round(days * 24)}h` : 'INF');

/** The continuous query text for one stream's hourly rollup. */
export function rollupQuery(db: string, stream: 'air' | 'noise', rawPolicy: string, rollupPolicy: string): { name: string; text: string } {
  const fields = stream === 'air' ? AIR_FIELDS : NOISE_FIELDS;
  const aggs = fields.flatMap((f) => (['mean', 'min', 'max', 'count'] as const).map((fn) => `${fn}(${ident(f)}) AS ${ident(`${f}_${fn}`)}`)).join(', ');
  const name = `cq_${stream}_1h`;
  const src = `${ident(db)}.${ident(rawPolicy)}.${ident(MEASUREMENT[stream])}`;
  const dst = `${ident(db)}.${ident(rollupPolicy)}.${ident(`${MEASUREMENT[stream]}_1h`)}`;
  const text = `CREATE CONTINUOUS QUERY ${ident(name)} ON ${ident(db)} RESAMPLE FOR 2h BEGIN SELECT ${aggs} INTO ${dst} FROM ${src} GROUP BY time(1h), "device_id", "district" END`;
  return { name, text };
}

/** Normalise CQ text for comparison (InfluxDB re-renders what it stores). */
const norm = (s: string) => s.replace(/\s+/g, ' ').replace(/"/g, '').toLowerCase().trim();

/** defaults of the options (lib/options.ts) */
export const RETENTION_DEFAULTS = { rawDays: 30, rollupDays: 730, rawPolicy: 'raw', rollupPolicy: 'rollup' };

export async function ensureRetention(ql: QlClient, opts: RetentionOptions): Promise<SetupStep[]> {
  const o = withDefaults(RETENTION_DEFAULTS, opts);
  const { rawDays, rollupDays, rawPolicy, rollupPolicy } = o;
  const steps: SetupStep[] = [];
  const db = o.db;

  const dbs = (await ql.rows('SHOW DATABASES')).map((r) => String(r.name));
  if (!dbs.includes(db)) {
    await ql.query(`CREATE DATABASE ${ident(db)}`, { db: '' });
    steps.push({ what: `database ${db}`, action: 'created' });
  } else steps.push({ what: `database ${db}`, action: 'ok' });

  const rps = (await ql.query(`SHOW RETENTION POLICIES ON ${ident(db)}`))[0]?.series?.flatMap(rowsOf) ?? [];
  const want = [
    { name: rawPolicy, days: rawDays, isDefault: true },
    { name: rollupPolicy, days: rollupDays, isDefault: false },
  ];
  for (const w of want) {
    const have = rps.find((r) => r.name === w.name);
    const label = `retention policy ${w.name} (${w.days > 0 ? `${w.days} d` : 'forever'}${w.isDefault ? ', default' : ''})`;
    if (!have) {
      await ql.query(`CREATE RETENTION POLICY ${ident(w.name)} ON ${ident(db)} DURATION ${durLiteral(w.days)} REPLICATION 1${w.isDefault ? ' DEFAULT' : ''}`);
      steps.push({ what: label, action: 'created' });
    } else if (String(have.duration) !== dur(w.days) || (w.isDefault && have.default !== true)) {
      await ql.query(`ALTER RETENTION POLICY ${ident(w.name)} ON ${ident(db)} DURATION ${durLiteral(w.days)}${w.isDefault ? ' DEFAULT' : ''}`);
      steps.push({ what: label, action: 'altered' });
    } else steps.push({ what: label, action: 'ok' });
  }

  const cqRes = await ql.query('SHOW CONTINUOUS QUERIES');
  const cqs = (cqRes[0]?.series ?? []).filter((s) => s.name === db).flatMap(rowsOf);
  for (const stream of ['air', 'noise'] as const) {
    const { name, text } = rollupQuery(db, stream, rawPolicy, rollupPolicy);
    const have = cqs.find((c) => c.name === name);
    const label = `continuous query ${name} → ${rollupPolicy}.${MEASUREMENT[stream]}_1h`;
    if (have && norm(String(have.query)) === norm(text)) {
      steps.push({ what: label, action: 'ok' });
      continue;
    }
    if (have) await ql.query(`DROP CONTINUOUS QUERY ${ident(name)} ON ${ident(db)}`);
    await ql.query(text);
    steps.push({ what: label, action: have ? 'replaced' : 'created' });
  }
  return steps;
}

/** For tests and the CLI: does the database exist. */
export async function databaseExists(ql: QlClient, db: string): Promise<boolean> {
  const rows = await ql.rows(`SHOW DATABASES`);
  return rows.some((r) => r.name === db);
}
