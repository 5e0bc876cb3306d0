/**
 * InfluxDB backend of the TelemetryStore (store/types.ts). See README.md in this folder.
 *
 *   const store = await openInfluxStore({ url, token, org, bucket, api: 'auto', spillDir });
 *   await store.init();           // 1.x: database, retention policies, continuous queries
 *
 * Writes: ./writer.ts (the client's WriteApi, spill to disk in outages, dead letters on 4xx).
 * Reads: ./queries.ts (InfluxQL over /query).
 */
import type { AnyTelemetryRecord, DeadLetter, TelemetryStream } from '../../contract';
import { createLogger, type Logger } from '../../lib/log';
import { StoreError } from '../errors';
import type { StoreHealth, TelemetryStore, WriteResult } from '../types';
import { createQlClient, withSignal, type QlClient } from './influxql';
import * as Q from './queries';
import { ensureRetention, type SetupStep } from './retention';
import { deadLetterToLine, recordKey, recordToLine } from './schema';
import { createTransport, probeVersion, type InfluxApi } from './transport';
import { InfluxWriter, type WriterOptions, type WriterStats } from './writer';
import { withDefaults } from '../../lib/options';

export interface InfluxStoreOptions {
  url: string;
  /** 2.x/3.x token, or "user:password" for 1.x (empty: no auth) */
  token?: string;
  /** 2.x organisation (ignored by 1.x) */
  org?: string;
  /** 2.x bucket, or 1.x database */
  bucket: string;
  /** write API: v1 (/write), v2 (/api/v2/write), auto = probe /ping's X-Influxdb-Version */
  api?: 'auto' | InfluxApi;
  /** local directory for the outage spill (append-only files) */
  spillDir: string;
  log?: Logger;
  /** 1.x: days of raw data (default 30; 0 = forever) — applied by init() */
  retentionDays?: number;
  /** 1.x: days of hourly rollups (default 730) */
  rollupRetentionDays?: number;
  /** writer tuning (buffer size, retry time, probe interval …) */
  writer?: Partial<Pick<WriterOptions, 'batchSize' | 'bufferLines' | 'maxRetryTimeMs' | 'minRetryDelayMs' | 'maxRetryDelayMs' | 'retryJitterMs' | 'probeEveryMs' | 'maxPendingKeys'>>;
}

export interface InfluxStore extends TelemetryStore {
  readonly api: InfluxApi;
  /** server version from /ping ('' when it was not reachable at open) */
  readonly version: string;
  writerStats(): WriterStats;
  /** The setup steps of the last init() (1.x). */
  lastSetup(): SetupStep[];
}

/** defaults of the options (lib/options.ts) */
export const INFLUX_STORE_DEFAULTS = { token: '', org: '', retentionDays: 30, rollupRetentionDays: 730 };

