/**
 * Operators' view of citizen reports: the list with each report's evidence, a report's history,
 * state changes (closing as fixed with no truck pass after the report is warned first; going
 * ahead flags it "closed without evidence"), the reporter's contact (audited), indicators.
 */
import { errorText } from '../views/account/PasswordDialog';
import { useEffect, useMemo, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Marker } from 'maplibre-gl';
import { REPORT_STATES, type Indicators, type ReportState, type ServiceReport } from '../../../shared/open311';
import { api, ApiError } from '../api/client';
import { useConsole } from '../context';
import { byWords, evidenceLines, fmtNumber, fmtWhen } from './words';

/** Marker colour by what the evidence shows (collection reports) — other services blue. */
export const EVIDENCE_COLOURS: Record<string, string> = { collected: '#22c55e', stopped: '#84cc16', drove_by: '#fbbf24', not_served: '#ef4444', unknown: '#94a3b8', other: '#38bdf8' };

export function ReportsView() {
  const { t, session, map } = useConsole();
  const [state, setState] = useState<ReportState | ''>('');
  const [selected, setSelected] = useState<string | null>(null);
  const q = useQuery({ queryKey: ['reports', state], queryFn: () => api<{ reports: ServiceReport[] }>(`/api/reports${state ? `?state=${state}` : ''}`), refetchInterval: 10_000 });

  // every listed report on the one city map, coloured by its evidence; a click selects it
  useEffect(() => {
    if (!map || !q.data) return;
    const markers = q.data.reports.map((r) => {
      const m = new Marker({ color: EVIDENCE_COLOURS[r.evidence?.collection?.kind ?? 'other'], scale: 0.7, opacity: r.status === 'closed' ? '0.45' : '1' }).setLngLat([r.lon, r.lat]).addTo(map.map);
      const el = m.getElement();
      el.dataset.reportMarker = r.id;
      el.title = `#${r.id} · ${t(`svc_${r.serviceCode}`)} · ${t(`st_${r.state}`)}`;
      el.style.cursor = 'pointer';
      el.addEventListener('click', (e) => {
        e.stopPropagation();
        setSelected(r.id);
      });
      return m;
    });
    return () => markers.forEach((m) => m.remove());
  }, [map, q.data, t]);
  const ind = useQuery({ queryKey: ['report-indicators'], queryFn: () => api<Indicators>('/api/reports/indicators'), refetchInterval: 60_000 });
  const canAct = session.role === 'operator' || session.role === 'admin';
  return (
    <section className="panel reports-panel">
      <h2>{t('tabReports')}</h2>
      <label className="field">
        {t('rpState')}
        <select value={state} onChange={(e) => setState(e.target.value as ReportState | '')} name="report-state-filter">
          <option value="">{t('rpAll')}</option>
          {REPORT_STATES.map((s) => (
            <option key={s} value={s}>
              {t(`st_${s}`)}
            </option>
          ))}
        </select>
      </label>
      <div className="legend-inline" data-testid="report-legend">
        {Object.entries(EVIDENCE_COLOURS).map(([k, c]) => (
          <span key={k}>
            <i className="bar" style={{ background: c }} /> {t(`ek_${k}`)}
          </span>
        ))}
      </div>
      {q.error && <p className="error">{errorText(t, q.error)}</p>}
      {q.data && !q.data.reports.length && <p className="muted">{t('rpNone')}</p>}
      <ul className="report-list">
        {q.data?.reports.map((r) => (
          <li key={r.id} className={selected === r.id ? 'active' : ''}>
            <button data-report={r.id} onClick={() => setSelected(selected === r.id ? null : r.id)}>
              <span>
                #{r.id} · {t(`svc_${r.serviceCode}`)}
              </span>
              <span className={`badge st-${r.state}`}>{t(`st_${r.state}`)}</span>
              {r.closedWithoutEvidence && <span className="badge warn">{t('rpWithoutEvidence')}</span>}
            </button>
          </li>
        ))}
      </ul>
      {selected && <ReportDetail id={selected} canAct={canAct} />}
      {ind.data && ind.data.rows.length > 0 && (
        <>
          <h3>{t('rpIndicators')}</h3>
          <table className="mini-table" data-testid="report-indicators">
            <thead>
              <tr>
                <th>{t('rpService')}</th>
                <th>{t('district')}</th>
                <th>{t('count')}</th>
                <th>{t('rpOnTime')}</th>
                <th>{t('rpMedian')}</th>
                <th>{t('rpWithoutEvidence')}</th>
              </tr>
            </thead>
            <tbody>
              {ind.data.rows.map((r) => (
                <tr key={`${r.serviceCode}-${r.district}`}>
                  <td>{t(`svc_${r.serviceCode}`)}</td>
                  <td>{r.district}</td>
                  <td>{r.reports}</td>
                  <td>{r.onTimeShare === null ? '—' : `${fmtNumber('es', r.onTimeShare * 100, 0)} %`}</td>
                  <td>{r.medianHoursToClose === null ? '—' : `${fmtNumber('es', r.medianHoursToClose)} h`}</td>
                  <td>{r.closedWithoutEvidence}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function ReportDetail({ id, canAct }: { id: string; canAct: boolean }) {
  const { t, lang, timeZone, map } = useConsole();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['report', id], queryFn: () => api<ServiceReport>(`/api/reports/${id}`) });
  const [next, setNext] = useState<ReportState>('in_progress');
  const [note, setNote] = useState('');
  const [warn, setWarn] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const [contact, setContact] = useState<string | null>(null);
  const r = q.data;
  const lines = useMemo(() => (r ? evidenceLines(lang, r.evidence, timeZone) : []), [r, lang, timeZone]);

  useEffect(() => {
    if (!map || !r) return;
    const m = new Marker({ color: '#f97316' }).setLngLat([r.lon, r.lat]).addTo(map.map);
    map.map.flyTo({ center: [r.lon, r.lat], zoom: 16, duration: 400 });
    return () => void m.remove();
  }, [map, r?.id, r?.lat, r?.lon]); // eslint-disable-line react-hooks/exhaustive-deps -- the marker follows the report's place, not each refetch

  const apply = async (confirmWithoutEvidence: boolean) => {
    setErr(null);
    try {
      await api(`/api/reports/${id}/state`, { method: 'POST', body: { state: next, note: note.trim() || t(`st_${next}`), ...(confirmWithoutEvidence ? { confirmWithoutEvidence: true } : {}) } });
      setWarn(false);
      setNote('');
      await qc.invalidateQueries({ queryKey: ['report', id] });
      await qc.invalidateQueries({ queryKey: ['reports'] });
      await qc.invalidateQueries({ queryKey: ['report-indicators'] });
    } catch (e) {
      if (e instanceof ApiError && e.code === 'E_REPORT_NO_EVIDENCE') setWarn(true);
      else setErr(t('error', { message: e instanceof ApiError ? e.code : (e as Error).message }));
    }
  };
  const showContact = async () => {
    try {
      const c = await api<{ email: string | null; phone: string | null; firstName: string | null; lastName: string | null }>(`/api/reports/${id}/contact`);
      setContact([c.firstName, c.lastName, c.email, c.phone].filter(Boolean).join(' · '));
    } catch {
      setContact(t('rpNoContact'));
    }
  };

  if (!r) return <p className="muted">{t('loading')}</p>;
  return (
    <div className="report-detail" data-testid="report-detail" data-state={r.state}>
      <h3>
        #{r.id} · {t(`svc_${r.serviceCode}`)}
      </h3>
      <p>
        {t('rpState')}: <strong data-testid="detail-state">{t(`st_${r.state}`)}</strong> · {t('rpRequested')}: {fmtWhen(lang, r.requestedAt, timeZone)}
      </p>
      {r.address && <p className="muted">{r.address}</p>}
      {r.description && <p>{r.description}</p>}
      {r.closedWithoutEvidence && (
        <p className="badge warn" data-testid="without-evidence">
          {t('rpWithoutEvidence')}
        </p>
      )}
      {r.reopened > 0 && <p className="muted">{t('rpReopened', { n: r.reopened })}</p>}
      {r.duplicateOf && <p>{t('rpDuplicateOf', { id: r.duplicateOf })}</p>}
      {r.duplicates.length > 0 && <p>{t('rpDuplicates', { ids: r.duplicates.join(', ') })}</p>}
      <h4>{t('rpEvidence')}</h4>
      <ul className="evidence" data-testid="detail-evidence">
        {lines.length ? lines.map((l, i) => <li key={i}>{l}</li>) : <li className="muted">{t('rpNoEvidence')}</li>}
      </ul>
      <h4>{t('rpHistory')}</h4>
      <ol className="history">
        {r.history.map((h, i) => (
          <li key={i}>
            <strong>{t(`st_${h.state}`)}</strong> · {fmtWhen(lang, h.at, timeZone)} · {byWords(lang, h.role, h.by)}
            {h.note && !h.note.startsWith('duplicate_of:') ? ` — ${h.note}` : ''}
            {h.withoutEvidence && <span className="badge warn"> {t('rpWithoutEvidence')}</span>}
          </li>
        ))}
      </ol>
      {canAct && (
        <div className="report-actions">
          <label className="field">
            {t('rpChangeState')}
            <select
              name="next-state"
              value={next}
              onChange={(e) => {
                setNext(e.target.value as ReportState);
                setWarn(false);
              }}
            >
              {REPORT_STATES.filter((s) => s !== r.state).map((s) => (
                <option key={s} value={s}>
                  {t(`st_${s}`)}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            {t('rpNote')}
            <input name="state-note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} />
          </label>
          <button className="btn btn-primary" onClick={() => void apply(false)} data-action="apply-state">
            {t('rpApply')}
          </button>
          {warn && (
            <div className="warn-box" role="alert" data-testid="no-evidence-warning">
              <p>{t('rpWarnNoPass')}</p>
              <button className="btn btn-resolve" onClick={() => void apply(true)} data-action="close-anyway">
                {t('rpCloseAnyway')}
              </button>
              <button className="btn" onClick={() => setWarn(false)}>
                {t('rpCancel')}
              </button>
            </div>
          )}
          {err && <p className="error">{err}</p>}
          <button className="btn" onClick={() => void showContact()} data-action="show-contact">
            {t('rpContact')}
          </button>
          {contact && <p data-testid="contact">{contact}</p>}
        </div>
      )}
    </div>
  );
}
