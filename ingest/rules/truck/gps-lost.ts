/**
 * gps_lost — no valid fix for `gpsLostS` while the ignition is on and the device still talks:
 * raised on invalid fixes (event time) and, between fixes, by the tick (arrival times).
 */
import type { GpsFix } from '../../../contract';
import type { RegistryDevice } from '../../../registry/schema';
import { TRUCK_RULES, type TruckContext, type TruckState } from './context';

const RULE = TRUCK_RULES.gpsLost;

/** An invalid fix (too few satellites, poor HDOP). */
export function gpsLostOnInvalidFix(tc: TruckContext, dev: RegistryDevice, s: TruckState, fix: GpsFix, stale: boolean): void {
  const forMs = s.noFix.update(true, fix.ts);
  if (forMs >= tc.T.gpsLostS * 1000 && tc.engineOn(s) && tc.mayRaise(RULE, dev.id, stale)) {
    tc.ctx.book.raise(
      {
        rule: RULE,
        device: dev,
        severity: 'warning',
        code: 'gps_lost',
        params: { seconds: Math.round(forMs / 1000) },
        title: `${dev.id} GPS lost: no valid fix for ${Math.round(forMs / 1000)} s`,
        detail: { reason: 'no fix', sats: fix.sats, hdop: fix.hdop, since: s.noFix.since },
      },
      fix.ts,
    );
  }
}

/** A valid fix clears it. */
export function gpsLostOnValidFix(tc: TruckContext, dev: RegistryDevice, s: TruckState, fix: GpsFix, receivedAt: number): void {
  s.noFix.reset();
  s.lastValidFixArrival = Math.max(s.lastValidFixArrival ?? 0, receivedAt);
  tc.ctx.book.clear(RULE, dev.id, fix.ts, undefined, { fixAt: fix.ts });
}

/** Ignition off, or the device went offline (the offline rule speaks then). */
export function gpsLostClear(tc: TruckContext, dev: RegistryDevice, at: number, reason: string): void {
  tc.ctx.book.clear(RULE, dev.id, at, undefined, { reason });
}

/**
 * The tick: the device talks (events, status) but no valid fix arrives (arrival times: the
 * transport allowance `device.offlineSlackMs` applies), and something from any device arrived
 * after the fix was due (`newestArrival`): when nothing has, the platform stalled (a starved
 * process, messages still queued) — not the truck's GPS.
 */
export function gpsLostOnTick(tc: TruckContext, dev: RegistryDevice, s: TruckState, now: number, newestArrival: number): void {
  const lostMs = tc.T.gpsLostS * 1000 + tc.ctx.cfg.device.offlineSlackMs;
  const talking = s.lastArrival !== null && now - s.lastArrival < lostMs;
  const lastFix = s.lastValidFixArrival;
  if (lastFix !== null && tc.engineOn(s) && talking && newestArrival > lastFix + lostMs && now - lastFix > lostMs) {
    tc.ctx.book.raise(
      {
        rule: RULE,
        device: dev,
        severity: 'warning',
        code: 'gps_lost',
        params: { seconds: Math.round((now - lastFix) / 1000) },
        title: `${dev.id} GPS lost: no fix for ${Math.round((now - lastFix) / 1000)} s while the engine is on`,
        detail: { reason: 'no fix received', lastFixAt: lastFix },
      },
      now,
    );
  }
}
