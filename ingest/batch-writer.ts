/**
 * Batches accepted records and dead letters and writes them to the store, one batch at a time,
 * in arrival order. Each message's acknowledgement runs only after everything up to and
 * including its batch is durably written — so PUBACKs (see consumer.ts) follow durable writes.
 *
 * A failing store is retried with capped exponential back-off; the messages stay un-acknowledged
 * meanwhile (the broker keeps them), nothing is dropped. Bounded: the caller watches `inFlight()`.
 */
import type { AnyTelemetryRecord, DeadLetter } from '../contract';
import type { TelemetryStore, WriteResult } from '../store/types';

export type Ack = () => void;

interface Batch {
  records: AnyTelemetryRecord[];
  letters: DeadLetter[];
  acks: Ack[];
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
  /** first retry delay; doubles up to maxBackoffMs */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** a record the store refused, as a dead letter */
  toDeadLetter(rec: AnyTelemetryRecord, detail: string): DeadLetter;
}

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
  private writing: Batch | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushWanted = false;
  private aborted = false;
  private wakeBackoff: (() => void) | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly o: BatchWriterOptions) {}

  /** Messages not yet acknowledged (queued or being written). */
  inFlight(): number {
    return this.queue.length + (this.writing?.acks.length ?? 0);
  }

  /** Points waiting to be written (queued + being written). */
  pendingPoints(): number {
    const w = this.writing;
    return this.queuedPoints + (w ? w.records.length + w.letters.length : 0);
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
    if (!this.writing && this.queue.length === 0) {
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
    else if (!this.timer && !this.writing) this.timer = setTimeout(() => this.flush(), this.o.flushMs);
  }

  /** Start writing what is queued now (or right after the current write), batch by batch, until the queue is empty. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.aborted) return;
    this.flushWanted = true;
    if (this.writing) return;
    if (this.queue.length === 0) {
      this.flushWanted = false;
      this.notifyIdle();
      return;
    }
    // take at most batchSize points (and the ack-only entries between them), in arrival order
    const b: Batch = { records: [], letters: [], acks: [] };
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
    if (this.queue.length === 0) this.flushWanted = false;
    this.writing = b;
    void this.write(b).then((ok) => {
      this.writing = null;
      if (ok && !this.aborted) for (const ack of b.acks) ack();
      if (this.aborted || this.queue.length === 0) return this.notifyIdle();
      const n = this.queuedPoints;
      if (this.flushWanted || n >= this.o.batchSize || n === 0 || Date.now() - this.openedAt >= this.o.flushMs) this.flush();
      else this.timer = setTimeout(() => this.flush(), Math.max(0, this.o.flushMs - (Date.now() - this.openedAt)));
    });
  }

  private async write(b: Batch): Promise<boolean> {
    const base = this.o.backoffMs ?? 100;
    const cap = this.o.maxBackoffMs ?? 5000;
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
          this.o.onRecordsWritten?.(b.records, result, performance.now() - t0);
        }
        what = 'dead_letters';
        if (!lettersDone) {
          await this.o.store.writeDeadLetters(b.letters);
          lettersDone = true;
          this.o.onLettersWritten?.(b.letters);
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
          const t = setTimeout(resolve, delay);
          this.wakeBackoff = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeBackoff = null;
      }
    }
    return true;
  }

  private notifyIdle(): void {
    if (this.writing || this.queue.length) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Flush everything and wait until every message is written and acknowledged. */
  drain(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.flush();
    return p;
  }

  /**
   * Stop at once (crash simulation, or stop() giving up on a dead store): the open batch is
   * discarded and nothing more is acknowledged; a write already under way may still land (the
   * broker redelivers those messages and the store reports them as duplicates).
   * Resolves when no write is under way any more.
   */
  async abort(): Promise<void> {
    this.aborted = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.queuedPoints = 0;
    this.wakeBackoff?.();
    if (this.writing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
