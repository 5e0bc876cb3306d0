import type { AirReading, DeviceStatus, GpsFix, NoiseReading, PlateRead, TruckEvent } from '../../contract';

export type Emit =
  | { stream: 'gps'; payload: GpsFix }
  | { stream: 'event'; payload: TruckEvent }
  | { stream: 'air'; payload: AirReading }
  | { stream: 'noise'; payload: NoiseReading }
  | { stream: 'plate'; payload: PlateRead };

/** Sensor-level faults the models implement (connection-level faults live in the device runner). */
export interface ModelFaults {
  /** sensor repeats its last values */
  stuck?: boolean;
  /** GPS position drifts away a few metres per fix */
  gpsDrift?: boolean;
  /** GPS jumps kilometres now and then */
  gpsJumps?: boolean;
  /** air: pollutants multiplied by this (a pollution episode) */
  pollution?: number;
  /** noise: level raised by this many dB(A) */
  loudDb?: number;
  /** truck: stand still with the engine on for this many minutes (taken once) */
  idleMin?: number;
  /** truck: fixes this many metres beside the route (a parallel street: its own streets skipped) */
  skipM?: number;
  /** camera: the next read is a hotlist plate (taken once) */
  hotlistRead?: boolean;
}

export interface DeviceModel {
  /** messages with event time in (last call, to], in time order */
  advance(to: number): Emit[];
  /** model-specific status fields (power, battery) */
  statusExtras(t: number): Partial<DeviceStatus>;
  faults: ModelFaults;
}

export const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
export const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Gaussian bump over the hour of day, centred at c (hours, wraps midnight), width w (hours). */
export const bump = (h: number, c: number, w: number): number => {
  const dh = ((h - c + 36) % 24) - 12;
  return Math.exp(-(dh * dh) / (2 * w * w));
};

/**
 * A station that reports one reading every `stepMs`, the first on the next whole interval after
 * `start`; a stuck sensor repeats its last values with new times. Subclasses give `reading`.
 */
export abstract class IntervalSensor<E extends Extract<Emit, { stream: 'air' | 'noise' }>> implements DeviceModel {
  readonly faults: ModelFaults = {};
  private t: number;
  private last: E['payload'] | null = null;

  constructor(
    private readonly stream: E['stream'],
    private readonly stepMs: number,
    start: number,
  ) {
    this.t = Math.floor(start / stepMs) * stepMs;
  }

  abstract reading(t: number): E['payload'];
  abstract statusExtras(t: number): Partial<DeviceStatus>;

  advance(to: number): Emit[] {
    const out: Emit[] = [];
    while (this.t + this.stepMs <= to) {
      this.t += this.stepMs;
      const r = this.faults.stuck && this.last ? { ...this.last, ts: this.t } : this.reading(this.t);
      this.last = r;
      out.push({ stream: this.stream, payload: r } as E);
    }
    return out;
  }
}
