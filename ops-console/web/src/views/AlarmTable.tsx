/**
 * The alarm table beside the map (ThingsBoard's alarm table is the floor): filters by state,
 * severity, rule, kind, district and time (GET /api/alerts), grouping by rule, selection with
 * bulk acknowledge / resolve (with a note), and one alert's detail: its phrase, escalation,
 * actions (acknowledge, assign to a console user, resolve, reveal a plate), comments with author
 * and time, and its full history. Refetched whenever the live stream changes an alert.
 */
import { Fragment, useEffect, useMemo, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { Alert } from '../../../shared/live';
import { RULE_TEXT, ruleName } from '../../../shared/alert-text';
import { actOnAlert, bulkAct, getAlert, isActive, listAlerts, type AlertQuery } from '../api/alerts';
import { SEVERITY_COLORS } from '../colors';
import { useConsole, useThrottledAlertsRevision } from '../context';
import { localDateTime, parseMxDateTime } from '../dates';
import { fmtTime } from '../i18n';
import { canActOnAlerts } from '../roles';
import { AlertActions, EscalatedBadge } from './AlertsPanel';
import { errorKey, openAlertDialog, phrase, useRevealVersion } from './alert-ui';
import '../alerts.css';

const STATES = ['active', 'open', 'acknowledged', 'resolved', 'auto_resolved', 'all'] as const;
const SEVERITIES = ['critical', 'warning', 'info'] as const;
const KINDS = ['truck', 'air', 'noise', 'camera'] as const;
const KIND_KEYS: Record<string, string> = { truck: 'trucks', air: 'air', noise: 'noise', camera: 'cameras' };

interface Filters {
  state: string;
  severity: string;
  rule: string;
  kind: string;
  district: string;
  from: string;
  to: string;
}
const NO_FILTERS: Filters = { state: 'active', severity: '', rule: '', kind: '', district: '', from: '', to: '' };

export function AlarmTable() {
  const { t, lang, timeZone, model, devices, session } = useConsole();
  const rev = useThrottledAlertsRevision(model);
  useRevealVersion();
  const [f, setF] = useState<Filters>(NO_FILTERS);
  const [group, setGroup] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<string | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const canAct = canActOnAlerts(session.role);

  const query: AlertQuery = {
    state: f.state,
    severity: f.severity || undefined,
    rule: f.rule || undefined,
    kind: f.kind || undefined,
    district: f.district || undefined,
    from: parsedOrUndefined(f.from, timeZone),
    to: parsedOrUndefined(f.to, timeZone),
  };
  const q = useQuery({ queryKey: ['alerts', query, rev], queryFn: ({ signal }) => listAlerts(query, signal), placeholderData: keepPreviousData });
  const rows = useMemo(() => q.data?.alerts ?? [], [q.data]);
  const districts = useMemo(() => [...new Set(devices.map((d) => d.district))].sort(), [devices]);
  const rules = useMemo(() => [...new Set([...Object.keys(RULE_TEXT), ...rows.map((a) => a.rule)])].sort((a, b) => ruleName(lang, a).localeCompare(ruleName(lang, b), lang)), [rows, lang]);
  // a selection only holds rows that are shown
  useEffect(() => {
    const shown = new Set(rows.map((a) => a.id));
    setSelected((s) => ([...s].every((id) => shown.has(id)) ? s : new Set([...s].filter((id) => shown.has(id)))));
  }, [rows]);

  const groups = useMemo(() => {
    if (!group) return [{ rule: '', alerts: rows }];
    const m = new Map<string, Alert[]>();
    for (const a of rows) m.set(a.rule, [...(m.get(a.rule) ?? []), a]);
    return [...m.entries()].map(([rule, alerts]) => ({ rule, alerts })).sort((a, b) => b.alerts.length - a.alerts.length);
  }, [rows, group]);

  const set = (k: keyof Filters) => (e: React.ChangeEvent<HTMLSelectElement | HTMLInputElement>) => setF({ ...f, [k]: e.target.value });
  const toggle = (ids: string[], on: boolean) => {
    const s = new Set(selected);
    for (const id of ids) on ? s.add(id) : s.delete(id);
    setSelected(s);
  };
  const selectedAlerts = rows.filter((a) => selected.has(a.id));
  const bulkAck = async () => {
    const ids = selectedAlerts.filter((a) => a.state === 'open').map((a) => a.id);
    if (!ids.length) return;
    setBusy(true);
    setMsg(null);
    try {
      const r = await bulkAct(model, ids, 'ack');
      setMsg(r.failed ? t('bulkPartial', { done: r.done, failed: r.failed }) : t('bulkDone', { done: r.done }));
      setSelected(new Set());
      await q.refetch();
    } catch (e) {
      const k = errorKey(e);
      setMsg(t(k.key, k.vars));
    } finally {
      setBusy(false);
    }
  };
  const bulkResolve = () => {
    const ids = selectedAlerts.filter(isActive).map((a) => a.id);
    if (ids.length)
      openAlertDialog({
        kind: 'resolve',
        ids,
        onDone: () => {
          setSelected(new Set());
          void q.refetch();
        },
      });
  };
  const allIds = rows.map((a) => a.id);

  return (
    <section className="panel alarm-table" aria-label={t('alarmTable')} data-testid="alarm-table">
      <div className="panel-head">
        <h2>
          {t('alarmTable')}{' '}
          <span className="count" data-testid="alarm-count">
            {rows.length}
          </span>
        </h2>
        <button className="btn" onClick={() => setF(NO_FILTERS)} data-testid="filter-reset">
          {t('clearFilters')}
        </button>
      </div>
      <div className="filters">
        <label className="field">
          {t('state')}
          <select value={f.state} onChange={set('state')} data-testid="filter-state">
            {STATES.map((s) => (
              <option key={s} value={s}>
                {t(s === 'active' ? 'stateActive' : s === 'all' ? 'stateAll' : s)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('severity')}
          <select value={f.severity} onChange={set('severity')} data-testid="filter-severity">
            <option value="">{t('any')}</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {t(s)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('rule')}
          <select value={f.rule} onChange={set('rule')} data-testid="filter-rule">
            <option value="">{t('any')}</option>
            {rules.map((r) => (
              <option key={r} value={r}>
                {ruleName(lang, r)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('kind')}
          <select value={f.kind} onChange={set('kind')} data-testid="filter-kind">
            <option value="">{t('any')}</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(KIND_KEYS[k]!)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('district')}
          <select value={f.district} onChange={set('district')} data-testid="filter-district">
            <option value="">{t('allDistricts')}</option>
            {districts.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('from')}
          <DateTimeInput value={f.from} onChange={set('from')} testId="filter-from" />
        </label>
        <label className="field">
          {t('to')}
          <DateTimeInput value={f.to} onChange={set('to')} testId="filter-to" />
        </label>
        <label className="check">
          <input type="checkbox" checked={group} onChange={(e) => setGroup(e.target.checked)} data-testid="group-by-rule" />
          {t('groupByRule')}
        </label>
      </div>
      {canAct && (
        <div className="row bulk-bar">
          <span className="muted">{t('selectedN', { n: selectedAlerts.length })}</span>
          <button className="btn btn-ack" disabled={busy || !selectedAlerts.some((a) => a.state === 'open')} onClick={bulkAck} data-testid="bulk-ack">
            {t('bulkAck')}
          </button>
          <button className="btn btn-resolve" disabled={busy || !selectedAlerts.some(isActive)} onClick={bulkResolve} data-testid="bulk-resolve">
            {t('bulkResolve')}
          </button>
          {msg && (
            <span role="status" data-testid="bulk-msg">
              {msg}
            </span>
          )}
        </div>
      )}
      {q.isError && <p className="error">{t(errorKey(q.error).key, errorKey(q.error).vars)}</p>}
      {!q.isLoading && rows.length === 0 && <p className="muted">{t('noMatches')}</p>}
      {rows.length > 0 && (
        <table className="alarms">
          <thead>
            <tr>
              {canAct && (
                <th>
                  <input
                    type="checkbox"
                    aria-label={t('selectAll')}
                    checked={allIds.length > 0 && allIds.every((id) => selected.has(id))}
                    onChange={(e) => toggle(allIds, e.target.checked)}
                    data-testid="select-all"
                  />
                </th>
              )}
              <th>{t('severity')}</th>
              <th>{t('alert')}</th>
              <th>{t('device')}</th>
              <th>{t('openedAt')}</th>
              <th>{t('state')}</th>
              <th>{t('assignee')}</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => (
              <Fragment key={g.rule || 'all'}>
                {group && (
                  <tr className="group-row" data-rule={g.rule}>
                    <td colSpan={canAct ? 7 : 6}>
                      {canAct && (
                        <input
                          type="checkbox"
                          aria-label={t('selectGroup')}
                          checked={g.alerts.every((a) => selected.has(a.id))}
                          onChange={(e) =>
                            toggle(
                              g.alerts.map((a) => a.id),
                              e.target.checked,
                            )
                          }
                        />
                      )}
                      <b>{ruleName(lang, g.rule)}</b> <span className="count">{g.alerts.length}</span>
                    </td>
                  </tr>
                )}
                {g.alerts.map((a) => (
                  <tr key={a.id} className={`alarm-row state-${a.state}${open === a.id ? ' open-row' : ''}`} data-alert-id={a.id} onClick={() => setOpen(open === a.id ? null : a.id)}>
                    {canAct && (
                      <td onClick={(e) => e.stopPropagation()}>
                        <input type="checkbox" aria-label={t('select')} checked={selected.has(a.id)} onChange={(e) => toggle([a.id], e.target.checked)} data-testid="row-select" />
                      </td>
                    )}
                    <td>
                      <span className="alert-sev" style={{ background: SEVERITY_COLORS[a.severity] }}>
                        {t(a.severity)}
                      </span>
                    </td>
                    <td className="alarm-text">
                      {phrase(lang, a)}
                      {a.escalated && <span className="badge badge-escalated">{t('escalated')}</span>}
                    </td>
                    <td>
                      {a.deviceId}
                      <div className="muted small">{a.district}</div>
                    </td>
                    <td>{fmtTime(lang, a.openedAt, timeZone, true)}</td>
                    <td className="alarm-state">{t(a.state)}</td>
                    <td className="alarm-assignee">{a.assignee ?? ''}</td>
                  </tr>
                ))}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      {open && <AlarmDetail id={open} onClose={() => setOpen(null)} />}
    </section>
  );
}

/** events whose note a person wrote (rules' and Node-RED's notes are English log text, not shown) */
const PERSON_NOTES = new Set(['acknowledge', 'assign', 'comment', 'resolve']);

/** a typed "dd/mm/aaaa hh:mm" as ms in the city's zone; empty or not a date → no filter */
function parsedOrUndefined(text: string, timeZone: string): number | undefined {
  const iso = text.trim() ? parseMxDateTime(text) : null;
  return iso ? localDateTime(iso, timeZone) : undefined;
}

/** A date-time field in the Mexican format whatever the browser's language (native pickers follow it). */
function DateTimeInput({ value, onChange, testId }: { value: string; onChange: (e: React.ChangeEvent<HTMLInputElement>) => void; testId: string }) {
  const { t } = useConsole();
  const bad = value.trim() !== '' && parseMxDateTime(value) === null;
  return (
    <>
      <input type="text" inputMode="numeric" placeholder="dd/mm/aaaa hh:mm" value={value} onChange={onChange} aria-invalid={bad} className={bad ? 'invalid' : ''} data-testid={testId} />
      {bad && <span className="alert-err small">{t('badDateTime')}</span>}
    </>
  );
}

const HISTORY_KEYS: Record<string, string> = {
  open: 'hOpen',
  update: 'hUpdate',
  acknowledge: 'hAck',
  assign: 'hAssign',
  comment: 'hComment',
  escalate: 'hEscalate',
  resolve: 'hResolve',
  auto_resolve: 'hAutoResolve',
};

/** One alert: phrase, escalation, actions, comment box, full history. */
function AlarmDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const { t, lang, timeZone, model, session } = useConsole();
  const rev = useThrottledAlertsRevision(model);
  useRevealVersion();
  const q = useQuery({ queryKey: ['alert', id, rev], queryFn: () => getAlert(id), placeholderData: keepPreviousData });
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const a = q.data;
  if (!a) return <div className="alarm-detail muted">{q.isError ? t(errorKey(q.error).key, errorKey(q.error).vars) : t('loading')}</div>;
  const comment = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!note.trim()) return;
    setBusy(true);
    setErr(null);
    try {
      await actOnAlert(model, a.id, 'comment', { note: note.trim() });
      setNote('');
      await q.refetch();
    } catch (e2) {
      const k = errorKey(e2);
      setErr(t(k.key, k.vars));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className={`alarm-detail sev-${a.severity}`} data-testid="alarm-detail" data-alert-id={a.id} style={{ borderLeftColor: SEVERITY_COLORS[a.severity] }}>
      <div className="panel-head">
        <h3 className="alarm-detail-title">{phrase(lang, a)}</h3>
        <button className="btn-close" onClick={onClose} aria-label={t('close')}>
          ×
        </button>
      </div>
      <p className="alert-meta">
        {ruleName(lang, a.rule)} · {a.deviceId} · {a.district} · {t(a.severity)} · <b data-testid="detail-state">{t(a.state)}</b>
        {a.assignee && (
          <>
            {' '}
            · <span data-testid="detail-assignee">{t('assignedTo', { who: a.assignee })}</span>
          </>
        )}
      </p>
      <EscalatedBadge alert={a} />
      <AlertActions alert={a} />
      {canActOnAlerts(session.role) && (
        <form className="comment-form" onSubmit={comment}>
          <label className="field">
            {t('addComment')}
            <textarea value={note} onChange={(e) => setNote(e.target.value)} rows={2} maxLength={2000} data-testid="comment-text" />
          </label>
          <button className="btn" type="submit" disabled={busy || !note.trim()} data-testid="comment-send">
            {t('comment')}
          </button>
          {err && <span className="alert-err">{err}</span>}
        </form>
      )}
      <h3>{t('history')}</h3>
      <ol className="history" data-testid="history">
        {a.history.map((h, i) => (
          <li key={i} className={`history-${h.event}`} data-event={h.event}>
            <span className="history-time">{fmtTime(lang, h.at, timeZone, true)}</span> <b>{t(HISTORY_KEYS[h.event] ?? h.event)}</b>
            {h.by && <> · {t('byWhom', { who: h.by })}</>}
            {h.assignee && <> → {h.assignee}</>}
            {h.note && PERSON_NOTES.has(h.event) && <div className="history-note">“{h.note}”</div>}
          </li>
        ))}
      </ol>
    </div>
  );
}
