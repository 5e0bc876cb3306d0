import { describe, expect, it } from 'vitest';
import { dayStart, localDate, localDateTime, parseMxDateTime, toLocalInput } from './dates';

describe('local dates (America/Mexico_City)', () => {
  it('day start is 06:00 UTC', () => {
    expect(dayStart('2025-03-10')).toBe(Date.UTC(2025, 2, 10, 6));
    expect(localDate(Date.UTC(2025, 2, 10, 5, 59))).toBe('2025-03-09');
    expect(localDateTime('2025-03-10T08:30')).toBe(Date.UTC(2025, 2, 10, 14, 30));
    expect(toLocalInput(Date.UTC(2025, 2, 10, 14, 30))).toBe('2025-03-10T08:30');
  });

  it('reads dates as Mexicans write them (dd/mm/aaaa, 24 h) and refuses impossible ones', () => {
    expect(parseMxDateTime('10/03/2025 08:30')).toBe('2025-03-10T08:30');
    expect(parseMxDateTime('1/12/2026')).toBe('2026-12-01T00:00');
    expect(parseMxDateTime('29/02/2024 23:59')).toBe('2024-02-29T23:59');
    for (const bad of ['29/02/2025', '31/04/2025', '10/13/2025', '03/10/2025 24:00', '2025-03-10', '', 'mañana']) expect(parseMxDateTime(bad), bad).toBeNull();
  });
});
