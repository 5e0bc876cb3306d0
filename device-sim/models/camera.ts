/**
 * A plate-reader camera on a road into the city: one aggregated read per vehicle pass. Traffic
 * follows the day (more at rush hours), entering peaks in the morning and leaving peaks in the
 * evening; most plates are Veracruz commuters seen every day, some from neighbouring states,
 * some federal cargo plates, and now and then one on the hotlist.
 */
import type { PlateRead } from '../../contract';
import { hashString, seededRng } from '../../lib/rng';
import { localHour } from '../clock';
import { commuterPool, randomPlate, regionOfPlate, type Plate } from '../plates';
import { round, type DeviceModel, type Emit, type ModelFaults } from './types';
import { CITY_TZ } from '../../norms/local-time';

export interface CameraOptions {
  deviceId: string;
  direction: 'entering' | 'leaving' | 'both';
  lanes: number;
  start: number;
  timezone?: string;
  /** hotlist plates the camera reads now and then */
  hotlist?: readonly string[];
  /** probability a read is a hotlist plate (default 1/800) */
  hotlistRate?: number;
}

import { bump } from './types';

/** vehicles per hour per lane for one direction at local hour h */
export function flowPerLane(h: number, dir: 'entering' | 'leaving'): number {
  const day = Math.max(0, Math.sin((Math.PI * (h - 5)) / 18)); // 05–23
  const base = 25 + 170 * day;
  const peak = dir === 'entering' ? 330 * bump(h, 7.8, 1.1) + 120 * bump(h, 15, 1.5) : 330 * bump(h, 18.5, 1.3) + 120 * bump(h, 14, 1.5);
  return base + peak;
}

let pool: Plate[] | null = null;

export class CameraModel implements DeviceModel {
  readonly faults: ModelFaults = {};
  private t: number;
  private readonly rng;
  private readonly tz: string;
  private last: PlateRead | null = null;

  constructor(private readonly o: CameraOptions) {
    this.tz = o.timezone ?? CITY_TZ;
    this.rng = seededRng(hashString(o.deviceId) ^ Math.floor(o.start / 1000));
    this.t = Math.floor(o.start / 1000) * 1000;
    pool ??= commuterPool();
  }

  private read(t: number, direction: 'entering' | 'leaving'): PlateRead {
    const r = this.rng;
    let p: Plate;
    const hot = this.o.hotlist ?? [];
    if (hot.length && this.faults.hotlistRead) {
      this.faults.hotlistRead = false;
      p = { plate: hot[0]!, region: regionOfPlate(hot[0]!) };
    } else if (hot.length && r() < (this.o.hotlistRate ?? 1 / 800)) {
      const plate = hot[Math.floor(r() * hot.length)]!;
      p = { plate, region: regionOfPlate(plate) };
    } else if (r() < 0.7) p = pool![Math.floor(r() * pool!.length)]!;
    else p = randomPlate(r);
    const low = r() < 0.05;
    return {
      ts: t,
      plate: p.plate,
      region: p.region,
      confidence: round(low ? 0.45 + r() * 0.25 : 0.8 + r() * 0.19, 3),
      direction,
      lane: 1 + Math.floor(r() * this.o.lanes),
      frames: 3 + Math.floor(r() * 25),
    };
  }

  advance(to: number): Emit[] {
    const out: Emit[] = [];
    const dirs: ('entering' | 'leaving')[] = this.o.direction === 'both' ? ['entering', 'leaving'] : [this.o.direction];
    // rates change slowly: evaluate per minute, sample per second
    while (this.t + 1000 <= to) {
      const minuteEnd = Math.min(to, (Math.floor(this.t / 60_000) + 1) * 60_000);
      const h = localHour(this.t, this.tz);
      const rates = dirs.map((d) => (flowPerLane(h, d) * this.o.lanes) / 3600);
      while (this.t + 1000 <= minuteEnd) {
        this.t += 1000;
        dirs.forEach((d, i) => {
          if (this.rng() < rates[i]!) {
            const rd = this.faults.stuck && this.last ? { ...this.last, ts: this.t } : this.read(this.t, d);
            this.last = rd;
            out.push({ stream: 'plate', payload: rd });
          }
        });
      }
    }
    return out;
  }

  statusExtras() {
    return { powerV: round(23.8 + this.rng() * 0.6, 2) };
  }
}
