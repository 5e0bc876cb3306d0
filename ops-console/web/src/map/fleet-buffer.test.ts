import { describe, expect, it } from 'vitest';
import { FleetBuffer, latOf, lonOf, mercX, mercY } from './fleet-buffer';

const T0 = 1_800_000_000_000;

function fleet(interpolate = true) {
  let now = 1000;
  const b = new FleetBuffer({ origin: [-94.43, 18.14], interpolate, maxAnimMs: 2000, initialCapacity: 2, now: () => now });
  return { b, at: (t: number) => (now = t) };
}

describe('FleetBuffer', () => {
  it('mercator round trip keeps centimetres relative to the origin', () => {
    expect(lonOf(mercX(-94.4312345))).toBeCloseTo(-94.4312345, 9);
    expect(latOf(mercY(18.1412345))).toBeCloseTo(18.1412345, 9);
    const { b } = fleet(false);
    b.set('t1', -94.4312345, 18.1412345, T0, 90, 'driving');
    const [lon, lat] = b.position('t1')!;
    expect(Math.abs(lon - -94.4312345) * 111_000).toBeLessThan(0.05);
    expect(Math.abs(lat - 18.1412345) * 111_000).toBeLessThan(0.05);
  });

  it('animates from where a truck is drawn to its new fix over its fix interval, and never past it', () => {
    const { b, at } = fleet();
    b.set('t1', -94.44, 18.14, T0, 90, 'driving');
    at(2000);
    b.set('t1', -94.43, 18.14, T0 + 1000, 90, 'driving');
    expect(b.position('t1', 2000)![0]).toBeCloseTo(-94.44, 6); // starts where it was
    expect(b.position('t1', 2500)![0]).toBeCloseTo(-94.435, 6); // halfway after half the interval
    expect(b.position('t1', 3000)![0]).toBeCloseTo(-94.43, 6);
    expect(b.animating(2999)).toBe(true);
    // silent afterwards: it stays at its last fix, no drift
    expect(b.position('t1', 60_000)![0]).toBeCloseTo(-94.43, 6);
    expect(b.animating(3001)).toBe(false);
    // a fix after a long silence moves at most maxAnimMs
    at(100_000);
    b.set('t1', -94.42, 18.14, T0 + 90_000, 90, 'driving');
    expect(b.position('t1', 102_000)![0]).toBeCloseTo(-94.42, 6);
    // an older fix does not move it back
    b.set('t1', -94.5, 18.14, T0 + 500, 90, 'idle');
    expect(b.position('t1', 200_000)![0]).toBeCloseTo(-94.42, 6);
    expect(b.stateOf('t1')).toBe('idle');
  });

  it('without interpolation a fix is drawn at once', () => {
    const { b, at } = fleet(false);
    b.set('t1', -94.44, 18.14, T0, 0, 'driving');
    at(2000);
    b.set('t1', -94.43, 18.14, T0 + 1000, 0, 'driving');
    expect(b.position('t1', 2000)![0]).toBeCloseTo(-94.43, 6);
    expect(b.animating()).toBe(false);
  });

  it('grows, removes by swapping the last slot in, tracks the written range, picks the nearest', () => {
    const { b } = fleet(false);
    for (let i = 0; i < 5; i++) b.set(`t${i}`, -94.44 + i * 0.001, 18.14, T0, 0, 'driving');
    expect(b.size).toBe(5);
    expect(b.takeDirty()).toEqual([0, 4]);
    expect(b.takeDirty()).toBeNull();
    b.set('t3', -94.437, 18.1401, T0 + 1000, 0, 'driving');
    expect(b.takeDirty()).toEqual([3, 3]);
    b.remove('t1');
    expect(b.size).toBe(4);
    expect(b.slot('t4')).toBe(1);
    expect(b.position('t4')![0]).toBeCloseTo(-94.436, 6);
    const r = mercX(-94.4395) - mercX(-94.44); // half the spacing
    expect(b.pick(mercX(-94.4399), mercY(18.14), r)).toBe('t0');
    expect(b.pick(mercX(-94.4361), mercY(18.14), r)).toBe('t4');
    expect(b.pick(mercX(-94.5), mercY(18.14), r)).toBeNull();
    expect(b.pick(mercX(-94.4395), mercY(18.14), r / 10)).toBeNull(); // t1 is gone
    expect(b.countWithin(mercX(-94.441), mercY(18.15), mercX(-94.4375), mercY(18.13))).toBe(2);
    expect(b.within(mercX(-94.441), mercY(18.15), mercX(-94.4), mercY(18.13), 2)).toHaveLength(2);
  });
});
