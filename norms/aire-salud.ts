/**
 * Índice AIRE Y SALUD (NOM-172-SEMARNAT-2023; NOM-172-SEMARNAT-2019 selectable): pure functions
 * shared by the alert rule, the console API and the web console.
 *
 * Indicators per pollutant (NOM-172-SEMARNAT-2023):
 *   O3, NO2, SO2 — 1-hour value, ppm, 3 decimals
 *   CO           — 8-hour moving average (this hour + 7 before, ≥ 6 of 8 valid), ppm, 2 decimals
 *   PM10, PM2.5  — 12-hour NowCast (Annex A), µg/m³, integer
 * Rounding is half-up. A station's category is the worst among its pollutants.
 * The bands themselves are data in aire-salud-tables.ts, with their provenance.
 */
import type { AirReading } from '../contract';
import {
  CATEGORY_BY_RANK,
  CATEGORY_INFO,
  DEFAULT_MIN_HOUR_COVERAGE,
  DEFAULT_NOM172_VERSION,
  MEASURED_POLLUTANTS,
  NOM172_TABLES,
  NOWCAST,
  POLLUTANTS,
  type BandColumn,
  type CategoryInfo,
  type MeasuredPollutant,
  type Nom172Version,
  type Pollutant,
  type PollutantTable,
} from './aire-salud-tables';
import { localParts, CITY_TZ } from './local-time';

export * from './aire-salud-tables';

export const HOUR_MS = 3_600_000;
/** The norm's dates (staged columns) are read in the country's central time zone. */
export const NOM172_TZ = CITY_TZ;

/** Round half-up to `decimals` (decimal-string arithmetic, so 0.0585 → 0.059 and 2.675 → 2.68). */
export function roundHalfUp(x: number, decimals: number): number {
  if (!Number.isFinite(x)) return x;
  const sign = x < 0 ? -1 : 1;
  const shifted = Number(`${Math.abs(x)}e${decimals}`);
  return sign * Number(`${Math.round(shifted + 1e-9)}e-${decimals}`);
}

export function tableFor(pollutant: Pollutant, version: Nom172Version = DEFAULT_NOM172_VERSION): PollutantTable | undefined {
  return NOM172_TABLES[version].pollutants[pollutant];
}

/** The band column in force on `date` (staged particle columns). */
export function columnFor(table: PollutantTable, date: number | Date): BandColumn {
  const day = localParts(date, NOM172_TZ).date;
  let col = table.columns[0]!;
  for (const c of table.columns) if (!c.from || c.from <= day) col = c;
  return col;
}

export interface PollutantCategory extends CategoryInfo {
  pollutant: Pollutant;
  /** the indicator as compared: rounded half-up to the table's decimals */
  value: number;
  unit: string;
  /** upper bounds of the column used */
  upper: readonly number[];
  confirmed: boolean;
  source: string;
}

/**
 * Category of an indicator value (already averaged as the norm prescribes for that pollutant).
 * null when the version has no (confirmed) bands for the pollutant or the value is not a number.
 */
export function categoryFor(pollutant: Pollutant, value: number | null | undefined, date: number | Date = Date.now(), version: Nom172Version = DEFAULT_NOM172_VERSION): PollutantCategory | null {
  const table = tableFor(pollutant, version);
  if (!table || value === null || value === undefined || !Number.isFinite(value) || value < 0) return null;
  const col = columnFor(table, date);
  const v = roundHalfUp(value, table.decimals);
  let rank = col.upper.findIndex((u) => v <= u);
  if (rank < 0) rank = 4;
  return { ...CATEGORY_BY_RANK[rank]!, pollutant, value: v, unit: table.unit, upper: col.upper, confirmed: col.confirmed, source: col.source };
}

/** Colour of a category (hex), for the console and map. */
export const colourOf = (c: CategoryInfo['id']): string => CATEGORY_INFO[c].colour;
export const CATEGORY_COLOURS: Record<CategoryInfo['id'], string> = Object.fromEntries(Object.values(CATEGORY_INFO).map((c) => [c.id, c.colour])) as Record<CategoryInfo['id'], string>;

type Hourly = ReadonlyArray<number | null | undefined>;
const valid = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * 12-hour NowCast of hourly averages, most recent first (index 0 = the current hour).
 * - no value unless ≥ 2 of the 3 most recent hours are valid;
 * - W = 1 − (Cmax − Cmin)/Cmax over the valid hours, rounded to 2 decimals, at least 0.5;
 * - C = Σ W^(i−1)·Cᵢ / Σ W^(i−1) over valid hours (a missing hour drops out, others keep exponents).
 * With `pollutant` 'pm10' | 'pm25' the result is multiplied by the norm's factor (UNCONFIRMED, see
 * NOWCAST in aire-salud-tables.ts) and rounded half-up to an integer; without, the bare weighted
 * average is returned unrounded.
 */
export function nowcast(hourly: Hourly, pollutant?: 'pm10' | 'pm25', factors: Record<'pm10' | 'pm25', number> = NOWCAST.factors): number | null {
  const window = hourly.slice(0, NOWCAST.hours);
  const recentValid = window.slice(0, NOWCAST.recentOf).filter(valid).length;
  if (recentValid < NOWCAST.minRecentValid) return null;
  const vals = window.filter(valid);
  const cmax = Math.max(...vals);
  const cmin = Math.min(...vals);
  let w = cmax > 0 ? 1 - (cmax - cmin) / cmax : 1;
  w = Math.max(NOWCAST.minWeight, roundHalfUp(w, NOWCAST.weightDecimals));
  let num = 0;
  let den = 0;
  window.forEach((c, i) => {
    if (!valid(c)) return;
    const k = w ** i;
    num += k * c;
    den += k;
  });
  const avg = num / den;
  if (!pollutant) return avg;
  return roundHalfUp(avg * factors[pollutant], 0);
}

