/**
 * Trips, stops, engine hours and time at the depot cut from a truck's stored GPS fixes and
 * events, by the rules of ops-console/shared/fleet-report.ts `FLEET_RULES` (pure functions: the
 * unit tests feed them known fixtures).
 *
 * Stops and trips tile the track: a stop runs from its first to its last stationary fix, the trip
 * after it starts at that last fix and ends at the first fix of the next stop (or at a gap, or at
 * the end of the data).
 */
import type { TrackPoint, TruckEventRow } from '../../../store/types';
import { distanceM } from '../../../contract/geo';
import type { FleetRules } from '../../shared/fleet-report';

export interface RawStop {
  start: number;
  end: number;
  lat: number;
  lon: number;
}
export interface RawTrip {
  start: number;
  end: number;
  distanceM: number;
  maxSpeedKmh: number;
  from: TrackPoint;
  to: TrackPoint;
}

const dist = (a: TrackPoint, b: TrackPoint) => distanceM([a.lon, a.lat], [b.lon, b.lat]);

const still = (f: TrackPoint, rules: FleetRules) => f.speedKmh < rules.stopSpeedKmh;

/**
 * Pieces of the track between gaps longer than `maxGapS` — except a gap between two stationary
 * fixes within `stopRadiusM` of each other: that is a parked truck's sparse heartbeat, not a gap.
 */
export function splitAtGaps(fixes: TrackPoint[], rules: FleetRules): TrackPoint[][] {
  const out: TrackPoint[][] = [];
  let cur: TrackPoint[] = [];
  for (const f of fixes) {
    const prev = cur[cur.length - 1];
    if (prev && f.ts - prev.ts > rules.maxGapS * 1000 && !(still(prev, rules) && still(f, rules) && dist(prev, f) <= rules.stopRadiusM)) {
      out.push(cur);
      cur = [];
    }
    cur.push(f);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Trips and stops of a track (fixes sorted by ts). */
export function cutTrack(fixes: TrackPoint[], rules: FleetRules): { trips: RawTrip[]; stops: RawStop[] } {
  const trips: RawTrip[] = [];
  const stops: RawStop[] = [];
  for (const piece of splitAtGaps(fixes, rules)) {
    // stationary runs long enough to be stops: [first, last] fix indexes; a run also ends when the
    // truck is found farther than stopRadiusM from where it began (crawling from bin to bin is
    // movement, even if each sampled fix says 0 km/h)
    const runs: [number, number][] = [];
    for (let i = 0; i < piece.length;) {
      if (!still(piece[i]!, rules)) {
        i++;
        continue;
      }
      let k = i;
      while (k + 1 < piece.length && still(piece[k + 1]!, rules) && dist(piece[i]!, piece[k + 1]!) <= rules.stopRadiusM) k++;
      if (piece[k]!.ts - piece[i]!.ts >= rules.minStopS * 1000) runs.push([i, k]);
      i = k + 1;
    }
    for (const [i, k] of runs) {
      stops.push({ start: piece[i]!.ts, end: piece[k]!.ts, lat: piece[i]!.lat, lon: piece[i]!.lon });
    }
    // the movement between them
    const bounds: [number, number][] = [];
    let from = 0;
    for (const [i, k] of runs) {
      if (i > from) bounds.push([from, i]);
      from = k;
    }
    if (from < piece.length - 1) bounds.push([from, piece.length - 1]);
    for (const [a, b] of bounds) {
      let d = 0;
      let vmax = 0;
      for (let j = a; j <= b; j++) {
        if (j > a) d += dist(piece[j - 1]!, piece[j]!);
        vmax = Math.max(vmax, piece[j]!.speedKmh);
      }
      if (d < rules.minTripM || piece[b]!.ts <= piece[a]!.ts) continue;
      trips.push({ start: piece[a]!.ts, end: piece[b]!.ts, distanceM: d, maxSpeedKmh: vmax, from: piece[a]!, to: piece[b]! });
    }
  }
  trips.sort((x, y) => x.start - y.start);
  return { trips, stops };
}

/**
 * Intervals with the engine on, from ignition events (sorted by ts) within [from, to): the state
 * at `from` is the last event before it; an ignition still on is counted up to `openUntil`.
 */
export function engineIntervals(events: Pick<TruckEventRow, 'ts' | 'type'>[], from: number, to: number, openUntil: number): [number, number][] {
  const out: [number, number][] = [];
  let onSince: number | null = null;
  for (const e of events) {
    if (e.type !== 'ignition_on' && e.type !== 'ignition_off') continue;
    if (e.ts >= to) break;
    const t = Math.max(e.ts, from);
    if (e.type === 'ignition_on') {
      if (onSince === null) onSince = t;
    } else if (onSince !== null) {
      if (t > onSince) out.push([onSince, t]);
      onSince = null;
    }
  }
  if (onSince !== null) {
    const end = Math.min(to, openUntil);
    if (end > onSince) out.push([onSince, end]);
  }
  return out;
}

/** Seconds of the intervals that fall within [from, to). */
export function overlapS(intervals: [number, number][], from: number, to: number): number {
  let ms = 0;
  for (const [a, b] of intervals) ms += Math.max(0, Math.min(b, to) - Math.max(a, from));
  return ms / 1000;
}

/**
 * Seconds within [from, to) spent near one of `places` (within `radiusM`): each fix there stands
 * for the time until the next fix — all of it when the next fix is there too (parked), else at
 * most `maxGapS`; the last fix for at most `maxGapS`, never past `now`.
 */
export function timeNearS(fixes: TrackPoint[], places: { lat: number; lon: number }[], radiusM: number, maxGapS: number, from: number, to: number, now = Infinity): number {
  if (!places.length) return 0;
  let ms = 0;
  for (let i = 0; i < fixes.length; i++) {
    const f = fixes[i]!;
    const near = (x: TrackPoint) => places.some((p) => distanceM([x.lon, x.lat], [p.lon, p.lat]) <= radiusM);
    if (!near(f)) continue;
    const n = fixes[i + 1];
    // parked at the depot between two fixes there: all of it (a parked heartbeat may be sparse)
    const until = n && near(n) ? n.ts : Math.min(n?.ts ?? now, f.ts + maxGapS * 1000);
    const end = Math.min(until, to, now);
    const start = Math.max(f.ts, from);
    if (end > start) ms += end - start;
  }
  return ms / 1000;
}
