/**
 * Plate text in alerts, for roles that may not see plates (everyone but admin/investigator).
 * Hotlist-hit alerts (ingest/rules/hotlist-rule.ts) carry the plate in `detail.plate`,
 * `params.plate` (the catalogue's `hotlist` code) and in the title, and the rules put the
 * (normalized) plate in the alert id too. `redact` replaces it with PLATE_HIDDEN in title,
 * params, detail and history notes (any spelling: case, dashes, spaces), and in the
 * id with a keyed hash (`p` + 12 hex, HMAC-SHA256 with a server secret: stable, not reversible
 * by trying plates), so operators can still act on the alert (`findByRedactedId`). Alerts
 * without a plate are returned unchanged.
 */
import { createHmac } from 'node:crypto';
import type { Alert } from '../../shared/live';

export const PLATE_HIDDEN = '[placa oculta]';

const escape = (c: string) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A pattern for `plate` as written anywhere: case-insensitive, optional dash/space between characters. */
function platePattern(plate: string): RegExp | null {
  const chars = [...plate.toUpperCase().replace(/[\s-]/g, '')];
  if (chars.length < 2) return null;
  return new RegExp(chars.map(escape).join('[\\s-]?'), 'gi');
}

function scrub(v: unknown, re: RegExp): unknown {
  if (typeof v === 'string') return v.replace(re, PLATE_HIDDEN);
  if (Array.isArray(v)) return v.map((x) => scrub(x, re));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x, re)]));
  return v;
}

/** the plate an alert carries (detail or params), if any */
export function plateOf(a: Pick<Alert, 'detail' | 'params'>): string | null {
  for (const p of [a.detail?.plate, a.params?.plate]) if (typeof p === 'string' && p.length > 0 && p !== PLATE_HIDDEN) return p;
  return null;
}
export function hasPlate(a: Alert): boolean {
  return plateOf(a) !== null;
}

export interface AlertRedactor {
  /** the alert without plate text (unchanged when it has none) */
  redact: (a: Alert) => Alert;
  /** the alerts as `plates` allows (unchanged for plate roles) */
  alertsFor(alerts: Alert[], plates: boolean): Alert[];
}

export function createAlertRedactor(key: string): AlertRedactor {
  const token = (plate: string) => `p${createHmac('sha256', key).update(plate.toUpperCase().replace(/[\s-]/g, '')).digest('hex').slice(0, 12)}`;
  const redact = (a: Alert): Alert => {
    const plate = plateOf(a);
    if (!plate) return a;
    const re = platePattern(plate);
    const hide = (o: Record<string, unknown>) => {
      const scrubbed = (re ? scrub(o, re) : o) as Record<string, unknown>;
      return 'plate' in o ? { ...scrubbed, plate: PLATE_HIDDEN } : scrubbed;
    };
    const out: Alert = re
      ? {
          ...a,
          id: a.id.replace(re, token(plate)),
          title: a.title.replace(re, PLATE_HIDDEN),
          history: a.history.map((h) => (h.note ? { ...h, note: h.note.replace(re, PLATE_HIDDEN) } : h)),
        }
      : { ...a };
    if (a.detail) out.detail = hide(a.detail);
    if (a.params) out.params = hide(a.params) as NonNullable<Alert['params']>;
    return out;
  };
  return { redact, alertsFor: (alerts, plates) => (plates ? alerts : alerts.map(redact)) };
}
