/**
 * The InfluxDB writer: the ONE write path is `@influxdata/influxdb-client`'s WriteApi (batching,
 * retries with exponential back-off and jitter, gzip, a bounded in-memory retry buffer), through
 * the transport of ./transport.ts (1.x or 2.x/3.x). Around it, what the contract needs:
 *
 * Settlement (./settlement.ts), outage replay (./replay.ts) and 4xx bisection with dead-letter
 * building (./rejection.ts) are their own modules; this class wires them to the client.
 *
 * - `submit(lines)` resolves once every line is durably settled: written (204), spilled to local
 *   disk (./spill.ts, fsync'd), or rejected by the server (4xx on the line itself) and recorded as
 *   a dead letter with the server's message. Settlement is tracked per line.
 * - Outage: a failed attempt marks the server down; the client keeps retrying what it holds in
 *   memory (bounded by `bufferLines`, for up to `maxRetryTimeMs`), then it is spilled; while the
 *   server is down or a backlog is on disk, new lines go straight to the spill (in order, behind
 *   the backlog). A loop probes `/ping` and replays spill files oldest first when it answers.
 * - A 400/413/422 is not retried: the batch is bisected (re-sent in halves; InfluxDB has already
 *   stored the good lines of a partial write, re-sending them overwrites identical points) until
 *   each bad line is isolated and dead-lettered with the server's reason.
 * - 401/403/404 (credentials, missing database, wrong API) keep the data: spilled, logged loudly,
 *   and health() turns not ok.
 */
