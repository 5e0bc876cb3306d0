/**
 * Batches accepted records and dead letters and writes them to the store, up to `maxWrites`
 * batches at once (the next batch is cut and sent while earlier ones are still being written:
 * the store's write latency overlaps instead of adding up). Batches are settled in arrival order:
 * each message's acknowledgement (and the written-hooks) runs only after everything up to and
 * including its batch is durably written — so PUBACKs (see consumer.ts) follow durable writes and
 * keep the order the messages arrived in, whichever write finishes first.
 *
 * A failing store is retried with capped exponential back-off; the messages stay un-acknowledged
 * meanwhile (the broker keeps them), nothing is dropped. Bounded: the caller watches `inFlight()`.
 */
import type { AnyTelemetryRecord, DeadLetter } from '../contract';
import type { TelemetryStore, WriteResult } from '../store/types';
import { withDefaults } from '../lib/options';

export type Ack = () => void;

interface Batch {
  records: AnyTelemetryRecord[];
  letters: DeadLetter[];
  acks: Ack[];
  /** its write is over (stored, or given up on an abort) */
  done?: boolean;
  /** the hooks to run when it is settled, in order */
  settled: Array<() => void>;
}

/** One message waiting: what it brings to write (if anything) and its acknowledgement. */
interface Entry {
  rec?: AnyTelemetryRecord;
  letter?: DeadLetter;
  ack: Ack;
}

export interface BatchWriterHooks {
  /** after a batch of records is stored (before acks) */
  onRecordsWritten?(records: AnyTelemetryRecord[], result: WriteResult, latencyMs: number): void;
  onLettersWritten?(letters: DeadLetter[]): void;
  /** a write attempt failed; it will be retried after `retryInMs` */
  onWriteError?(err: unknown, what: 'records' | 'dead_letters', attempt: number, retryInMs: number, points: number): void;
  /**
   * The store refused specific points as malformed (StoreError E_STORE_REJECTED with `rejected`
   * indexes): records become `store_rejected` dead letters, the rest of the batch is written;
   * refused dead letters are dropped after this hook (they cannot be stored anywhere).
   */
  onStoreRejected?(what: 'records' | 'dead_letters', detail: string, item: AnyTelemetryRecord | DeadLetter): void;
}

export interface BatchWriterOptions extends BatchWriterHooks {
  store: Pick<TelemetryStore, 'writeBatch' | 'writeDeadLetters'>;
  /** flush when this many points (records + dead letters) are waiting */
  batchSize: number;
  /** flush a partial batch after this long */
  flushMs: number;
  /**
   * batches written at once (default 1: one at a time, the next batch takes everything that arrived
   * meanwhile). More overlaps the store's write latency; the settling stays in arrival order.
   */
  maxWrites?: number;
  /** first retry delay; doubles up to maxBackoffMs */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** a record the store refused, as a dead letter */
  toDeadLetter(rec: AnyTelemetryRecord, detail: string): DeadLetter;
}

/** defaults of the options (one object, spread under the caller's: lib/options.ts) */
export const BATCH_WRITER_DEFAULTS = { backoffMs: 100, maxBackoffMs: 5000 };

/** `rejected` indexes of a StoreError E_STORE_REJECTED, when the store names them. */
function rejectedIndexes(err: unknown, n: number): Map<number, string> | null {
  const e = err as { code?: unknown; rejected?: unknown };
  if (e?.code !== 'E_STORE_REJECTED' || !Array.isArray(e.rejected) || e.rejected.length === 0) return null;
  const out = new Map<number, string>();
  for (const r of e.rejected as { index?: unknown; detail?: unknown }[]) {
    if (typeof r?.index !== 'number' || r.index < 0 || r.index >= n) return null;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the store's reply, any JSON, as String() prints it
    out.set(r.index, String(r.detail ?? 'refused by the store'));
  }
  return out;
}

