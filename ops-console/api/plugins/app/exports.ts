/**
 * Export jobs: long ranges (months) written in the background, one local day at a time, to a
 * file under the export directory, with progress in the ops DB and a download link when done.
 * No point caps: memory holds one day of one device at a time.
 *
 * Bounded so that low-privilege roles cannot exhaust the server (issue 14): a range limit per
 * kind (EXPORT_MAX_DAYS), at most EXPORT_LIMITS.perUser jobs queued or running per user (429
 * E_EXPORT_QUEUE_FULL beyond), EXPORT_LIMITS.running jobs running at once (one per user), a time
 * budget per job (EXPORT_LIMITS.budgetMs; then failed), and cancel (queued or running; the
 * partial file is removed). Both abort the store query under way (lib/query-budget.ts
 * storeWithSignal: DuckDB interrupts it), so a cancelled job frees the store at once. The store does the heavy reading on its own threads; the event
 * loop only formats one day at a time and yields between days.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { csvLine } from '../../lib/csv';
import { localDays } from '../../lib/local-days';
import { gpxFooter, gpxHeader, gpxPoint } from '../../lib/formats';
import type { Row } from './ops-db';
import type { TelemetryStore } from '../../../../store/types';
import { storeWithSignal } from '../../lib/query-budget';

export const EXPORT_KINDS = ['track', 'series', 'plate-counts', 'events'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];
export const EXPORT_FORMATS = ['csv', 'geojson', 'gpx', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportParams {
  from: number;
  to: number;
  deviceIds?: string[];
  stream?: 'air' | 'noise';
  field?: string;
  windowMs?: number;
}

/** longest range per export kind (days) */
export const EXPORT_MAX_DAYS: Record<ExportKind, number> = { track: 31, series: 366, 'plate-counts': 366, events: 93 };
export const EXPORT_LIMITS = { perUser: 3, running: 2, budgetMs: 10 * 60_000 };

export class ExportLimitError extends Error {
  readonly statusCode = 429;
  readonly code = 'E_EXPORT_QUEUE_FULL';
}
class Cancelled extends Error {}

export interface ExportJob {
  id: string;
  createdBy: string;
  createdAt: number;
  kind: ExportKind;
  format: ExportFormat;
  params: ExportParams;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  progress: number;
  rows: number;
  error: string | null;
  finishedAt: number | null;
  file: string | null;
}

export interface ExportsRepo {
  create(by: string, kind: ExportKind, format: ExportFormat, params: ExportParams): Promise<ExportJob>;
  get(id: string): Promise<ExportJob | undefined>;
  list(by?: string): Promise<ExportJob[]>;
  /** cancel a queued or running job; false when it had already finished */
  cancel(id: string): Promise<boolean>;
  /** resolves when the job has finished (tests) */
  wait(id: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    exportJobs: ExportsRepo;
  }
}

const fromRow = (r: Row): ExportJob => ({
  id: String(r.id),
  createdBy: String(r.created_by),
  createdAt: Number(r.created_at),
  kind: r.kind as ExportKind,
  format: r.format as ExportFormat,
  params: JSON.parse(String(r.params)) as ExportParams,
  state: r.state as ExportJob['state'],
  progress: Number(r.progress),
  rows: Number(r.rows),
  error: r.error === null ? null : String(r.error),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  file: r.file === null ? null : String(r.file),
});

const EXT: Record<ExportFormat, string> = { csv: 'csv', geojson: 'geojson', gpx: 'gpx', json: 'ndjson' };