/** Moving average over the `hours` most recent hourly values, null unless ≥ minValid are valid. */
export function movingAverage(hourly: Hourly, hours: number, minValid: number): number | null {
  const vals = hourly.slice(0, hours).filter(valid);
  if (vals.length < minValid) return null;
  return vals.reduce((a, b) => a + b, 0) / vals.length;
}

/** Indicator value of a pollutant from its hourly averages (most recent first), unrounded except NowCast. */
export function indicatorValue(table: PollutantTable, hourly: Hourly, factors?: Record<'pm10' | 'pm25', number>): number | null {
  const ind = table.indicator;
  if (ind.kind === 'hourly') return valid(hourly[0]) ? hourly[0] : null;
  if (ind.kind === 'moving_avg') return movingAverage(hourly, ind.hours, ind.minValid);
  return nowcast(hourly, table.pollutant as 'pm10' | 'pm25', factors);
}

export interface StationIndex {
  /** end of the hour the index is for (ms) */
  at: number;
  version: Nom172Version;
  /** worst category, null when no pollutant could be rated */
  category: PollutantCategory | null;
  /** the pollutant(s) responsible for the overall category */
  responsible: Pollutant[];
  pollutants: Partial<Record<Pollutant, PollutantCategory>>;
  /** pollutants with data but no confirmed bands in this version */
  unrated: Pollutant[];
}

/**
 * Índice AIRE Y SALUD of a station for the hour ending at `at`, from its hourly averages per
 * pollutant (most recent first, index 0 = that hour). Under 2019 the 8-hour ozone band is
 * computed from the O3 hourly values too.
 */
export function stationIndex(
  hourlyByPollutant: Partial<Record<MeasuredPollutant, Hourly>>,
  at: number | Date,
  version: Nom172Version = DEFAULT_NOM172_VERSION,
  factors?: Record<'pm10' | 'pm25', number>,
): StationIndex {
  const t = typeof at === 'number' ? at : at.getTime();
  const pollutants: Partial<Record<Pollutant, PollutantCategory>> = {};
  const unrated: Pollutant[] = [];
  for (const p of POLLUTANTS) {
    const source: Hourly | undefined = p === 'o3_8h' ? hourlyByPollutant.o3 : hourlyByPollutant[p];
    if (!source || !source.some(valid)) continue;
    const table = tableFor(p, version);
    if (!table) {
      if (p !== 'o3_8h') unrated.push(p);
      continue;
    }
    // the date of the value picks the column: the hour's start (the reading's own time)
    const cat = categoryFor(p, indicatorValue(table, source, factors), t - 1, version);
    if (cat) pollutants[p] = cat;
  }
  let category: PollutantCategory | null = null;
  const responsible: Pollutant[] = [];
  for (const p of POLLUTANTS) {
    const c = pollutants[p];
    if (!c) continue;
    if (!category || c.rank > category.rank) {
      category = c;
      responsible.length = 0;
      responsible.push(p);
    } else if (c.rank === category.rank) responsible.push(p);
  }
  return { at: t, version, category, responsible, pollutants, unrated };
}

/**
 * Hourly averages from raw station readings. A reading (window ending at `ts`, `windowS` long)
 * belongs to the clock hour containing its end; its weight is its window. An hour is valid when
 * its readings cover ≥ `minCoverage` of it (default 75 %).
 */
export class HourlyAverager {
  private hours = new Map<MeasuredPollutant, Map<number, { sum: number; w: number }>>();
  constructor(
    private readonly minCoverage = DEFAULT_MIN_HOUR_COVERAGE,
    private readonly keepHours = 26,
  ) {}

  static hourOf(ts: number): number {
    return Math.floor((ts - 1) / HOUR_MS) * HOUR_MS;
  }

  add(r: Pick<AirReading, 'ts' | 'windowS'> & Partial<Record<MeasuredPollutant, number>>): number {
    const h = HourlyAverager.hourOf(r.ts);
    const w = Math.min(r.windowS, 3600);
    for (const p of MEASURED_POLLUTANTS) {
      const v = r[p];
      if (!valid(v)) continue;
      let m = this.hours.get(p);
      if (!m) this.hours.set(p, (m = new Map<number, { sum: number; w: number }>()));
      const b = m.get(h) ?? { sum: 0, w: 0 };
      b.sum += v * w;
      b.w += w;
      m.set(h, b);
    }
    return h;
  }

  /** Average of the hour starting at `hourStart`, or null when coverage is insufficient. */
  hourly(p: MeasuredPollutant, hourStart: number): number | null {
    const b = this.hours.get(p)?.get(hourStart);
    if (!b || b.w < this.minCoverage * 3600) return null;
    return b.sum / b.w;
  }

  /** `n` hourly values ending with the hour starting at `hourStart`, most recent first. */
  series(p: MeasuredPollutant, hourStart: number, n = 12): (number | null)[] {
    return Array.from({ length: n }, (_, i) => this.hourly(p, hourStart - i * HOUR_MS));
  }

  byPollutant(hourStart: number): Partial<Record<MeasuredPollutant, (number | null)[]>> {
    const out: Partial<Record<MeasuredPollutant, (number | null)[]>> = {};
    for (const p of this.hours.keys()) out[p] = this.series(p, hourStart, 12);
    return out;
  }

  prune(latestHour: number): void {
    const min = latestHour - this.keepHours * HOUR_MS;
    for (const m of this.hours.values()) for (const h of m.keys()) if (h < min) m.delete(h);
  }
}
