/**
 * The city clock: wall-clock parts, offsets and local days of an instant in an IANA time zone
 * (Intl; no DST tables of our own). Browser-safe; the one copy of this math for ingest's rules,
 * the console API, the web console and the simulator.
 */

/**
 * The city's time zone when its registry or city file names none (registry `timezone`, city file
 * `timezone` and device configs carry the zone of a deployment; this is their one default).
 * Coatzacoalcos, Veracruz: Mexico's Zona Centro, UTC−6 without daylight saving since the
 * Ley de los Husos Horarios of 2022 (DOF 28-10-2022).
 */
export const CITY_TZ = 'America/Mexico_City';

const fmtCache = new Map<string, Intl.DateTimeFormat>();

function fmt(tz: string): Intl.DateTimeFormat {
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    fmtCache.set(tz, f);
  }
  return f;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** YYYY-MM-DD in the zone */
  date: string;
}

// Intl formatting costs microseconds and the rules ask per reading: cache per (zone, minute);
// zone offsets are whole minutes, so the seconds follow from the instant.
const minuteCache = new Map<string, LocalParts>();

/** Local date and time of `at` (ms or Date) in `tz`. Throws RangeError for an unknown zone. */
export function localParts(at: number | Date, tz: string): LocalParts {
  const ms = typeof at === 'number' ? at : at.getTime();
  const minute = Math.floor(ms / 60_000);
  const key = `${tz}|${minute}`;
  const hit = minuteCache.get(key);
  const second = Math.floor((ms - minute * 60_000) / 1000);
  if (hit) return hit.second === second ? hit : { ...hit, second };
  const p = computeParts(ms, tz);
  if (minuteCache.size >= 4096) minuteCache.clear();
  minuteCache.set(key, p);
  return p;
}

function computeParts(ms: number, tz: string): LocalParts {
  const parts = fmt(tz).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? NaN);
  const p = { year: get('year'), month: get('month'), day: get('day'), hour: get('hour') % 24, minute: get('minute'), second: get('second') };
  const pad = (n: number) => String(n).padStart(2, '0');
  return { ...p, date: `${p.year}-${pad(p.month)}-${pad(p.day)}` };
}

/** Offset of `tz` from UTC at `at`, in ms (local = utc + offset). */
export function tzOffsetMs(at: number, tz: string): number {
  const p = localParts(at, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(at / 1000) * 1000;
}

/** The UTC instant of a local wall-clock time (minute precision) in `tz`. */
export function localToUtc(date: string, hhmm: string, tz: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const [hh, mm] = hhmm.split(':').map(Number) as [number, number];
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  // two passes settle DST transitions
  let t = guess - tzOffsetMs(guess, tz);
  t = guess - tzOffsetMs(t, tz);
  return t;
}

/** Is local hour `h` within [from, to) — wrapping midnight when from > to (e.g. 22 → 6). */
export function inHourRange(h: number, from: number, to: number): boolean {
  if (from === to) return true;
  return from < to ? h >= from && h < to : h >= from || h < to;
}