import { HttpError, InfluxDB, setLogger, type Transport, type WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from '../../lib/log';
import { bisect, isRejection, rejectedLineLetter, serverMessage } from './rejection';
import { ping, replaySpill } from './replay';
import { deadLetterToLine } from './schema';
import { Settlement, type Outcome, type SubmitResult } from './settlement';
import { Spill } from './spill';
import { StoreError } from '../errors';

export { serverMessage } from './rejection';
export type { SubmitResult } from './settlement';

export interface WriterOptions {
  transport: Transport;
  org: string;
  bucket: string;
  url: string;
  spillDir: string;
  log: Logger;
  /** lines per HTTP write (default 5000) */
  batchSize?: number;
  /** in-memory retry buffer bound, in lines (default 50 000); overflow is spilled */
  bufferLines?: number;
  /** how long the client retries a batch in memory before it is spilled (default 10 s) */
  maxRetryTimeMs?: number;
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  retryJitterMs?: number;
  /** how often the replay loop probes the server while down or a backlog exists (default 1 s) */
  probeEveryMs?: number;
  /** cap on remembered keys of spilled/in-flight points (for duplicate detection) */
  maxPendingKeys?: number;
}

export const WRITER_DEFAULTS = {
  batchSize: 5000,
  bufferLines: 50_000,
  maxRetryTimeMs: 10_000,
  minRetryDelayMs: 200,
  maxRetryDelayMs: 3000,
  retryJitterMs: 200,
  probeEveryMs: 1000,
  maxPendingKeys: 2_000_000,
} satisfies Partial<WriterOptions>;

export interface WriterStats {
  /** lines in memory, not yet durable */
  buffered: number;
  /** lines in spill files, waiting for replay */
  spilled: number;
  writtenTotal: number;
  spilledTotal: number;
  rejectedTotal: number;
  replayedTotal: number;
  down: boolean;
  lastError: string | null;
  /** a 401/403/404 that retrying does not fix */
  configError: string | null;
}

/**
 * The client logs through console by default; route it to pino at debug (we log outcomes
 * ourselves). The client's logger is process-wide: the latest writer's logger takes it.
 */
function routeClientLog(log: Logger): void {
  setLogger({ error: (m, e) => log.debug({ err: e }, `influxdb-client: ${m}`), warn: (m, e) => log.debug({ err: e }, `influxdb-client: ${m}`) });
}

export class InfluxWriter {
  readonly spill: Spill;
  private readonly writeApi: WriteApi;
  private readonly settlement: Settlement;
  private readonly opts: typeof WRITER_DEFAULTS & WriterOptions;
  private readonly log: Logger;
  private down = false;
  private closed = false;
  private lastError: string | null = null;
  private configError: string | null = null;
  private probeTimer: NodeJS.Timeout | undefined;
  private replaying: Promise<void> | undefined;

  constructor(opts: WriterOptions) {
    this.opts = { ...WRITER_DEFAULTS, ...opts };
    this.log = opts.log;
    routeClientLog(this.log);
    this.settlement = new Settlement(this.opts.maxPendingKeys, this.log);
    this.spill = new Spill(opts.spillDir);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the client calls these hooks with its own `this`
    const self = this;
    this.writeApi = new InfluxDB({ url: opts.url, transport: opts.transport }).getWriteApi(opts.org, opts.bucket, 'ns', {
      batchSize: this.opts.batchSize,
      flushInterval: 0, // we flush each submit ourselves
      maxBufferLines: this.opts.bufferLines,
      maxRetries: 1000, // bounded by maxRetryTime instead
      maxRetryTime: this.opts.maxRetryTimeMs,
      minRetryDelay: this.opts.minRetryDelayMs,
      maxRetryDelay: this.opts.maxRetryDelayMs,
      retryJitter: this.opts.retryJitterMs,
      exponentialBase: 2,
      randomRetry: true,
      gzipThreshold: 1000,
      writeSuccess(lines) {
        self.down = false;
        self.settle(lines, 'written');
      },
      writeFailed(error, lines, attempt, expires) {
        return self.onWriteFailed(error, lines, attempt, expires);
      },
      writeRetrySkipped(entry) {
        // the bounded retry buffer overflowed: these lines go to disk
        void self.spillLines(entry.lines);
      },
    });
  }

  /** idempotence keys of lines submitted and not yet known to be in the database */
  get pendingKeys(): ReadonlySet<string> {
    return this.settlement.pendingKeys;
  }

  async open(): Promise<void> {
    const existing = await this.spill.open();
    if (existing > 0) {
      this.log.warn({ lines: existing, dir: this.spill.dir }, 'influx: spilled points from an earlier run will be replayed');
      for (const f of this.spill.files()) for (const l of await this.spill.read(f)) this.settlement.addKey(l);
    }
    this.probeTimer = setInterval(() => {
      if (!this.replaying && (this.down || this.spill.lines > 0)) {
        this.replaying = this.replay()
          .catch((err) => this.log.error({ err }, 'influx: spill replay failed'))
          .finally(() => (this.replaying = undefined));
      }
    }, this.opts.probeEveryMs);
    this.probeTimer.unref();
  }

  /** Write lines; resolves when each one is written, spilled or rejected (dead-lettered). */
  submit(lines: string[]): Promise<SubmitResult> {
    return this.enqueue(lines, false);
  }

  private enqueue(lines: string[], replay: boolean): Promise<SubmitResult> {
    if (this.closed) return Promise.reject(new StoreError('E_STORE_CLOSED', 'influx writer is closed'));
    if (!lines.length) return Promise.resolve({ written: 0, spilled: 0, rejected: 0 });
    const done = this.settlement.track(lines);
    if (!replay && (this.down || this.spill.lines > 0)) {
      // outage or backlog on disk: straight to the spill, behind what is already there
      void this.spillLines(lines);
    } else {
      this.writeApi.writeRecords(lines);
      this.writeApi.flush().catch(() => undefined); // outcome arrives through writeSuccess / writeFailed
    }
    return done;
  }

  private settle(lines: string[], outcome: Outcome): void {
    this.settlement.settle(lines, outcome);
  }

  private onWriteFailed(error: Error, lines: string[], attempt: number, expires: number): Promise<void> | void {
    const msg = serverMessage(error);
    this.lastError = msg;
    if (this.closed) return this.spillLines(lines);
    if (isRejection(error)) {
      return bisect(lines, error, {
        send: (half) => this.sendDirect(half),
        written: (half) => this.settle(half, 'written'),
        spill: (half) => this.spillLines(half),
        reject: (line, detail) => this.rejectLine(line, detail),
      });
    }
    if (error instanceof HttpError && error.statusCode < 429) {
      // credentials, missing database or endpoint: retrying will not help, losing data is not an option
      this.configError = msg;
      this.down = true;
      this.log.error({ status: error.statusCode, error: msg }, 'influx: write refused (check INFLUX_URL/TOKEN/BUCKET and INFLUX_API); points are spilled to disk');
      return this.spillLines(lines);
    }
    if (!this.down) this.log.warn({ error: msg, attempt }, 'influx: write failed, retrying; new points go to the spill until the server answers');
    this.down = true;
    if (Date.now() >= expires || error.message.startsWith('Max retry time exceeded')) return this.spillLines(lines);
    return undefined; // the client retries with back-off and jitter, in its bounded buffer
  }

  /**
   * Durably append the lines that are still waiting, then settle them as spilled. Never rejects:
   * if the disk fails too, the lines stay in memory and go back to the client's write path in 1 s.
   */
  private async spillLines(lines: string[]): Promise<void> {
    const todo = lines.filter((l) => this.settlement.waiting(l));
    if (!todo.length) return;
    try {
      await this.spill.append(todo);
    } catch (err) {
      this.log.error({ err, lines: todo.length }, 'influx: spill append FAILED; points stay in memory and are retried');
      if (!this.closed) {
        setTimeout(() => {
          if (this.closed) return;
          this.writeApi.writeRecords(todo.filter((l) => this.settlement.waiting(l)));
          this.writeApi.flush().catch(() => undefined);
        }, 1000).unref();
      }
      return;
    }
    this.settle(todo, 'spilled');
  }

  /** Send lines without the WriteApi's retry (bisection only): same transport, same endpoint. */
  private sendDirect(lines: string[]): Promise<void> {
    return this.opts.transport.request(this.writeApi.path, lines.join('\n'), {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      gzipThreshold: 1000,
    });
  }

  /** Record a rejected line as a dead letter (reason store_rejected, the server's message). */
  private async rejectLine(line: string, detail: string): Promise<void> {
    const letter = rejectedLineLetter(line, detail, Date.now());
    if (!letter) {
      this.log.error({ detail, line: line.slice(0, 500) }, 'influx: a dead letter was itself rejected; dropped');
      this.settle([line], 'rejected');
      return;
    }
    this.log.warn({ deviceId: letter.deviceId, topic: letter.topic, detail }, 'influx: point rejected by the server, dead-lettered');
    await this.enqueue([deadLetterToLine(letter)], false);
    this.settle([line], 'rejected');
  }

  /** Replay spill files, oldest first, while the server answers. */
  private async replay(): Promise<void> {
    if (!(await ping(this.opts.url))) return;
    // a config error: try one replay round; a success clears it
    this.configError = null;
    const empty = await replaySpill({
      spill: this.spill,
      batchSize: this.opts.batchSize,
      log: this.log,
      resend: (lines) => this.enqueue(lines, true),
      closed: () => this.closed,
      replayed: (n) => (this.settlement.totals.replayed += n),
    });
    if (empty && !this.configError) this.down = false;
  }

  stats(): WriterStats {
    const t = this.settlement.totals;
    return {
      buffered: this.settlement.size,
      spilled: Math.max(0, this.spill.lines),
      writtenTotal: t.written,
      spilledTotal: t.spilled,
      rejectedTotal: t.rejected,
      replayedTotal: t.replayed,
      down: this.down,
      lastError: this.lastError,
      configError: this.configError,
    };
  }

  /** Wait (bounded) for in-flight lines, spill whatever is still only in memory, stop. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    clearInterval(this.probeTimer);
    const deadline = Date.now() + timeoutMs;
    while (this.settlement.size > 0 && !this.down && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.closed = true;
    await this.replaying?.catch(() => undefined);
    if (this.settlement.size > 0) {
      const left = this.settlement.unsettled();
      this.log.warn({ lines: left.length }, 'influx: closing with unwritten points; spilled for the next start');
      await this.spillLines(left).catch(() => undefined);
    }
    this.writeApi.dispose();
    await this.spill.close();
  }
}
