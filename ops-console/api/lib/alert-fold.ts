/**
 * Folding AlertEvents (contract/records.ts) into the console's Alert (ops-console/shared/live.ts).
 * Pure. Idempotent: an event already in the alert's history (same event, time and author) is
 * ignored, so the console's own transitions echoed back by the broker are not applied twice.
 */
import type { AlertEvent } from '../../../contract';
import type { Alert } from '../../shared/live';

/** Console transitions: the event each one publishes and the states it may start from. */
export const TRANSITIONS = {
  ack: { event: 'acknowledge', from: ['open'] },
  assign: { event: 'assign', from: ['open', 'acknowledged'] },
  resolve: { event: 'resolve', from: ['open', 'acknowledged'] },
  comment: { event: 'comment', from: ['open', 'acknowledged', 'resolved', 'auto_resolved'] },
} as const;
export type TransitionName = keyof typeof TRANSITIONS;

export const isActive = (a: Alert): boolean => a.state === 'open' || a.state === 'acknowledged';

/** Apply one event. Returns the new alert, or null when the event changes nothing (duplicate). */
export function foldAlert(prev: Alert | undefined, ev: AlertEvent): Alert | null {
  if (prev && prev.history.some((h) => h.event === ev.event && h.at === ev.at && (h.by ?? null) === (ev.by ?? null))) return null;
  const base: Alert = prev
    ? { ...prev, history: [...prev.history] }
    : {
        id: ev.alertId,
        rule: ev.rule,
        severity: ev.severity,
        state: 'open',
        deviceId: ev.deviceId,
        kind: ev.kind,
        district: ev.district,
        title: ev.title,
        ...(ev.code ? { code: ev.code } : {}),
        ...(ev.params ? { params: ev.params } : {}),
        ...(ev.detail ? { detail: ev.detail } : {}),
        openedAt: ev.at,
        updatedAt: ev.at,
        history: [],
      };
  const a = base;
  a.history.push({
    event: ev.event,
    at: ev.at,
    ...(ev.by ? { by: ev.by } : {}),
    ...(ev.note ? { note: ev.note } : {}),
    ...(ev.event === 'assign' && ev.assignee ? { assignee: ev.assignee } : {}),
  });
  a.history.sort((x, y) => x.at - y.at);
  a.updatedAt = Math.max(a.updatedAt, ev.at);
  switch (ev.event) {
    case 'open':
      // a re-opened alert (same id after a resolution) starts again
      if (prev && !isActive(prev)) {
        a.state = 'open';
        a.openedAt = ev.at;
        delete a.assignee;
        delete a.escalated;
      }
      phrase(a, ev);
      break;
    case 'update':
      phrase(a, ev);
      break;
    case 'escalate':
      a.severity = ev.severity;
      a.escalated = true;
      break;
    case 'auto_resolve':
      if (isActive(a)) a.state = 'auto_resolved';
      break;
    case 'acknowledge':
      if (a.state === 'open') a.state = 'acknowledged';
      break;
    case 'assign':
      if (ev.assignee) a.assignee = ev.assignee;
      break;
    case 'resolve':
      a.state = 'resolved';
      break;
    case 'comment':
      // history only
      break;
  }
  return a;
}

/** What a rule's open/update says: severity, the English fallback, code + params, detail. */
function phrase(a: Alert, ev: AlertEvent): void {
  a.severity = ev.severity;
  a.title = ev.title;
  if (ev.code) a.code = ev.code;
  if (ev.params) a.params = ev.params;
  if (ev.detail) a.detail = ev.detail;
}
