/**
 * Alerts repository: the folded alerts (memory for the active ones + ops DB for all) and their
 * history. `apply(event)` folds an AlertEvent, persists it and notifies listeners (the live hub).
 */
import fp from 'fastify-plugin';
import type { AlertEvent } from '../../../../contract';
import type { Alert } from '../../../shared/live';
import { foldAlert, isActive } from '../../lib/alert-fold';
import { Where, type OpsDb, type Row } from './ops-db';

export interface AlertFilter {
  state?: Alert['state'][];
  severity?: Alert['severity'];
  deviceId?: string;
  kind?: string;
  district?: string;
  rule?: string;
  code?: string;
  assignee?: string;
  from?: number;
  to?: number;
  limit: number;
}

export interface AlertsRepo {
  apply(ev: AlertEvent): Promise<Alert | null>;
  get(id: string): Promise<Alert | undefined>;
  list(f: AlertFilter): Promise<Alert[]>;
  /** open and acknowledged alerts (for live snapshots) */
  active(): Alert[];
  onChange(fn: (a: Alert) => void): () => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    alerts: AlertsRepo;
  }
}

function fromRow(r: Row, history: Alert['history']): Alert {
  const a: Alert = {
    id: String(r.id),
    rule: String(r.rule),
    severity: r.severity as Alert['severity'],
    state: r.state as Alert['state'],
    deviceId: String(r.device_id),
    kind: String(r.kind),
    district: String(r.district),
    title: String(r.title),
    openedAt: Number(r.opened_at),
    updatedAt: Number(r.updated_at),
    history,
  };
  if (r.code) a.code = String(r.code);
  if (r.params) a.params = JSON.parse(String(r.params)) as NonNullable<Alert['params']>;
  if (r.detail) a.detail = JSON.parse(String(r.detail)) as Record<string, unknown>;
  if (r.assignee) a.assignee = String(r.assignee);
  if (r.escalated) a.escalated = true;
  return a;
}

export async function createAlertsRepo(db: OpsDb): Promise<AlertsRepo> {
  const listeners = new Set<(a: Alert) => void>();
  const activeMap = new Map<string, Alert>();

  const historyOf = async (ids: string[]): Promise<Map<string, Alert['history']>> => {
    const out = new Map<string, Alert['history']>();
    if (!ids.length) return out;
    const rows = await db.all(
      `SELECT alert_id, event, at_ms, by_whom, note, assignee FROM alert_history WHERE alert_id IN (${ids.map((_, i) => `$${i + 1}`).join(',')}) ORDER BY at_ms`,
      ids,
    );
    for (const r of rows) {
      const h = out.get(String(r.alert_id)) ?? [];
      h.push({
        event: String(r.event),
        at: Number(r.at_ms),
        ...(r.by_whom ? { by: String(r.by_whom) } : {}),
        ...(r.note ? { note: String(r.note) } : {}),
        ...(r.assignee ? { assignee: String(r.assignee) } : {}),
      });
      out.set(String(r.alert_id), h);
    }
    return out;
  };
  const load = async (where: string, params: (string | number)[], limit?: number): Promise<Alert[]> => {
    const rows = await db.all(`SELECT * FROM alerts ${where} ORDER BY updated_at DESC${limit ? ` LIMIT ${limit}` : ''}`, params);
    const hist = await historyOf(rows.map((r) => String(r.id)));
    return rows.map((r) => fromRow(r, hist.get(String(r.id)) ?? []));
  };

  for (const a of await load(`WHERE state IN ('open','acknowledged')`, [])) activeMap.set(a.id, a);

  const get = async (id: string): Promise<Alert | undefined> => activeMap.get(id) ?? (await load('WHERE id = $1', [id]))[0];

  // events are applied one at a time: two events of one alert arriving together (open, then
  // update) must not both fold from the same previous state
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };

  return {
    apply: (ev) => serial(async () => {
      const prev = await get(ev.alertId);
      const next = foldAlert(prev, ev);
      if (!next) return null;
      await db.run(
        `INSERT OR REPLACE INTO alerts (id, rule, severity, state, device_id, kind, district, title, detail, opened_at, updated_at, assignee, escalated, code, params)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
        [next.id, next.rule, next.severity, next.state, next.deviceId, next.kind, next.district, next.title,
          next.detail ? JSON.stringify(next.detail) : null, next.openedAt, next.updatedAt, next.assignee ?? null, next.escalated ?? false,
          next.code ?? null, next.params ? JSON.stringify(next.params) : null],
      );
      await db.run('INSERT INTO alert_history (alert_id, event, at_ms, by_whom, note, assignee) VALUES ($1,$2,$3,$4,$5,$6)', [
        ev.alertId, ev.event, ev.at, ev.by ?? null, ev.note ?? null, ev.event === 'assign' ? (ev.assignee ?? null) : null,
      ]);
      if (isActive(next)) activeMap.set(next.id, next);
      else activeMap.delete(next.id);
      for (const l of listeners) l(next);
      return next;
    }),
    get,
    async list(f) {
      const w = new Where();
      if (f.state?.length) w.in('state', f.state);
      if (f.severity) w.add('severity = ?', f.severity);
      if (f.deviceId) w.add('device_id = ?', f.deviceId);
      if (f.kind) w.add('kind = ?', f.kind);
      if (f.district) w.add('district = ?', f.district);
      if (f.rule) w.add('rule = ?', f.rule);
      if (f.code) w.add('code = ?', f.code);
      if (f.assignee) w.add('assignee = ?', f.assignee);
      if (f.from !== undefined) w.add('updated_at >= ?', f.from);
      if (f.to !== undefined) w.add('opened_at < ?', f.to);
      return load(w.toString(), w.params, f.limit);
    },
    active: () => [...activeMap.values()],
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

export default fp(
  async (fastify) => {
    fastify.decorate('alerts', await createAlertsRepo(fastify.opsDb));
  },
  { name: 'alerts-repo', dependencies: ['ops-db'] },
);
