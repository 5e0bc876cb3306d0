/**
 * Defences of the CONNECT path against floods (a wrong password costs one scrypt run on the
 * libuv pool; unfinished CONNECTs cost memory until their timeout):
 *
 * - pending connections (accepted, not yet authenticated) are capped per source address and
 *   globally; a connection over a cap is closed at accept, before anything is parsed;
 * - failed authentications back off per source address and per (client id, source): after
 *   `failuresBeforeBackoff` failures in `failureWindowMs`, further CONNECTs from there are refused
 *   with CONNACK 3 (server unavailable) without running scrypt, for a back-off that doubles up
 *   to `maxBackoffMs`; the refusal is held (tarpit, up to `maxHoldMs`) so a flooding client
 *   cannot spin; a device connecting from elsewhere with the right password is unaffected;
 * - scrypt runs go through a work queue with bounded concurrency that is fair between source
 *   addresses (round-robin), with a bounded length per source and in total, so one source can
 *   never starve the others;
 * - an auth flood (more than `floodThreshold` refusals in `floodWindowMs`) is reported once when
 *   it starts and once when it ends (`onFlood`), for the log and the metric; during a flood each
 *   REGISTERED device (`isDevice`) refused at least `floodDeviceMin` times is reported once
 *   (`state: 'device'`, for its alert), at most `maxFloodDevices` per flood. User names that are
 *   not devices are only counted (`unknownFailures`): an attacker inventing names creates no alert,
 *   no alert subject and no memory per name.
 */
import { withDefaults } from '../lib/options';

export interface AuthGuardOptions {
  /** unauthenticated connections per source address (default 256) */
  maxPendingPerSource?: number;
  /** unauthenticated connections in total (default 2000) */
  maxPending?: number;
  /** scrypt verifications running at once (default 2 of libuv's 4 threads) */
  concurrency?: number;
  /** verifications waiting per source address / in total (defaults 256 / 1024) */
  maxQueuedPerSource?: number;
  maxQueued?: number;
  failuresBeforeBackoff?: number;
  failureWindowMs?: number;
  firstBackoffMs?: number;
  maxBackoffMs?: number;
  floodThreshold?: number;
  floodWindowMs?: number;
  /** longest a refused CONNECT is held before its CONNACK (default 5 s) */
  maxHoldMs?: number;
  /** refusals of one registered device during a flood that make it "under attack" (default 10) */
  floodDeviceMin?: number;
  /** devices reported under attack per flood, at most (default 20) */
  maxFloodDevices?: number;
  /** is this user name a registered device? (default: none is) */
  isDevice?: (user: string) => boolean;
  now?: () => number;
}

/** defaults of the options (lib/options.ts) */
export const AUTH_GUARD_DEFAULTS = {
  maxPendingPerSource: 256,
  maxPending: 2000,
  concurrency: 2,
  maxQueuedPerSource: 256,
  maxQueued: 1024,
  failuresBeforeBackoff: 5,
  failureWindowMs: 60_000,
  firstBackoffMs: 1000,
  maxBackoffMs: 60_000,
  floodThreshold: 100,
  floodWindowMs: 10_000,
  maxHoldMs: 5000,
  floodDeviceMin: 10,
  maxFloodDevices: 20,
  isDevice: (() => false) as (user: string) => boolean,
  now: Date.now as () => number,
};

export const THROTTLE_REASON_LIST = ['too_many_pending', 'backoff_source', 'backoff_client', 'auth_queue_full'] as const;
export type ThrottleReason = (typeof THROTTLE_REASON_LIST)[number];

export interface FloodDevice {
  id: string;
  /** refusals of this device's name during the flood */
  failures: number;
  /** source addresses that tried it (counted up to MAX_SOURCES) */
  sources: number;
}

export interface FloodReport {
  /** start / end of the flood; `device`: one registered device found under attack during it */
  state: 'start' | 'end' | 'device';
  /** refusals in the window that tripped (start) or the whole flood (end, device) */
  failures: number;
  /** source addresses (counted up to MAX_SOURCES) */
  sources: number;
  /** refusals for names that are not registered devices */
  unknownFailures: number;
  /** registered devices tried, most first (at most 5; for `device`: that one) */
  devices: FloodDevice[];
  /** at `end`: the devices reported under attack during the flood */
  reported?: string[];
  startedAt: number;
}

/** distinct sources remembered per flood and per device (beyond: no longer counted) */
export const MAX_SOURCES = 10_000;

interface FloodState {
  startedAt: number;
  failures: number;
  unknownFailures: number;
  sources: Set<string>;
  devices: Map<string, { failures: number; sources: Set<string> }>;
  reported: string[];
}

interface Backoff {
  fails: number[];
  until: number;
  level: number;
}

