import { describe, expect, it } from 'vitest';
import { dayStart, localDate, localDateTime, toLocalInput } from './dates';

describe('local dates (America/Mexico_City)', () => {
  it('day start is 06:00 UTC', () => {
    expect(dayStart('2025-03-10')).toBe(Date.UTC(2025, 2, 10, 6));
    expect(localDate(Date.UTC(2025, 2, 10, 5, 59))).toBe('2025-03-09');
    expect(localDateTime('2025-03-10T08:30')).toBe(Date.UTC(2025, 2, 10, 14, 30));
    expect(toLocalInput(Date.UTC(2025, 2, 10, 14, 30))).toBe('2025-03-10T08:30');
  });
});
