/**
 * The console's own database (DuckDB file `${DATA_DIR}/ops.duckdb`, ':memory:' in tests):
 * alerts (with their catalogue code and params) and their history (columns added to older files
 * on open), the plate hotlist, the audit log, users (mirror of users.json),
 * export jobs, geofences and the trucks' visits to them. Decorates `fastify.opsDb` with a small serialized query helper; the repositories
 * (alerts, hotlist, audit, exports) sit on top of it.
 */
import fs from 'node:fs';
import path from 'node:path';
import fp from 'fastify-plugin';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

export type Row = Record<string, string | number | boolean | null>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerts (
  id VARCHAR PRIMARY KEY, rule VARCHAR, severity VARCHAR, state VARCHAR, device_id VARCHAR, kind VARCHAR,
  district VARCHAR, title VARCHAR, detail VARCHAR, opened_at BIGINT, updated_at BIGINT, assignee VARCHAR,
  escalated BOOLEAN);
CREATE TABLE IF NOT EXISTS alert_history (
  alert_id VARCHAR, event VARCHAR, at_ms BIGINT, by_whom VARCHAR, note VARCHAR);
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS code VARCHAR;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS params VARCHAR;
ALTER TABLE alert_history ADD COLUMN IF NOT EXISTS assignee VARCHAR;
CREATE TABLE IF NOT EXISTS hotlist_entries (
  plate VARCHAR PRIMARY KEY, reason VARCHAR, direction VARCHAR, active_from INTEGER, active_to INTEGER,
  expires_at BIGINT, created_by VARCHAR, updated_at BIGINT);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS audit_seq;
CREATE TABLE IF NOT EXISTS audit_log (
  id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'), at_ms BIGINT, actor VARCHAR, role VARCHAR, action VARCHAR,
  query VARCHAR, result_count INTEGER, detail VARCHAR);
CREATE TABLE IF NOT EXISTS users (username VARCHAR PRIMARY KEY, role VARCHAR, last_login BIGINT);
CREATE TABLE IF NOT EXISTS geofences (
  id VARCHAR PRIMARY KEY, name VARCHAR, kind VARCHAR, geometry VARCHAR, dwell_limit_min INTEGER, active BOOLEAN,
  created_by VARCHAR, created_at BIGINT, updated_by VARCHAR, updated_at BIGINT);
CREATE TABLE IF NOT EXISTS geofence_visits (
  visit_id VARCHAR PRIMARY KEY, geofence_id VARCHAR, name VARCHAR, kind VARCHAR, device_id VARCHAR, district VARCHAR,
  entered_at BIGINT, exited_at BIGINT, dwell_at BIGINT, exit_reason VARCHAR, late BOOLEAN, lat DOUBLE, lon DOUBLE, updated_at BIGINT);
CREATE TABLE IF NOT EXISTS export_jobs (
  id VARCHAR PRIMARY KEY, created_by VARCHAR, created_at BIGINT, kind VARCHAR, format VARCHAR, params VARCHAR,
  state VARCHAR, progress DOUBLE, rows BIGINT, file VARCHAR, error VARCHAR, finished_at BIGINT);
`;

export interface OpsDb {
  run(sql: string, params?: DuckDBValue[]): Promise<void>;
  all(sql: string, params?: DuckDBValue[]): Promise<Row[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A WHERE clause from `col = ?`-style conditions; each value is bound as the next `$n`. */
export class Where {
  readonly params: (string | number)[] = [];
  private readonly conds: string[] = [];
  private bind(v: string | number): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }
  add(sql: string, v: string | number): void {
    this.conds.push(sql.replace('?', this.bind(v)));
  }
  in(col: string, vs: readonly (string | number)[]): void {
    this.conds.push(`${col} IN (${vs.map((v) => this.bind(v)).join(',')})`);
  }
  toString(): string {
    return this.conds.length ? `WHERE ${this.conds.join(' AND ')}` : '';
  }
}

function toPlain(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- DuckDB's other values (dates, decimals, lists) print themselves
  return String(v);
}

export async function openOpsDb(file: string): Promise<OpsDb> {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const instance = await DuckDBInstance.create(file);
  const conn: DuckDBConnection = await instance.connect();
  // one connection, one statement at a time: a simple promise chain keeps DuckDB calls ordered
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };
  const db: OpsDb = {
    run: (sql, params) => serial(async () => void (await conn.run(sql, params))),
    all: (sql, params) =>
      serial(async () => {
        const reader = await conn.runAndReadAll(sql, params);
        return reader.getRowObjects().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, toPlain(v)])));
      }),
    ping: async () => {
      try {
        await db.all('SELECT 1 AS ok');
        return true;
      } catch {
        return false;
      }
    },
    close: () =>
      serial(async () => {
        conn.closeSync();
        instance.closeSync();
      }),
  };
  for (const stmt of SCHEMA.split(';').map((s) => s.trim()).filter(Boolean)) await db.run(stmt);
  return db;
}

declare module 'fastify' {
  interface FastifyInstance {
    opsDb: OpsDb;
  }
}

export default fp(
  async (fastify, opts: { file: string }) => {
    const db = await openOpsDb(opts.file);
    fastify.decorate('opsDb', db);
    fastify.addHook('onClose', async () => db.close());
  },
  { name: 'ops-db' },
);
