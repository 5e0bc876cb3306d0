/**
 * History for a fresh installation: the fleet's last days replayed through the real path —
 * each simulated device publishes its past on its own MQTT connection with its own credentials
 * (the live fleet's, `fleet.publishHistory`), QoS 1, through broker → ingest → store. Readings
 * arrive long after their event time, so ingest flags them `late` (contract) and the rules treat
 * them as history: they open no live alert.
 *
 * To keep a first start short the history is thinned (and says so): trucks report GPS every
 * `gpsS` (default 60 s) while driving and hourly while parked, cameras publish one read in
 * `plateEvery` (default 20: history's plate counts are a twentieth of the live ones). Stations
 * keep their own interval (`stationS` default 60 s): the Índice AIRE Y SALUD counts an hour only
 * when ≥ 75 % of its readings (by the registry interval) are there. Bin lifts, unloads and every
 * other event are kept.
 *
 *   const r = await backfillFleet({ configs: fleet.configs(), publish: fleet.publishHistory, city, from: now - 7 * 86_400_000, to: now, onProgress });
 */
import type { Logger } from 'pino';
import type { City } from '../city/city';
import type { DeviceConfig } from '../registry/device-config';
import { modelFor } from './models';
import { withDefaults } from '../lib/options';

export interface BackfillThinning {
  gpsS: number;
  parkedGpsS: number;
  stationS: number;
  plateEvery: number;
}
export const DEFAULT_THINNING: BackfillThinning = { gpsS: 60, parkedGpsS: 3600, stationS: 60, plateEvery: 20 };

export interface BackfillOptions {
  configs: DeviceConfig[];
  city: City;
  /** publish on the device's own connection, resolving on the PUBACK (fleet.publishHistory) */
  publish(deviceId: string, topic: string, text: string): Promise<void>;
  from: number;
  to: number;
  thin?: Partial<BackfillThinning>;
  /** simulated time published per step and device before waiting for the PUBACKs (default 1 h) */
  stepMs?: number;
  /** unacknowledged publishes per device (default 100) */
  inFlight?: number;
  /** devices replayed at once (default: all) */
  concurrency?: number;
  /** plates the cameras read now and then in the history (default none) */
  hotlist?: readonly string[];
  log?: Logger;
  /** stops the replay after the current step (Ctrl-C) */
  signal?: AbortSignal;
  /** called after every step of every device */
  onProgress?(p: BackfillProgress): void;
}

export interface BackfillProgress {
  /** simulated ms replayed, summed over devices / the total to replay */
  doneMs: number;
  totalMs: number;
  published: number;
  acked: number;
  failed: number;
}

export interface BackfillReport extends BackfillProgress {
  devices: number;
  ms: number;
  /** devices whose replay failed (their history is missing) */
  skipped: { id: string; reason: string }[];
  /** stopped before the end (signal) */
  aborted: boolean;
}

/** defaults of the options (lib/options.ts); history reads no hotlisted plate by default (ingest's hotlist rule does not yet skip late reads) */
export const BACKFILL_DEFAULTS = { stepMs: 3_600_000, inFlight: 100, hotlist: [] as readonly string[] };

export async function backfillFleet(options: BackfillOptions): Promise<BackfillReport> {
  const o = withDefaults(BACKFILL_DEFAULTS, options);
  const t0 = Date.now();
  const thin = { ...DEFAULT_THINNING, ...o.thin };
  const { stepMs: step, inFlight } = o;
  const span = Math.max(0, o.to - o.from);
  const p: BackfillProgress = { doneMs: 0, totalMs: span * o.configs.length, published: 0, acked: 0, failed: 0 };
  const skipped: { id: string; reason: string }[] = [];
  const hotlist = o.hotlist;

  const one = async (cfg: DeviceConfig) => {
    const isStation = cfg.kind === 'air' || cfg.kind === 'noise';
    const mcfg: DeviceConfig =
      cfg.kind === 'truck'
        ? { ...cfg, intervals: { ...cfg.intervals, dataS: Math.max(cfg.intervals.dataS, thin.gpsS) } }
        : isStation
          ? { ...cfg, intervals: { ...cfg.intervals, dataS: Math.max(cfg.intervals.dataS, thin.stationS) } }
          : cfg;
    try {
      const model = modelFor(mcfg, { city: o.city, start: o.from, hotlist, parkedGpsS: thin.parkedGpsS });
      let plates = 0;
      for (let t = o.from; t < o.to && !o.signal?.aborted;) {
        const next = Math.min(o.to, t + step);
        const emits = model.advance(next).filter((e) => e.stream !== 'plate' || plates++ % thin.plateEvery === 0);
        // at most `inFlight` unacknowledged per device (a socket with thousands of queued writes hurts the broker)
        for (let i = 0; i < emits.length; i += inFlight) {
          await Promise.all(
            emits.slice(i, i + inFlight).map((e) => {
              const topic = cfg.topics.publish[e.stream];
              if (!topic) return Promise.resolve();
              p.published++;
              return o.publish(cfg.deviceId, topic, JSON.stringify(e.payload)).then(
                () => void p.acked++,
                () => void p.failed++,
              );
            }),
          );
        }
        p.doneMs += next - t;
        t = next;
        o.onProgress?.(p);
      }
    } catch (err) {
      skipped.push({ id: cfg.deviceId, reason: (err as Error).message });
      p.doneMs += span;
    }
  };

  const queue = [...o.configs];
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency ?? queue.length, queue.length) }, async () => {
      for (let c = queue.shift(); c && !o.signal?.aborted; c = queue.shift()) await one(c);
    }),
  );
  if (skipped.length) o.log?.warn({ skipped: skipped.slice(0, 10), count: skipped.length }, 'backfill: some devices failed; their history is missing');
  return { ...p, devices: o.configs.length, ms: Date.now() - t0, skipped, aborted: !!o.signal?.aborted };
}
