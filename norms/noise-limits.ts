/**
 * Noise limits of NOM-081-SEMARNAT-1994 §5.4 (Tabla 1, as amended, DOF 03-12-2013), per zone and
 * period, in dB(A). Day is 06:00–22:00 and night 22:00–06:00 local time of the city.
 *
 * The norm governs FIXED SOURCES with its own measurement method (at the source's boundary); a
 * city monitor above these values is an INDICATIVE exceedance, not a legal finding. Alerts and the
 * console say so (INDICATIVE_NOTE).
 */
import { localParts, CITY_TZ } from './local-time';

export const NOM081 = 'NOM-081-SEMARNAT-1994';
export const INDICATIVE_NOTE = 'Indicative exceedance: NOM-081-SEMARNAT-1994 sets limits for fixed sources measured by its own method; a city monitor can only indicate a possible exceedance.';

/**
 * The zones of NOM-081-SEMARNAT-1994 §5.4 Tabla 1 a noise station is placed in (registry
 * `noiseZone`): residencial, industrial y comercial, escuelas (áreas exteriores de juego),
 * ceremonias, festivales y eventos de entretenimiento.
 */
export const NOISE_ZONES = ['residential', 'industrial_commercial', 'school', 'entertainment'] as const;
export type NoiseZone = (typeof NOISE_ZONES)[number];

export const DAY_FROM_HOUR = 6;
export const NIGHT_FROM_HOUR = 22;

export interface ZoneLimits {
  /** dB(A), 06:00–22:00; null = no limit set for the period */
  day: number | null;
  /** dB(A), 22:00–06:00 */
  night: number | null;
  note?: string;
  source: string;
}

/** Versioned data; change a value here (with its source) to correct it. All confidence: high. */
export const NOM081_LIMITS: Record<NoiseZone, ZoneLimits> = {
  residential: { day: 55, night: 50, note: 'residential, outdoors', source: `${NOM081} §5.4 Tabla 1 (mod. DOF 2013)` },
  industrial_commercial: { day: 68, night: 65, source: `${NOM081} §5.4 Tabla 1 (mod. DOF 2013)` },
  school: { day: 55, night: null, note: 'schools: outdoor play areas, during play time only', source: `${NOM081} §5.4 Tabla 1 (mod. DOF 2013)` },
  entertainment: { day: 100, night: 100, note: 'ceremonies, festivals and entertainment: 100 dB(A) for up to 4 hours', source: `${NOM081} §5.4 Tabla 1 (mod. DOF 2013)` },
};

export type NoisePeriod = 'day' | 'night';

export interface NoiseLimit {
  zone: NoiseZone;
  period: NoisePeriod;
  /** dB(A); null when the norm sets none for this zone and period */
  limitDb: number | null;
  /** local hour at `date` */
  localHour: number;
  note?: string;
  source: string;
}

export function periodAt(date: number | Date, tz: string): { period: NoisePeriod; localHour: number } {
  const h = localParts(date, tz).hour;
  return { period: h >= DAY_FROM_HOUR && h < NIGHT_FROM_HOUR ? 'day' : 'night', localHour: h };
}

/** The NOM-081 limit for `zone` at `date` in the city's time zone `tz`. */
export function limitFor(zone: NoiseZone, date: number | Date, tz = CITY_TZ): NoiseLimit {
  const z = NOM081_LIMITS[zone];
  const { period, localHour } = periodAt(date, tz);
  return { zone, period, limitDb: z[period], localHour, ...(z.note ? { note: z.note } : {}), source: z.source };
}
