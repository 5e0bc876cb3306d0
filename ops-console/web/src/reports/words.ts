/**
 * Evidence of a citizen report in plain words (i18n keys `ev_*`), from the structured evidence
 * the API computes (ops-console/shared/open311.ts). No sentence comes from the backend.
 */
import type { Evidence } from '../../../shared/open311';
import { fmtTime, t, type Lang } from '../i18n';

export function fmtNumber(lang: Lang, n: number, digits = 1): string {
  return new Intl.NumberFormat(lang === 'es' ? 'es-MX' : 'en-US', { maximumFractionDigits: digits }).format(n);
}

/** dd/mm/aaaa, 24 h, in the city's zone. */
export const fmtWhen = (lang: Lang, ts: number, tz: string): string => fmtTime(lang, ts, tz, true);

export function evidenceLines(lang: Lang, ev: Evidence | null, tz: string): string[] {
  if (!ev) return [];
  const out: string[] = [];
  const when = (ts: number) => fmtWhen(lang, ts, tz);
  const km = (m: number) => fmtNumber(lang, m);
  if (ev.segment) out.push(t(lang, 'rpStreet', { name: ev.segment.name, district: ev.segment.district }));
  const c = ev.collection;
  if (c) {
    const vars = {
      device: c.deviceId ?? '',
      distance: km(c.distanceM ?? 0),
      time: c.at ? when(c.at) : '',
      radius: km(c.radiusM),
      from: when(c.gap?.from ?? c.window.from),
      to: when(c.gap?.to ?? c.window.to),
    };
    const key = c.kind === 'not_served' ? `ev_not_served_${c.reason}` : c.kind === 'unknown' ? `ev_unknown_${c.reason}` : `ev_${c.kind}`;
    out.push(t(lang, key, vars));
    for (const r of c.routes) out.push(t(lang, 'ev_route', { route: r.routeId, from: when(r.from), to: when(r.to) }));
    if (ev.passAfterReport) out.push(t(lang, 'ev_pass_after', { device: ev.passAfterReport.deviceId, distance: km(ev.passAfterReport.distanceM), time: when(ev.passAfterReport.at) }));
    else if (ev.passAfterReport === null) out.push(t(lang, 'ev_no_pass_after'));
  }
  for (const n of ev.noise ?? []) {
    const base = { device: n.deviceId, distance: km(n.distanceM) };
    out.push(n.laeqDb === null ? t(lang, 'ev_noise_nodata', base) : t(lang, 'ev_noise', { ...base, laeq: km(n.laeqDb), limit: n.limitDb === null ? '—' : km(n.limitDb), period: t(lang, n.period) }));
  }
  for (const a of ev.air ?? []) {
    const base = { device: a.deviceId, distance: km(a.distanceM) };
    out.push(a.category ? t(lang, 'ev_air', { ...base, category: t(lang, a.category) }) : t(lang, 'ev_air_nodata', base));
  }
  return out;
}

/** Who made a change, in words (the public view has the role only). */
export const byWords = (lang: Lang, role: string, by?: string): string => (by && role !== 'public' && role !== 'system' ? `${by} · ${t(lang, `by_${role}`)}` : t(lang, `by_${role}`));
