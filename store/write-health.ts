/**
 * Write health of a store, as the process that writes through it sees it: the last successful
 * write, the last failure (code and message) and since when writes have been failing. `health()`
 * of the tracked store is not ok while writes fail — a store that still answers queries but
 * cannot write (disk full, corrupt blocks, InfluxDB refusing) is not healthy.
 *
 *   const store = trackWrites(await openDuckDbStore({ file }));   // openStore() does this
 */
import type { StoreHealth, TelemetryStore } from './types';

export interface WriteHealth {
  lastWriteAt: number | null;
  writeFailingSince: number | null;
  lastWriteError: string | null;
}

export type TrackedStore = TelemetryStore & { writeHealth(): WriteHealth };

export function trackWrites(inner: TelemetryStore, now: () => number = Date.now): TrackedStore {
  if (typeof (inner as Partial<TrackedStore>).writeHealth === 'function') return inner as TrackedStore;
  const w: WriteHealth = { lastWriteAt: null, writeFailingSince: null, lastWriteError: null };
  const tracked = async <T>(p: () => Promise<T>): Promise<T> => {
    try {
      const r = await p();
      w.lastWriteAt = now();
      w.writeFailingSince = null;
      return r;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      w.lastWriteError = `${typeof code === 'string' ? `${code}: ` : ''}${String((err as Error)?.message ?? err).slice(0, 200)}`;
      w.writeFailingSince ??= now();
      throw err;
    }
  };
  const store = Object.create(inner) as TrackedStore;
  store.writeBatch = (records) => tracked(() => inner.writeBatch(records));
  store.writeDeadLetters = (letters) => tracked(() => inner.writeDeadLetters(letters));
  store.health = async (): Promise<StoreHealth> => {
    const h = await inner.health();
    const out: StoreHealth = { ...h, ...w };
    if (w.writeFailingSince !== null) {
      out.ok = false;
      out.detail = `${h.detail}; writes failing since ${new Date(w.writeFailingSince).toISOString()} (${w.lastWriteError})`;
    }
    return out;
  };
  store.writeHealth = () => ({ ...w });
  return store;
}
