/**
 * Human labels and units of the device contract's fields (device panel): the unit comes from the
 * contract's `x-unit` (one source), the label from the dictionary (`field_<stream>_<name>`), and
 * numbers in the user's locale (es-MX: 1,234.5). Fields that only matter to machines are hidden.
 */
import { STREAM_SCHEMAS } from '../../../contract/payloads';
import type { Lang } from './i18n';

const HIDDEN = new Set(['ts', 'windowS', 'lat', 'lon', 'frames']);
const UNIT_SHOWN: Record<string, string> = { '1': '', 'lane number': '', 'degrees (WGS84)': '°', 'degrees from true north': '°', frames: '' };

export function fieldUnit(stream: string, field: string): string {
  const props = (STREAM_SCHEMAS as Record<string, { properties?: Record<string, { 'x-unit'?: string }> }>)[stream]?.properties ?? {};
  const u = props[field]?.['x-unit'] ?? '';
  return u in UNIT_SHOWN ? UNIT_SHOWN[u]! : u;
}

export const fieldShown = (field: string): boolean => !HIDDEN.has(field);

export function fmtField(lang: Lang, stream: string, field: string, v: unknown): string {
  if (typeof v === 'number') {
    const digits = field === 'confidence' ? 2 : Number.isInteger(v) ? 0 : Math.abs(v) < 1 ? 3 : 1;
    const n =
      field === 'confidence'
        ? `${new Intl.NumberFormat(lang === 'es' ? 'es-MX' : 'en-US', { maximumFractionDigits: 0 }).format(v * 100)} %`
        : new Intl.NumberFormat(lang === 'es' ? 'es-MX' : 'en-US', { maximumFractionDigits: digits }).format(v);
    const unit = field === 'confidence' ? '' : fieldUnit(stream, field);
    return unit ? `${n} ${unit}` : n;
  }
  return String(v);
}
