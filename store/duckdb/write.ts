/**
 * Batch writes: validate every record first (a malformed one rejects the batch before anything is
 * written), drop duplicates inside the batch (first wins), append the rest into TEMP staging
 * tables with the appender, then in one transaction keep only the rows not already stored,
 * insert them, fold those NEW rows into the hourly rollups, and move the latest-record cache
 * forward by event time.
 */
import { DuckDBDataChunk, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { AnyTelemetryRecord, DeadLetter, TelemetryStream } from '../../contract';
import type { WriteResult } from '../types';
import { StoreError } from '../errors';
import { DUCK_TYPES, HOUR_MS, ROLLUPS, STREAM_TABLES, fieldColumn, tableColumns, type RollupStream, type SqlType, type TableColumn } from './schema';

const CHUNK_ROWS = 2048; // DuckDB's vector size: the most rows one data chunk holds

type Cell = string | number | boolean | null;

function checkValue(v: unknown, type: SqlType): boolean {
  switch (type) {
    case 'VARCHAR':
      return typeof v === 'string';
    case 'DOUBLE':
      return typeof v === 'number' && Number.isFinite(v);
    case 'INTEGER':
    case 'BIGINT':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'BOOLEAN':
      return typeof v === 'boolean';
  }
}

/** Why a record cannot be stored, or null when it can. */
export function recordProblem(r: AnyTelemetryRecord): string | null {
  if (!r || typeof r !== 'object') return 'not an object';
  const spec = (STREAM_TABLES as Record<string, (typeof STREAM_TABLES)[TelemetryStream] | undefined>)[r.stream];
  if (!spec) return `unknown stream ${JSON.stringify(r.stream)}`;
  if (typeof r.deviceId !== 'string' || r.deviceId.length === 0) return 'deviceId must be a non-empty string';
  if (!Number.isSafeInteger(r.ts)) return 'ts must be an integer (ms since epoch)';
  if (!Number.isSafeInteger(r.receivedAt)) return 'receivedAt must be an integer (ms since epoch)';
  if (typeof r.late !== 'boolean') return 'late must be a boolean';
  if (typeof r.district !== 'string') return 'district must be a string';
  if (spec.kind === null && typeof r.kind !== 'string') return 'kind must be a string';
  const p = r.payload as unknown as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object') return 'payload must be an object';
  for (const c of spec.payload) {
    const v = p[c.key];
    if (v === undefined || v === null) {
      if (c.required) return `payload.${c.key} is required`;
    } else if (!checkValue(v, c.type)) return `payload.${c.key} must be ${c.type === 'VARCHAR' ? 'a string' : c.type === 'DOUBLE' ? 'a finite number' : 'an integer'}`;
  }
  return null;
}

function rowOf(r: AnyTelemetryRecord, cols: TableColumn[]): Cell[] {
  const p = r.payload as unknown as Record<string, Cell | undefined>;
  const spec = STREAM_TABLES[r.stream];
  return cols.map(({ column }) => {
    switch (column) {
      case 'device_id':
        return r.deviceId;
      case 'ts':
        return r.ts;
      case 'kind':
        return r.kind;
      case 'district':
        return r.district;
      case 'late':
        return r.late;
      case 'received_at':
        return r.receivedAt;
      default: {
        const key = spec.payload.find((c) => c.column === column)!.key;
        return p[key] ?? null;
      }
    }
  });
}

/** A column's cell as DuckDB's appender takes it without conversion (BIGINT as bigint). */
const native = (v: Cell, type: SqlType): DuckDBValue => (v !== null && type === 'BIGINT' ? BigInt(v as number) : v);

/** Append rows into a TEMP table through the appender, one column-major data chunk per 2048 rows. */
async function appendRows(conn: DuckDBConnection, table: string, types: SqlType[], rows: Cell[][]): Promise<void> {
  if (rows.length === 0) return;
  const appender = await conn.createAppender(table, 'main', 'temp');
  const duckTypes = types.map((t) => DUCK_TYPES[t]);
  try {
    for (let off = 0; off < rows.length; off += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows.length - off);
      const columns: DuckDBValue[][] = types.map(() => new Array<DuckDBValue>(n));
      for (let i = 0; i < n; i++) {
        const row = rows[off + i]!;
        for (let j = 0; j < types.length; j++) columns[j]![i] = native(row[j]!, types[j]!);
      }
      const chunk = DuckDBDataChunk.create(duckTypes, n);
      chunk.setColumns(columns);
      appender.appendDataChunk(chunk);
    }
  } finally {
    appender.closeSync(); // flushes
  }
}

