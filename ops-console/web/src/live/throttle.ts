/**
 * Trailing throttle: however often `schedule()` is called, `flush` runs at most once per
 * `intervalMs`, and always once after the last call. Timers are injectable for tests.
 */
export interface Throttle {
  schedule(): void;
  /** run now if something is pending */
  flushNow(): void;
  cancel(): void;
  readonly pending: boolean;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** `intervalMs` may be a function: read at each schedule (e.g. slower for bigger fleets). */
export function createThrottle(flush: () => void, intervalMs: number | (() => number), clock: Clock = realClock): Throttle {
  const interval = typeof intervalMs === 'function' ? intervalMs : () => intervalMs;
  let last = -Infinity;
  let timer: unknown = null;
  let pending = false;
  const run = () => {
    timer = null;
    if (!pending) return;
    pending = false;
    last = clock.now();
    flush();
  };
  return {
    schedule() {
      pending = true;
      if (timer !== null) return;
      const wait = Math.max(0, last + interval() - clock.now());
      timer = clock.setTimeout(run, wait);
    },
    flushNow() {
      if (timer !== null) clock.clearTimeout(timer);
      run();
    },
    cancel() {
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      pending = false;
    },
    get pending() {
      return pending;
    },
  };
}
