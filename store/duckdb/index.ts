/**
 * Embedded telemetry store on DuckDB (one file, or ':memory:').
 *
 * One DuckDB instance, three connections: writes are serialized on the write connection (its TEMP
 * staging tables live there); queries run one at a time on the read connection, so a long query
 * never holds up ingest and sees only committed batches; health() has its own, so /health answers
 * while a heavy query runs. A read given an AbortSignal is interrupted when it aborts. close() checkpoints and releases the
 * file, so the next start opens it again and carries on with its data.
 */
import { DuckDBInstance, version as duckdbVersion, type DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from '../../lib/log';
import type { TelemetryStore } from '../types';
import { StoreError } from '../errors';
import { SerialQueue } from '../../lib/serial-queue';
import * as read from './read';
import { schemaDdl, stagingDdl } from './schema';
import { writeBatch, writeDeadLetters } from './write';

export { StoreError } from '../errors';

export interface DuckDbStoreOptions {
  /** database file, or ':memory:' */
  file: string;
  log?: Logger;
  /** DuckDB worker threads (default: DuckDB's own, one per core) */
  threads?: number;
  /** DuckDB memory_limit, e.g. '1GB' (default: DuckDB's own) */
  memoryLimit?: string;
}

export async function openDuckDbStore(opts: DuckDbStoreOptions): Promise<TelemetryStore> {
  const log = opts.log?.child({ component: 'store', backend: 'duckdb' });
  const config: Record<string, string> = {};
  if (opts.threads) config.threads = String(opts.threads);
  if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(opts.file, config);
  } catch (err) {
    throw new StoreError('E_STORE_OPEN', `cannot open DuckDB database ${opts.file}: ${(err as Error).message}`, undefined, { cause: err });
  }
  let writeConn: DuckDBConnection;
  let readConn: DuckDBConnection;
  /** health() only: answers while a heavy read holds the read connection */
  let healthConn: DuckDBConnection;
  try {
    writeConn = await instance.connect();
    readConn = await instance.connect();
    healthConn = await instance.connect();
  } catch (err) {
    instance.closeSync();
    throw new StoreError('E_STORE_OPEN', `cannot connect to DuckDB database ${opts.file}: ${(err as Error).message}`, undefined, { cause: err });
  }
  const writes = new SerialQueue();
  const reads = new SerialQueue();
  const healthChecks = new SerialQueue();
  let closed = false;
  /** points handed to writeBatch and not yet committed */
  let pendingPoints = 0;
  let initDone: Promise<void> | null = null;

  const init = (): Promise<void> => {
    if (!initDone) {
      initDone = writes.run(async () => {
        for (const sql of schemaDdl()) await writeConn.run(sql);
        for (const sql of stagingDdl()) await writeConn.run(sql);
        log?.info({ file: opts.file }, 'DuckDB telemetry store ready');
      });
      initDone.catch(() => (initDone = null)); // a failed init can be retried
    }
    return initDone;
  };
  const open = () => {
    if (closed) throw new StoreError('E_STORE_CLOSED', 'the DuckDB store is closed');
  };
  const write = async <T>(job: (c: DuckDBConnection) => Promise<T>): Promise<T> => {
    open();
    await init();
    return writes.run(() => (open(), job(writeConn)));
  };
  const cancelled = (what: string) => new StoreError('E_STORE_CANCELLED', `query cancelled ${what}`);
  /**
   * One read on the read connection, after those queued before it. An aborted `signal` drops it
   * from the queue (it never runs) or, while it runs, interrupts the connection: DuckDB stops the
   * query between vectors and the call rejects with E_STORE_CANCELLED; the next read runs normally.
   */
  const query = async <T>(job: (c: DuckDBConnection) => Promise<T>, signal?: AbortSignal): Promise<T> => {
    open();
    if (signal?.aborted) throw cancelled('before it started');
    await init();
    const run = reads.run(async () => {
      open();
      if (signal?.aborted) throw cancelled('while it waited for the read connection');
      if (!signal) return job(readConn);
      // An interrupt only stops a statement DuckDB is executing: one that lands between two
      // statements of the job, or before its statement reached DuckDB's threads, is lost and the
      // scan runs on for minutes (CI saw the next read time out behind it). So once aborted, keep
      // interrupting until the job settles.
      let again: NodeJS.Timeout | undefined;
      const onAbort = () => {
        readConn.interrupt();
        again = setInterval(() => readConn.interrupt(), 50);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await job(readConn);
      } catch (err) {
        if (signal.aborted) throw new StoreError('E_STORE_CANCELLED', 'query cancelled while it ran', undefined, { cause: err });
        throw err;
      } finally {
        signal.removeEventListener('abort', onAbort);
        clearInterval(again);
      }
    });
    if (!signal) return run;
    // a read still queued answers at once when aborted; its turn then skips it
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(cancelled('by its caller'));
      signal.addEventListener('abort', onAbort, { once: true });
      run.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  };

  const store: TelemetryStore = {
    backend: 'duckdb',
    async init() {
      open();
      await init();
    },
    async writeBatch(records) {
      const n = Array.isArray(records) ? records.length : 0;
      pendingPoints += n;
      try {
        return await write((c) => writeBatch(c, records));
      } finally {
        pendingPoints -= n;
      }
    },
    writeDeadLetters: (letters) => write((c) => writeDeadLetters(c, letters)),
    track: (q, o) => query((c) => read.track(c, q), o?.signal),
    truckEvents: (q, o) => query((c) => read.truckEvents(c, q), o?.signal),
    series: (q, o) => query((c) => read.series(c, q), o?.signal),
    plateCounts: (q, o) => query((c) => read.plateCounts(c, q), o?.signal),
    plateSearch: (q, o) => query((c) => read.plateSearch(c, q), o?.signal),
    purgePlates: (before) =>
      write(async (c) => {
        if (typeof before !== 'number' || Number.isNaN(before)) throw new StoreError('E_STORE_QUERY', 'before must be a number (ms since epoch)');
        const cut = BigInt(Math.ceil(Math.min(Math.max(before, Number.MIN_SAFE_INTEGER), Number.MAX_SAFE_INTEGER)));
        await c.run('BEGIN TRANSACTION');
        try {
          const res = await c.run('DELETE FROM t_plate WHERE ts < $1', [cut]);
          await c.run(`DELETE FROM latest WHERE stream = 'plate' AND ts < $1`, [cut]);
          await c.run('COMMIT');
          const n = Number(res.rowsChanged);
          if (n) log?.info({ before, removed: n }, 'purged plate reads');
          return n;
        } catch (err) {
          await c.run('ROLLBACK').catch(() => undefined);
          throw new StoreError('E_STORE_WRITE', `plate purge failed: ${(err as Error).message}`, undefined, { cause: err });
        }
      }),
    latest: (q, o) => query((c) => read.latest(c, q), o?.signal),
    deadLetters: (q, o) => query((c) => read.deadLetters(c, q), o?.signal),
    deadLetterCounts: (q, o) => query((c) => read.deadLetterCounts(c, q), o?.signal),
    count: (q, o) => query((c) => read.count(c, q), o?.signal),
    async health() {
      if (closed) return { ok: false, backend: 'duckdb', detail: 'closed' };
      try {
        open();
        await init();
        const n = await healthChecks.run(async () => (await healthConn.runAndReadAll('SELECT count(*) FROM latest')).getRows()[0]![0]);
        return { ok: true, backend: 'duckdb', detail: `DuckDB ${duckdbVersion()} ${opts.file}: ${Number(n)} device streams`, buffered: pendingPoints };
      } catch (err) {
        return { ok: false, backend: 'duckdb', detail: `DuckDB query failed: ${(err as Error).message}` };
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await writes.drain();
      await reads.drain();
      await healthChecks.drain();
      try {
        if (initDone && opts.file !== ':memory:') await writeConn.run('CHECKPOINT');
      } catch (err) {
        log?.warn({ err }, 'DuckDB checkpoint on close failed (the WAL is replayed on next open)');
      }
      healthConn.closeSync();
      readConn.closeSync();
      writeConn.closeSync();
      instance.closeSync();
      log?.info({ file: opts.file }, 'DuckDB telemetry store closed');
    },
  };
  return store;
}
