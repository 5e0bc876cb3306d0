/** Local-day helpers for date inputs, in the city's time zone (default CITY_TZ); the offset math is the city clock's (norms/local-time.ts). */
import { CITY_TZ, localParts, tzOffsetMs } from '../../../norms/local-time';
export function localDate(ts: number, timeZone = CITY_TZ): string {
  return localParts(ts, timeZone).date;
}
/** Offset of the zone at `ts`, in ms (local − UTC). */
export function zoneOffsetMs(ts: number, timeZone = CITY_TZ): number {
  return tzOffsetMs(ts, timeZone);
}
/** 'YYYY-MM-DD' local midnight → epoch ms. */
export function dayStart(date: string, timeZone = CITY_TZ): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  return guess - zoneOffsetMs(guess, timeZone);
}
/** 'YYYY-MM-DDTHH:mm' local → epoch ms. */
export function localDateTime(v: string, timeZone = CITY_TZ): number {
  const [date, time = '00:00'] = v.split('T') as [string, string?];
  const [hh, mm] = time.split(':').map(Number) as [number, number];
  return dayStart(date, timeZone) + hh * 3_600_000 + mm * 60_000;
}
export function toLocalInput(ts: number, timeZone = CITY_TZ): string {
  const local = new Date(ts + zoneOffsetMs(ts, timeZone));
  return local.toISOString().slice(0, 16);
}

/**
 * A Mexican-format local date and time typed by a user, "dd/mm/aaaa" or "dd/mm/aaaa hh:mm"
 * (24 h), as the 'YYYY-MM-DDTHH:mm' that localDateTime takes; null when it is not a real date.
 */
export function parseMxDateTime(text: string): string | null {
  const m = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})(?:[\s,]+(\d{1,2}):(\d{2}))?\s*$/.exec(text);
  if (!m) return null;
  const [d, mo, y, h = 0, mi = 0] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x))) as number[];
  if (mo! < 1 || mo! > 12 || d! < 1 || h! > 23 || mi! > 59) return null;
  if (d! > new Date(Date.UTC(y!, mo!, 0)).getUTCDate()) return null;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${y}-${p(mo!)}-${p(d!)}T${p(h!)}:${p(mi!)}`;
}