export class BatchWriter {
  /** messages not yet in a write, in arrival order */
  private queue: Entry[] = [];
  private queuedPoints = 0;
  private openedAt = 0;
  /** batches being written (or written and waiting for an earlier one), in arrival order */
  private writing: Batch[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushWanted = false;
  private aborted = false;
  private wakeBackoff = new Set<() => void>();
  private idleWaiters: Array<() => void> = [];
  private readonly maxWrites: number;

  private readonly o: BatchWriterOptions & typeof BATCH_WRITER_DEFAULTS;

  constructor(opts: BatchWriterOptions) {
    this.o = withDefaults(BATCH_WRITER_DEFAULTS, opts);
    this.maxWrites = Math.max(1, Math.floor(opts.maxWrites ?? 1));
  }

  /** Messages not yet acknowledged (queued or being written). */
  inFlight(): number {
    let n = this.queue.length;
    for (const b of this.writing) n += b.acks.length;
    return n;
  }

  /** Points waiting to be written (queued + being written). */
  pendingPoints(): number {
    let n = this.queuedPoints;
    for (const b of this.writing) if (!b.done) n += b.records.length + b.letters.length;
    return n;
  }

  /** Batches being written now. */
  writesInFlight(): number {
    return this.writing.filter((b) => !b.done).length;
  }

  addRecord(rec: AnyTelemetryRecord, ack: Ack): void {
    this.added({ rec, ack });
  }

  addDeadLetter(letter: DeadLetter, ack: Ack): void {
    this.added({ letter, ack });
  }

  /**
   * A message with nothing to write (duplicate, presence): acknowledged once everything that
   * arrived before it is written — at once when nothing is pending.
   */
  addAckOnly(ack: Ack): void {
    if (this.aborted) return;
    if (this.writing.length === 0 && this.queue.length === 0) {
      ack();
      return;
    }
    this.queue.push({ ack });
  }

  private added(e: Entry): void {
    if (this.aborted) return;
    this.queue.push(e);
    if (++this.queuedPoints === 1) this.openedAt = Date.now();
    if (this.queuedPoints >= this.o.batchSize) this.flush();
    else if (!this.timer && this.writesInFlight() < this.maxWrites) this.timer = setTimeout(() => this.flush(), this.o.flushMs);
  }

  /** Start writing what is queued now (or as write slots free up), batch by batch, until the queue is empty. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.aborted) return;
    this.flushWanted = true;
    while (this.writesInFlight() < this.maxWrites && this.queue.length > 0) this.cut();
    if (this.queue.length === 0) {
      this.flushWanted = false;
      this.notifyIdle();
    }
  }

  /** Take at most batchSize points (and the ack-only entries between them), in arrival order, and write them. */
  private cut(): void {
    const b: Batch = { records: [], letters: [], acks: [], settled: [] };
    let taken = 0;
    let points = 0;
    for (const e of this.queue) {
      if ((e.rec || e.letter) && points >= this.o.batchSize) break;
      if (e.rec) b.records.push(e.rec);
      if (e.letter) b.letters.push(e.letter);
      if (e.rec || e.letter) points++;
      b.acks.push(e.ack);
      taken++;
    }
    this.queue = this.queue.slice(taken);
    this.queuedPoints -= points;
    if (this.queuedPoints > 0) this.openedAt = Date.now();
    this.writing.push(b);
    void this.write(b).then((ok) => {
      // not stored (aborted): settle() drops it without acknowledging anything
      b.done = true;
      this.settle();
      if (this.aborted || !ok || this.queue.length === 0) return this.notifyIdle();
      if (this.writesInFlight() >= this.maxWrites) return;
      const n = this.queuedPoints;
      if (this.flushWanted || n >= this.o.batchSize || n === 0 || Date.now() - this.openedAt >= this.o.flushMs) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), Math.max(0, this.o.flushMs - (Date.now() - this.openedAt)));
    });
  }

  /** Settle the written batches at the head, in arrival order: their hooks, then their acknowledgements. */
  private settle(): void {
    if (this.aborted) {
      // nothing more is acknowledged; what did land is still reported (counters, rules), as it lands
      for (const b of this.writing.filter((x) => x.done)) for (const f of b.settled.splice(0)) f();
      this.writing = this.writing.filter((x) => !x.done);
      return;
    }
    while (this.writing.length && this.writing[0]!.done) {
      const b = this.writing.shift()!;
      for (const f of b.settled) f();
      for (const ack of b.acks) ack();
    }
  }

  private async write(b: Batch): Promise<boolean> {
    const base = this.o.backoffMs;
    const cap = this.o.maxBackoffMs;
    let recordsDone = b.records.length === 0;
    let lettersDone = b.letters.length === 0;
    let attempt = 0;
    while (!recordsDone || !lettersDone) {
      if (this.aborted) return false;
      let what: 'records' | 'dead_letters' = 'records';
      try {
        if (!recordsDone) {
          const t0 = performance.now();
          const result = await this.o.store.writeBatch(b.records);
          recordsDone = true;
          const latencyMs = performance.now() - t0;
          const records = b.records;
          b.settled.push(() => this.o.onRecordsWritten?.(records, result, latencyMs));
        }
        what = 'dead_letters';
        if (!lettersDone) {
          await this.o.store.writeDeadLetters(b.letters);
          lettersDone = true;
          const letters = b.letters;
          b.settled.push(() => this.o.onLettersWritten?.(letters));
        }
      } catch (err) {
        const items: (AnyTelemetryRecord | DeadLetter)[] = what === 'records' ? b.records : b.letters;
        const refused = rejectedIndexes(err, items.length);
        if (refused) {
          // Malformed points will never be accepted: take them out and write the rest at once.
          const keep: (AnyTelemetryRecord | DeadLetter)[] = [];
          items.forEach((item, i) => {
            const detail = refused.get(i);
            if (detail === undefined) return void keep.push(item);
            this.o.onStoreRejected?.(what, detail, item);
            if (what === 'records') {
              b.letters.push(this.o.toDeadLetter(item as AnyTelemetryRecord, detail));
              lettersDone = false;
            }
          });
          if (what === 'records') {
            b.records = keep as AnyTelemetryRecord[];
            recordsDone = b.records.length === 0;
          } else {
            b.letters = keep as DeadLetter[];
            lettersDone = b.letters.length === 0;
          }
          continue;
        }
        attempt++;
        const delay = Math.min(cap, base * 2 ** Math.min(attempt - 1, 16));
        this.o.onWriteError?.(err, what, attempt, delay, what === 'records' ? b.records.length : b.letters.length);
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(t);
            this.wakeBackoff.delete(wake);
            resolve();
          };
          const t = setTimeout(wake, delay);
          this.wakeBackoff.add(wake);
        });
      }
    }
    return true;
  }

  private notifyIdle(): void {
    if (this.writing.length || this.queue.length) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Flush everything and wait until every message is written and acknowledged. */
  drain(): Promise<void> {
    if (this.writing.length === 0 && this.queue.length === 0) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.flush();
    return p;
  }

  /**
   * Stop at once (crash simulation, or stop() giving up on a dead store): the open batch is
   * discarded and nothing more is acknowledged; writes already under way may still land (the
   * broker redelivers those messages and the store reports them as duplicates).
   * Resolves when no write is under way any more.
   */
  async abort(): Promise<void> {
    this.aborted = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.queuedPoints = 0;
    for (const wake of [...this.wakeBackoff]) wake();
    this.settle(); // written batches that waited for an earlier one: reported, not acknowledged
    if (this.writing.length) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
