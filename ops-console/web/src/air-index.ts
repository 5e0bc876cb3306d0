/**
 * The device panel's Índice AIRE Y SALUD (NOM-172-SEMARNAT-2023): the station's latest hourly
 * index from the API (GET /api/history/air-index: NowCast for particles, CO 8-h average, the
 * rules' own computation) with the responsible pollutant, or — before the station has a valid
 * hour — an indicative one from its latest reading. Both rate values with the rules' tables
 * (norms/aire-salud.ts); nothing here re-declares a band.
 */
import type { AirReading } from '../../../contract';
import type { AirIndexRow } from '../../shared/api';
import { categoryFor, HOUR_MS, MEASURED_POLLUTANTS, POLLUTANTS, tableFor, type Pollutant } from '../../../norms/aire-salud';
import { t, type Lang } from './i18n';

export interface AirIndexView {
  category: string;
  responsible: string[];
  pollutants: Record<string, { category: string; value: number; unit: string }>;
  /** start of the hour rated; null = indicative, from the latest reading */
  hour: number | null;
}

/**
 * The latest complete hour that has an index (rows of one station, any order); null when none.
 * The hour still running is left out: its 1-hour indicators (O₃, NO₂, SO₂) are not valid yet.
 */
export function latestIndex(rows: AirIndexRow[] | undefined, now = Date.now()): AirIndexView | null {
  let best: AirIndexRow | null = null;
  for (const r of rows ?? []) if (r.category && r.hour + HOUR_MS <= now && (!best || r.hour > best.hour)) best = r;
  return best ? { category: best.category!, responsible: best.responsible, pollutants: best.pollutants, hour: best.hour } : null;
}

/** Indicative index of one reading: each pollutant's value against its band, the worst responsible. */
export function indicativeIndex(r: Partial<AirReading> | undefined | null): AirIndexView | null {
  if (!r) return null;
  const pollutants: AirIndexView['pollutants'] = {};
  let worst = -1;
  let responsible: string[] = [];
  for (const p of MEASURED_POLLUTANTS) {
    const c = categoryFor(p, r[p], r.ts ?? Date.now());
    if (!c) continue;
    pollutants[p] = { category: c.id, value: c.value, unit: c.unit };
    if (c.rank > worst) {
      worst = c.rank;
      responsible = [p];
    } else if (c.rank === worst) responsible.push(p);
  }
  if (worst < 0) return null;
  return { category: pollutants[responsible[0]!]!.category, responsible, pollutants, hour: null };
}

/** A pollutant's name as the panel shows it (PM2.5, O₃ (ozono), O₃ (8 h), CO …). */
export function pollutantLabel(lang: Lang, p: string): string {
  return p === 'o3_8h' ? t(lang, 'pollutant_o3_8h') : t(lang, `field_air_${p}`);
}

/** How the pollutant's indicator is computed (NowCast de 12 h, promedio móvil de 8 h, promedio de 1 h). */
export function indicatorLabel(lang: Lang, p: string): string {
  const ind = (POLLUTANTS as readonly string[]).includes(p) ? tableFor(p as Pollutant)?.indicator : undefined;
  if (!ind) return '';
  return t(lang, `ind_${ind.kind}`, 'hours' in ind ? { hours: ind.hours } : undefined);
}

/** A value in the Mexican format with the table's decimals and unit: 38 µg/m³, 0.071 ppm. */
export function fmtIndicator(lang: Lang, p: string, v: { value: number; unit: string }): string {
  const dec = (POLLUTANTS as readonly string[]).includes(p) ? (tableFor(p as Pollutant)?.decimals ?? 3) : 3;
  const n = new Intl.NumberFormat(lang === 'es' ? 'es-MX' : 'en-US', { minimumFractionDigits: dec, maximumFractionDigits: dec }).format(v.value);
  return `${n} ${v.unit}`;
}