export class AuthGuard {
  private readonly o: Required<Omit<AuthGuardOptions, 'now' | 'isDevice'>>;
  private readonly now: () => number;
  private readonly pending = new Map<object, string>();
  private readonly pendingBySource = new Map<string, number>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly queues = new Map<string, { start: () => void; cancel: () => void }[]>();
  private queued = 0;
  private running = 0;
  private readonly runningBySource = new Map<string, number>();
  /** round-robin order of sources with queued work */
  private readonly ring: string[] = [];
  /** refusals in the flood window; `device` only for registered devices' names */
  private readonly recent: { at: number; source: string; device: string | null }[] = [];
  private flood: FloodState | null = null;
  private readonly isDevice: (user: string) => boolean;
  onFlood: ((r: FloodReport) => void) | null = null;

  constructor(opts: AuthGuardOptions = {}) {
    const { now, isDevice, ...o } = withDefaults(AUTH_GUARD_DEFAULTS, opts);
    this.o = o;
    this.now = now;
    this.isDevice = isDevice;
  }

  // ── pending connections ───────────────────────────────────────────────────────────────────
  /** a connection was accepted; false = over a cap, close it */
  opened(conn: object, source: string): boolean {
    const n = this.pendingBySource.get(source) ?? 0;
    if (n >= this.o.maxPendingPerSource || this.pending.size >= this.o.maxPending) return false;
    this.pending.set(conn, source);
    this.pendingBySource.set(source, n + 1);
    return true;
  }

  /** the connection authenticated or closed: it no longer counts as pending */
  settled(conn: object): void {
    const source = this.pending.get(conn);
    if (source === undefined) return;
    this.pending.delete(conn);
    const n = (this.pendingBySource.get(source) ?? 1) - 1;
    if (n <= 0) this.pendingBySource.delete(source);
    else this.pendingBySource.set(source, n);
  }

  get pendingCount(): number {
    return this.pending.size;
  }
  get queueLength(): number {
    return this.queued;
  }

  // ── back-off ──────────────────────────────────────────────────────────────────────────────
  /**
   * null = go on and verify; else why this CONNECT is refused without verification, and how long
   * to hold the refusal (a tarpit: a refused attacker that reconnects at once would otherwise cost
   * the event loop thousands of cheap refusals a second; held, its sockets sit idle, counted in the
   * pending cap).
   */
  check(source: string, clientId: string): { reason: ThrottleReason; holdMs: number } | null {
    const t = this.now();
    const s = this.backoffs.get(`s|${source}`)?.until ?? 0;
    if (s > t) return { reason: 'backoff_source', holdMs: jitter(Math.min(s - t, this.o.maxHoldMs)) };
    const c = this.backoffs.get(`c|${clientId}|${source}`)?.until ?? 0;
    if (c > t) return { reason: 'backoff_client', holdMs: jitter(Math.min(c - t, this.o.maxHoldMs)) };
    return null;
  }

  /** how long to hold a refusal for a full queue */
  get queueFullHoldMs(): number {
    return jitter(Math.min(this.o.firstBackoffMs, this.o.maxHoldMs));
  }

  /** a CONNECT was refused (wrong password, unknown user, throttled…) */
  failed(source: string, clientId: string, user: string): void {
    const t = this.now();
    this.bump(`s|${source}`, t);
    this.bump(`c|${clientId}|${source}`, t);
    this.noteFailure(t, source, user);
  }

  /** only counts towards flood detection (refusals decided without a verification) */
  refused(source: string, user: string): void {
    this.noteFailure(this.now(), source, user);
  }

  private bump(key: string, t: number): void {
    let b = this.backoffs.get(key);
    if (!b) {
      if (this.backoffs.size > 50_000) this.sweep(t);
      this.backoffs.set(key, (b = { fails: [], until: 0, level: 0 }));
    }
    b.fails = b.fails.filter((x) => t - x < this.o.failureWindowMs);
    b.fails.push(t);
    if (b.fails.length >= this.o.failuresBeforeBackoff) {
      b.until = t + Math.min(this.o.maxBackoffMs, this.o.firstBackoffMs * 2 ** b.level);
      b.level = Math.min(b.level + 1, 20);
      b.fails = [];
    }
  }

  private sweep(t: number): void {
    for (const [k, b] of this.backoffs) {
      if (b.until < t && b.fails.every((x) => t - x >= this.o.failureWindowMs)) this.backoffs.delete(k);
    }
  }

  // ── flood detection ───────────────────────────────────────────────────────────────────────
  private noteFailure(t: number, source: string, user: string): void {
    const device = user.length <= 64 && this.isDevice(user) ? user : null;
    this.recent.push({ at: t, source, device });
    while (this.recent.length && t - this.recent[0]!.at > this.o.floodWindowMs) this.recent.shift();
    if (this.recent.length > this.o.floodThreshold * 4) this.recent.splice(0, this.recent.length - this.o.floodThreshold * 4);
    const f = this.flood;
    if (f) {
      this.count(f, source, device);
      if (device) this.maybeReportDevice(f, device);
    } else if (this.recent.length > this.o.floodThreshold) {
      const nf: FloodState = { startedAt: t, failures: 0, unknownFailures: 0, sources: new Set(), devices: new Map(), reported: [] };
      for (const r of this.recent) this.count(nf, r.source, r.device);
      this.flood = nf;
      this.onFlood?.({ state: 'start', failures: nf.failures, sources: nf.sources.size, unknownFailures: nf.unknownFailures, devices: this.topDevices(nf), startedAt: t });
      for (const id of [...nf.devices.keys()]) this.maybeReportDevice(nf, id);
    }
  }

