/** Local calendar days of the city (IANA zone) covering a time range. */
import { localParts, localToUtc } from '../../../norms/local-time';

export interface LocalDay {
  /** YYYY-MM-DD in the zone */
  date: string;
  /** [start, end) in ms, clipped to the requested range */
  from: number;
  to: number;
  /** the whole local day, unclipped */
  dayStart: number;
  dayEnd: number;
}

const nextDate = (date: string): string => {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
};

export function localDays(from: number, to: number, tz: string): LocalDay[] {
  const out: LocalDay[] = [];
  let date = localParts(from, tz).date;
  for (;;) {
    const dayStart = localToUtc(date, '00:00', tz);
    const next = nextDate(date);
    const dayEnd = localToUtc(next, '00:00', tz);
    if (dayStart >= to) break;
    out.push({ date, from: Math.max(from, dayStart), to: Math.min(to, dayEnd), dayStart, dayEnd });
    date = next;
  }
  return out;
}
