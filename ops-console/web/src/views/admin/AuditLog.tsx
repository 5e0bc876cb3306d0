/** The audit log (GET /api/audit): filter by user, action and time; newest first. */
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { useConsole } from '../../context';
import { localDateTime, toLocalInput } from '../../dates';
import { fmtTime } from '../../i18n';
import { errorText } from '../account/PasswordDialog';
import type { AuditRow as AuditRowT } from '../../../../shared/api';
import { AUDIT_ACTIONS, type AuditAction } from '../../../../shared/audit-actions';

const known = (a: string): a is AuditAction => (AUDIT_ACTIONS as readonly string[]).includes(a);

export function AuditLog() {
  const { t, lang, timeZone } = useConsole();
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [from, setFrom] = useState(() => toLocalInput(Date.now() - 7 * 86_400_000, timeZone));
  const [to, setTo] = useState('');
  const params = new URLSearchParams({ limit: '500' });
  if (actor.trim()) params.set('actor', actor.trim());
  if (action) params.set('action', action);
  if (from) params.set('from', String(localDateTime(from, timeZone)));
  if (to) params.set('to', String(localDateTime(to, timeZone)));
  const q = useQuery({ queryKey: ['audit', params.toString()], queryFn: () => api<{ entries: AuditRowT[] }>(`/api/audit?${params}`) });
  return (
    <section className="card" data-testid="admin-audit">
      <header className="card-head">
        <h3>{t('adminAudit')}</h3>
      </header>
      <div className="row form-row">
        <label className="field">
          {t('filterUser')}
          <input name="audit-actor" value={actor} onChange={(e) => setActor(e.target.value)} />
        </label>
        <label className="field">
          {t('filterAction')}
          <select name="audit-action" value={action} onChange={(e) => setAction(e.target.value)}>
            <option value="">{t('any')}</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {t(`audit_${a}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('from')}
          <input type="datetime-local" name="audit-from" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label className="field">
          {t('to')}
          <input type="datetime-local" name="audit-to" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
      </div>
      {q.error && <p className="error">{errorText(t, q.error)}</p>}
      {q.data && q.data.entries.length === 0 && <p className="muted">{t('noEntries')}</p>}
      <table className="grid">
        <thead>
          <tr>
            <th>{t('when')}</th>
            <th>{t('username')}</th>
            <th>{t('role')}</th>
            <th>{t('action')}</th>
            <th>{t('query')}</th>
            <th>{t('results')}</th>
          </tr>
        </thead>
        <tbody>
          {(q.data?.entries ?? []).map((e) => (
            <tr key={e.id} data-audit-action={e.action}>
              <td>{fmtTime(lang, e.at, timeZone, true)}</td>
              <td>{e.actor}</td>
              <td>{t(e.role)}</td>
              <td title={e.action}>{known(e.action) ? t(`audit_${e.action}`) : e.action}</td>
              <td className="mono small">
                {Object.entries(e.query)
                  .map(([k, v]) => `${k}=${typeof v === 'number' && v > 1e12 ? fmtTime(lang, v, timeZone, true) : JSON.stringify(v)}`)
                  .join(' · ')}
              </td>
              <td>{e.resultCount ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
