/**
 * Colour scales of the console, all pure so they are unit-tested:
 *  - Índice AIRE Y SALUD (NOM-172-SEMARNAT-2023) category of an air reading, colours per Tabla 11;
 *  - noise level against the station's NOM-081-SEMARNAT-1994 zone limit (day 06–22 / night);
 *  - truck state (collecting, driving, idle, offline);
 *  - alert severity.
 * The live map shows an *indicative* category from the latest reading; the official hourly index
 * (NowCast for particles, CO 8-h average) comes from the API's history routes.
 */
import type { AirReading, NoiseReading } from '../../../contract';

// ── Índice AIRE Y SALUD ──────────────────────────────────────────────────────────────────────
export const AIR_CATEGORIES = ['buena', 'aceptable', 'mala', 'muy_mala', 'extremadamente_mala'] as const;
export type AirCategory = (typeof AIR_CATEGORIES)[number];
/** NOM-172-SEMARNAT-2023 Tabla 11 colours. */
export const AIR_COLORS: Record<AirCategory, string> = {
  buena: '#00E400',
  aceptable: '#FFFF00',
  mala: '#FF7E00',
  muy_mala: '#FF0000',
  extremadamente_mala: '#8F3F97',
};
export const NO_DATA_COLOR = '#6b7280';

type Pollutant = 'o3' | 'no2' | 'so2' | 'co' | 'pm10' | 'pm25';
/** Upper bound of Buena, Aceptable, Mala, Muy mala; interval (lower, upper]. Versioned data: correct here. */
export const NOM172_2023_BANDS: Record<Pollutant, { digits: number; bands: [number, number, number, number]; bands2026?: [number, number, number, number] }> = {
  o3: { digits: 3, bands: [0.058, 0.09, 0.135, 0.175] },
  no2: { digits: 3, bands: [0.053, 0.106, 0.16, 0.213] },
  so2: { digits: 3, bands: [0.035, 0.075, 0.185, 0.304] },
  co: { digits: 2, bands: [5, 9, 12, 16] },
  pm10: { digits: 0, bands: [45, 60, 132, 213], bands2026: [45, 50, 132, 213] },
  pm25: { digits: 0, bands: [15, 33, 79, 130], bands2026: [15, 25, 79, 130] },
};
const JAN_2026 = Date.UTC(2026, 0, 1, 6); // local midnight, America/Mexico_City (UTC-6)

const roundHalfUp = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.floor(v * f + 0.5 + 1e-9) / f;
};

/** Category of one pollutant value (index 0..4). */
export function pollutantCategory(p: Pollutant, value: number, at: number): number {
  const spec = NOM172_2023_BANDS[p];
  const bands = at >= JAN_2026 && spec.bands2026 ? spec.bands2026 : spec.bands;
  const v = roundHalfUp(value, spec.digits);
  for (let i = 0; i < 4; i++) if (v <= bands[i]!) return i;
  return 4;
}

/** Indicative category of an air reading: the worst of its pollutants; null without any pollutant. */
export function airCategory(r: Partial<AirReading> | undefined | null): AirCategory | null {
  if (!r) return null;
  let worst = -1;
  for (const p of Object.keys(NOM172_2023_BANDS) as Pollutant[]) {
    const v = r[p];
    if (typeof v === 'number' && Number.isFinite(v)) worst = Math.max(worst, pollutantCategory(p, v, r.ts ?? Date.now()));
  }
  return worst < 0 ? null : AIR_CATEGORIES[worst]!;
}

// ── NOM-081 noise ───────────────────────────────────────────────────────────────────────────
export type NoiseZone = 'residential' | 'industrial_commercial' | 'school' | 'entertainment';
/** NOM-081-SEMARNAT-1994 §5.4 (DOF 2013) limits in dB(A): [06–22 h, 22–06 h]. */
export const NOM081_LIMITS: Record<NoiseZone, [number, number]> = {
  residential: [55, 50],
  industrial_commercial: [68, 65],
  school: [55, 55],
  entertainment: [100, 100],
};
export type NoiseLevel = 'ok' | 'near' | 'over' | 'none';
export const NOISE_COLORS: Record<NoiseLevel, string> = { ok: '#34d399', near: '#fbbf24', over: '#f43f5e', none: NO_DATA_COLOR };

/** Local hour in the city's time zone. */
export function localHour(ts: number, timeZone = 'America/Mexico_City'): number {
  const h = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' }).format(new Date(ts));
  return Number(h) % 24;
}

export function noiseLimit(zone: NoiseZone | undefined, ts: number, timeZone?: string): number {
  const [day, night] = NOM081_LIMITS[zone ?? 'residential'];
  const h = localHour(ts, timeZone);
  return h >= 6 && h < 22 ? day : night;
}

/** LAeq against the zone limit: over it, within 3 dB below it, or fine. Indicative (the norm governs fixed sources). */
export function noiseLevel(r: Partial<NoiseReading> | undefined | null, zone: NoiseZone | undefined, timeZone?: string): { level: NoiseLevel; limit?: number } {
  if (!r || typeof r.laeq !== 'number' || typeof r.ts !== 'number') return { level: 'none' };
  const limit = noiseLimit(zone, r.ts, timeZone);
  return { level: r.laeq > limit ? 'over' : r.laeq > limit - 3 ? 'near' : 'ok', limit };
}

// ── trucks ──────────────────────────────────────────────────────────────────────────────────
export const TRUCK_STATES = ['collecting', 'driving', 'idle', 'offline'] as const;
export type TruckState = (typeof TRUCK_STATES)[number];
export const TRUCK_COLORS: Record<TruckState, string> = {
  collecting: '#22d3ee',
  driving: '#60a5fa',
  idle: '#fbbf24',
  offline: '#6b7280',
};

export interface TruckStateInput {
  online?: boolean;
  /** latest fix */
  gps?: { ts: number; speedKmh: number };
  /** latest truck event */
  event?: { ts: number; type: string };
  /** last arrival (ms) */
  lastSeen?: number;
}
/** Collecting: a bin lift within the last 2 minutes; idle: below 3 km/h; offline: presence offline or silent for 5 minutes. */
export function truckState(s: TruckStateInput, now: number): TruckState {
  if (s.online === false) return 'offline';
  if (s.lastSeen !== undefined && now - s.lastSeen > 5 * 60_000) return 'offline';
  if (!s.gps) return 'offline';
  if (s.event?.type === 'bin_lift' && s.gps.ts - s.event.ts <= 120_000) return 'collecting';
  return s.gps.speedKmh < 3 ? 'idle' : 'driving';
}

// ── alerts ──────────────────────────────────────────────────────────────────────────────────
export const SEVERITY_COLORS = { critical: '#ff3b30', warning: '#ffb020', info: '#4da3ff' } as const;
export const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 } as const;

/** Black or white text, whichever reads better on a background colour (#rrggbb). */
export function textOn(hex: string): '#000000' | '#ffffff' {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return l > 0.179 ? '#000000' : '#ffffff';
}
