import { describe, expect, it } from 'vitest';
import { FLEET_RULES } from '../../shared/fleet-report';
import { cutTrack, engineIntervals, overlapS, splitAtGaps, timeNearS } from './fleet-trips';
import { PlaceIndex } from './fleet-places';
import { DAY_LEGS, DAY_T0, legsTrack } from './fleet-fixtures.test-data';
import { testCity } from '../test-support';
import type { Position } from '../../../city/city';

const START: Position = [-94.44, 18.14];
const at = (hhmmss: string) => {
  const [h, m, s = 0] = hhmmss.split(':').map(Number) as [number, number, number?];
  return DAY_T0 + ((h - 6) * 3600 + m * 60 + (s ?? 0)) * 1000;
};
const track = legsTrack(DAY_T0, START, [...DAY_LEGS, { s: 600, every: 60, kmh: 0, at: START }]);
const rules = { ...FLEET_RULES };

describe('trips and stops from GPS fixes (stop = speed < 5 km/h for ≥ 120 s)', () => {
  const { trips, stops } = cutTrack(track, rules);

  it('finds the three stops; the 30 s bin-lift pause stays inside its trip', () => {
    expect(stops.map((s) => [s.start, s.end])).toEqual([
      [at('06:00'), at('06:09')],
      [at('06:20:30'), at('06:25:20')],
      [at('06:50'), at('06:59')],
    ]);
    expect(stops[0]).toMatchObject({ lat: START[1], lon: START[0] });
  });

  it('finds the two trips with their distance, duration and speeds; none across the 20-minute gap', () => {
    expect(trips).toHaveLength(2);
    const [a, b] = trips as [(typeof trips)[0], (typeof trips)[0]];
    expect([a.start, a.end]).toEqual([at('06:09'), at('06:20:30')]);
    expect(a.distanceM).toBeCloseTo(6000, -1);
    expect(a.maxSpeedKmh).toBe(36);
    expect([b.start, b.end]).toEqual([at('06:25:20'), at('06:30:20')]);
    expect(b.distanceM).toBeCloseTo(2900, -1);
    // stops and trips tile the track: the trip begins at its stop's last fix
    expect(a.start).toBe(stops[0]!.end);
    expect(a.end).toBe(stops[1]!.start);
  });

  it('the rules are data: a 20 s minimum stop makes the bin-lift pause a stop and splits the trip', () => {
    const r = cutTrack(track, { ...rules, minStopS: 20 });
    expect(r.stops.map((s) => s.start)).toContain(at('06:15'));
    expect(r.trips).toHaveLength(3);
    // a parked heartbeat sparser than maxGapS does not break a stop (same place, stationary at both ends)
    expect(cutTrack(track, { ...rules, maxGapS: 30 }).stops.map((s) => [s.start, s.end])).toEqual(cutTrack(track, rules).stops.map((s) => [s.start, s.end]));
    // …but a gap after movement does: no trip spans the 20 minutes without fixes
    expect(cutTrack(track, { ...rules, maxGapS: 30 }).trips.every((t) => t.end <= at('06:30:20') || t.start >= at('06:50'))).toBe(true);
  });

  it('drift shorter than minTripM is not a trip; gaps split the track', () => {
    const drift = legsTrack(DAY_T0, START, [
      { s: 300, every: 60, kmh: 0 },
      { s: 20, every: 10, kmh: 6 },
      { s: 300, every: 60, kmh: 0 },
    ]);
    const r = cutTrack(drift, rules);
    expect(r.trips).toEqual([]);
    expect(r.stops).toHaveLength(2);
    expect(splitAtGaps(track, rules).map((p) => p.length)).toEqual([10 + 30 + 3 + 30 + 30 + 30, 10]);
    expect(cutTrack([], rules)).toEqual({ trips: [], stops: [] });
  });
});

