import { describe, expect, it } from 'vitest';
import { TRAIL_CASING_EXTRA, TRAIL_HEAD, TRAIL_TAIL, TRAIL_WIDTH_STOPS, trailCasingPaint, trailPaint } from './trail-style';

const alpha = (rgba: string) => Number(/rgba\([^)]*,\s*([\d.]+)\)/.exec(rgba)![1]);

describe('truck trail style', () => {
  it('is wide (≥ 5 px at city zoom) and never fades to invisible', () => {
    expect(TRAIL_WIDTH_STOPS[0]).toEqual([11, 5]);
    for (let i = 1; i < TRAIL_WIDTH_STOPS.length; i++) expect(TRAIL_WIDTH_STOPS[i]![1]).toBeGreaterThan(TRAIL_WIDTH_STOPS[i - 1]![1]);
    expect(alpha(TRAIL_TAIL)).toBeGreaterThanOrEqual(0.4);
    expect(alpha(TRAIL_HEAD)).toBe(1);
  });
  it('the casing sits under the trail, wider at every zoom', () => {
    const w = trailPaint()['line-width'] as unknown as unknown[];
    const c = trailCasingPaint()['line-width'] as unknown as unknown[];
    expect(w.slice(0, 3)).toEqual(['interpolate', ['linear'], ['zoom']]);
    for (let i = 4; i < w.length; i += 2) expect(c[i]).toBe((w[i] as number) + TRAIL_CASING_EXTRA);
    expect(trailPaint()['line-gradient']).toContain(TRAIL_HEAD);
  });
});
