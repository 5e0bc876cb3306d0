/**
 * The console's own database: alerts (with their catalogue code and params) and their history
 * (columns added to older files on open), the plate hotlist, the audit log, users, one-time
 * tickets, export jobs, geofences and the trucks' visits to them. Two backends behind one
 * `OpsDb { run, all, ping, close }` (`$n` parameters on both):
 *  - embedded DuckDB (`${DATA_DIR}/ops.duckdb`, ':memory:' in tests), one connection, statements
 *    serialized — one API process owns the file (the default);
 *  - PostgreSQL (`OPS_DB_URL=postgres://…`), a `pg` pool shared by several API nodes. Schema
 *    statements (CREATE/ALTER, here and in the repositories) run under a transaction-scoped
 *    advisory lock, so two nodes starting at once do not race on the catalogue.
 * The schema is written in the dialect both accept (DOUBLE PRECISION, ON CONFLICT … DO UPDATE,
 * sequences, ADD COLUMN IF NOT EXISTS); the repositories use that dialect too.
 * Decorates `fastify.opsDb`; the repositories (alerts, hotlist, audit, exports, …) sit on top.
 */
import fs from 'node:fs';
import path from 'node:path';
import fp from 'fastify-plugin';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { redactUrl } from '../../../../lib/redis';
import { SerialQueue } from '../../../../lib/serial-queue';

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
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS rev BIGINT;
ALTER TABLE alert_history ADD COLUMN IF NOT EXISTS event_key VARCHAR;
CREATE UNIQUE INDEX IF NOT EXISTS alert_history_event ON alert_history (event_key);
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
  entered_at BIGINT, exited_at BIGINT, dwell_at BIGINT, exit_reason VARCHAR, late BOOLEAN, lat DOUBLE PRECISION, lon DOUBLE PRECISION, updated_at BIGINT);
CREATE TABLE IF NOT EXISTS export_jobs (
  id VARCHAR PRIMARY KEY, created_by VARCHAR, created_at BIGINT, kind VARCHAR, format VARCHAR, params VARCHAR,
  state VARCHAR, progress DOUBLE PRECISION, rows BIGINT, file VARCHAR, error VARCHAR, finished_at BIGINT);