describe('crawling from bin to bin is movement, not a stop', () => {
  it('sampled fixes at 0 km/h but 60 m apart (a fix each 30 s, as the thinned history has) make a trip', () => {
    const crawl = Array.from({ length: 21 }, (_, i) => ({
      ts: DAY_T0 + i * 30_000,
      lat: START[1],
      lon: START[0] + (i * 60) / (111_320 * Math.cos((START[1] * Math.PI) / 180)),
      speedKmh: 0,
      heading: 90,
    }));
    const r = cutTrack(crawl, rules);
    expect(r.stops).toEqual([]);
    expect(r.trips).toHaveLength(1);
    expect(r.trips[0]!.distanceM).toBeCloseTo(1200, -1);
    // with a radius wider than the crawl it is one long stop
    expect(cutTrack(crawl, { ...rules, stopRadiusM: 2000 }).stops).toHaveLength(1);
  });
});

describe('engine hours from ignition on/off', () => {
  it('counts on → off, clipped to the range', () => {
    const ev = [
      { ts: at('06:05'), type: 'ignition_on' as const },
      { ts: at('06:58'), type: 'ignition_off' as const },
    ];
    const on = engineIntervals(ev, at('06:00'), at('07:00'), at('07:00'));
    expect(on).toEqual([[at('06:05'), at('06:58')]]);
    expect(overlapS(on, at('06:00'), at('07:00'))).toBe(53 * 60);
    expect(overlapS(on, at('06:30'), at('07:00'))).toBe(28 * 60);
  });
  it('takes the state before the range from the last event before it; an open ignition runs to openUntil; repeated events do not double', () => {
    const ev = [
      { ts: at('05:00'), type: 'ignition_on' as const },
      { ts: at('05:30'), type: 'bin_lift' as const },
      { ts: at('06:10'), type: 'ignition_off' as const },
      { ts: at('06:20'), type: 'ignition_on' as const },
      { ts: at('06:25'), type: 'ignition_on' as const },
    ];
    const on = engineIntervals(ev, at('06:00'), at('07:00'), at('06:40'));
    expect(on).toEqual([
      [at('06:00'), at('06:10')],
      [at('06:20'), at('06:40')],
    ]);
    expect(overlapS(on, at('06:00'), at('07:00'))).toBe(30 * 60);
    expect(engineIntervals([], at('06:00'), at('07:00'), at('07:00'))).toEqual([]);
  });
});

describe('time at the depot and places', () => {
  it('each fix near the depot stands for the time to the next fix (at most maxGapS, never past now)', () => {
    const s = timeNearS(track, [{ lat: START[1], lon: START[0] }], 150, rules.maxGapS, at('06:00'), at('08:00'), at('07:00'));
    // parked 06:00–06:10 (600 s) + the first two moving fixes at 0 m and 100 m (10 s each) + parked 06:50–07:00 (600 s)
    expect(s).toBe(600 + 20 + 600);
    expect(timeNearS(track, [], 150, 900, at('06:00'), at('08:00'))).toBe(0);
    // a parked heartbeat once an hour at the depot counts in full between its fixes
    const hourly = [0, 1, 2].map((h) => ({ ts: at('06:00') + h * 3_600_000, lat: START[1], lon: START[0], speedKmh: 0, heading: 0 }));
    expect(timeNearS(hourly, [{ lat: START[1], lon: START[0] }], 150, 900, at('06:00'), at('08:00'))).toBe(7200);
    expect(cutTrack(hourly, rules).stops.map((s) => [s.start, s.end])).toEqual([[at('06:00'), at('08:00')]]);
  });
  it('names the nearest street and its district, the depot when at one, nothing far from every street', () => {
    const idx = new PlaceIndex(testCity(), 150, 150);
    expect(idx.place(18.14, -94.44)).toEqual({ lat: 18.14, lon: -94.44, street: 'Calle s1', district: 'Centro', depot: 'Depot' });
    expect(idx.place(18.1403, -94.437)).toMatchObject({ street: 'Calle s2', district: 'Centro', depot: null });
    expect(idx.place(18.15, -94.437)).toMatchObject({ street: null, district: null, depot: null });
  });
});
