/**
 * Garbage-truck rules, on event time:
 *   truck_idle      engine on, standing still beyond `idleMinutes`, away from the depot
 *   truck_speeding  above the speed limit for `speedingSustainS`
 *   truck_off_route farther than `offRouteMeters` from its planned route for `offRouteSustainS`
 *   gps_lost        no valid fix for `gpsLostS` while the ignition is on and the device still talks
 *   gps_jump        implied speed between consecutive fixes impossible
 *   route_behind    share of the route's collection streets covered lags the elapsed shift
 *   missed_streets  planned streets the truck has driven past without collecting, while the shift runs
 * Route rules need the city (routes, depots); without it they are off and the rest still work.
 * They run only inside a shift that has started, on event time, and only on live data: late or
 * replayed fixes are stored but neither count nor alert. Streets before the truck was first seen
 * live in a shift (engine restarted, truck joined mid-shift) are not judged: nobody saw them.
 * The engine is on after `ignition_on` (or a moving fix with no ignition event seen); a parked
 * truck's heartbeat fix is not an engine.
 *
 * One file per rule in ./truck/ (gps-lost, gps-jump, idle, speeding, off-route, route-behind,
 * missed-streets; the shift they judge in shift.ts), sharing ./truck/context.ts; this file feeds
 * them each record in order and keeps what a restart needs (ignitions, shifts).
 */
import type { ReportMode } from './device-rules';
import type { GpsFix, TruckEvent } from '../../contract';
import type { City, Position } from '../../city/city';
import { distanceM } from '../../contract/geo';
import type { RegistryDevice } from '../../registry/schema';
import type { Rule, RuleContext } from './context';
import { buildRouteIndex, shiftWindow, type RouteGeom } from './route-geometry';
import { newTruckState, truckContext, type TruckState } from './truck/context';
import { gpsJump } from './truck/gps-jump';
import { gpsLostClear, gpsLostOnInvalidFix, gpsLostOnTick, gpsLostOnValidFix } from './truck/gps-lost';
import { truckIdle, truckIdleOnIgnitionOff } from './truck/idle';
import { missedOf } from './truck/missed-streets';
import { truckOffRoute } from './truck/off-route';
import { endShift, evalSchedule, restoreShift, saveShift, shiftOnLiveFix } from './truck/shift';
import { truckSpeeding } from './truck/speeding';

export { TRUCK_RULES } from './truck/context';

export interface TruckRules extends Rule {
  coverage(deviceId: string): { covered: number; planned: number; missed: string[] } | null;
  /** what the truck is expected to be doing at `at` (for the offline rule's interval) */
  mode(dev: RegistryDevice, at: number): ReportMode;
  /** ignition per truck (kept across restarts by the takeover state) */
  ignitions(): Record<string, boolean>;
  restoreIgnitions(m: Record<string, boolean>): void;
  /** the running shift's coverage per truck (kept across restarts: a restart is no reason to forget streets) */
  shifts(): Record<string, SavedShift>;
  restoreShifts(m: Record<string, SavedShift>, at: number): void;
}

export interface SavedShift {
  start: number;
  end: number;
  visited: number[];
  maxIdx: number;
  fromIdx: number;
  seenAt: number;
  unobserved: number[];
  lastFixTs: number;
}

