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
