import { describe, expect, it } from 'vitest';
import { detectStops, positionAt, sharedRange, simplifiedLine, toleranceForZoom, type Fix } from './timeline';

const T0 = 1_800_000_000_000;
const fix = (i: number, speed = 20): Fix => ({ ts: T0 + i * 1000, lon: -94.45 + i * 1e-4, lat: 18.13, speedKmh: speed, heading: 90 });

describe('replay timeline', () => {
  it('interpolates positions and returns null outside the track', () => {
    const tr = [fix(0), fix(10)];
    expect(positionAt(tr, T0 + 5000)!.lon).toBeCloseTo(-94.45 + 5e-4, 9);
    expect(positionAt(tr, T0 - 1)).toBeNull();
    expect(positionAt(tr, T0 + 11_000)).toBeNull();
    const long = Array.from({ length: 1000 }, (_, i) => fix(i));
    expect(positionAt(long, T0 + 500_500)!.lon).toBeCloseTo(-94.45 + 500.5e-4, 9);
  });
  it('detects stops of at least two minutes', () => {
    const tr = [...Array.from({ length: 10 }, (_, i) => fix(i)), ...Array.from({ length: 200 }, (_, i) => fix(10 + i, 0)), fix(300)];
    const stops = detectStops(tr);
    expect(stops).toHaveLength(1);
    expect(stops[0]!.to - stops[0]!.from).toBe(199_000);
    expect(detectStops(tr.slice(0, 50))).toHaveLength(0);
  });
  it('shared range spans all tracks', () => {
    expect(sharedRange([[fix(5), fix(9)], [fix(2), fix(4)], []])).toEqual({ from: T0 + 2000, to: T0 + 9000 });
    expect(sharedRange([[]])).toBeNull();
  });
  it('simplifies a month-long straight track to a handful of points at low zoom', () => {
    const month = Array.from({ length: 50_000 }, (_, i) => ({ ...fix(i), lat: 18.13 + Math.sin(i / 5000) * 1e-3 }));
    const low = simplifiedLine(month, 10).geometry.coordinates.length;
    const high = simplifiedLine(month, 18).geometry.coordinates.length;
    expect(low).toBeLessThan(200);
    expect(high).toBeGreaterThan(low);
    expect(toleranceForZoom(10)).toBeGreaterThan(toleranceForZoom(15));
  });
});