function rollupUpsertSql(stream: RollupStream): string {
  const r = ROLLUPS[stream];
  const cols = r.fields.map((f) => fieldColumn(stream, f)!);
  const select = cols.map((c) => `sum(${c}), count(${c}), min(${c}), max(${c})`).join(', ');
  const set = cols
    .map(
      (c) =>
        `${c}_sum = CASE WHEN excluded.${c}_cnt = 0 THEN ${c}_sum ELSE coalesce(${c}_sum, 0) + excluded.${c}_sum END, ` +
        `${c}_cnt = ${c}_cnt + excluded.${c}_cnt, ${c}_min = least(${c}_min, excluded.${c}_min), ${c}_max = greatest(${c}_max, excluded.${c}_max)`,
    )
    .join(', ');
  return `INSERT INTO ${r.table} SELECT device_id, (ts // ${HOUR_MS}) * ${HOUR_MS} AS hour, ${select} FROM new_${stream} GROUP BY ALL ` + `ON CONFLICT (device_id, hour) DO UPDATE SET ${set}`;
}
const ROLLUP_SQL: Record<RollupStream, string> = { air: rollupUpsertSql('air'), noise: rollupUpsertSql('noise') };

export async function writeBatch(conn: DuckDBConnection, records: AnyTelemetryRecord[]): Promise<WriteResult> {
  if (!Array.isArray(records)) throw new StoreError('E_STORE_REJECTED', 'writeBatch expects an array of records');
  const rejected: { index: number; detail: string }[] = [];
  records.forEach((r, index) => {
    const detail = recordProblem(r);
    if (detail) rejected.push({ index, detail });
  });
  if (rejected.length) {
    const first = rejected[0]!;
    throw new StoreError('E_STORE_REJECTED', `${rejected.length} malformed record(s) in the batch; first at #${first.index}: ${first.detail}`, rejected);
  }

  // de-duplicate inside the batch (first occurrence wins), group by stream, find latest candidates
  const byStream = new Map<TelemetryStream, AnyTelemetryRecord[]>();
  const seen = new Set<string>();
  const latest = new Map<string, AnyTelemetryRecord>();
  for (const r of records) {
    const key = `${r.stream}\u0000${r.deviceId}\u0000${r.ts}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let list = byStream.get(r.stream);
    if (!list) byStream.set(r.stream, (list = []));
    list.push(r);
    const lk = `${r.deviceId}\u0000${r.stream}`;
    const cur = latest.get(lk);
    if (!cur || r.ts > cur.ts) latest.set(lk, r);
  }
  if (seen.size === 0) return { written: 0, duplicates: 0 };

  const used: string[] = ['stg_latest'];
  let written = 0;
  try {
    for (const [stream, list] of byStream) {
      const cols = tableColumns(STREAM_TABLES[stream]);
      used.push(`stg_${stream}`, `new_${stream}`);
      await appendRows(
        conn,
        `stg_${stream}`,
        cols.map((c) => c.type),
        list.map((r) => rowOf(r, cols)),
      );
    }
    await appendRows(
      conn,
      'stg_latest',
      ['VARCHAR', 'VARCHAR', 'BIGINT', 'VARCHAR'],
      [...latest.values()].map((r) => [r.deviceId, r.stream, r.ts, JSON.stringify(r)]),
    );

    await conn.run('BEGIN TRANSACTION');
    try {
      for (const [stream, list] of byStream) {
        const table = STREAM_TABLES[stream].table;
        let min = Infinity;
        let max = -Infinity;
        for (const r of list) {
          if (r.ts < min) min = r.ts;
          if (r.ts > max) max = r.ts;
        }
        if (stream === 'air' || stream === 'noise') {
          // rollups take the NEW rows only: find them first. The ts bounds (integers, checked
          // above) let DuckDB skip row groups of the big table by their zone maps.
          await conn.run(
            `INSERT INTO new_${stream} SELECT s.* FROM stg_${stream} s WHERE NOT EXISTS ` +
              `(SELECT 1 FROM ${table} t WHERE t.ts BETWEEN ${min} AND ${max} AND t.device_id = s.device_id AND t.ts = s.ts)`,
          );
          const ins = await conn.run(`INSERT INTO ${table} SELECT * FROM new_${stream}`);
          written += Number(ins.rowsChanged);
          await conn.run(ROLLUP_SQL[stream]);
        } else {
          // no rollup: the primary key alone skips what is stored; rowsChanged counts the new rows
          const ins = await conn.run(`INSERT OR IGNORE INTO ${table} SELECT * FROM stg_${stream}`);
          written += Number(ins.rowsChanged);
        }
      }
      await conn.run(`INSERT INTO latest SELECT * FROM stg_latest ON CONFLICT (device_id, stream) DO UPDATE ` + `SET ts = excluded.ts, record = excluded.record WHERE excluded.ts > latest.ts`);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError('E_STORE_WRITE', `DuckDB write failed: ${(err as Error).message}`, undefined, { cause: err });
  } finally {
    for (const t of used) await conn.run(`DELETE FROM ${t}`).catch(() => undefined);
  }
  return { written, duplicates: records.length - written };
}

const DL_FIELDS: [keyof DeadLetter, 'string' | 'integer' | 'nullable-string'][] = [
  ['id', 'string'],
  ['receivedAt', 'integer'],
  ['topic', 'string'],
  ['deviceId', 'nullable-string'],
  ['reason', 'string'],
  ['detail', 'string'],
  ['payload', 'string'],
];

export async function writeDeadLetters(conn: DuckDBConnection, letters: DeadLetter[]): Promise<void> {
  if (!Array.isArray(letters)) throw new StoreError('E_STORE_REJECTED', 'writeDeadLetters expects an array');
  const rejected: { index: number; detail: string }[] = [];
  letters.forEach((l, index) => {
    for (const [k, t] of DL_FIELDS) {
      const v = (l as unknown as Record<string, unknown>)?.[k];
      const ok = t === 'integer' ? Number.isSafeInteger(v) : t === 'string' ? typeof v === 'string' : v === null || typeof v === 'string';
      if (!ok) return void rejected.push({ index, detail: `${k} must be ${t === 'integer' ? 'an integer' : t === 'string' ? 'a string' : 'a string or null'}` });
    }
  });
  if (rejected.length) throw new StoreError('E_STORE_REJECTED', `${rejected.length} malformed dead letter(s); first at #${rejected[0]!.index}: ${rejected[0]!.detail}`, rejected);
  const ids = new Set<string>();
  const rows: Cell[][] = [];
  for (const l of letters) {
    if (ids.has(l.id)) continue;
    ids.add(l.id);
    rows.push([l.id, l.receivedAt, l.topic, l.deviceId, l.reason, l.detail, l.payload]);
  }
  if (rows.length === 0) return;
  try {
    await appendRows(conn, 'stg_dead_letters', ['VARCHAR', 'BIGINT', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR'], rows);
    await conn.run('INSERT OR IGNORE INTO dead_letters SELECT * FROM stg_dead_letters');
  } catch (err) {
    throw new StoreError('E_STORE_WRITE', `DuckDB dead-letter write failed: ${(err as Error).message}`, undefined, { cause: err });
  } finally {
    await conn.run('DELETE FROM stg_dead_letters').catch(() => undefined);
  }
}
