/** Alerts, newest first, severity colours; acknowledge / resolve (operators). Re-renders only on alert changes. */
import { useState } from 'react';
import type { Alert } from '../../../shared/live';
import { actOnAlert, type AlertAction } from '../api/alerts';
import { SEVERITY_COLORS } from '../colors';
import { useAlertsRevision, useConsole } from '../context';
import { fmtTime } from '../i18n';
import { canActOnAlerts } from '../roles';

export function AlertActions({ alert, compact = false }: { alert: Alert; compact?: boolean }) {
  const { model, t, session } = useConsole();
  const [busy, setBusy] = useState<AlertAction | null>(null);
  const [err, setErr] = useState<string | null>(null);
  if (!canActOnAlerts(session.role)) return null;
  const run = async (action: AlertAction) => {
    setBusy(action);
    setErr(null);
    try {
      await actOnAlert(model, alert.id, action);
    } catch (e) {
      setErr((e as Error).message);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div className={compact ? 'alert-actions compact' : 'alert-actions'}>
      {alert.state === 'open' && (
        <button className="btn btn-ack" disabled={!!busy} onClick={() => run('ack')} data-action="ack">
          {t('ack')}
        </button>
      )}
      {(alert.state === 'open' || alert.state === 'acknowledged') && (
        <button className="btn btn-resolve" disabled={!!busy} onClick={() => run('resolve')} data-action="resolve">
          {t('resolve')}
        </button>
      )}
      {err && <span className="alert-err">{t('error', { message: err })}</span>}
    </div>
  );
}

export function AlertsPanel() {
  const ctx = useConsole();
  const { model, t, lang, timeZone } = ctx;
  useAlertsRevision(model);
  const alerts = model.sortedAlerts().filter((a) => a.state === 'open' || a.state === 'acknowledged');
  return (
    <section className="panel alerts-panel" aria-label={t('alerts')}>
      <h2>
        {t('alerts')} <span className="count">{alerts.length}</span>
      </h2>
      {alerts.length === 0 && <p className="muted">{t('noAlerts')}</p>}
      <ul className="alert-list">
        {alerts.map((a) => (
          <li key={a.id} className={`alert-item sev-${a.severity} state-${a.state}`} data-alert-id={a.id} style={{ borderLeftColor: SEVERITY_COLORS[a.severity] }}>
            <button
              className="alert-main"
              onClick={() => {
                const pos = ctx.map?.devicePosition(a.deviceId);
                if (pos) ctx.map?.flyTo(pos);
                ctx.select(a.deviceId);
              }}
            >
              <span className="alert-sev" style={{ background: SEVERITY_COLORS[a.severity] }}>
                {t(a.severity)}
              </span>
              <span className="alert-title">{a.title}</span>
              <span className="alert-meta">
                {a.deviceId} · {a.district} · {fmtTime(lang, a.openedAt, timeZone)} · <b className="alert-state">{t(a.state)}</b>
              </span>
            </button>
            <AlertActions alert={a} />
          </li>
        ))}
      </ul>
    </section>
  );
}
