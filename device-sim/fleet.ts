/**
 * The simulated fleet: every provisioned device on its own MQTT connection with its own
 * credentials, driven by one scheduler on simulated time (see clock.ts for how `speed` works:
 * a past window replayed faster until it catches up with the real clock).
 *
 *   const fleet = await startFleet({ devicesDir: 'data/devices', speed: 60 });
 *   fleet.stats(); fleet.fault('truck-03', { type: 'offline-will', param: 60 }); await fleet.stop();
 */
import fs from 'node:fs';
import { createLogger, type Logger } from '../lib/log';
import { loadCity, type City } from '../city/city';
import { loadDeviceConfigs, type DeviceConfig } from '../registry/device-config';
import { DEMO_HOTLIST } from '../demo/demo-registry';
import type { DeviceKind, Stream } from '../contract';
import { SimClock } from './clock';
import { MESSAGE_COUNTS, SimDevice, zeroCounts, type DeviceStats, type MessageCounts } from './device';
import { targets, type Fault, type FaultSpec, type FaultType } from './faults';
import { modelFor } from './models';
import { withDefaults } from '../lib/options';

export interface FleetOptions {
  devicesDir?: string;
  configs?: DeviceConfig[];
  /** default: the configs' cityFile, else the demo city */
  city?: City;
  /** override the broker URL of every config */
  mqttUrl?: string;
  speed?: number;
  /** replayed past window at speed > 1 (ms); see SimClock */
  backfillMs?: number;
  /** start the simulation at this past time (ms since epoch) */
  startAt?: number;
  log?: Logger;
  /** faults to schedule (afterS from start) */
  faults?: FaultSpec[];
  /** scheduler tick (real ms), default 250 */
  tickMs?: number;
  /** only these kinds / ids */
  only?: (cfg: DeviceConfig) => boolean;
  /** plates the cameras read now and then (default: the demo hotlist) */
  hotlist?: readonly string[];
  hotlistRate?: number;
  /** parallel connection attempts at start (default 8) */
  connectConcurrency?: number;
  /** simulated ms per real ms for fault timers (a scenario running the platform on a faster clock) */
  timeScale?: number;
  /** the wall clock the fleet runs against (default Date.now; a scenario gives the platform's faster clock) */
  clock?: () => number;
  /** trucks: the crews' own irregularities (hurried trips, long breaks); default true */
  naturalTruckEvents?: boolean;
  /** reject when a device cannot connect at start (default false: it keeps retrying) */
  strict?: boolean;
}

export interface FleetStats extends MessageCounts {
  devices: number;
  online: number;
  /** messages per second over the last few seconds (real time) */
  msgsPerSec: number;
  byStream: Partial<Record<Stream, number>>;
  byKind: Partial<Record<DeviceKind, { devices: number; online: number; published: number }>>;
  simTime: number;
  /** simulated clock behind the real one (ms) — catching up at speed > 1 */
  lagMs: number;
  speed: number;
  failedToConnect: { id: string; reason: string }[];
}

export interface Fleet {
  stop(): Promise<void>;
  stats(): FleetStats;
  devices(): DeviceStats[];
  /** apply a fault to a device id, a kind, or 'all'; returns the ids affected */
  fault(target: string, f: Fault): string[];
  clearFault(target: string, type: FaultType): string[];
  clock: SimClock;
  /** the configs of the devices running */
  configs(): DeviceConfig[];
  /** publish a history reading on a device's own connection (QoS 1; resolves on the PUBACK) — backfill.ts */
  publishHistory: (deviceId: string, topic: string, text: string) => Promise<void>;
}

