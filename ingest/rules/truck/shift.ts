/**
 * The running shift of a truck's route: which collection streets it has driven (live fixes of a
 * running engine only), which were passed unseen (not judged), and its start and end — what
 * route_behind (./route-behind.ts) and missed_streets (./missed-streets.ts) judge.
 */
import type { GpsFix } from '../../../contract';
import type { Position } from '../../../city/city';
import type { RegistryDevice } from '../../../registry/schema';
import { drivenCollectIdx, shiftWindow, type RouteGeom } from '../route-geometry';
import type { SavedShift } from '../truck-rules';
import { type ShiftState, type TruckContext, type TruckState } from './context';
import { missedOf, missedStreets, missedStreetsOnShiftEnd } from './missed-streets';
import { routeBehind, routeBehindOnShiftEnd } from './route-behind';

export function endShift(tc: TruckContext, dev: RegistryDevice, s: TruckState, g: RouteGeom, at: number): void {
  const sh = s.shift;
  if (!sh) return;
  const detail = { reason: 'shift ended', covered: sh.visited.size, planned: g.collect.length, coverage: g.collect.length ? sh.visited.size / g.collect.length : 1 };
  routeBehindOnShiftEnd(tc, dev, at, detail);
  missedStreetsOnShiftEnd(tc, dev, at, { ...detail, missed: missedOf(tc, g, sh).map((i) => g.collect[i]!.segmentId) });
  s.shift = null;
}

function ensureShift(tc: TruckContext, dev: RegistryDevice, s: TruckState, g: RouteGeom, at: number): ShiftState | null {
  if (s.shift && at >= s.shift.start && at < s.shift.end) return s.shift; // the common case: no zone arithmetic
  if (s.shift && at >= s.shift.end) endShift(tc, dev, s, g, Math.min(at, s.shift.end));
  const w = shiftWindow(g.route, at, tc.ctx.tz());
  if (!w) return null;
  if (!s.shift || s.shift.start !== w.start) {
    if (s.shift) endShift(tc, dev, s, g, at);
    s.shift = { start: w.start, end: w.end, visited: new Set(), maxIdx: -1, fromIdx: -1, seenAt: at, unobserved: new Set(), lastFixTs: at, afterGap: false };
  }
  return s.shift;
}

/** Judge the shift so far: behind schedule, streets missed. */
export function evalSchedule(tc: TruckContext, dev: RegistryDevice, s: TruckState, g: RouteGeom, at: number, stale: boolean): void {
  const sh = s.shift;
  if (!sh || !g.collect.length) return;
  if (sh.fromIdx < 0) return; // not seen driving its collection streets yet this shift
  // judged from when the truck was first seen live: the streets before were not observed
  const judged = g.collect.length - sh.fromIdx - sh.unobserved.size;
  if (judged <= 0) return;
  routeBehind(tc, dev, sh, g, judged, at, stale);
  missedStreets(tc, dev, sh, g, at, stale);
}

/** A live fix of a running engine: the streets it drives count for the shift, then the shift is judged. */
export function shiftOnLiveFix(tc: TruckContext, dev: RegistryDevice, s: TruckState, g: RouteGeom, fix: GpsFix, pos: Position, receivedAt: number): void {
  const T = tc.T;
  s.lastLiveFix = receivedAt;
  const sh = ensureShift(tc, dev, s, g, fix.ts);
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
  evalSchedule(tc, dev, s, g, fix.ts, false);
}

export function saveShift(sh: ShiftState): SavedShift {
  return { start: sh.start, end: sh.end, visited: [...sh.visited], maxIdx: sh.maxIdx, fromIdx: sh.fromIdx, seenAt: sh.seenAt, unobserved: [...sh.unobserved], lastFixTs: sh.lastFixTs };
}

/** A saved shift still running at `at` (null otherwise); the fixes missed while the engine was down leave a gap: the streets passed meanwhile are not judged. */
export function restoreShift(x: SavedShift, at: number): ShiftState | null {
  if (!x || typeof x.start !== 'number' || typeof x.end !== 'number' || at >= x.end || !Array.isArray(x.visited)) return null;
  return {
    start: x.start,
    end: x.end,
    visited: new Set(x.visited),
    maxIdx: x.maxIdx,
    fromIdx: x.fromIdx,
    seenAt: x.seenAt,
    unobserved: new Set(x.unobserved ?? []),
    lastFixTs: x.lastFixTs,
    afterGap: false,
  };
}
