/**
 * Simulated time.
 *
 * At speed 1 the simulation runs on the real clock. At speed > 1 it starts `backfillMs` in the
 * past and runs `speed` times faster until it catches up with the real clock, then continues in
 * real time. Event timestamps therefore never run ahead of the real clock (the broker and ingest
 * reject future timestamps); the catch-up window fills history (readings are flagged `late` by
 * ingest because they arrive after their event time). Default backfill: speed × 1 h, at most 24 h
 * (`--speed 60` replays the last 24 h in 24 minutes, then goes live).
 */
import { CITY_TZ, tzOffsetMs as cityTzOffsetMs } from '../norms/local-time';
import { withDefaults } from '../lib/options';
export interface SimClockOptions {
  speed?: number;
  /** how far in the past the simulation starts (ms); default min(24 h, speed × 1 h) when speed > 1, else 0 */
  backfillMs?: number;
  /** start the simulation at this past time (ms) instead of `backfillMs` ago */
  startAt?: number;
  /** real clock (tests) */
  realNow?: () => number;
}

/** defaults of the options (lib/options.ts); backfillMs' default depends on the speed (see SimClockOptions) */
export const SIM_CLOCK_DEFAULTS = { speed: 1, realNow: Date.now as () => number };

export class SimClock {
  readonly speed: number;
  readonly backfillMs: number;
  private readonly realStart: number;
  private readonly simStart: number;
  private readonly real: () => number;

  constructor(options: SimClockOptions = {}) {
    const opts = withDefaults(SIM_CLOCK_DEFAULTS, options);
    this.speed = Math.max(0.01, opts.speed);
    this.real = opts.realNow;
    this.realStart = this.real();
    this.backfillMs = opts.startAt !== undefined ? Math.max(0, this.realStart - opts.startAt) : (opts.backfillMs ?? (this.speed > 1 ? Math.min(24 * 3_600_000, this.speed * 3_600_000) : 0));
    this.simStart = this.realStart - this.backfillMs;
  }

  /** simulated now (ms since epoch), never ahead of the real clock */
  now(): number {
    const r = this.real();
    const t = this.simStart + (r - this.realStart) * this.speed;
    return Math.floor(Math.min(t, r));
  }

  /** real now */
  realNow(): number {
    return this.real();
  }

  /** true once the simulation has caught up with the real clock */
  live(): boolean {
    return this.now() >= this.real() - 1000;
  }

  /** how far the simulation is behind the real clock (ms) */
  lagMs(): number {
    return Math.max(0, this.real() - this.now());
  }
}

const offCache = new Map<string, number>();

/** Offset of a time zone from UTC in ms at time t (the city clock's, norms/local-time.ts; cached per 15 minutes). */
export function tzOffsetMs(t: number, tz: string): number {
  const bucket = `${tz}|${Math.floor(t / 900_000)}`;
  const hit = offCache.get(bucket);
  if (hit !== undefined) return hit;
  const off = cityTzOffsetMs(t, tz);
  if (offCache.size > 10_000) offCache.clear();
  offCache.set(bucket, off);
  return off;
}

/** Local fractional hour of day [0, 24) in a time zone. */
export function localHour(t: number, tz = CITY_TZ): number {
  const local = t + tzOffsetMs(t, tz);
  return (((local % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000;
}

/** Local day number (days since epoch in local time) — seeds per-day randomness. */
export function localDay(t: number, tz = CITY_TZ): number {
  return Math.floor((t + tzOffsetMs(t, tz)) / 86_400_000);
}

/** Local day of week, 0 = Sunday. */
export function localWeekday(t: number, tz = CITY_TZ): number {
  return (localDay(t, tz) + 4) % 7; // 1970-01-01 was a Thursday
}

/** Epoch ms of local midnight of the local day containing t. */
export function localMidnight(t: number, tz = CITY_TZ): number {
  const off = tzOffsetMs(t, tz);
  return localDay(t, tz) * 86_400_000 - off;
}