/** Write one job's file; `progress(done, total, rows)` after each chunk. */
async function runExport(app: FastifyInstance, job: ExportJob, file: string, progress: (f: number, rows: number) => Promise<void>, store: TelemetryStore): Promise<number> {
  const { tz } = app.ctx;
  const p = job.params;
  const out = fs.createWriteStream(file);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  let rows = 0;
  const days = localDays(p.from, p.to, tz);
  const devices = p.deviceIds?.length
    ? p.deviceIds
    : app.ctx.registry.registry.devices.filter((d) => d.kind === (job.kind === 'series' ? p.stream : job.kind === 'plate-counts' ? 'camera' : 'truck')).map((d) => d.id);
  const total = Math.max(1, days.length * (job.kind === 'track' ? devices.length : 1));
  let done = 0;
  try {
    if (job.kind === 'track') {
      if (job.format === 'csv') await write(csvLine(['deviceId', 'ts', 'time', 'lat', 'lon', 'speedKmh', 'heading']));
      if (job.format === 'geojson') await write('{"type":"FeatureCollection","features":[\n');
      let firstFeature = true;
      for (const id of devices) {
        if (job.format === 'gpx') await write(gpxHeader(id));
        for (const day of days) {
          const pts = await store.track({ deviceId: id, from: day.from, to: day.to });
          for (const pt of pts) {
            if (job.format === 'csv') await write(csvLine([id, pt.ts, new Date(pt.ts).toISOString(), pt.lat, pt.lon, pt.speedKmh, pt.heading]));
            else if (job.format === 'gpx') await write(gpxPoint(pt));
            else {
              const f = { type: 'Feature', geometry: { type: 'Point', coordinates: [pt.lon, pt.lat] }, properties: { deviceId: id, ts: pt.ts, speedKmh: pt.speedKmh, heading: pt.heading } };
              await write((firstFeature ? '' : ',\n') + JSON.stringify(f));
              firstFeature = false;
            }
          }
          rows += pts.length;
          await progress(++done / total, rows);
        }
        if (job.format === 'gpx') await write(gpxFooter);
      }
      if (job.format === 'geojson') await write('\n]}\n');
    } else {
      if (job.format === 'csv') {
        const header =
          job.kind === 'series'
            ? ['deviceId', 't', 'time', 'mean', 'min', 'max', 'count']
            : job.kind === 'plate-counts'
              ? ['cameraId', 'hour', 'time', 'direction', 'count']
              : ['deviceId', 'ts', 'time', 'type', 'lat', 'lon', 'binId', 'weightKg'];
        await write(csvLine(header));
      }
      for (const day of days) {
        let chunk: Record<string, unknown>[] = [];
        if (job.kind === 'series') {
          chunk = (await store.series({ stream: p.stream!, field: p.field as never, deviceIds: p.deviceIds, from: day.from, to: day.to, windowMs: p.windowMs ?? 3_600_000 })) as never;
        } else if (job.kind === 'plate-counts') {
          chunk = (await store.plateCounts({ cameraIds: p.deviceIds, from: day.from, to: day.to })) as never;
        } else {
          chunk = (await store.truckEvents({ deviceIds: p.deviceIds, from: day.from, to: day.to })) as never;
        }
        for (const r of chunk) {
          if (job.format === 'json') await write(JSON.stringify(r) + '\n');
          else if (job.kind === 'series') await write(csvLine([r.deviceId, r.t, new Date(r.t as number).toISOString(), r.mean, r.min, r.max, r.count]));
          else if (job.kind === 'plate-counts') await write(csvLine([r.cameraId, r.hour, new Date(r.hour as number).toISOString(), r.direction, r.count]));
          else await write(csvLine([r.deviceId, r.ts, new Date(r.ts as number).toISOString(), r.type, r.lat, r.lon, r.binId, r.weightKg]));
        }
        rows += chunk.length;
        await progress(++done / total, rows);
      }
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return rows;
}

export default fp(
  async (fastify, opts: { dir?: string }) => {
    const db = fastify.opsDb;
    const running = new Map<string, Promise<void>>();
    /** jobs waiting for a slot, oldest first; a job's owner and whether cancel was asked */
    const waiting: ExportJob[] = [];
    const active = new Map<string, { by: string; cancel: boolean; abort: AbortController }>();
    const done = new Map<string, () => void>();
    const queuedOrRunning = (by: string) => waiting.filter((j) => j.createdBy === by).length + [...active.values()].filter((a) => a.by === by).length;
    const pump = () => {
      while (active.size < EXPORT_LIMITS.running) {
        const i = waiting.findIndex((j) => ![...active.values()].some((a) => a.by === j.createdBy));
        if (i < 0) return;
        const [job] = waiting.splice(i, 1);
        run(job!);
      }
    };
    let closing = false;
    const dir = () => opts.dir ?? fastify.ctx.exportDir;

    // jobs interrupted by a restart are failed, not left "running" forever
    await db.run(`UPDATE export_jobs SET state = 'failed', error = 'interrupted by a restart' WHERE state IN ('queued', 'running')`);

    const update = (id: string, sets: Record<string, string | number | null>) =>
      db.run(
        `UPDATE export_jobs SET ${Object.keys(sets)
          .map((k, i) => `${k} = $${i + 2}`)
          .join(', ')} WHERE id = $1`,
        [id, ...Object.values(sets)],
      );

    const run = (job: ExportJob) => {
      const me = { by: job.createdBy, cancel: false, abort: new AbortController() };
      active.set(job.id, me);
      const p = (async () => {
        fs.mkdirSync(dir(), { recursive: true, mode: 0o700 });
        const file = path.join(dir(), `${job.id}.${EXT[job.format]}`);
        await update(job.id, { state: 'running', file });
        let last = 0;
        // the budget and a cancel abort the store query under way (DuckDB interrupt), not only the next day
        let overBudget = false;
        const budget = setTimeout(() => {
          overBudget = true;
          me.abort.abort();
        }, EXPORT_LIMITS.budgetMs);
        const overBudgetError = () => new Error(`time budget of ${EXPORT_LIMITS.budgetMs / 60_000} min exceeded; export a shorter range`);
        try {
          const rows = await runExport(
            fastify,
            job,
            file,
            async (f, rows) => {
              if (closing) throw new Error('server shutting down');
              if (me.cancel) throw new Cancelled('cancelled');
              if (overBudget) throw overBudgetError();
              if (Date.now() - last > 500) {
                last = Date.now();
                await update(job.id, { progress: f, rows });
              }
              await new Promise((r) => setImmediate(r)); // one day at a time: let MQTT and HTTP in between
            },
            storeWithSignal(fastify.ctx.store, me.abort.signal),
          ).catch((err: unknown) => {
            throw me.cancel ? new Cancelled('cancelled') : overBudget ? overBudgetError() : err;
          });
          await update(job.id, { state: 'done', progress: 1, rows, finished_at: Date.now() });
          fastify.metrics.exportJobs.inc({ state: 'done' });
        } catch (err) {
          if (err instanceof Cancelled) {
            fs.rmSync(file, { force: true });
            await update(job.id, { state: 'cancelled', file: null, finished_at: Date.now() }).catch(() => undefined);
            fastify.metrics.exportJobs.inc({ state: 'cancelled' });
          } else {
            fastify.log.error({ err, code: 'E_EXPORT_FAILED', job: job.id }, 'export job failed');
            await update(job.id, { state: 'failed', error: (err as Error).message.slice(0, 200), finished_at: Date.now() }).catch(() => undefined);
            fastify.metrics.exportJobs.inc({ state: 'failed' });
          }
        } finally {
          clearTimeout(budget);
        }
      })();
      running.set(job.id, p);
      void p.finally(() => {
        running.delete(job.id);
        active.delete(job.id);
        done.get(job.id)?.();
        done.delete(job.id);
        pump();
      });
    };
    const start = (job: ExportJob) => {
      waiting.push(job);
      pump();
    };

    const repo: ExportsRepo = {
      async create(by, kind, format, params) {
        if (queuedOrRunning(by) >= EXPORT_LIMITS.perUser) throw new ExportLimitError(`you already have ${EXPORT_LIMITS.perUser} exports queued or running; wait for one or cancel it`);
        const job: ExportJob = { id: randomUUID(), createdBy: by, createdAt: Date.now(), kind, format, params, state: 'queued', progress: 0, rows: 0, error: null, finishedAt: null, file: null };
        await db.run('INSERT INTO export_jobs VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)', [job.id, by, job.createdAt, kind, format, JSON.stringify(params), 'queued', 0, 0, null, null, null]);
        start(job);
        return job;
      },
      async get(id) {
        const r = (await db.all('SELECT * FROM export_jobs WHERE id = $1', [id]))[0];
        return r ? fromRow(r) : undefined;
      },
      async list(by) {
        const rows = by
          ? await db.all('SELECT * FROM export_jobs WHERE created_by = $1 ORDER BY created_at DESC LIMIT 200', [by])
          : await db.all('SELECT * FROM export_jobs ORDER BY created_at DESC LIMIT 200');
        return rows.map(fromRow);
      },
      async wait(id) {
        if (waiting.some((j) => j.id === id)) await new Promise<void>((r) => done.set(id, r));
        await running.get(id);
      },
      async cancel(id) {
        const i = waiting.findIndex((j) => j.id === id);
        if (i >= 0) {
          waiting.splice(i, 1);
          await update(id, { state: 'cancelled', finished_at: Date.now() });
          fastify.metrics.exportJobs.inc({ state: 'cancelled' });
          done.get(id)?.();
          done.delete(id);
          return true;
        }
        const a = active.get(id);
        if (!a) return false;
        a.cancel = true;
        a.abort.abort();
        await running.get(id);
        return true;
      },
    };
    fastify.decorate('exportJobs', repo);
    fastify.addHook('preClose', async () => {
      closing = true;
      for (const j of waiting.splice(0)) await update(j.id, { state: 'failed', error: 'server shutting down', finished_at: Date.now() }).catch(() => undefined);
      await Promise.allSettled([...running.values()]);
    });
  },
  { name: 'exports', dependencies: ['ops-db', 'context', 'metrics'] },
);