export async function openInfluxStore(options: InfluxStoreOptions): Promise<InfluxStore> {
  const opts = withDefaults(INFLUX_STORE_DEFAULTS, options);
  const log = opts.log ?? createLogger('store-influx');
  const url = opts.url.replace(/\/$/, '');
  const token = opts.token;
  let api: InfluxApi;
  let version = '';
  if (opts.api === 'v1' || opts.api === 'v2') {
    api = opts.api;
    version = await probeVersion(url)
      .then((v) => v.version)
      .catch(() => '');
  } else {
    try {
      ({ api, version } = await probeVersion(url));
    } catch (err) {
      // down at start: nothing is lost (points are spilled); guess from the token's shape
      api = !token || token.includes(':') ? 'v1' : 'v2';
      log.warn({ url, err: (err as Error).message, api }, 'influx: /ping failed at start; API guessed from the token (set INFLUX_API to be sure)');
    }
  }
  const ql: QlClient = createQlClient({ url, token, api, db: opts.bucket });
  const transport = createTransport({ url, token, api });
  const writer = new InfluxWriter({ ...opts.writer, transport, url, org: opts.org, bucket: opts.bucket, spillDir: opts.spillDir, log });
  await writer.open();
  log.info({ url, api, version, bucket: opts.bucket }, 'influx store opened');

  /** keys claimed by writeBatch calls still checking for duplicates */
  const claims = new Set<string>();
  let setupSteps: SetupStep[] = [];
  let closed = false;

  const store: InfluxStore = {
    backend: 'influx',
    api,
    get version() {
      return version;
    },
    writerStats: () => writer.stats(),
    lastSetup: () => setupSteps,

    async init() {
      if (api === 'v1') {
        setupSteps = await ensureRetention(ql, { db: opts.bucket, rawDays: opts.retentionDays, rollupDays: opts.rollupRetentionDays });
        const changed = setupSteps.filter((s) => s.action !== 'ok');
        if (changed.length) log.info({ steps: changed }, 'influx: schema set up');
      } else {
        // 2.x/3.x: buckets and downsampling tasks are provisioned outside (README); check the read path
        await ql.query('SHOW MEASUREMENTS LIMIT 1');
      }
    },

    async writeBatch(records: AnyTelemetryRecord[]): Promise<WriteResult> {
      if (closed) throw new StoreError('E_STORE_CLOSED', 'the InfluxDB store is closed');
      if (!records.length) return { written: 0, duplicates: 0 };
      let duplicates = 0;
      const fresh: AnyTelemetryRecord[] = [];
      const claimed: string[] = [];
      for (const r of records) {
        const k = recordKey(r);
        if (claims.has(k) || writer.pendingKeys.has(k)) {
          duplicates++;
          continue;
        }
        claims.add(k);
        claimed.push(k);
        fresh.push(r);
      }
      try {
        let existing = new Set<string>();
        if (fresh.length) {
          const groups = new Map<TelemetryStream, { devices: Set<string>; from: number; to: number }>();
          for (const r of fresh) {
            const g = groups.get(r.stream);
            if (!g) groups.set(r.stream, { devices: new Set([r.deviceId]), from: r.ts, to: r.ts });
            else {
              g.devices.add(r.deviceId);
              g.from = Math.min(g.from, r.ts);
              g.to = Math.max(g.to, r.ts);
            }
          }
          try {
            existing = await Q.existingKeys(ql, groups);
          } catch (err) {
            // server down: write anyway (same series + time overwrites), duplicates may be under-counted
            log.debug({ err: (err as Error).message }, 'influx: duplicate check failed; writing without it');
          }
        }
        const toWrite = existing.size ? fresh.filter((r) => !existing.has(recordKey(r))) : fresh;
        duplicates += fresh.length - toWrite.length;
        const res = await writer.submit(toWrite.map(recordToLine));
        return { written: res.written + res.spilled, duplicates };
      } finally {
        for (const k of claimed) claims.delete(k);
      }
    },

    async writeDeadLetters(letters: DeadLetter[]) {
      if (closed) throw new StoreError('E_STORE_CLOSED', 'the InfluxDB store is closed');
      if (!letters.length) return;
      await writer.submit(letters.map(deadLetterToLine));
    },

    track: (q, o) => Q.track(withSignal(ql, o?.signal), q),
    truckEvents: (q, o) => Q.truckEvents(withSignal(ql, o?.signal), q),
    series: (q, o) => Q.series(withSignal(ql, o?.signal), q),
    plateCounts: (q, o) => Q.plateCounts(withSignal(ql, o?.signal), q),
    plateSearch: (q, o) => Q.plateSearch(withSignal(ql, o?.signal), q),
    purgePlates: (before) => Q.purgePlates(ql, before),
    latest: (q, o) => Q.latest(withSignal(ql, o?.signal), q),
    deadLetters: (q, o) => Q.deadLetters(withSignal(ql, o?.signal), q),
    deadLetterCounts: (q, o) => Q.deadLetterCounts(withSignal(ql, o?.signal), q),
    count: (q, o) => Q.count(withSignal(ql, o?.signal), q),

    async health(): Promise<StoreHealth> {
      const st = writer.stats();
      let reachable = true;
      try {
        const v = await probeVersion(url, 2000);
        version = v.version;
      } catch {
        reachable = false;
      }
      const ok = reachable && !st.configError;
      const where = `InfluxDB ${version || '?'} at ${url} (${api} API, ${api === 'v1' ? 'database' : 'bucket'} ${opts.bucket})`;
      const detail = !reachable
        ? `${where} unreachable; ${st.buffered} points buffered, ${st.spilled} spilled to disk`
        : st.configError
          ? `${where} refuses writes: ${st.configError}; ${st.spilled} points spilled to disk`
          : `${where} ok; ${st.buffered} buffered, ${st.spilled} spilled`;
      return { ok, backend: 'influx', detail, buffered: st.buffered, spilled: st.spilled };
    },

    async close() {
      if (closed) return;
      closed = true;
      await writer.close();
    },
  };
  return store;
}
