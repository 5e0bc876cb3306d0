/**
 * An air-quality station: daily cycles (NO2 and CO with the morning and evening traffic peaks,
 * O3 at midday, PM with traffic and the evening), the petrochemical belt's SO2, temperature and
 * humidity; and now and then a pollution episode that reaches the "Mala" band of
 * NOM-172-SEMARNAT-2023 (e.g. PM2.5 above 33 µg/m³ NowCast, O3 above 0.090 ppm 1 h).
 * Values are in the contract's units (ppm, µg/m³). Deterministic per station and day.
 */
import { gauss, hashString, seededRng } from '../../lib/rng';
import type { AirReading } from '../../contract';
import { localDay, localHour } from '../clock';
import { IntervalSensor, clamp, round, type Emit } from './types';
import { CITY_TZ } from '../../norms/local-time';

export interface AirOptions {
  deviceId: string;
  district?: string;
  dataS: number;
  start: number;
  timezone?: string;
}

/** bump centred at c (hours) with width w */
import { bump } from './types';

export type Pollutant = 'pm' | 'o3' | 'no2' | 'so2' | 'co';
export interface Episode {
  pollutant: Pollutant;
  startH: number;
  hours: number;
  /** peak added on top of the cycle */
  peak: number;
}

/** The episode of a station on a local day (about one station-day in four has one). */
export function episodeFor(deviceId: string, day: number): Episode | null {
  const r = seededRng(hashString(`${deviceId}|air|${day}`));
  if (r() > 0.27) return null;
  const pollutant = (['pm', 'pm', 'o3', 'no2', 'so2', 'co'] as const)[Math.floor(r() * 6)]!;
  const hours = 3 + r() * 4;
  const startH = pollutant === 'o3' ? 11 + r() * 2 : 5 + r() * 14;
  const peak = { pm: 45 + r() * 45, o3: 0.06 + r() * 0.04, no2: 0.1 + r() * 0.06, so2: 0.12 + r() * 0.1, co: 9 + r() * 4 }[pollutant];
  return { pollutant, startH, hours, peak };
}

export class AirModel extends IntervalSensor<Extract<Emit, { stream: 'air' }>> {
  private readonly rng;
  private readonly tz: string;
  private readonly industrial: number;

  constructor(private readonly o: AirOptions) {
    super('air', o.dataS * 1000, o.start);
    this.tz = o.timezone ?? CITY_TZ;
    this.rng = seededRng(hashString(o.deviceId));
    this.industrial = /petrol|puerto|centro/i.test(o.district ?? '') ? 1 : 0.4;
  }

  private episodeLevel(t: number, p: Pollutant): number {
    const day = localDay(t, this.tz);
    let level = 0;
    for (const d of [day - 1, day]) {
      const e = episodeFor(this.o.deviceId, d);
      if (!e || e.pollutant !== p) continue;
      const h = localHour(t, this.tz) + (day - d) * 24 - e.startH;
      if (h < 0 || h > e.hours) continue;
      level += e.peak * Math.sin((Math.PI * h) / e.hours) ** 0.5;
    }
    return level;
  }

  reading(t: number): AirReading {
    const h = localHour(t, this.tz);
    const traffic = bump(h, 8, 1.3) + 0.9 * bump(h, 19, 1.8) + 0.3 * bump(h, 13.5, 2);
    const sun = Math.max(0, Math.sin((Math.PI * (h - 7)) / 12)); // 07–19
    const n = () => 1 + gauss(this.rng) * 0.08;
    const pm25 = (9 + 14 * traffic + 5 * bump(h, 21, 2)) * n() + this.episodeLevel(t, 'pm');
    const pm10 = pm25 * (1.7 + this.rng() * 0.2) + 6 * traffic;
    const no2 = (0.008 + 0.038 * traffic) * n() * (1 - 0.3 * sun) + this.episodeLevel(t, 'no2');
    const o3 = (0.012 + 0.045 * sun ** 2) * n() * (1 - 0.3 * bump(h, 8, 1.3)) + this.episodeLevel(t, 'o3') * sun;
    const co = (0.35 + 1.4 * traffic) * n() + this.episodeLevel(t, 'co');
    const so2 = 0.002 + 0.012 * this.industrial * (0.6 + this.rng() * 0.8) + this.episodeLevel(t, 'so2');
    const tempC = 24 + 7.5 * Math.max(0, Math.sin((Math.PI * (h - 8)) / 14)) + gauss(this.rng) * 0.3;
    const rhPct = clamp(92 - 28 * sun + gauss(this.rng) * 2, 35, 100);
    const x = this.faults.pollution ?? 1; // an injected pollution episode
    return {
      ts: t,
      windowS: this.o.dataS,
      pm25: round(clamp(pm25 * x, 0, 1000), 1),
      pm10: round(clamp(pm10 * x, 0, 2000), 1),
      o3: round(clamp(o3 * x, 0, 1), 4),
      no2: round(clamp(no2 * x, 0, 2), 4),
      so2: round(clamp(so2, 0, 2), 4),
      co: round(clamp(co, 0, 100), 2),
      tempC: round(tempC, 1),
      rhPct: round(rhPct, 1),
    };
  }

  statusExtras(t: number) {
    const h = localHour(t, this.tz);
    const sun = Math.max(0, Math.sin((Math.PI * (h - 7)) / 12));
    return { batteryPct: round(clamp(62 + 30 * sun + this.rng() * 3, 0, 100), 1), powerV: round(12.2 + 1.6 * sun, 2) };
  }
}