ALTER TABLE users ADD COLUMN IF NOT EXISTS password_hash VARCHAR;
ALTER TABLE users ADD COLUMN IF NOT EXISTS disabled BOOLEAN;
ALTER TABLE users ADD COLUMN IF NOT EXISTS created_at BIGINT;
ALTER TABLE users ADD COLUMN IF NOT EXISTS password_changed_at BIGINT;
CREATE TABLE IF NOT EXISTS tickets (ticket VARCHAR PRIMARY KEY, sub VARCHAR, role VARCHAR, path VARCHAR, expires_at BIGINT);
`;

/** the statements of a schema text (`;`-separated) */
export const statements = (sql: string): string[] =>
  sql
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);

/** a value bound to a `$n` parameter (both backends) */
export type OpsValue = string | number | boolean | null;

export interface OpsDb {
  run(sql: string, params?: OpsValue[]): Promise<void>;
  all(sql: string, params?: OpsValue[]): Promise<Row[]>;
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
  // one connection, one statement at a time: the store's serial queue keeps DuckDB calls ordered
  const queue = new SerialQueue();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => queue.run(fn);
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
  for (const stmt of statements(SCHEMA)) {
    // DuckDB aborts the process on an ALTER of a table that has an index (alert_history's unique
    // event_key), even when the column exists: add a column only where it is missing
    const add = /^ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+) /i.exec(stmt);
    if (add && (await db.all('SELECT 1 AS ok FROM information_schema.columns WHERE table_name = $1 AND column_name = $2', [add[1]!, add[2]!])).length) continue;
    await db.run(stmt);
  }
  // the schema's ALTERs out of the write-ahead log: DuckDB aborts replaying an ALTER of a table with
  // an index (alert_history) when the file is reopened after a kill -9
  await db.run('CHECKPOINT');
  return db;
}

export class OpsDbError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** pg hands BIGINT and NUMERIC back as strings; the repositories expect numbers (like DuckDB's) */
const PG_TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 || oid === 1700 ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format as 'text') as (v: string) => unknown)) as typeof pg.types.getTypeParser,
};

/** one key for every node's schema changes (pg_advisory_xact_lock) */
const MIGRATION_LOCK = 0x0b5_0d8;
const isDdl = (sql: string) => /^\s*(CREATE|ALTER|DROP)\b/i.test(sql);

export interface PgOpsDbOptions {
  /** pool size per API node (default 10) */
  max?: number;
  /** log pool errors (an idle connection dropped by the server); they never crash the process */
  onError?: (err: Error) => void;
}

/**
 * The ops DB on PostgreSQL: a pool; `$n` parameters pass straight through. The schema (and any
 * later CREATE/ALTER a repository runs) is applied in one transaction holding an advisory lock:
 * idempotent, and safe when two API nodes start at once.
 */
export async function openPgOpsDb(url: string, opts: PgOpsDbOptions = {}): Promise<OpsDb> {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, types: PG_TYPES, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
  pool.on('error', (err) => opts.onError?.(err));
  const plain = (rows: Record<string, unknown>[]): Row[] => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, toPlain(v)])));
  const migrate = async (stmts: string[]): Promise<void> => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      for (const s of stmts) await c.query(s);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  };
  let closed: Promise<void> | null = null;
  const db: OpsDb = {
    run: async (sql, params) => {
      if (isDdl(sql) && !params?.length) return migrate([sql]);
      await pool.query(sql, params);
    },
    all: async (sql, params) => plain((await pool.query(sql, params)).rows as Record<string, unknown>[]),
    ping: async () => {
      try {
        await pool.query('SELECT 1 AS ok');
        return true;
      } catch {
        return false;
      }
    },
    close: () => (closed ??= pool.end()),
  };
  try {
    await migrate(statements(SCHEMA));
  } catch (err) {
    await db.close();
    throw new OpsDbError('E_OPSDB_OPEN', `cannot open the ops database at ${redactUrl(url)} (OPS_DB_URL): ${(err as Error).message}`);
  }
  return db;
}

/** the ops DB a configuration names: PostgreSQL when `url` is set, else the DuckDB file */
export function openOpsDbFor(o: { file: string; url?: string }, pgOpts?: PgOpsDbOptions): Promise<OpsDb> {
  return o.url ? openPgOpsDb(o.url, pgOpts) : openOpsDb(o.file);
}

declare module 'fastify' {
  interface FastifyInstance {
    opsDb: OpsDb;
  }
}

export interface OpsDbPluginOptions {
  file: string;
  /** postgres://… = the shared PostgreSQL ops DB (OPS_DB_URL) */
  url?: string;
  /** a database already opened (buildApp opens it first when the users live in it) */
  db?: OpsDb;
}

export default fp(
  async (fastify, opts: OpsDbPluginOptions) => {
    const db = opts.db ?? (await openOpsDbFor(opts, { onError: (err) => fastify.log.warn({ err, code: 'E_OPSDB_POOL' }, 'ops DB connection lost; the pool reconnects') }));
    fastify.decorate('opsDb', db);
    fastify.addHook('onClose', async () => db.close());
  },
  { name: 'ops-db' },
);

/** add one to a version counter in `meta` in one statement (two nodes bumping at once both count) */
export async function bumpVersion(db: OpsDb, key: string): Promise<number> {
  const [r] = await db.all(
    `INSERT INTO meta (key, value) VALUES ($1, '1')
     ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS VARCHAR) RETURNING value`,
    [key],
  );
  return Number(r?.value ?? 0);
}

/**
 * true for exactly one caller per `key`, ever (a row in `meta`): one-time work such as a first
 * start's seed, when several API nodes start on one database at once.
 */
export async function claimOnce(db: OpsDb, key: string): Promise<boolean> {
  return (await db.all(`INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key`, [key, String(Date.now())])).length > 0;
}
