import { describe, expect, it } from 'vitest';
import { limitFor, NOM081_LIMITS } from './noise-limits';

const TZ = 'America/Mexico_City'; // UTC−6 all year since 2022
const local = (h: number, m = 0) => Date.UTC(2025, 5, 1, h + 6, m);

describe('NOM-081-SEMARNAT-1994 limits by zone and time of day', () => {
  it('residential: 55 dB(A) 06–22, 50 dB(A) 22–06 in the city time zone', () => {
    expect(limitFor('residential', local(5, 59), TZ)).toMatchObject({ period: 'night', limitDb: 50, localHour: 5 });
    expect(limitFor('residential', local(6, 0), TZ)).toMatchObject({ period: 'day', limitDb: 55, localHour: 6 });
    expect(limitFor('residential', local(21, 59), TZ)).toMatchObject({ period: 'day', limitDb: 55 });
    expect(limitFor('residential', local(22, 0), TZ)).toMatchObject({ period: 'night', limitDb: 50 });
    expect(limitFor('residential', local(0, 30), TZ).limitDb).toBe(50);
  });

  it('industrial/commercial 68/65; school only by day; entertainment 100', () => {
    expect(limitFor('industrial_commercial', local(12), TZ).limitDb).toBe(68);
    expect(limitFor('industrial_commercial', local(23), TZ).limitDb).toBe(65);
    expect(limitFor('school', local(10), TZ).limitDb).toBe(55);
    expect(limitFor('school', local(23), TZ).limitDb).toBeNull();
    expect(limitFor('entertainment', local(23), TZ).limitDb).toBe(100);
    for (const z of Object.values(NOM081_LIMITS)) expect(z.source).toMatch(/NOM-081-SEMARNAT-1994/);
  });

  it('uses the given zone, including daylight saving elsewhere', () => {
    // 2025-07-01 12:30 UTC is 06:30 in Mexico City (day) but 05:30 in Tijuana (PDT, night)
    const t = Date.UTC(2025, 6, 1, 12, 30);
    expect(limitFor('residential', t, TZ).period).toBe('day');
    expect(limitFor('residential', t, 'America/Tijuana').period).toBe('night');
  });
});
