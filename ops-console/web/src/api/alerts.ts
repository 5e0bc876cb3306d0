/**
 * The console's alert actions and queries (routes in ops-console/api/routes/alerts.ts). Every
 * answer that carries an alert is merged into the live model at once, without waiting for the
 * stream; the stream then brings the same change to every other console.
 */
import type { Alert, Role } from '../../../shared/live';
import type { LiveModel } from '../live/model';
import { api } from './client';

export type AlertAction = 'ack' | 'assign' | 'comment' | 'resolve';
export interface ActBody {
  note?: string;
  assignee?: string;
}

export async function actOnAlert(model: LiveModel, id: string, action: AlertAction, body: ActBody = {}): Promise<Alert> {
  const a = await api<Alert>(`/api/alerts/${encodeURIComponent(id)}/${action}`, { method: 'POST', body });
  model.upsertAlert(a);
  return a;
}

export interface BulkResult {
  done: number;
  failed: number;
  results: { id: string; ok: boolean; code?: string; message?: string; alert?: Alert }[];
}
export async function bulkAct(model: LiveModel, ids: string[], action: AlertAction, body: ActBody = {}): Promise<BulkResult> {
  const r = await api<BulkResult>('/api/alerts/bulk', { method: 'POST', body: { ids, action, ...body } });
  for (const x of r.results) if (x.alert) model.upsertAlert(x.alert);
  return r;
}

/** One call: the plate of a hotlist hit (the API writes the audit log). */
export const revealPlate = (id: string) => api<{ alertId: string; plate: string; region?: string }>(`/api/alerts/${encodeURIComponent(id)}/reveal`, { method: 'POST', body: {} });

export interface AlertQuery {
  state?: string;
  severity?: string;
  rule?: string;
  kind?: string;
  district?: string;
  from?: number;
  to?: number;
}
export function listAlerts(q: AlertQuery, signal?: AbortSignal): Promise<{ alerts: Alert[] }> {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '' && !(typeof v === 'number' && Number.isNaN(v))) p.set(k, String(v));
  p.set('limit', '1000');
  return api(`/api/alerts?${p}`, { signal });
}
export const getAlert = (id: string) => api<Alert>(`/api/alerts/${encodeURIComponent(id)}`);
export const listAssignees = () => api<{ users: { username: string; role: Role }[] }>('/api/alerts/assignees');

/** When the alert was escalated (its latest escalate event), if it was. */
export function escalatedAt(a: Alert): number | null {
  if (!a.escalated) return null;
  const e = a.history.filter((h) => h.event === 'escalate').at(-1);
  return e?.at ?? a.updatedAt;
}
export const isActive = (a: Alert): boolean => a.state === 'open' || a.state === 'acknowledged';
