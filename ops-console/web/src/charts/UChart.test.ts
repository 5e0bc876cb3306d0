import { describe, expect, it } from 'vitest';
import { mxTimeTicks } from './UChart';

describe('the charts’ Mexican time axis', () => {
  const mx = mxTimeTicks('America/Mexico_City');
  // 2026-11-25 00:00 and 13:30 in Mexico City (UTC−6)
  const midnight = Date.UTC(2026, 10, 25, 6, 0) / 1000;
  const afternoon = Date.UTC(2026, 10, 25, 19, 30) / 1000;

  it('labels day ticks dd/mm, never the US month/day', () => {
    expect(mx.ticks([midnight, midnight + 86_400], 86_400)).toEqual(['25/11', '26/11']);
  });

  it('labels hour ticks on the 24-hour clock, the date at local midnight', () => {
    expect(mx.ticks([afternoon, midnight], 3600)).toEqual(['13:30', '25/11\n00:00']);
  });

  it('writes the legend dd/mm/aaaa HH:mm in the city’s time zone', () => {
    expect(mx.legend(afternoon)).toBe('25/11/2026 13:30');
  });
});