  private count(f: FloodState, source: string, device: string | null): void {
    f.failures++;
    if (f.sources.size < MAX_SOURCES) f.sources.add(source);
    if (!device) {
      f.unknownFailures++;
      return;
    }
    let d = f.devices.get(device);
    if (!d) f.devices.set(device, (d = { failures: 0, sources: new Set() }));
    d.failures++;
    if (d.sources.size < MAX_SOURCES) d.sources.add(source);
  }

  private deviceOf(f: FloodState, id: string): FloodDevice {
    const d = f.devices.get(id)!;
    return { id, failures: d.failures, sources: d.sources.size };
  }

  private topDevices(f: FloodState): FloodDevice[] {
    return [...f.devices.keys()]
      .map((id) => this.deviceOf(f, id))
      .sort((a, b) => b.failures - a.failures || (a.id < b.id ? -1 : 1))
      .slice(0, 5);
  }

  /** a registered device over `floodDeviceMin` refusals in this flood is reported once, within the cap */
  private maybeReportDevice(f: FloodState, id: string): void {
    const d = f.devices.get(id)!;
    if (d.failures < this.o.floodDeviceMin || f.reported.length >= this.o.maxFloodDevices || f.reported.includes(id)) return;
    f.reported.push(id);
    this.onFlood?.({ state: 'device', failures: d.failures, sources: d.sources.size, unknownFailures: f.unknownFailures, devices: [this.deviceOf(f, id)], startedAt: f.startedAt });
  }

  /** call now and then (the broker does every second): ends a flood once the window is quiet */
  tick(): void {
    const t = this.now();
    while (this.recent.length && t - this.recent[0]!.at > this.o.floodWindowMs) this.recent.shift();
    if (this.flood && this.recent.length <= this.o.floodThreshold / 10) {
      const f = this.flood;
      this.flood = null;
      this.onFlood?.({
        state: 'end',
        failures: f.failures,
        sources: f.sources.size,
        unknownFailures: f.unknownFailures,
        devices: this.topDevices(f),
        reported: [...f.reported],
        startedAt: f.startedAt,
      });
    }
  }

  get flooding(): boolean {
    return this.flood !== null;
  }

  // ── the verification work queue ───────────────────────────────────────────────────────────
  /** run `work` (a scrypt verification) when a slot is free, fairly between sources; null = queue full */
  schedule<T>(source: string, work: () => Promise<T>): Promise<T> | null {
    let q = this.queues.get(source);
    if ((q?.length ?? 0) >= this.o.maxQueuedPerSource || this.queued >= this.o.maxQueued) return null;
    return new Promise<T>((resolve, reject) => {
      const cancel = () => reject(new ThrottledError());
      const start = () => {
        this.running++;
        this.runningBySource.set(source, (this.runningBySource.get(source) ?? 0) + 1);
        work()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            const n = (this.runningBySource.get(source) ?? 1) - 1;
            if (n <= 0) this.runningBySource.delete(source);
            else this.runningBySource.set(source, n);
            this.pump();
          });
      };
      if (this.running < this.o.concurrency && this.queued === 0 && this.mayRun(source)) return start();
      if (!q) {
        this.queues.set(source, (q = []));
        this.ring.push(source);
      }
      q.push({ start, cancel });
      this.queued++;
    });
  }

  /**
   * A source that failed recently (a back-off record with failures or a level) runs one
   * verification at a time, so when its back-off expires a flood cannot take every slot at once.
   */
  private mayRun(source: string): boolean {
    const b = this.backoffs.get(`s|${source}`);
    const suspect = !!b && (b.level > 0 || b.fails.length > 0);
    return !suspect || (this.runningBySource.get(source) ?? 0) === 0;
  }

  private pump(): void {
    // `idle` counts sources skipped in a row: when every source in the ring must wait, stop
    for (let idle = 0; this.running < this.o.concurrency && this.ring.length > idle;) {
      const source = this.ring.shift()!;
      if (!this.mayRun(source)) {
        this.ring.push(source); // its turn comes back when its running verification ends
        idle++;
        continue;
      }
      idle = 0;
      const q = this.queues.get(source)!;
      const next = q.shift()!;
      this.queued--;
      if (q.length) this.ring.push(source);
      else this.queues.delete(source);
      // a source that went into back-off while it waited gets no verification
      if ((this.backoffs.get(`s|${source}`)?.until ?? 0) > this.now()) next.cancel();
      else next.start();
    }
  }
}

/** a queued verification dropped because its source went into back-off */
export class ThrottledError extends Error {
  constructor() {
    super('source in back-off');
  }
}

/** held refusals must not all come back at the same instant */
const jitter = (ms: number) => Math.round(ms * (0.5 + Math.random()));
