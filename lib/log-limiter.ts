/**
 * Rate-limited logging per key (e.g. per reject reason): at most `burst` lines per `windowMs` for
 * each key, then one summary line with how many were suppressed, so a flood of bad messages
 * cannot drown the log (or the disk).
 */
export interface LimitedLogger {
  /** Log through `emit` unless the key's budget for this window is spent. Returns whether it logged. */
  log(key: string, emit: (suppressedBefore: number) => void): boolean;
}

export function createLogLimiter(opts: { burst?: number; windowMs?: number; now?: () => number } = {}): LimitedLogger {
  const burst = opts.burst ?? 5;
  const windowMs = opts.windowMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const state = new Map<string, { windowStart: number; count: number; suppressed: number }>();
  return {
    log(key, emit) {
      const t = now();
      let s = state.get(key);
      if (!s || t - s.windowStart >= windowMs) {
        const suppressed = s?.suppressed ?? 0;
        s = { windowStart: t, count: 0, suppressed: 0 };
        state.set(key, s);
        s.count++;
        emit(suppressed);
        return true;
      }
      if (s.count < burst) {
        s.count++;
        emit(0);
        return true;
      }
      s.suppressed++;
      return false;
    },
  };
}

/** Longest piece of remote input (user name, client id, topic, detail) a log line carries. */
export const MAX_LOGGED_INPUT = 128;

/** Cut remote input for a log line: at most `max` characters, with the original length noted. */
export function clip(v: unknown, max = MAX_LOGGED_INPUT): string | undefined {
  if (v === undefined || v === null) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any remote value, as String() prints it (never throws, unlike JSON.stringify)
  const s = String(v);
  return s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
}
