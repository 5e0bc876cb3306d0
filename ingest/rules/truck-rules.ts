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
 */
import type { ReportMode } from './device-rules';
import type { GpsFix, TruckEvent } from '../../contract';
import type { City, Position } from '../../city/city';
import { distanceM } from '../../contract/geo';
import type { RegistryDevice } from '../../registry/schema';
import { thresholdsFor } from './config';
import { fmt1, Sustain, type Rule, type RuleContext } from './context';
import { buildRouteIndex, distanceToRouteM, drivenCollectIdx, shiftWindow, type RouteGeom } from './route-geometry';

export const TRUCK_RULES = {
  idle: 'truck_idle',
  speeding: 'truck_speeding',
  offRoute: 'truck_off_route',
  gpsLost: 'gps_lost',
  gpsJump: 'gps_jump',
  behind: 'route_behind',
  missed: 'missed_streets',
} as const;

interface ShiftState {
  start: number;
  end: number;
  visited: Set<number>;
  maxIdx: number;
  /** collection streets before this index were not observed live this shift: not judged */
  fromIdx: number;
  /** first live fix seen in this shift (ms) */
  seenAt: number;
  /** collection streets passed while no live fix came (offline, restart): not judged */
  unobserved: Set<number>;
  /** event time of the last live fix of this shift */
  lastFixTs: number;
  afterGap: boolean;
}

interface TruckState {
  ignition: boolean | null;
  lastFix: { ts: number; pos: Position; speed: number } | null;
  lastValidFixArrival: number | null;
  lastArrival: number | null;
  /** last live fix arrival (ms) */
  lastLiveFix: number | null;
  everMoved: boolean;
  noFix: Sustain;
  idle: Sustain;
  speeding: Sustain;
  speedOk: Sustain;
  maxSpeed: number;
  offRoute: Sustain;
  plausible: number;
  shift: ShiftState | null;
}

