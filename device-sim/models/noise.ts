/**
 * A noise station: A-weighted levels following traffic (peaks at 8 and 19 h), quieter nights,
 * by NOM-081 zone type; now and then an event (a party, construction, a festival on the
 * malecón) that lifts the level above the zone's limit for a while. Deterministic per day.
 */
import { gauss, hashString, seededRng } from '../../lib/rng';
import type { NoiseZone } from '../../registry/schema';
import type { NoiseReading } from '../../contract';
import { localDay, localHour, localWeekday } from '../clock';
import { IntervalSensor, clamp, round, type Emit } from './types';
import { CITY_TZ } from '../../norms/local-time';

export interface NoiseOptions {
  deviceId: string;
  zone: NoiseZone;
  dataS: number;
  start: number;
  timezone?: string;
}

import { bump } from './types';

/** base daytime / night levels (dB(A)) per zone: around or just under the NOM-081 limits */
const BASE: Record<NoiseZone, { day: number; night: number }> = {
  residential: { day: 50, night: 43 },
  school: { day: 51, night: 42 },
  industrial_commercial: { day: 62, night: 56 },
  entertainment: { day: 60, night: 64 },
};

export interface NoiseEvent {
  startH: number;
  hours: number;
  addDb: number;
}

/** The loud event of a station on a local day (about every other day). */
export function noiseEventFor(deviceId: string, zone: NoiseZone, day: number, weekday: number): NoiseEvent | null {
  const r = seededRng(hashString(`${deviceId}|noise|${day}`));
  const weekend = weekday === 5 || weekday === 6;
  if (r() > (zone === 'entertainment' && weekend ? 0.95 : 0.5)) return null;
  if (zone === 'entertainment') return { startH: 20 + r() * 2, hours: 2 + r() * 3, addDb: 12 + r() * 10 };
  if (r() < 0.5) return { startH: 8 + r() * 6, hours: 1 + r() * 3, addDb: 10 + r() * 8 }; // construction
  return { startH: 20 + r() * 3, hours: 1 + r() * 3, addDb: 9 + r() * 8 }; // a party
}

export class NoiseModel extends IntervalSensor<Extract<Emit, { stream: 'noise' }>> {
  private readonly rng;
  private readonly tz: string;

  constructor(private readonly o: NoiseOptions) {
    super('noise', o.dataS * 1000, o.start);
    this.tz = o.timezone ?? CITY_TZ;
    this.rng = seededRng(hashString(o.deviceId));
  }

  private eventDb(t: number): number {
    const day = localDay(t, this.tz);
    let add = 0;
    for (const d of [day - 1, day]) {
      const e = noiseEventFor(this.o.deviceId, this.o.zone, d, (localWeekday(t, this.tz) + 7 - (day - d)) % 7);
      if (!e) continue;
      const h = localHour(t, this.tz) + (day - d) * 24 - e.startH;
      if (h >= 0 && h <= e.hours) add = Math.max(add, e.addDb * Math.min(1, h * 4, (e.hours - h) * 4));
    }
    return add;
  }

  reading(t: number): NoiseReading {
    const h = localHour(t, this.tz);
    const b = BASE[this.o.zone];
    const dayness = clamp(Math.sin((Math.PI * (h - 5)) / 18), 0, 1); // 05–23
    const traffic = bump(h, 8, 1.2) + bump(h, 19, 1.6);
    let laeq = b.night + (b.day - b.night) * dayness + 4 * traffic + gauss(this.rng) * 1.3;
    const ev = this.eventDb(t);
    if (ev > 0) laeq = 10 * Math.log10(10 ** (laeq / 10) + 10 ** ((b.day + ev) / 10));
    laeq = clamp(laeq + (this.faults.loudDb ?? 0), 30, 120);
    const lamax = clamp(laeq + 7 + this.rng() * 14, laeq, 140);
    const lamin = clamp(laeq - 4 - this.rng() * 9, 20, laeq);
    return { ts: t, windowS: this.o.dataS, laeq: round(laeq, 1), lamax: round(lamax, 1), lamin: round(lamin, 1) };
  }

  statusExtras(t: number) {
    const h = localHour(t, this.tz);
    return { batteryPct: round(clamp(70 + 25 * Math.max(0, Math.sin((Math.PI * (h - 7)) / 12)) + this.rng() * 3, 0, 100), 1), powerV: 12.6 };
  }
}
