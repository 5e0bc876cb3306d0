import { describe, expect, it } from 'vitest';
import { RecentKeys } from './dedupe';
import { createLogLimiter } from './log-limiter';

describe('RecentKeys', () => {
  it('reports a repeated (device, stream, ts) as duplicate and keeps devices and streams apart', () => {
    const k = new RecentKeys(10);
    expect(k.add('truck-01', 'gps', 1000)).toBe(true);
    expect(k.add('truck-01', 'gps', 1000)).toBe(false);
    expect(k.add('truck-01', 'status', 1000)).toBe(true);
    expect(k.add('truck-02', 'gps', 1000)).toBe(true);
    expect(k.has('truck-01', 'gps', 1000)).toBe(true);
    expect(k.has('truck-01', 'gps', 1001)).toBe(false);
    expect(k.size()).toBe(3);
  });

  it('is bounded per device: the oldest keys are forgotten first', () => {
    const k = new RecentKeys(3);
    for (let ts = 1; ts <= 5; ts++) k.add('air-01', 'air', ts);
    expect(k.size('air-01')).toBe(3);
    expect(k.has('air-01', 'air', 1)).toBe(false);
    expect(k.has('air-01', 'air', 2)).toBe(false);
    expect(k.has('air-01', 'air', 5)).toBe(true);
    // a forgotten key is new again (the store's idempotent write catches it)
    expect(k.add('air-01', 'air', 1)).toBe(true);
  });

  it('refuses a nonsensical bound', () => {
    expect(() => new RecentKeys(0)).toThrow(RangeError);
  });
});

describe('log limiter', () => {
  it('lets a burst through per key and window, then suppresses and reports how many it suppressed', () => {
    let t = 0;
    const lim = createLogLimiter({ burst: 2, windowMs: 1000, now: () => t });
    const lines: Array<[string, number]> = [];
    for (let i = 0; i < 10; i++) lim.log('schema', (s) => lines.push(['schema', s]));
    lim.log('too_old', (s) => lines.push(['too_old', s]));
    expect(lines).toEqual([
      ['schema', 0],
      ['schema', 0],
      ['too_old', 0],
    ]);
    t = 1500;
    lim.log('schema', (s) => lines.push(['schema', s]));
    expect(lines.at(-1)).toEqual(['schema', 8]);
  });
});
