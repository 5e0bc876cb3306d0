/**
 * Password verification with a short-lived cache, so reconnect storms don't burn CPU on scrypt.
 *
 * Entries are keyed by (id, SHA-256 of the offered password, stored hash): when the registry's
 * stored hash changes (credential rotation) the old entries can no longer match, so the old
 * secret stops working at once. A scrypt result for a given (password, stored hash) pair never
 * changes, so refusals are cached too (for less time), and concurrent verifications of the same
 * key share one scrypt run.
 */
import { createHash } from 'node:crypto';
import { verifyPassword } from '../registry/credentials';
import { withDefaults } from '../lib/options';

export interface VerifyCacheOptions {
  /** how long a successful verification is remembered (ms) */
  okTtlMs?: number;
  /** how long a refused one is remembered (ms) */
  badTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/** defaults of the options (lib/options.ts) */
export const VERIFY_CACHE_DEFAULTS = { okTtlMs: 60_000, badTtlMs: 10_000, maxEntries: 20_000, now: Date.now as () => number };

export class VerifyCache {
  private readonly entries = new Map<string, { ok: boolean; until: number }>();
  private readonly inflight = new Map<string, Promise<boolean>>();
  private readonly okTtl: number;
  private readonly badTtl: number;
  private readonly max: number;
  private readonly now: () => number;
  /** scrypt runs actually performed (for tests and metrics) */
  verifications = 0;
  hits = 0;

  constructor(opts: VerifyCacheOptions = {}) {
    const o = withDefaults(VERIFY_CACHE_DEFAULTS, opts);
    this.okTtl = o.okTtlMs;
    this.badTtl = o.badTtlMs;
    this.max = o.maxEntries;
    this.now = o.now;
  }

  private key(id: string, password: string, stored: string): string {
    return createHash('sha256').update(id).update('\0').update(password).update('\0').update(stored).digest('base64');
  }

  /**
   * The verification's result. A scrypt run goes through `schedule` (the broker's fair work
   * queue, auth-guard.ts); when `schedule` answers null (queue full) so does verify.
   */
  verify(id: string, password: string, stored: string, schedule: (run: () => Promise<boolean>) => Promise<boolean> | null = (run) => run()): Promise<boolean> | null {
    const key = this.key(id, password, stored);
    const hit = this.entries.get(key);
    if (hit) {
      if (hit.until > this.now()) {
        this.hits++;
        return Promise.resolve(hit.ok);
      }
      this.entries.delete(key);
    }
    const running = this.inflight.get(key);
    if (running) return running;
    const scheduled = schedule(async () => {
      this.verifications++;
      try {
        return await verifyPassword(password, stored);
      } catch {
        return false; // malformed hash parameters never match
      }
    });
    if (!scheduled) return null;
    const p = (async () => {
      const ok = await scheduled;
      if (this.entries.size >= this.max) {
        // Map keeps insertion order: drop the oldest
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.set(key, { ok, until: this.now() + (ok ? this.okTtl : this.badTtl) });
      return ok;
    })().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  clear(): void {
    this.entries.clear();
  }
}
