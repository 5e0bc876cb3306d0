/**
 * Device health: offline (presence offline / last will, or silent for `offlineFactor` × its
 * reporting interval), clock skew, stuck sensor (identical readings too long), battery low.
 */
import type { AirReading, DeviceStatus, NoiseReading } from '../../contract';
import { presenceMonitored, type RegistryDevice } from '../../firmware-config/schema';
import { thresholdsFor } from './config';
import { fmt1, type Rule, type RuleContext } from './context';

export const OFFLINE_RULE = 'offline';
export const SKEW_RULE = 'clock_skew';
export const STUCK_RULE = 'stuck_sensor';
export const BATTERY_RULE = 'battery_low';

interface DevState {
  lastArrival: number | null;
  presenceOffline: boolean;
  offsets: number[];
  stuckSig: string | null;
  stuckSince: number;
  stuckLastTs: number;
  ignitionOff: boolean;
}

/** Expected gap between messages: cameras report plates only when traffic passes, so their status interval. */
export function expectedIntervalS(dev: RegistryDevice): number {
  return dev.kind === 'camera' ? dev.intervals.statusS : Math.min(dev.intervals.dataS, dev.intervals.statusS);
}

export function deviceRules(ctx: RuleContext): Rule {
  const startedAt = ctx.now();
  const states = new Map<string, DevState>();
  const state = (id: string): DevState => {
    let s = states.get(id);
    if (!s) {
      s = { lastArrival: null, presenceOffline: false, offsets: [], stuckSig: null, stuckSince: 0, stuckLastTs: -Infinity, ignitionOff: false };
      states.set(id, s);
    }
    return s;
  };

  function offline(dev: RegistryDevice, at: number, reason: string, detail: Record<string, unknown>) {
    const s = state(dev.id);
    ctx.book.raise(
      {
        rule: OFFLINE_RULE,
        device: dev,
        // a truck parked with its ignition off going quiet is expected: information only
        severity: dev.kind === 'truck' && s.ignitionOff ? 'info' : 'warning',
        title: `${dev.id} offline: ${reason}`,
        detail: { reason, ...detail },
      },
      at,
    );
  }

  return {
    name: 'devices',
    onRecord(rec, dev, stale) {
      const s = state(dev.id);
      s.lastArrival = Math.max(s.lastArrival ?? 0, rec.receivedAt);
      s.presenceOffline = false;
      if (ctx.book.isOpen(`${OFFLINE_RULE}|${dev.id}`)) ctx.book.clear(OFFLINE_RULE, dev.id, rec.receivedAt, undefined, { backAt: rec.receivedAt });
      if (rec.stream === 'event') {
        const t = (rec.payload as { type: string }).type;
        if (t === 'ignition_off') s.ignitionOff = true;
        if (t === 'ignition_on') s.ignitionOff = false;
      }
      const th = thresholdsFor(ctx.cfg, dev);

      // clock skew: the device's own measurement, else the offset closest to zero among the last
      // few records (buffered replays have large offsets but live messages don't)
      const maxSkewMs = th.maxClockSkewS * 1000;
      let skew: number | null = null;
      let how = 'event time vs arrival';
      if (rec.stream === 'status' && (rec.payload as DeviceStatus).clockSkewMs !== undefined) {
        skew = (rec.payload as DeviceStatus).clockSkewMs!;
        how = 'reported by the device';
      } else {
        s.offsets.push(rec.ts - rec.receivedAt);
        if (s.offsets.length > ctx.cfg.device.skewSamples) s.offsets.shift();
        if (s.offsets.length >= ctx.cfg.device.skewSamples) skew = s.offsets.reduce((a, b) => (Math.abs(b) < Math.abs(a) ? b : a));
      }
      if (skew !== null) {
        const key = `${SKEW_RULE}|${dev.id}`;
        if (Math.abs(skew) > maxSkewMs) {
          ctx.book.raise(
            {
              rule: SKEW_RULE,
              device: dev,
              severity: 'warning',
              title: `${dev.id} clock ${skew > 0 ? 'ahead' : 'behind'} by ${fmt1(Math.abs(skew) / 1000)} s`,
              detail: { skewMs: skew, maxSkewMs, how },
            },
            rec.receivedAt,
          );
        } else if (Math.abs(skew) <= maxSkewMs / 2 && ctx.book.isOpen(key)) {
          ctx.book.clear(SKEW_RULE, dev.id, rec.receivedAt, undefined, { skewMs: skew });
        }
      }

      // stuck sensor: identical measured values for too long (event time)
      if (rec.stream === 'air' || rec.stream === 'noise') {
        if (rec.ts <= s.stuckLastTs) return;
        s.stuckLastTs = rec.ts;
        const p = rec.payload as AirReading & NoiseReading;
        const { ts: _ts, windowS: _w, ...values } = p;
        const sig = JSON.stringify(values);
        if (sig !== s.stuckSig) {
          s.stuckSig = sig;
          s.stuckSince = rec.ts;
          if (ctx.book.isOpen(`${STUCK_RULE}|${dev.id}`)) ctx.book.clear(STUCK_RULE, dev.id, rec.ts, undefined, { changedAt: rec.ts });
        } else {
          const forMs = rec.ts - s.stuckSince;
          if (forMs >= th.stuckMinutes * 60_000 && !(stale && !ctx.book.isOpen(`${STUCK_RULE}|${dev.id}`))) {
            ctx.book.raise(
              {
                rule: STUCK_RULE,
                device: dev,
                severity: 'warning',
                title: `${dev.id} sensor stuck: identical readings for ${Math.round(forMs / 60_000)} min`,
                detail: { values, since: s.stuckSince, stuckMinutes: th.stuckMinutes },
              },
              rec.ts,
            );
          }
        }
      }

      // battery
      if (rec.stream === 'status') {
        const pct = (rec.payload as DeviceStatus).batteryPct;
        if (pct === undefined) return;
        const key = `${BATTERY_RULE}|${dev.id}`;
        if (pct < th.batteryLowPct) {
          if (stale && !ctx.book.isOpen(key)) return;
          const critical = pct < Math.min(ctx.cfg.device.batteryCriticalPct, th.batteryLowPct);
          ctx.book.raise(
            {
              rule: BATTERY_RULE,
              device: dev,
              severity: critical ? 'critical' : 'warning',
              title: `${dev.id} battery ${fmt1(pct)} %`,
              detail: { batteryPct: pct, lowPct: th.batteryLowPct },
            },
            rec.ts,
          );
        } else if (pct >= th.batteryLowPct + ctx.cfg.device.batteryHysteresisPct) {
          ctx.book.clear(BATTERY_RULE, dev.id, rec.ts, undefined, { batteryPct: pct });
        }
      }
    },
    onPresence(dev, online, at) {
      if (!presenceMonitored(dev)) return; // planned (not installed yet) or retired: silence is expected
      const s = state(dev.id);
      if (online) {
        s.presenceOffline = false;
        s.lastArrival = Math.max(s.lastArrival ?? 0, at);
        ctx.book.clear(OFFLINE_RULE, dev.id, at, undefined, { backAt: at });
      } else {
        s.presenceOffline = true;
        offline(dev, at, 'disconnected (presence offline / last will)', { lastSeen: s.lastArrival });
      }
    },
    tick(now) {
      for (const dev of ctx.registry.registry.devices) {
        if (!presenceMonitored(dev)) continue; // planned (not installed yet) or retired
        const s = state(dev.id);
        if (s.presenceOffline) continue;
        const limitMs = ctx.cfg.device.offlineFactor * expectedIntervalS(dev) * 1000;
        const ref = s.lastArrival ?? startedAt + Math.max(0, ctx.cfg.device.startupGraceMs - limitMs);
        const silentMs = now - ref;
        if (silentMs > limitMs) {
          offline(dev, now, s.lastArrival === null ? 'no message since the platform started' : `no message for ${Math.round(silentMs / 1000)} s (${ctx.cfg.device.offlineFactor}× its ${expectedIntervalS(dev)} s interval)`, {
            lastSeen: s.lastArrival,
            silentS: Math.round(silentMs / 1000),
            intervalS: expectedIntervalS(dev),
          });
        }
      }
    },
    forget(id) {
      states.delete(id);
    },
  };
}
