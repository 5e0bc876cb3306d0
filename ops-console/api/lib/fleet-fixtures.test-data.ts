/**
 * Known truck days for the fleet-report tests: a track built from legs (how long, how often a fix,
 * at what speed, which way), so every trip's distance and every stop's length is known exactly.
 */
import type { AnyTelemetryRecord } from '../../../contract';
import type { TrackPoint } from '../../../store/types';
import { offsetM } from '../../../contract/geo';
import type { Position } from '../../../city/city';

export interface Leg {
  /** leg length, s */
  s: number;
  /** fix interval, s (0 = no fixes: a gap) */
  every: number;
  kmh: number;
  /** +1 east, -1 west */
  dir?: 1 | -1;
  /** jump here at the start of the leg (e.g. back at the depot after a gap) */
  at?: Position;
}

/** Fixes of the legs from `t0` at `start`: a fix at the start of each step, moving at the leg's speed. */
export function legsTrack(t0: number, start: Position, legs: Leg[]): TrackPoint[] {
  const out: TrackPoint[] = [];
  let t = t0;
  let p = start;
  for (const leg of legs) {
    if (leg.at) p = leg.at;
    const steps = leg.every ? Math.round(leg.s / leg.every) : 0;
    if (!leg.every) {
      t += leg.s * 1000;
      continue;
    }
    for (let k = 0; k < steps; k++) {
      out.push({ ts: t, lat: p[1], lon: p[0], speedKmh: leg.kmh, heading: (leg.dir ?? 1) > 0 ? 90 : 270 });
      p = offsetM(p, (leg.kmh / 3.6) * leg.every * (leg.dir ?? 1), 0);
      t += leg.every * 1000;
    }
  }
  return out;
}

export const gpsRecords = (deviceId: string, pts: TrackPoint[]): AnyTelemetryRecord[] =>
  pts.map(
    (p) =>
      ({
        deviceId,
        kind: 'truck',
        stream: 'gps',
        ts: p.ts,
        receivedAt: p.ts,
        late: false,
        district: 'Centro',
        payload: { ts: p.ts, lat: p.lat, lon: p.lon, speedKmh: p.speedKmh, heading: p.heading },
      }) as AnyTelemetryRecord,
  );

export const eventRecord = (
  deviceId: string,
  ts: number,
  type: 'bin_lift' | 'ignition_on' | 'ignition_off' | 'unload',
  extra: { binId?: string; weightKg?: number; lat?: number; lon?: number } = {},
): AnyTelemetryRecord => ({ deviceId, kind: 'truck', stream: 'event', ts, receivedAt: ts, late: false, district: 'Centro', payload: { ts, type, ...extra } }) as AnyTelemetryRecord;

/**
 * 30/11/2026 from 06:00 local (12:00 UTC): parked 10 min (fixes each 60 s) · 5 min at 36 km/h ·
 * a 30 s bin-lift pause · 5 min at 36 km/h · stopped 5 min · 5 min back west at 36 km/h · no fix for
 * 20 min · parked 10 min back at the start.
 * Stops [06:00, 06:09] 540 s, [06:20:30, 06:25:20] 290 s, [06:50, 06:59] 540 s; trips 06:09 →
 * 06:20:30 (6,000 m) and 06:25:20 → 06:30:20 (2,900 m).
 */
export const DAY_T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
export const DAY_LEGS: Leg[] = [
  { s: 600, every: 60, kmh: 0 },
  { s: 300, every: 10, kmh: 36 },
  { s: 30, every: 10, kmh: 0 },
  { s: 300, every: 10, kmh: 36 },
  { s: 300, every: 10, kmh: 0 },
  { s: 300, every: 10, kmh: 36, dir: -1 },
  { s: 1170, every: 0, kmh: 0 },
];