export function truckRules(ctx: RuleContext, city?: City): TruckRules {
  const routes = city ? buildRouteIndex(city) : new Map<string, RouteGeom>();
  const tc = truckContext(ctx, routes);
  const trucks = new Map<string, TruckState>();
  const st = (id: string) => {
    let s = trucks.get(id);
    if (!s) trucks.set(id, (s = newTruckState()));
    return s;
  };

  function onFix(dev: RegistryDevice, s: TruckState, fix: GpsFix, receivedAt: number, stale: boolean) {
    const T = tc.T;
    const valid = (fix.sats === undefined || fix.sats >= T.minSats) && (fix.hdop === undefined || fix.hdop <= T.maxHdop);
    if (!valid) return gpsLostOnInvalidFix(tc, dev, s, fix, stale);
    if (fix.speedKmh > T.moveSpeedKmh) s.everMoved = true;
    gpsLostOnValidFix(tc, dev, s, fix, receivedAt);
    const pos: Position = [fix.lon, fix.lat];
    const prev = s.lastFix;
    if (prev && fix.ts <= prev.ts) return; // out of order: state machines run forward only
    s.lastFix = { ts: fix.ts, pos, speed: fix.speedKmh };
    // jump: an impossible implied speed between consecutive fixes; skip the other checks for it
    if (prev && gpsJump(tc, dev, s, prev, fix, pos, stale)) return;

    const th = tc.thresholds(dev);
    const g = tc.routeOf(dev);
    const atDepot = !!g?.depot && distanceM(pos, g.depot.pos) <= T.depotRadiusM;
    const on = tc.engineOn(s);
    truckIdle(tc, dev, th, s, fix, on, atDepot, stale);
    truckSpeeding(tc, dev, th, s, fix, stale);
    if (!g) return;
    truckOffRoute(tc, dev, th, s, g, fix, pos, on, atDepot, stale);
    // coverage and missed streets (this shift): live fixes of a running engine only
    if (stale || !on) return;
    shiftOnLiveFix(tc, dev, s, g, fix, pos, receivedAt);
  }

  /** the newest arrival of any live record (every device): GPS lost needs the platform to be hearing */
  let newestArrival = -Infinity;

  return {
    name: 'trucks',
    coverage(id) {
      const dev = ctx.registry.device(id);
      const s = trucks.get(id);
      const g = dev && tc.routeOf(dev);
      if (!g || !s?.shift) return null;
      return { covered: s.shift.visited.size, planned: g.collect.length, missed: missedOf(tc, g, s.shift).map((i) => g.collect[i]!.segmentId) };
    },
    onRecord(rec, dev, stale) {
      if (!stale) newestArrival = Math.max(newestArrival, rec.receivedAt);
      if (dev.kind !== 'truck') return;
      const s = st(dev.id);
      s.lastArrival = Math.max(s.lastArrival ?? 0, rec.receivedAt);
      if (rec.stream === 'event') {
        const e = rec.payload as TruckEvent;
        if (e.type === 'ignition_on') s.ignition = true;
        if (e.type === 'ignition_off') {
          s.ignition = false;
          truckIdleOnIgnitionOff(tc, dev, s, e.ts);
          s.noFix.reset();
          gpsLostClear(tc, dev, e.ts, 'ignition off');
        }
      } else if (rec.stream === 'gps') onFix(dev, s, rec.payload as GpsFix, rec.receivedAt, stale);
    },
    onPresence(dev, online, at) {
      if (dev.kind !== 'truck' || online) return;
      // disconnected: the offline rule speaks; GPS-lost needs a device that still talks
      gpsLostClear(tc, dev, at, 'device offline');
    },
    tick(now) {
      const T = tc.T;
      for (const dev of ctx.registry.registry.devices) {
        if (dev.kind !== 'truck' || dev.status === 'retired') continue;
        const s = st(dev.id);
        gpsLostOnTick(tc, dev, s, now, newestArrival);
        const g = tc.routeOf(dev);
        if (!g || !s.shift) continue;
        // between fixes, a shift the truck was seen in live is judged on; one that ended closes
        if (now >= s.shift.end) endShift(tc, dev, s, g, s.shift.end);
        else if (s.lastLiveFix !== null && now - s.lastLiveFix < T.gpsLostS * 1000 && tc.engineOn(s)) evalSchedule(tc, dev, s, g, now, false);
      }
    },
    mode(dev, at) {
      const s = trucks.get(dev.id);
      if (s && tc.engineOn(s)) return 'moving';
      const g = tc.routeOf(dev);
      if (g && !shiftWindow(g.route, at, ctx.tz())) return 'off_shift';
      return 'parked';
    },
    ignitions() {
      const out: Record<string, boolean> = {};
      for (const [id, s] of trucks) if (s.ignition !== null) out[id] = s.ignition;
      return out;
    },
    restoreIgnitions(m) {
      for (const [id, on] of Object.entries(m)) if (typeof on === 'boolean' && st(id).ignition === null) st(id).ignition = on;
    },
    shifts() {
      const out: Record<string, SavedShift> = {};
      for (const [id, s] of trucks) if (s.shift) out[id] = saveShift(s.shift);
      return out;
    },
    restoreShifts(m, at) {
      for (const [id, x] of Object.entries(m)) {
        const sh = restoreShift(x, at);
        if (!sh) continue;
        const s = st(id);
        if (s.shift) continue;
        s.shift = sh;
      }
    },
    forget(id) {
      trucks.delete(id);
    },
  };
}
