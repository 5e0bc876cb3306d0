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
// one copy of the norms' tables: the rules' (pure, browser-safe) modules
import { CATEGORIES, CATEGORY_COLOURS, MEASURED_POLLUTANTS, categoryFor, type CategoryId, type MeasuredPollutant } from '../../../norms/aire-salud';
import { limitFor, type NoiseZone } from '../../../norms/noise-limits';
import { localParts, CITY_TZ } from '../../../norms/local-time';

// ── Índice AIRE Y SALUD ──────────────────────────────────────────────────────────────────────
/** Categories and Tabla 11 colours from norms/aire-salud-tables.ts. */
export const AIR_CATEGORIES = CATEGORIES;
export type AirCategory = CategoryId;
export const AIR_COLORS: Record<AirCategory, string> = CATEGORY_COLOURS;
export const NO_DATA_COLOR = '#6b7280';

/**
 * Category (index 0..4) of one pollutant value on `at`: the rules' bands (NOM-172-SEMARNAT-2023,
 * staged particle columns by local date), half-up rounding; null for a value it cannot rate.
 */
export function pollutantCategory(p: MeasuredPollutant, value: number, at: number): number | null {
  return categoryFor(p, value, at)?.rank ?? null;
}

/** Indicative category of an air reading: the worst of its pollutants; null without any pollutant. */
export function airCategory(r: Partial<AirReading> | undefined | null): AirCategory | null {
  if (!r) return null;
  let worst = -1;
  for (const p of MEASURED_POLLUTANTS) {
    const v = r[p];
    if (typeof v === 'number' && Number.isFinite(v)) worst = Math.max(worst, pollutantCategory(p, v, r.ts ?? Date.now()) ?? -1);
  }
  return worst < 0 ? null : AIR_CATEGORIES[worst]!;
}

// ── NOM-081 noise ───────────────────────────────────────────────────────────────────────────
export type { NoiseZone };
export type NoiseLevel = 'ok' | 'near' | 'over' | 'none';
export const NOISE_COLORS: Record<NoiseLevel, string> = { ok: '#34d399', near: '#fbbf24', over: '#f43f5e', none: NO_DATA_COLOR };

/** Local hour in the city's time zone. */
export function localHour(ts: number, timeZone = CITY_TZ): number {
  return localParts(ts, timeZone).hour;
}

/** The zone's NOM-081 limit (norms/noise-limits.ts) at `ts`, day/night in the city's time zone; null when the norm sets none. */
export function noiseLimit(zone: NoiseZone | undefined, ts: number, timeZone?: string): number | null {
  return limitFor(zone ?? 'residential', ts, timeZone).limitDb;
}

/** LAeq against the zone limit: over it, within 3 dB below it, or fine (also when the norm sets no limit then). Indicative (the norm governs fixed sources). */
export function noiseLevel(r: Partial<NoiseReading> | undefined | null, zone: NoiseZone | undefined, timeZone?: string): { level: NoiseLevel; limit?: number } {
  if (!r || typeof r.laeq !== 'number' || typeof r.ts !== 'number') return { level: 'none' };
  const limit = noiseLimit(zone, r.ts, timeZone);
  if (limit === null) return { level: 'ok' };
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
