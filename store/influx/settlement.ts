/**
 * Settlement of submitted lines: each line submitted to the writer is waited on until it is
 * written (204), spilled to disk (fsync'd) or rejected by the server (dead-lettered). A submit's
 * promise resolves once every one of its lines has settled. Also keeps the idempotence keys of
 * lines not yet known to be in the database (the store's duplicate check reads them).
 */
import type { Logger } from '../../lib/log';
import { lineKey } from './schema';

export interface SubmitResult {
  written: number;
  spilled: number;
  rejected: number;
}

export type Outcome = 'written' | 'spilled' | 'rejected';

interface Ticket extends SubmitResult {
  remaining: number;
  resolve(r: SubmitResult): void;
}

export class Settlement {
  private readonly waiters = new Map<string, Ticket[]>();
  /** idempotence keys of lines submitted and not yet known to be in the database */
  readonly pendingKeys = new Set<string>();
  readonly totals = { written: 0, spilled: 0, rejected: 0, replayed: 0 };
  private warnedKeys = false;

  constructor(
    private readonly maxPendingKeys: number,
    private readonly log: Logger,
  ) {}

  /** Wait for these lines; the promise resolves once every one has settled. */
  track(lines: string[]): Promise<SubmitResult> {
    return new Promise<SubmitResult>((resolve) => {
      const t: Ticket = { remaining: lines.length, written: 0, spilled: 0, rejected: 0, resolve };
      for (const l of lines) {
        const w = this.waiters.get(l);
        if (w) {
          // the same line twice in flight: one ticket entry per occurrence
          w.push(t);
        } else {
          this.waiters.set(l, [t]);
          this.addKey(l);
        }
      }
    });
  }

  /** Remember a line's key (a line submitted, or found in a spill file at start). */
  addKey(line: string): void {
    const k = lineKey(line);
    if (!k) return;
    if (this.pendingKeys.size >= this.maxPendingKeys) {
      if (!this.warnedKeys) this.log.warn('influx: too many pending points to remember; duplicate detection of spilled points is degraded');
      this.warnedKeys = true;
      return;
    }
    this.pendingKeys.add(k);
  }

  settle(lines: string[], outcome: Outcome): void {
    for (const l of lines) {
      const ts = this.waiters.get(l);
      if (!ts) continue;
      this.waiters.delete(l);
      if (outcome !== 'spilled') {
        const k = lineKey(l);
        if (k) this.pendingKeys.delete(k);
      }
      this.totals[outcome]++;
      for (const t of ts) {
        t[outcome]++;
        if (--t.remaining === 0) t.resolve({ written: t.written, spilled: t.spilled, rejected: t.rejected });
      }
    }
  }

  /** still waiting (not settled) */
  waiting(line: string): boolean {
    return this.waiters.has(line);
  }

  /** lines in memory, not yet settled */
  get size(): number {
    return this.waiters.size;
  }

  unsettled(): string[] {
    return [...this.waiters.keys()];
  }
}
