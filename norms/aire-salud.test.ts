import { describe, expect, it } from 'vitest';
import { CATEGORY_COLOURS, HourlyAverager, HOUR_MS, NOM172_TABLES, categoryFor, movingAverage, nowcast, roundHalfUp, stationIndex } from './aire-salud';

const D2025 = Date.UTC(2025, 5, 1, 18); // 2025-06-01 12:00 local
const D2026 = Date.UTC(2026, 5, 1, 18);

describe('Índice AIRE Y SALUD — rounding and bands (NOM-172-SEMARNAT-2023)', () => {
  it('rounds half-up on decimal values', () => {
    expect(roundHalfUp(0.0585, 3)).toBe(0.059);
    expect(roundHalfUp(2.675, 2)).toBe(2.68);
    expect(roundHalfUp(12.005, 2)).toBe(12.01);
    expect(roundHalfUp(27.5, 0)).toBe(28);
    expect(roundHalfUp(27.49, 0)).toBe(27);
  });

  it('O3 1 h breakpoints are upper-inclusive intervals', () => {
    const cat = (v: number) => categoryFor('o3', v, D2025, '2023')?.id;
    expect(cat(0)).toBe('buena');
    expect(cat(0.058)).toBe('buena');
    expect(cat(0.0584)).toBe('buena'); // rounds to 0.058
    expect(cat(0.0585)).toBe('aceptable'); // rounds to 0.059
    expect(cat(0.09)).toBe('aceptable');
    expect(cat(0.091)).toBe('mala');
    expect(cat(0.135)).toBe('mala');
    expect(cat(0.136)).toBe('muy_mala');
    expect(cat(0.175)).toBe('muy_mala');
    expect(cat(0.176)).toBe('extremadamente_mala');
  });

  it('NO2, SO2 and CO bands', () => {
    expect(categoryFor('no2', 0.053, D2025)?.id).toBe('buena');
    expect(categoryFor('no2', 0.107, D2025)?.id).toBe('mala');
    expect(categoryFor('no2', 0.214, D2025)?.id).toBe('extremadamente_mala');
    expect(categoryFor('so2', 0.075, D2025)?.id).toBe('aceptable');
    expect(categoryFor('so2', 0.186, D2025)?.id).toBe('muy_mala');
    expect(categoryFor('co', 9.0, D2025)?.id).toBe('aceptable');
    expect(categoryFor('co', 9.004, D2025)?.id).toBe('aceptable'); // 2 decimals: 9.00
    expect(categoryFor('co', 9.005, D2025)?.id).toBe('mala'); // 9.01
    expect(categoryFor('co', 12.005, D2025)?.id).toBe('muy_mala');
  });

  it('particle columns change with the date of the value (Jan 2024 vs Jan 2026)', () => {
    expect(categoryFor('pm25', 28, D2025)?.id).toBe('aceptable'); // ≤ 33
    expect(categoryFor('pm25', 28, D2026)?.id).toBe('mala'); // > 25 from 2026
    expect(categoryFor('pm10', 55, D2025)?.id).toBe('aceptable'); // ≤ 60
    expect(categoryFor('pm10', 55, D2026)?.id).toBe('mala'); // > 50 from 2026
    // the switch happens at local midnight in Mexico City (06:00 UTC)
    expect(categoryFor('pm25', 28, Date.UTC(2026, 0, 1, 5, 59))?.id).toBe('aceptable');
    expect(categoryFor('pm25', 28, Date.UTC(2026, 0, 1, 6, 0))?.id).toBe('mala');
    expect(categoryFor('pm25', 131, D2025)?.id).toBe('extremadamente_mala');
    expect(categoryFor('pm25', 28, D2026)?.confirmed).toBe(false);
  });

  it('2019 version is selectable and differs where the norms differ', () => {
    expect(categoryFor('o3', 0.055, D2025, '2023')?.id).toBe('buena');
    expect(categoryFor('o3', 0.055, D2025, '2019')?.id).toBe('aceptable');
    expect(categoryFor('pm10', 70, D2025, '2019')?.id).toBe('aceptable');
    expect(categoryFor('pm10', 70, D2025, '2023')?.id).toBe('mala');
    expect(categoryFor('o3_8h', 0.093, D2025, '2019')?.id).toBe('muy_mala');
    // bands not confirmed for 2019: not rated
    expect(categoryFor('no2', 0.1, D2025, '2019')).toBeNull();
    expect(NOM172_TABLES['2019'].unrated).toEqual(['no2', 'so2', 'co']);
  });

  it('every band column names its source and confidence', () => {
    for (const t of Object.values(NOM172_TABLES)) {
      for (const p of Object.values(t.pollutants)) {
        for (const c of p!.columns) {
          expect(c.source).toMatch(/NOM-172-SEMARNAT-20(23|19)/);
          expect(c.upper).toHaveLength(4);
          expect([...c.upper].sort((a, b) => a - b)).toEqual([...c.upper]);
        }
      }
    }
  });

  it('colours and risk levels', () => {
    expect(CATEGORY_COLOURS).toEqual({ buena: '#00E400', aceptable: '#FFFF00', mala: '#FF7E00', muy_mala: '#FF0000', extremadamente_mala: '#8F3F97' });
    const c = categoryFor('o3', 0.1, D2025)!;
    expect([c.label, c.risk, c.colour]).toEqual(['Mala', 'Alto', '#FF7E00']);
  });
});

