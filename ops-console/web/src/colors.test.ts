import { describe, expect, it } from 'vitest';
import { AIR_COLORS, airCategory, localHour, noiseLevel, noiseLimit, pollutantCategory, textOn, truckState } from './colors';

const T2025 = Date.UTC(2025, 5, 1, 18); // 12:00 local
const T2026 = Date.UTC(2026, 5, 1, 18);

describe('Índice AIRE Y SALUD (NOM-172-SEMARNAT-2023)', () => {
  it('uses (lower, upper] intervals with half-up rounding', () => {
    expect(pollutantCategory('o3', 0.058, T2025)).toBe(0);
    expect(pollutantCategory('o3', 0.0584, T2025)).toBe(0); // rounds to 0.058
    expect(pollutantCategory('o3', 0.0585, T2025)).toBe(1); // rounds to 0.059
    expect(pollutantCategory('co', 16.01, T2025)).toBe(4);
    expect(pollutantCategory('pm25', 15.4, T2025)).toBe(0);
    expect(pollutantCategory('pm25', 15.5, T2025)).toBe(1);
  });
  it('picks the 2026 particle column by the reading date', () => {
    expect(pollutantCategory('pm25', 30, T2025)).toBe(1); // ≤ 33 aceptable
    expect(pollutantCategory('pm25', 30, T2026)).toBe(2); // > 25 mala from 2026
    expect(pollutantCategory('pm10', 55, T2026)).toBe(2);
  });
  it('a station is the worst of its pollutants, null without pollutants', () => {
    expect(airCategory({ ts: T2025, pm25: 10, o3: 0.1 })).toBe('mala');
    expect(airCategory({ ts: T2025, pm25: 200 })).toBe('extremadamente_mala');
    expect(airCategory({ ts: T2025, tempC: 30 })).toBeNull();
    expect(airCategory(undefined)).toBeNull();
    expect(AIR_COLORS.buena).toBe('#00E400');
    expect(AIR_COLORS.extremadamente_mala).toBe('#8F3F97');
  });
});

describe('NOM-081 noise', () => {
  it('day and night limits in the city time zone', () => {
    expect(localHour(Date.UTC(2025, 0, 1, 12))).toBe(6);
    expect(noiseLimit('residential', Date.UTC(2025, 0, 1, 12))).toBe(55); // 06:00 local → day
    expect(noiseLimit('residential', Date.UTC(2025, 0, 1, 11, 59))).toBe(50); // 05:59 → night
    expect(noiseLimit('industrial_commercial', Date.UTC(2025, 0, 2, 4))).toBe(65); // 22:00 → night
  });
  it('classifies LAeq against the limit', () => {
    const ts = T2025;
    expect(noiseLevel({ ts, laeq: 56 }, 'residential')).toEqual({ level: 'over', limit: 55 });
    expect(noiseLevel({ ts, laeq: 53 }, 'residential').level).toBe('near');
    expect(noiseLevel({ ts, laeq: 45 }, 'residential').level).toBe('ok');
    expect(noiseLevel({ ts, laeq: 66 }, 'industrial_commercial').level).toBe('near');
    expect(noiseLevel(undefined, 'residential').level).toBe('none');
  });
});

describe('truck state', () => {
  const now = 1_800_000_000_000;
  it('collecting, driving, idle, offline', () => {
    expect(truckState({ online: true, gps: { ts: now, speedKmh: 4 }, event: { ts: now - 60_000, type: 'bin_lift' }, lastSeen: now }, now)).toBe('collecting');
    expect(truckState({ online: true, gps: { ts: now, speedKmh: 30 }, event: { ts: now - 600_000, type: 'bin_lift' }, lastSeen: now }, now)).toBe('driving');
    expect(truckState({ online: true, gps: { ts: now, speedKmh: 0 }, lastSeen: now }, now)).toBe('idle');
    expect(truckState({ online: false, gps: { ts: now, speedKmh: 30 }, lastSeen: now }, now)).toBe('offline');
    expect(truckState({ gps: { ts: now, speedKmh: 30 }, lastSeen: now - 6 * 60_000 }, now)).toBe('offline');
  });
});

describe('contrast', () => {
  it('dark text on yellow, white on purple', () => {
    expect(textOn('#FFFF00')).toBe('#000000');
    expect(textOn('#8F3F97')).toBe('#ffffff');
  });
});

describe('one copy of the norms (ingest/rules)', () => {
  it("air categories and colours are the rules' tables", async () => {
    const rules = await import('../../../norms/aire-salud');
    const { AIR_CATEGORIES } = await import('./colors');
    expect(AIR_COLORS).toBe(rules.CATEGORY_COLOURS);
    expect(AIR_CATEGORIES).toBe(rules.CATEGORIES);
    // the web's indicative category agrees with the rules' categoryFor on every band edge
    const t = rules.NOM172_2023.pollutants.pm25!.columns[0]!.upper;
    for (const v of t) expect(pollutantCategory('pm25', v, T2025)).toBe(rules.categoryFor('pm25', v, T2025)!.rank);
  });
  it("noise limits are the rules' NOM-081 table (school: no night limit → not flagged)", async () => {
    const { NOM081_LIMITS } = await import('../../../norms/noise-limits');
    const noon = T2025;
    const night = Date.UTC(2025, 5, 2, 5); // 23:00 local
    expect(noiseLimit('industrial_commercial', noon)).toBe(NOM081_LIMITS.industrial_commercial.day);
    expect(noiseLimit('school', night)).toBeNull();
    expect(noiseLevel({ ts: night, laeq: 90 }, 'school')).toEqual({ level: 'ok' });
    expect(noiseLevel({ ts: night, laeq: 51 }, 'residential')).toEqual({ level: 'over', limit: 50 });
  });
});