/** defaults of the options (lib/options.ts) */
export const FLEET_DEFAULTS = { speed: 1, timeScale: 1, tickMs: 250, connectConcurrency: 8, faults: [] as FaultSpec[], hotlist: DEMO_HOTLIST.map((h) => h.plate) as readonly string[] };

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const opts = withDefaults(FLEET_DEFAULTS, options);
  const log = opts.log ?? createLogger('device-sim');
  let configs = opts.configs ?? (opts.devicesDir ? loadDeviceConfigs(opts.devicesDir) : []);
  if (opts.only) configs = configs.filter(opts.only);
  if (!configs.length) throw Object.assign(new Error('no device configs (devicesDir empty?)'), { code: 'E_SIM_NO_DEVICES' });
  const cityFile = configs.find((c) => c.cityFile && fs.existsSync(c.cityFile))?.cityFile;
  const city = opts.city ?? loadCity(cityFile);
  const clock = new SimClock({ speed: opts.speed, backfillMs: opts.backfillMs, startAt: opts.startAt, ...(opts.clock ? { realNow: opts.clock } : {}) });
  const start = clock.now();
  const devices: SimDevice[] = [];
  for (const cfg of configs) {
    try {
      const model = modelFor(cfg, { city, start, hotlist: opts.hotlist, hotlistRate: opts.hotlistRate, naturalTruckEvents: opts.naturalTruckEvents });
      // a device retries every 3 s of its own time (on a faster clock, more often in real time)
      const reconnectMs = Math.max(100, Math.round(3000 / opts.timeScale));
      devices.push(new SimDevice(cfg, model, { mqttUrl: opts.mqttUrl, log, reconnectMs, timeScale: opts.timeScale, ...(opts.clock ? { clock: opts.clock } : {}) }));
    } catch (err) {
      log.error({ deviceId: cfg.deviceId, err: (err as Error).message, code: (err as { code?: string }).code }, 'device skipped');
    }
  }

  // the devices run from the start: readings taken while a device is still connecting are
  // buffered and sent once it is (as firmware does), so no device starts with a silence
  // rate window
  const samples: { t: number; n: number }[] = [];
  const total = () => devices.reduce((s, d) => s + d.stats.published, 0);

  const tick = () => {
    const now = clock.now();
    for (const d of devices) {
      try {
        d.tick(now);
      } catch (err) {
        log.error({ deviceId: d.cfg.deviceId, err: (err as Error).message }, 'device tick failed');
      }
    }
    samples.push({ t: Date.now(), n: total() });
    while (samples.length > 2 && samples[0]!.t < Date.now() - 5000) samples.shift();
  };
  tick();
  const timer = setInterval(tick, opts.tickMs);

  // connect, a few at a time (the broker verifies scrypt hashes)
  const failed: { id: string; reason: string }[] = [];
  const queue = [...devices];
  await Promise.all(
    Array.from({ length: Math.min(opts.connectConcurrency, queue.length) }, async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        try {
          await withTimeout(d.connect(), 15_000, 'connect timed out');
        } catch (err) {
          failed.push({ id: d.cfg.deviceId, reason: (err as Error).message });
        }
      }
    }),
  );
  if (failed.length) {
    log.warn({ failed: failed.slice(0, 10), count: failed.length }, 'devices failed to connect (they keep retrying)');
    if (opts.strict) {
      clearInterval(timer);
      await Promise.all(devices.map((d) => d.stop()));
      throw Object.assign(new Error(`${failed.length} device(s) failed to connect: ${failed[0]!.id}: ${failed[0]!.reason}`), { code: 'E_SIM_CONNECT', failed });
    }
  }
  log.info({ devices: devices.length, speed: clock.speed, backfillH: clock.backfillMs / 3_600_000 }, 'fleet running');

  const timers: NodeJS.Timeout[] = [];
  const applyFault = (target: string, f: Fault): string[] => {
    const hit = devices.filter((d) => targets(target, d.cfg.deviceId, d.cfg.kind));
    for (const d of hit) d.fault(f);
    return hit.map((d) => d.cfg.deviceId);
  };
  for (const s of opts.faults) {
    const t = setTimeout(() => {
      applyFault(s.target, s.fault);
      if (s.fault.forS !== undefined) {
        timers.push(setTimeout(() => devices.filter((d) => targets(s.target, d.cfg.deviceId, d.cfg.kind)).forEach((d) => d.clearFault(s.fault.type)), s.fault.forS * 1000));
      }
    }, s.afterS * 1000);
    timers.push(t);
  }

  let stopped = false;
  const byId = new Map(devices.map((d) => [d.cfg.deviceId, d]));
  return {
    clock,
    configs: () => devices.map((d) => d.cfg),
    publishHistory: (id, topic, text) => byId.get(id)?.publishHistory(topic, text) ?? Promise.reject(new Error(`no simulated device ${id}`)),
    fault: applyFault,
    clearFault(target, type) {
      const hit = devices.filter((d) => targets(target, d.cfg.deviceId, d.cfg.kind));
      for (const d of hit) d.clearFault(type);
      return hit.map((d) => d.cfg.deviceId);
    },
    devices: () => devices.map((d) => ({ ...d.stats, byStream: { ...d.stats.byStream } })),
    stats(): FleetStats {
      const s: FleetStats = {
        devices: devices.length,
        online: 0,
        ...zeroCounts(),
        msgsPerSec: 0,
        byStream: {},
        byKind: {},
        simTime: clock.now(),
        lagMs: clock.lagMs(),
        speed: clock.speed,
        failedToConnect: failed,
      };
      for (const d of devices) {
        const x = d.stats;
        s.online += x.online ? 1 : 0;
        for (const k of MESSAGE_COUNTS) s[k] += x[k];
        for (const [k, v] of Object.entries(x.byStream)) s.byStream[k as Stream] = (s.byStream[k as Stream] ?? 0) + v;
        const bk = (s.byKind[d.cfg.kind] ??= { devices: 0, online: 0, published: 0 });
        bk.devices++;
        bk.online += x.online ? 1 : 0;
        bk.published += x.published;
      }
      if (samples.length >= 2) {
        const a = samples[0]!,
          b = samples[samples.length - 1]!;
        s.msgsPerSec = b.t > a.t ? ((b.n - a.n) * 1000) / (b.t - a.t) : 0;
      }
      return s;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      for (const t of timers) clearTimeout(t);
      await Promise.all(devices.map((d) => d.stop().catch(() => {})));
      log.info('fleet stopped');
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(what)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the original rejection, passed through
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