const newState = (): TruckState => ({
  ignition: null,
  lastFix: null,
  lastValidFixArrival: null,
  lastArrival: null,
  lastLiveFix: null,
  everMoved: false,
  noFix: new Sustain(),
  idle: new Sustain(),
  speeding: new Sustain(),
  speedOk: new Sustain(),
  maxSpeed: 0,
  offRoute: new Sustain(),
  plausible: 0,
  shift: null,
});

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
  const trucks = new Map<string, TruckState>();
  const st = (id: string) => {
    let s = trucks.get(id);
    if (!s) trucks.set(id, (s = newState()));
    return s;
  };
  const routeOf = (dev: RegistryDevice) => (dev.truck ? routes.get(dev.truck.routeId) : undefined);
  const { book } = ctx;
  const isOpen = (rule: string, id: string) => book.isOpen(`${rule}|${id}`);
  const engineOn = (s: TruckState) => s.ignition ?? (ctx.cfg.truck.assumeIgnitionWithFixes && s.everMoved);

  function missedOf(g: RouteGeom, sh: ShiftState): number[] {
    const out: number[] = [];
    for (let i = Math.max(0, sh.fromIdx); i < sh.maxIdx - ctx.cfg.truck.missedLookahead; i++) if (!sh.visited.has(i) && !sh.unobserved.has(i)) out.push(i);
    return out;
  }

  function endShift(dev: RegistryDevice, s: TruckState, g: RouteGeom, at: number) {
    const sh = s.shift;
    if (!sh) return;
    const detail = { reason: 'shift ended', covered: sh.visited.size, planned: g.collect.length, coverage: g.collect.length ? sh.visited.size / g.collect.length : 1 };
    book.clear(TRUCK_RULES.behind, dev.id, at, undefined, detail);
    book.clear(TRUCK_RULES.missed, dev.id, at, undefined, { ...detail, missed: missedOf(g, sh).map((i) => g.collect[i]!.segmentId) });
    s.shift = null;
  }

  function ensureShift(dev: RegistryDevice, s: TruckState, g: RouteGeom, at: number): ShiftState | null {
    if (s.shift && at >= s.shift.start && at < s.shift.end) return s.shift; // the common case: no zone arithmetic
    if (s.shift && at >= s.shift.end) endShift(dev, s, g, Math.min(at, s.shift.end));
    const w = shiftWindow(g.route, at, ctx.tz());
    if (!w) return null;
    if (!s.shift || s.shift.start !== w.start) {
      if (s.shift) endShift(dev, s, g, at);
      s.shift = { start: w.start, end: w.end, visited: new Set(), maxIdx: -1, fromIdx: -1, seenAt: at, unobserved: new Set(), lastFixTs: at, afterGap: false };
    }
    return s.shift;
  }

  function evalSchedule(dev: RegistryDevice, s: TruckState, g: RouteGeom, at: number, stale: boolean) {
    const sh = s.shift;
    if (!sh || !g.collect.length) return;
    const T = ctx.cfg.truck;
    if (sh.fromIdx < 0) return; // not seen driving its collection streets yet this shift
    // judged from when the truck was first seen live: the streets before were not observed
    const judged = g.collect.length - sh.fromIdx - sh.unobserved.size;
    if (judged <= 0) return;
    const since = Math.max(sh.start, sh.seenAt);
    const elapsed = (at - since) / (sh.end - since);
    const expected = Math.min(1, elapsed / T.planCompleteShare);
    let covered = 0;
    for (const i of sh.visited) if (i >= sh.fromIdx && !sh.unobserved.has(i)) covered++;
    const coverage = covered / judged;
    const detail = { routeId: g.route.id, coverage: Math.round(coverage * 1000) / 1000, expected: Math.round(expected * 1000) / 1000, elapsed: Math.round(elapsed * 1000) / 1000, covered, planned: judged, shiftStart: sh.start, shiftEnd: sh.end, judgedFrom: since };
    if (elapsed >= T.behindMinElapsed && coverage < expected - T.behindTolerance) {
      if (!stale || isOpen(TRUCK_RULES.behind, dev.id)) {
        const critical = coverage < expected - 2 * T.behindTolerance;
        book.raise(
          {
            rule: TRUCK_RULES.behind,
            device: dev,
            severity: critical ? 'critical' : 'warning',
            code: 'route_behind',
            params: { routeId: g.route.id, coveragePct: Math.round(coverage * 100), expectedPct: Math.round(expected * 100) },
            title: `${dev.id} behind schedule on ${g.route.id}: ${Math.round(coverage * 100)} % of streets covered, ${Math.round(expected * 100)} % expected`,
            detail,
          },
          at,
        );
      }
    } else if (coverage >= expected - T.behindTolerance / 2) {
      book.clear(TRUCK_RULES.behind, dev.id, at, undefined, detail);
    }
    const missed = missedOf(g, sh);
    if (missed.length) {
      if (!stale || isOpen(TRUCK_RULES.missed, dev.id)) {
        book.raise(
          {
            rule: TRUCK_RULES.missed,
            device: dev,
            severity: 'warning',
            level: missed.length,
            code: 'missed_streets',
            params: { routeId: g.route.id, count: missed.length },
            title: `${dev.id} passed ${missed.length} planned street${missed.length > 1 ? 's' : ''} of ${g.route.id} without collecting`,
            detail: { routeId: g.route.id, count: missed.length, segments: missed.map((i) => ({ segmentId: g.collect[i]!.segmentId, name: g.collect[i]!.name })), shiftStart: sh.start, shiftEnd: sh.end },
          },
          at,
        );
      }
    } else {
      book.clear(TRUCK_RULES.missed, dev.id, at, undefined, { routeId: g.route.id, reason: 'collected after all' });
    }
  }

  function onFix(dev: RegistryDevice, s: TruckState, fix: GpsFix, receivedAt: number, stale: boolean) {
    const T = ctx.cfg.truck;
    const th = thresholdsFor(ctx.cfg, dev);
    const valid = (fix.sats === undefined || fix.sats >= T.minSats) && (fix.hdop === undefined || fix.hdop <= T.maxHdop);
    if (!valid) {
      const forMs = s.noFix.update(true, fix.ts);
      if (forMs >= T.gpsLostS * 1000 && engineOn(s) && (!stale || isOpen(TRUCK_RULES.gpsLost, dev.id))) {
        book.raise({ rule: TRUCK_RULES.gpsLost, device: dev, severity: 'warning', code: 'gps_lost', params: { seconds: Math.round(forMs / 1000) }, title: `${dev.id} GPS lost: no valid fix for ${Math.round(forMs / 1000)} s`, detail: { reason: 'no fix', sats: fix.sats, hdop: fix.hdop, since: s.noFix.since } }, fix.ts);
      }
      return;
    }
    s.noFix.reset();
    if (fix.speedKmh > ctx.cfg.truck.moveSpeedKmh) s.everMoved = true;
    s.lastValidFixArrival = Math.max(s.lastValidFixArrival ?? 0, receivedAt);
    book.clear(TRUCK_RULES.gpsLost, dev.id, fix.ts, undefined, { fixAt: fix.ts });
    const pos: Position = [fix.lon, fix.lat];
    const prev = s.lastFix;
    if (prev && fix.ts <= prev.ts) return; // out of order: state machines run forward only
    s.lastFix = { ts: fix.ts, pos, speed: fix.speedKmh };

    // jump: an impossible implied speed between consecutive fixes; skip the other checks for it
    if (prev) {
      const d = distanceM(prev.pos, pos);
      const hours = (fix.ts - prev.ts) / 3_600_000;
      const implied = d / 1000 / hours;
      if (d >= T.gpsJumpMinM && implied > T.gpsJumpKmh) {
        s.plausible = 0;
        if (!stale || isOpen(TRUCK_RULES.gpsJump, dev.id)) {
          book.raise(
            { rule: TRUCK_RULES.gpsJump, device: dev, severity: 'warning', code: 'gps_jump', params: { distanceM: Math.round(d), seconds: Math.round((fix.ts - prev.ts) / 100) / 10, impliedKmh: Math.round(implied) }, title: `${dev.id} GPS jumped ${Math.round(d)} m in ${fmt1((fix.ts - prev.ts) / 1000)} s (${Math.round(implied)} km/h)`, detail: { from: prev.pos, to: pos, distanceM: Math.round(d), seconds: (fix.ts - prev.ts) / 1000, impliedKmh: Math.round(implied) } },
            fix.ts,
          );
        }
        return;
      }
      s.plausible++;
      if (s.plausible >= T.gpsJumpClearFixes) book.clear(TRUCK_RULES.gpsJump, dev.id, fix.ts, undefined, { plausibleFixes: s.plausible });
    }

    const g = routeOf(dev);
    const atDepot = !!g?.depot && distanceM(pos, g.depot.pos) <= T.depotRadiusM;
    const on = engineOn(s);

    // idle (hysteresis: standing ≤ idleSpeedKmh starts it, moving > moveSpeedKmh ends it)
    const standing = s.idle.since !== null ? fix.speedKmh < T.moveSpeedKmh : fix.speedKmh <= T.idleSpeedKmh;
    const idleFor = s.idle.update(on && standing && !atDepot, fix.ts);
    if (idleFor >= th.idleMinutes * 60_000) {
      if (!stale || isOpen(TRUCK_RULES.idle, dev.id)) {
        book.raise({ rule: TRUCK_RULES.idle, device: dev, severity: 'warning', code: 'truck_idle', params: { minutes: Math.round(idleFor / 60_000) }, title: `${dev.id} idling with the engine on for ${Math.round(idleFor / 60_000)} min away from the depot`, detail: { since: s.idle.since, minutes: Math.round(idleFor / 60_000), idleMinutes: th.idleMinutes, lat: fix.lat, lon: fix.lon } }, fix.ts);
      }
    } else if (idleFor < 0) book.clear(TRUCK_RULES.idle, dev.id, fix.ts, undefined, { speedKmh: fix.speedKmh, atDepot });

    // speeding
    const over = fix.speedKmh > th.speedLimitKmh;
    const overFor = s.speeding.update(over, fix.ts);
    const okFor = s.speedOk.update(fix.speedKmh <= th.speedLimitKmh - T.speedingClearMarginKmh, fix.ts);
    if (overFor >= T.speedingSustainS * 1000) {
      s.maxSpeed = isOpen(TRUCK_RULES.speeding, dev.id) ? Math.max(s.maxSpeed, fix.speedKmh) : fix.speedKmh;
      if (!stale || isOpen(TRUCK_RULES.speeding, dev.id)) {
        const critical = s.maxSpeed >= th.speedLimitKmh + T.criticalOverKmh;
        book.raise({ rule: TRUCK_RULES.speeding, device: dev, severity: critical ? 'critical' : 'warning', code: 'truck_speeding', params: { maxSpeedKmh: Math.round(s.maxSpeed), limitKmh: th.speedLimitKmh }, title: `${dev.id} speeding: ${Math.round(s.maxSpeed)} km/h (limit ${th.speedLimitKmh})`, detail: { speedKmh: fix.speedKmh, maxSpeedKmh: s.maxSpeed, limitKmh: th.speedLimitKmh, lat: fix.lat, lon: fix.lon } }, fix.ts);
      }
    } else if (okFor >= T.speedingClearS * 1000) {
      book.clear(TRUCK_RULES.speeding, dev.id, fix.ts, undefined, { speedKmh: fix.speedKmh });
    }

    if (!g) return;
    // off route
    const d = distanceToRouteM(g, pos);
    if (atDepot || d <= th.offRouteMeters * T.offRouteClearShare) {
      s.offRoute.reset();
      book.clear(TRUCK_RULES.offRoute, dev.id, fix.ts, undefined, { distanceM: Math.round(d), atDepot });
    } else if (d > th.offRouteMeters && on) {
      const offFor = s.offRoute.update(true, fix.ts);
      if (offFor >= T.offRouteSustainS * 1000 && (!stale || isOpen(TRUCK_RULES.offRoute, dev.id))) {
        book.raise({ rule: TRUCK_RULES.offRoute, device: dev, severity: 'warning', code: 'truck_off_route', params: { routeId: g.route.id, distanceM: Math.round(d) }, title: `${dev.id} ${Math.round(d)} m off route ${g.route.id}`, detail: { routeId: g.route.id, distanceM: Math.round(d), limitM: th.offRouteMeters, lat: fix.lat, lon: fix.lon } }, fix.ts);
      }
    }

    // coverage and missed streets (this shift): live fixes of a running engine only
    if (stale || !on) return;
    s.lastLiveFix = receivedAt;
    const sh = ensureShift(dev, s, g, fix.ts);
    if (!sh) return;
    // not heard: no fix for coverageGapS, or three of the truck's own fix intervals missed in a row
    // (a truck that went quiet and comes back further along its route passed those streets unseen)
    const gapMs = Math.min(T.coverageGapS * 1000, 3 * dev.intervals.dataS * 1000);
    if (fix.ts - sh.lastFixTs > gapMs) sh.afterGap = true;
    sh.lastFixTs = Math.max(sh.lastFixTs, fix.ts);
    for (const i of drivenCollectIdx(g, pos, T.coverageMeters)) {
      // a collection street the route also drives in transit counts as covered, but does not
      // tell where in its collection the truck is (the way out of the depot runs along it)
      if (g.shared.has(i)) {
        sh.visited.add(i);
        continue;
      }
      if (sh.fromIdx < 0) sh.fromIdx = i; // first collection street seen live this shift
      if (sh.afterGap) {
        // the streets between the last one seen and this one were passed unseen: not judged
        for (let j = sh.maxIdx + 1; j < i; j++) if (!sh.visited.has(j)) sh.unobserved.add(j);
        sh.afterGap = false;
      }
      sh.visited.add(i);
      sh.maxIdx = Math.max(sh.maxIdx, i);
    }
    evalSchedule(dev, s, g, fix.ts, false);
  }

  /** the newest arrival of any live record (every device): GPS lost needs the platform to be hearing */
  let newestArrival = -Infinity;

  return {
    name: 'trucks',
    coverage(id) {
      const dev = ctx.registry.device(id);
      const s = trucks.get(id);
      const g = dev && routeOf(dev);
      if (!g || !s?.shift) return null;
      return { covered: s.shift.visited.size, planned: g.collect.length, missed: missedOf(g, s.shift).map((i) => g.collect[i]!.segmentId) };
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
          s.idle.reset();
          s.noFix.reset();
          book.clear(TRUCK_RULES.idle, dev.id, e.ts, undefined, { reason: 'ignition off' });
          book.clear(TRUCK_RULES.gpsLost, dev.id, e.ts, undefined, { reason: 'ignition off' });
        }
      } else if (rec.stream === 'gps') onFix(dev, s, rec.payload as GpsFix, rec.receivedAt, stale);
    },
    onPresence(dev, online, at) {
      if (dev.kind !== 'truck' || online) return;
      // disconnected: the offline rule speaks; GPS-lost needs a device that still talks
      book.clear(TRUCK_RULES.gpsLost, dev.id, at, undefined, { reason: 'device offline' });
    },
    tick(now) {
      const T = ctx.cfg.truck;
      for (const dev of ctx.registry.registry.devices) {
        if (dev.kind !== 'truck' || dev.status === 'retired') continue;
        const s = st(dev.id);
        // GPS lost: the device talks (events, status) but no valid fix arrives
        // (arrival times: the transport allowance `device.offlineSlackMs` applies)
        const lostMs = T.gpsLostS * 1000 + ctx.cfg.device.offlineSlackMs;
        const talking = s.lastArrival !== null && now - s.lastArrival < lostMs;
        // and something (from any device) arrived after the fix was due: when nothing has, the
        // platform stalled (a starved process, messages still queued) — not the truck's GPS
        const lastFix = s.lastValidFixArrival;
        if (lastFix !== null && engineOn(s) && talking && newestArrival > lastFix + lostMs && now - lastFix > lostMs) {
          book.raise({ rule: TRUCK_RULES.gpsLost, device: dev, severity: 'warning', code: 'gps_lost', params: { seconds: Math.round((now - lastFix) / 1000) }, title: `${dev.id} GPS lost: no fix for ${Math.round((now - lastFix) / 1000)} s while the engine is on`, detail: { reason: 'no fix received', lastFixAt: lastFix } }, now);
        }
        const g = routeOf(dev);
        if (!g || !s.shift) continue;
        // between fixes, a shift the truck was seen in live is judged on; one that ended closes
        if (now >= s.shift.end) endShift(dev, s, g, s.shift.end);
        else if (s.lastLiveFix !== null && now - s.lastLiveFix < T.gpsLostS * 1000 && engineOn(s)) evalSchedule(dev, s, g, now, false);
      }
    },
    mode(dev, at) {
      const s = trucks.get(dev.id);
      if (s && engineOn(s)) return 'moving';
      const g = routeOf(dev);
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
      for (const [id, s] of trucks) {
        const sh = s.shift;
        if (sh) out[id] = { start: sh.start, end: sh.end, visited: [...sh.visited], maxIdx: sh.maxIdx, fromIdx: sh.fromIdx, seenAt: sh.seenAt, unobserved: [...sh.unobserved], lastFixTs: sh.lastFixTs };
      }
      return out;
    },
    restoreShifts(m, at) {
      for (const [id, x] of Object.entries(m)) {
        if (!x || typeof x.start !== 'number' || typeof x.end !== 'number' || at >= x.end || !Array.isArray(x.visited)) continue;
        const s = st(id);
        if (s.shift) continue;
        // the fixes missed while the engine was down leave a gap: the streets passed meanwhile are not judged
        s.shift = { start: x.start, end: x.end, visited: new Set(x.visited), maxIdx: x.maxIdx, fromIdx: x.fromIdx, seenAt: x.seenAt, unobserved: new Set(x.unobserved ?? []), lastFixTs: x.lastFixTs, afterGap: false };
      }
    },
    forget(id) {
      trucks.delete(id);
    },
  };
}
