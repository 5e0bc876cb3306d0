/**
 * Alerts, newest first, severity colours, each phrased from its code (never the English title);
 * acknowledge / assign / resolve (with a note) and, on a hotlist hit, reveal the plate (audited)
 * for operators. Re-renders only on alert changes.
 */
import { useState } from 'react';
import type { Alert } from '../../../shared/live';
import { actOnAlert, escalatedAt, isActive, revealPlate } from '../api/alerts';
import { SEVERITY_COLORS } from '../colors';
import { useAlertsRevision, useConsole } from '../context';
import { fmtTime } from '../i18n';
import { canActOnAlerts } from '../roles';
import { errorKey, openAlertDialog, phrase, plateHidden, revealedPlate, setRevealed, useRevealVersion } from './alert-ui';

export function AlertActions({ alert, compact = false }: { alert: Alert; compact?: boolean }) {
  const { model, t, session } = useConsole();
  const [busy, setBusy] = useState<string | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useRevealVersion();
  if (!canActOnAlerts(session.role)) return null;
  const run = async (what: string, fn: () => Promise<unknown>) => {
    setBusy(what);
    setErr(null);
    try {
      await fn();
    } catch (e) {
      const k = errorKey(e);
      setErr(t(k.key, k.vars));
    } finally {
      setBusy(null);
    }
  };
  const active = isActive(alert);
  return (
    <div className={compact ? 'alert-actions compact' : 'alert-actions'}>
      {alert.state === 'open' && (
        <button className="btn btn-ack" disabled={!!busy} onClick={() => run('ack', () => actOnAlert(model, alert.id, 'ack'))} data-action="ack">
          {t('ack')}
        </button>
      )}
      {active && !compact && (
        <button className="btn" disabled={!!busy} onClick={() => openAlertDialog({ kind: 'assign', ids: [alert.id] })} data-action="assign">
          {t('assign')}
        </button>
      )}
      {active && (
        <button className="btn btn-resolve" disabled={!!busy} onClick={() => openAlertDialog({ kind: 'resolve', ids: [alert.id] })} data-action="resolve">
          {t('resolve')}
        </button>
      )}
      {plateHidden(alert) && !revealedPlate(alert.id) && (
        <button
          className="btn btn-reveal"
          disabled={!!busy}
          title={t('revealHelp')}
          onClick={() => run('reveal', async () => setRevealed(alert.id, (await revealPlate(alert.id)).plate))}
          data-action="reveal"
        >
          {t('revealPlate')}
        </button>
      )}
      {err && <span className="alert-err">{err}</span>}
    </div>
  );
}

/** "escalated 14:02:10" when the alert was escalated */
export function EscalatedBadge({ alert }: { alert: Alert }) {
  const { t, lang, timeZone } = useConsole();
  const at = escalatedAt(alert);
  if (at === null) return null;
  return (
    <span className="badge badge-escalated" data-testid="escalated">
      {t('escalatedAt', { time: fmtTime(lang, at, timeZone, true) })}
    </span>
  );
}

export function AlertsPanel() {
  const ctx = useConsole();
  const { model, t, lang, timeZone } = ctx;
  useAlertsRevision(model);
  useRevealVersion();
  const alerts = model.sortedAlerts().filter(isActive);
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
              <span className="alert-title">{phrase(lang, a)}</span>
              <span className="alert-meta">
                {a.deviceId} · {a.district} · {fmtTime(lang, a.openedAt, timeZone)} · <b className="alert-state">{t(a.state)}</b>
                {a.assignee && <> · {t('assignedTo', { who: a.assignee })}</>}
              </span>
              <EscalatedBadge alert={a} />
            </button>
            <AlertActions alert={a} />
          </li>
        ))}
      </ul>
    </section>
  );
}
