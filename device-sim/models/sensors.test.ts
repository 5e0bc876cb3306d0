import { describe, expect, it } from 'vitest';
import { localHour, localMidnight, SimClock } from '../clock';
import { PLATE_FORMATS } from '../plates';
import { AirModel } from './air';
import { CameraModel, flowPerLane } from './camera';
import { NoiseModel } from './noise';

const day0 = localMidnight(Date.UTC(2026, 9, 1, 18));
const DAYS = 30;

describe('simulated clock', () => {
  it('replays a past window faster, never runs ahead of the real clock, then goes live', () => {
    let real = 1_800_000_000_000;
    const c = new SimClock({ speed: 60, backfillMs: 3_600_000, realNow: () => real });
    expect(c.now()).toBe(real - 3_600_000);
    real += 30_000; // 30 s real = 30 min simulated
    expect(c.now()).toBe(real - 30_000 - 3_600_000 + 30 * 60_000);
    real += 60_000;
    expect(c.now()).toBe(real);
    expect(c.live()).toBe(true);
    expect(new SimClock({ speed: 1 }).lagMs()).toBeLessThan(5);
  });
});

describe('air-quality station', () => {
  it('follows daily cycles (NO2 traffic peaks, O3 at midday) and has episodes that reach "Mala" (NOM-172-SEMARNAT-2023)', () => {
    const m = new AirModel({ deviceId: 'air-03', district: 'Centro', dataS: 3600, start: day0 });
    const rs = m.advance(day0 + DAYS * 86_400_000).map((e) => e.payload as { ts: number; no2: number; o3: number; pm25: number; so2: number; co: number });
    expect(rs).toHaveLength(DAYS * 24);
    const byHour = (f: (r: (typeof rs)[number]) => number) => {
      const s = Array(24).fill(0);
      for (const r of rs) s[Math.floor(localHour(r.ts))] += f(r) / DAYS;
      return s as number[];
    };
    const no2 = byHour((r) => r.no2);
    const o3 = byHour((r) => r.o3);
    expect(no2[8]!).toBeGreaterThan(no2[3]! * 2);
    expect(o3[13]!).toBeGreaterThan(o3[7]! * 2);
    // episodes: some hours above the "Aceptable" upper bounds (O3 0.090 ppm, NO2 0.106 ppm, SO2 0.075 ppm, PM2.5 hourly ≫ 33 µg/m³)
    const mala = rs.filter((r) => r.o3 > 0.09 || r.no2 > 0.106 || r.so2 > 0.075 || r.pm25 > 45 || r.co > 9);
    expect(mala.length).toBeGreaterThan(3);
    expect(mala.length).toBeLessThan(rs.length * 0.15);
  });
});

describe('noise station', () => {
  it('is louder by day and at rush hours, and now and then above its NOM-081 limit', () => {
    const m = new NoiseModel({ deviceId: 'noise-01', zone: 'residential', dataS: 600, start: day0 });
    const rs = m.advance(day0 + DAYS * 86_400_000).map((e) => e.payload as { ts: number; laeq: number; lamax: number; lamin: number });
    const at = (h: number) => rs.filter((r) => Math.floor(localHour(r.ts)) === h).reduce((s, r) => s + r.laeq, 0) / (DAYS * 6);
    expect(at(8)).toBeGreaterThan(at(3) + 5);
    const over = rs.filter((r) => {
      const h = localHour(r.ts);
      return r.laeq > (h >= 6 && h < 22 ? 55 : 50);
    });
    expect(over.length).toBeGreaterThan(10);
    expect(over.length).toBeLessThan(rs.length * 0.2);
    for (const r of rs) expect(r.lamin <= r.laeq && r.laeq <= r.lamax).toBe(true);
  });
});

describe('plate camera', () => {
  it('reads more at rush hours, entering in the morning and leaving in the evening, with Mexican plates and the hotlist now and then', () => {
    expect(flowPerLane(8, 'entering')).toBeGreaterThan(flowPerLane(8, 'leaving') * 1.5);
    expect(flowPerLane(18.5, 'leaving')).toBeGreaterThan(flowPerLane(18.5, 'entering') * 1.5);
    expect(flowPerLane(8, 'entering')).toBeGreaterThan(flowPerLane(3, 'entering') * 5);
    const m = new CameraModel({ deviceId: 'cam-01', direction: 'both', lanes: 2, start: day0, hotlist: ['YKR-482-C'], hotlistRate: 0.01 });
    const rs = m.advance(day0 + 86_400_000).map((e) => e.payload as { ts: number; plate: string; region: string; direction: string; lane: number });
    const hourly = (h: number, dir: string) => rs.filter((r) => Math.floor(localHour(r.ts)) === h && r.direction === dir).length;
    expect(hourly(8, 'entering')).toBeGreaterThan(hourly(8, 'leaving'));
    expect(hourly(18, 'leaving')).toBeGreaterThan(hourly(18, 'entering'));
    expect(hourly(8, 'entering')).toBeGreaterThan(hourly(3, 'entering') * 4);
    expect(rs.some((r) => r.plate === 'YKR-482-C')).toBe(true);
    expect(rs.filter((r) => r.region === 'VER').length / rs.length).toBeGreaterThan(0.6);
    for (const r of rs) {
      expect(r.plate).toMatch(/^[A-Z0-9-]{3,10}$/);
      expect(r.lane).toBeGreaterThanOrEqual(1);
      expect(r.lane).toBeLessThanOrEqual(2);
    }
    expect(Object.keys(PLATE_FORMATS)).toEqual(expect.arrayContaining(['VER', 'TAB', 'CHIS', 'OAX', 'PUE', 'CDMX']));
  });
});
