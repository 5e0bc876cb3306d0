import { describe, expect, it } from 'vitest';
import { categoryFor, MEASURED_POLLUTANTS } from '../../../norms/aire-salud';
import type { AirIndexRow } from '../../shared/api';
import { fmtIndicator, indicativeIndex, indicatorLabel, latestIndex, pollutantLabel } from './air-index';

const row = (hour: number, category: string | null, responsible: string[] = []): AirIndexRow => ({
  deviceId: 'air-01',
  hour,
  category,
  label: null,
  colour: null,
  responsible,
  pollutants: category ? { pm25: { category, value: 38, unit: 'µg/m³' } } : {},
});

describe("the device panel's Índice AIRE Y SALUD (the rules' tables)", () => {
  it("the latest complete hour that has an index, with the API's responsible pollutant", () => {
    const h = 3_600_000;
    // the hour still running (4h–5h at 4.5 h) is left out even with a category
    expect(latestIndex([row(2 * h, 'mala', ['pm25']), row(3 * h, null), row(h, 'buena', ['o3']), row(4 * h, 'buena', ['co'])], 4.5 * h)).toEqual({
      category: 'mala',
      responsible: ['pm25'],
      pollutants: { pm25: { category: 'mala', value: 38, unit: 'µg/m³' } },
      hour: 2 * h,
    });
    expect(latestIndex([row(h, null)], 9 * h)).toBeNull();
    expect(latestIndex(undefined)).toBeNull();
  });
  it('indicative from one reading: every pollutant rated by categoryFor, the worst responsible', () => {
    const ts = Date.UTC(2026, 11, 1, 18);
    const r = { ts, windowS: 60, pm25: 38, pm10: 70, o3: 0.07, no2: 0.03 };
    const idx = indicativeIndex(r)!;
    const ranks = Object.fromEntries(MEASURED_POLLUTANTS.filter((p) => p in r).map((p) => [p, categoryFor(p, r[p as keyof typeof r] as number, ts)!]));
    const worst = Math.max(...Object.values(ranks).map((c) => c.rank));
    expect(idx.hour).toBeNull();
    expect(idx.responsible.sort()).toEqual(
      Object.entries(ranks)
        .filter(([, c]) => c.rank === worst)
        .map(([p]) => p)
        .sort(),
    );
    expect(idx.category).toBe(Object.values(ranks).find((c) => c.rank === worst)!.id);
    expect(Object.keys(idx.pollutants).sort()).toEqual(['no2', 'o3', 'pm10', 'pm25']);
    expect(indicativeIndex({ ts, windowS: 60, tempC: 30 })).toBeNull();
    expect(indicativeIndex(undefined)).toBeNull();
  });
  it('names, indicators and values as the operator reads them (Spanish first, Mexican number format)', () => {
    expect(pollutantLabel('es', 'pm25')).toBe('PM2.5');
    expect(pollutantLabel('es', 'o3')).toBe('O₃ (ozono)');
    expect(pollutantLabel('en', 'o3')).toBe('O₃ (ozone)');
    expect(pollutantLabel('es', 'o3_8h')).toBe('O₃ (8 h)');
    expect(indicatorLabel('es', 'pm25')).toBe('NowCast de 12 h');
    expect(indicatorLabel('es', 'co')).toBe('promedio móvil de 8 h');
    expect(indicatorLabel('en', 'o3')).toBe('1-h average');
    expect(fmtIndicator('es', 'pm25', { value: 1234, unit: 'µg/m³' })).toBe('1,234 µg/m³');
    expect(fmtIndicator('es', 'o3', { value: 0.071, unit: 'ppm' })).toBe('0.071 ppm');
    expect(fmtIndicator('es', 'co', { value: 9.5, unit: 'ppm' })).toBe('9.50 ppm');
  });
});