describe('averaging', () => {
  it('NowCast: steady values give W = 1 and the norm factor', () => {
    const h = Array(12).fill(40);
    expect(nowcast(h)).toBeCloseTo(40, 10);
    expect(nowcast(h, 'pm25')).toBe(28); // 40 × 0.694 = 27.76 → 28
    expect(nowcast(h, 'pm10')).toBe(29); // 40 × 0.714 = 28.56 → 29
  });

  it('NowCast worked value: W floored at 0.5', () => {
    // cmax 60, cmin 20: W = 1 − 40/60 = 0.33 → 0.5; C = (60 + 0.5·40 + 0.25·20)/1.75
    expect(nowcast([60, 40, 20])).toBeCloseTo(85 / 1.75, 10);
    expect(nowcast([60, 40, 20], 'pm10')).toBe(35); // 48.571 × 0.714 = 34.68
  });

  it('NowCast worked value: a missing hour drops out, the others keep their exponents', () => {
    // W = 1 − 10/50 = 0.8; C = (50 + 0.8·45 + 0.8³·40)/(1 + 0.8 + 0.512)
    expect(nowcast([50, 45, null, 40])).toBeCloseTo(106.48 / 2.312, 10);
  });

  it('NowCast needs 2 of the 3 most recent hours', () => {
    expect(nowcast([null, null, 50, 50, 50])).toBeNull();
    expect(nowcast([50, null, 40])).not.toBeNull();
    expect(nowcast([])).toBeNull();
  });

  it('CO 8-hour moving average needs 6 of 8 valid hours', () => {
    expect(movingAverage([10, 10, 10, 10, 10, 10, null, null], 8, 6)).toBe(10);
    expect(movingAverage([10, 10, 10, 10, 10, null, null, null], 8, 6)).toBeNull();
    expect(movingAverage([8, 10, 12, 10, 10, 10, 10, 10, 99], 8, 6)).toBe(10); // 9th hour ignored
  });
});

describe('stationIndex', () => {
  const at = D2025;
  it('overall category is the worst pollutant, with the one responsible', () => {
    const idx = stationIndex({ o3: [0.1], pm25: Array(12).fill(10), no2: [0.2], co: Array(8).fill(1) }, at);
    expect(idx.pollutants.o3?.id).toBe('mala');
    expect(idx.pollutants.pm25?.value).toBe(7); // 10 × 0.694 = 6.94 → 7
    expect(idx.pollutants.pm25?.id).toBe('buena');
    expect(idx.pollutants.co?.id).toBe('buena');
    expect(idx.category?.id).toBe('muy_mala');
    expect(idx.category?.risk).toBe('Muy alto');
    expect(idx.responsible).toEqual(['no2']);
  });

  it('ties list every responsible pollutant', () => {
    const idx = stationIndex({ o3: [0.1], no2: [0.12] }, at);
    expect(idx.category?.id).toBe('mala');
    expect(idx.responsible).toEqual(['o3', 'no2']);
  });

  it('no data → no category; 2019 adds O3 8 h and lists unrated pollutants', () => {
    expect(stationIndex({}, at).category).toBeNull();
    const idx = stationIndex({ o3: [0.08, 0.09, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], no2: [0.05] }, at, '2019');
    expect(idx.pollutants.o3?.id).toBe('aceptable'); // 0.080 ≤ 0.095
    expect(idx.pollutants.o3_8h?.value).toBe(0.096); // mean 0.09625 → 0.096
    expect(idx.pollutants.o3_8h?.id).toBe('muy_mala'); // > 0.092
    expect(idx.category?.id).toBe('muy_mala');
    expect(idx.responsible).toEqual(['o3_8h']);
    expect(idx.unrated).toEqual(['no2']);
  });
});

describe('HourlyAverager', () => {
  const h0 = Date.UTC(2025, 5, 1, 12);
  it('averages raw readings into clock hours, weighted by window, valid at ≥ 75 % coverage', () => {
    const a = new HourlyAverager();
    for (let i = 1; i <= 45; i++) a.add({ ts: h0 + i * 60_000, windowS: 60, o3: i % 2 ? 0.1 : 0.05 });
    expect(a.hourly('o3', h0)).toBeCloseTo((23 * 0.1 + 22 * 0.05) / 45, 10);
    const b = new HourlyAverager();
    for (let i = 1; i <= 44; i++) b.add({ ts: h0 + i * 60_000, windowS: 60, o3: 0.1 });
    expect(b.hourly('o3', h0)).toBeNull(); // 44 min < 45 min
    // a reading ending exactly on the hour belongs to the hour it closes
    expect(HourlyAverager.hourOf(h0 + HOUR_MS)).toBe(h0);
    expect(HourlyAverager.hourOf(h0 + HOUR_MS + 1)).toBe(h0 + HOUR_MS);
  });

  it('series are most recent first with gaps as null', () => {
    const a = new HourlyAverager();
    a.add({ ts: h0 + HOUR_MS, windowS: 3600, pm25: 20 });
    a.add({ ts: h0 + 3 * HOUR_MS, windowS: 3600, pm25: 30 });
    expect(a.series('pm25', h0 + 2 * HOUR_MS, 3)).toEqual([30, null, 20]);
  });
});
