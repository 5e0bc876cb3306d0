/**
 * Alerts repository: the folded alerts (memory for the active ones + ops DB for all) and their
 * history. `apply(event)` folds an AlertEvent, persists it and notifies listeners (the live hub).
 *
 * The ops DB is the authority (several API nodes may share it, OPS_DB_URL): `apply` folds from
 * the stored alert and writes it back only if nobody changed it meanwhile (a revision number,
 * compare-and-set in one upsert); on a lost race it folds again from the new state. A console
 * transition passes the states it may start from, so of two operators acknowledging one alert on
 * two nodes one wins and the other gets 409 E_ALERT_STATE — and the history holds one ack.
 */
import fp from 'fastify-plugin';
import type { AlertEvent } from '../../../../contract';
import type { Alert } from '../../../shared/live';
import { foldAlert, isActive } from '../../lib/alert-fold';
import { conflict } from '../../lib/errors';
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
  /**
   * Fold, store, notify. `opts.from`: the states the alert must be in (a console transition);
   * otherwise 409 E_ALERT_STATE. null = nothing changed (an event already applied, e.g. by another node).
   */
  apply(ev: AlertEvent, opts?: { from?: readonly Alert['state'][] }): Promise<Alert | null>;
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

const ALERT_COLS = ['rule', 'severity', 'state', 'device_id', 'kind', 'district', 'title', 'detail', 'opened_at', 'updated_at', 'assignee', 'escalated', 'code', 'params', 'rev'];
/** one event's identity, as foldAlert's duplicate check sees it (event, time, author) */
const eventKey = (ev: AlertEvent): string => `${ev.alertId}|${ev.event}|${ev.at}|${ev.by ?? ''}`;
/** lost compare-and-set races before apply gives up (each retry folds from the newer state) */
const MAX_RACES = 8;

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
    const rows = await db.all(`SELECT alert_id, event, at_ms, by_whom, note, assignee FROM alert_history WHERE alert_id IN (${ids.map((_, i) => `$${i + 1}`).join(',')}) ORDER BY at_ms`, ids);
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
  const revs = new WeakMap<Alert, number>();
  const load = async (where: string, params: (string | number)[], limit?: number): Promise<Alert[]> => {
    const rows = await db.all(`SELECT * FROM alerts ${where} ORDER BY updated_at DESC${limit ? ` LIMIT ${limit}` : ''}`, params);
    const hist = await historyOf(rows.map((r) => String(r.id)));
    return rows.map((r) => {
      const a = fromRow(r, hist.get(String(r.id)) ?? []);
      revs.set(a, Number(r.rev ?? 0));
      return a;
    });
  };

  for (const a of await load(`WHERE state IN ('open','acknowledged')`, [])) activeMap.set(a.id, a);

  /** the cached active set follows what the DB says (another node may have changed an alert) */
  const remember = (a: Alert): void => {
    const had = activeMap.get(a.id);
    const same = had && had.state === a.state && had.updatedAt === a.updatedAt && had.history.length === a.history.length && had.severity === a.severity && had.assignee === a.assignee;
    if (isActive(a)) activeMap.set(a.id, a);
    else activeMap.delete(a.id);
    if (had ? !same : isActive(a)) for (const l of listeners) l(a);
  };
  const fetchOne = async (id: string): Promise<Alert | undefined> => (await load('WHERE id = $1', [id]))[0];
  const get = async (id: string): Promise<Alert | undefined> => {
    const a = await fetchOne(id);
    if (a) remember(a);
    return a;
  };

  // events are applied one at a time: two events of one alert arriving together (open, then
  // update) must not both fold from the same previous state
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };

  return {
    apply: (ev, opts) =>
      serial(async () => {
        const key = eventKey(ev);
        const stateCheck = (prev: Alert | undefined) => {
          if (!opts?.from || (prev && opts.from.includes(prev.state))) return null;
          const last = prev?.history.at(-1);
          return conflict('E_ALERT_STATE', `cannot ${ev.event} an alert that is ${prev?.state ?? 'unknown'}${last?.by ? ` (last change: ${last.event} by ${last.by})` : ''}`);
        };
        // a console transition checks the stored state; an event from the bus may fold from the
        // cached active alert (the compare-and-set below finds out if another node changed it)
        let prev = opts?.from ? await fetchOne(ev.alertId) : (activeMap.get(ev.alertId) ?? (await fetchOne(ev.alertId)));
        const refused = stateCheck(prev);
        if (refused) {
          if (prev) remember(prev);
          throw refused;
        }
        const mine = (h: Alert['history'][number]) => h.event === ev.event && h.at === ev.at && (h.by ?? null) === (ev.by ?? null);
        if (prev?.history.some(mine)) {
          // already applied (here, by another node, or before event keys existed)
          remember(prev);
          return null;
        }
        // claim the event: of the nodes that receive one event (MQTT reaches them all), one stores it
        const claimed = await db.all(
          'INSERT INTO alert_history (alert_id, event, at_ms, by_whom, note, assignee, event_key) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (event_key) DO NOTHING RETURNING alert_id',
          [ev.alertId, ev.event, ev.at, ev.by ?? null, ev.note ?? null, ev.event === 'assign' ? (ev.assignee ?? null) : null, key],
        );
        if (!claimed.length) {
          // stored by another node: follow what it wrote
          const now = await fetchOne(ev.alertId);
          if (now) remember(now);
          return null;
        }
        for (let race = 0; ; race++) {
          if (race > 0) {
            prev = await fetchOne(ev.alertId);
            const late = stateCheck(prev);
            if (late) {
              // someone else's transition won meanwhile: ours leaves no trace
              await db.run('DELETE FROM alert_history WHERE event_key = $1', [key]);
              if (prev) remember(prev);
              throw late;
            }
          }
          // fold from the stored alert; its history (read after the claim) may list this event already
          const base = prev ? { ...prev, history: prev.history.filter((h) => !mine(h)) } : undefined;
          const next = foldAlert(base, ev);
          if (!next) return null;
          const rev = prev ? (revs.get(prev) ?? 0) : -1;
          // compare-and-set: the row is written only if its revision is still the one we folded from
          const won = await db.all(
            `INSERT INTO alerts (id, ${ALERT_COLS.join(', ')})
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)
           ON CONFLICT (id) DO UPDATE SET ${ALERT_COLS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
           WHERE COALESCE(alerts.rev, 0) = $17 RETURNING id`,
            [
              next.id,
              next.rule,
              next.severity,
              next.state,
              next.deviceId,
              next.kind,
              next.district,
              next.title,
              next.detail ? JSON.stringify(next.detail) : null,
              next.openedAt,
              next.updatedAt,
              next.assignee ?? null,
              next.escalated ?? false,
              next.code ?? null,
              next.params ? JSON.stringify(next.params) : null,
              Math.max(0, rev) + 1,
              rev,
            ],
          );
          if (!won.length) {
            if (race < MAX_RACES) continue;
            await db.run('DELETE FROM alert_history WHERE event_key = $1', [key]);
            throw conflict('E_ALERT_BUSY', `alert ${ev.alertId} keeps changing; try again`);
          }
          revs.set(next, Math.max(0, rev) + 1);
          if (isActive(next)) activeMap.set(next.id, next);
          else activeMap.delete(next.id);
          for (const l of listeners) l(next);
          return next;
        }
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
