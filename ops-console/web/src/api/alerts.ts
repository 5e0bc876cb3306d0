/** Alert transitions (POST /api/alerts/:id/ack|resolve); the answer is merged into the live model at once. */
import type { Alert } from '../../../shared/live';
import type { LiveModel } from '../live/model';
import { api } from './client';

export type AlertAction = 'ack' | 'resolve';

export async function actOnAlert(model: LiveModel, id: string, action: AlertAction, note?: string): Promise<Alert> {
  const a = await api<Alert>(`/api/alerts/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: note ? { note } : {} });
  model.upsertAlert(a);
  return a;
}
