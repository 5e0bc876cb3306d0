/** Rejected messages (GET /api/dead-letters): counts per reason, filter by device and reason, the raw payload. */
import { Fragment, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { useConsole } from '../../context';
import { fmtTime } from '../../i18n';
import { errorText } from '../account/PasswordDialog';
import type { DeadLetter } from '../../../../../contract';

const REASONS = ['invalid_json', 'oversized', 'unknown_topic', 'unknown_device', 'kind_mismatch', 'schema', 'future_timestamp', 'too_old', 'store_rejected'] as const;

export function DeadLetters() {
  const { t, lang, timeZone, devices } = useConsole();
  const [deviceId, setDeviceId] = useState('');
  const [reason, setReason] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const params = new URLSearchParams({ limit: '300' });
  if (deviceId.trim()) params.set('deviceId', deviceId.trim());
  if (reason) params.set('reason', reason);
  const q = useQuery({ queryKey: ['dead-letters', params.toString()], queryFn: () => api<{ deadLetters: DeadLetter[] }>(`/api/dead-letters?${params}`), refetchInterval: 30_000 });
  const counts = useQuery({ queryKey: ['dead-letter-counts'], queryFn: () => api<{ counts: Record<string, number> }>('/api/dead-letters/counts'), refetchInterval: 30_000 });
  return (
    <section className="card" data-testid="admin-dead-letters">
      <header className="card-head">
        <h3>{t('adminDeadLetters')}</h3>
      </header>
      <div className="row chips" aria-label={t('countsByReason')}>
        {Object.entries(counts.data?.counts ?? {}).map(([r, n]) => (
          <button key={r} className={reason === r ? 'chip active' : 'chip'} data-reason={r} onClick={() => setReason(reason === r ? '' : r)}>
            {t(`reject_${r}`)} <span className="count">{n.toLocaleString(lang === 'es' ? 'es-MX' : 'en-US')}</span>
          </button>
        ))}
      </div>
      <div className="row form-row">
        <label className="field">
          {t('devices')}
          <input name="dl-device" list="dl-devices" value={deviceId} onChange={(e) => setDeviceId(e.target.value)} />
          <datalist id="dl-devices">
            {devices.map((d) => (
              <option key={d.id} value={d.id} />
            ))}
          </datalist>
        </label>
        <label className="field">
          {t('reason')}
          <select name="dl-reason" value={reason} onChange={(e) => setReason(e.target.value)}>
            <option value="">{t('any')}</option>
            {REASONS.map((r) => (
              <option key={r} value={r}>
                {t(`reject_${r}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {q.error && <p className="error">{errorText(t, q.error)}</p>}
      {q.data && q.data.deadLetters.length === 0 && <p className="muted">{t('noEntries')}</p>}
      <table className="grid">
        <thead>
          <tr>
            <th>{t('receivedAt')}</th>
            <th>{t('devices')}</th>
            <th>{t('reason')}</th>
            <th>{t('detail')}</th>
            <th>{t('topic')}</th>
          </tr>
        </thead>
        <tbody>
          {(q.data?.deadLetters ?? []).map((l) => (
            <Fragment key={l.id}>
              <tr data-dead-letter={l.id} className="clickable" onClick={() => setOpen(open === l.id ? null : l.id)}>
                <td>{fmtTime(lang, l.receivedAt, timeZone, true)}</td>
                <td>{l.deviceId ?? '—'}</td>
                <td>{t(`reject_${l.reason}`)}</td>
                <td className="mono small">{l.detail}</td>
                <td className="mono small">{l.topic}</td>
              </tr>
              {open === l.id && (
                <tr>
                  <td colSpan={5}>
                    <div className="muted">{t('payload')}</div>
                    <pre className="raw" data-testid="raw-payload">
                      {l.payload}
                    </pre>
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </section>
  );
}
