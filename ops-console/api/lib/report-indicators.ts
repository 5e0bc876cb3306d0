/**
 * Indicators of citizen reports, per service and district: reports (duplicates apart, linked, not
 * counted twice), share closed on time against each service's SLA (OPEN311_SLA_HOURS), median
 * time to close, share closed without evidence (closed as fixed with no truck pass after the
 * report), share reopened; and a daily series (local days of the city). Aggregates only.
 */
import { SERVICE_CODES, type DailyRow, type IndicatorRow, type Indicators, type ServiceCode, type ServiceReport } from '../../shared/open311';
import { localParts } from '../../../norms/local-time';
import { ConfigError } from '../../../lib/config';

export type SlaHours = Record<ServiceCode, number>;

/** OPEN311_SLA_HOURS → hours per service (services left out take `other`'s, else 72). Throws ConfigError naming the variable. */
export function parseSlaHours(spec: string): SlaHours {
  const given: Partial<Record<ServiceCode, number>> = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [code, h] = part.split('=') as [string, string];
    if (!(SERVICE_CODES as readonly string[]).includes(code))
      throw new ConfigError(`invalid configuration:\n  OPEN311_SLA_HOURS=${JSON.stringify(spec)}: unknown service code ${code} (known: ${SERVICE_CODES.join(', ')})`);
    const n = Number(h);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`invalid configuration:\n  OPEN311_SLA_HOURS=${JSON.stringify(spec)}: ${code} needs a whole number of hours ≥ 1`);
    given[code as ServiceCode] = n;
  }
  const fallback = given.other ?? 72;
  return Object.fromEntries(SERVICE_CODES.map((c) => [c, given[c] ?? fallback])) as SlaHours;
}

export function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const share = (n: number, d: number): number | null => (d ? Math.round((n / d) * 1000) / 1000 : null);

export function indicators(reports: ServiceReport[], sla: SlaHours, tz: string, from: number, to: number): Indicators {
  const groups = new Map<string, ServiceReport[]>();
  for (const r of reports) {
    const k = `${r.serviceCode}|${r.district ?? ''}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const rows: IndicatorRow[] = [];
  for (const [k, list] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const [serviceCode, district] = k.split('|') as [ServiceCode, string];
    const counted = list.filter((r) => !r.duplicateOf);
    const closed = counted.filter((r) => r.status === 'closed' && r.closedAt !== null);
    const hours = closed.map((r) => (r.closedAt! - r.requestedAt) / 3_600_000);
    const onTime = hours.filter((h) => h <= sla[serviceCode]).length;
    const withoutEv = closed.filter((r) => r.closedWithoutEvidence).length;
    const reopened = counted.filter((r) => r.reopened > 0).length;
    const med = median(hours);
    rows.push({
      serviceCode,
      district,
      reports: counted.length,
      duplicates: list.length - counted.length,
      closed: closed.length,
      closedOnTime: onTime,
      onTimeShare: share(onTime, closed.length),
      slaHours: sla[serviceCode],
      medianHoursToClose: med === null ? null : Math.round(med * 10) / 10,
      closedWithoutEvidence: withoutEv,
      closedWithoutEvidenceShare: share(withoutEv, closed.length),
      reopened,
      reopenedShare: share(reopened, counted.length),
    });
  }
  const daily = new Map<string, DailyRow>();
  const bump = (at: number, r: ServiceReport, field: 'opened' | 'closed') => {
    if (at < from || at >= to) return;
    const date = localParts(at, tz).date;
    const k = `${date}|${r.serviceCode}|${r.district ?? ''}`;
    const row = daily.get(k) ?? { date, serviceCode: r.serviceCode, district: r.district ?? '', opened: 0, closed: 0 };
    row[field]++;
    daily.set(k, row);
  };
  for (const r of reports) {
    if (r.duplicateOf) continue;
    bump(r.requestedAt, r, 'opened');
    if (r.closedAt !== null && r.status === 'closed') bump(r.closedAt, r, 'closed');
  }
  return { from, to, rows, daily: [...daily.values()].sort((a, b) => a.date.localeCompare(b.date) || a.serviceCode.localeCompare(b.serviceCode) || a.district.localeCompare(b.district)) };
}
