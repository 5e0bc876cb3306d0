/**
 * A new critical alert is impossible to miss: a full-width flashing banner (no sound) over the
 * console, and the screen edge flashes, until someone acknowledges it (or shows and dismisses it).
 */
import { useState } from 'react';
import { useAlertsRevision, useConsole } from '../context';
import { AlertActions } from './AlertsPanel';
import { phrase, useRevealVersion } from './alert-ui';

export function CriticalBanner() {
  const ctx = useConsole();
  const { model, t, lang } = ctx;
  useAlertsRevision(model);
  useRevealVersion();
  const [dismissed, setDismissed] = useState<Set<string>>(new Set());
  const open = model.sortedAlerts().filter((a) => a.severity === 'critical' && a.state === 'open' && !dismissed.has(a.id));
  if (!open.length) return null;
  const a = open[0]!;
  return (
    <div className="critical-banner" role="alert" aria-live="assertive" data-alert-id={a.id}>
      <div className="critical-flash" aria-hidden />
      <span className="critical-text">
        {t('newCritical', { title: phrase(lang, a) })} — {a.deviceId} · {a.district}
        {open.length > 1 && <span className="critical-more"> (+{open.length - 1})</span>}
      </span>
      <button
        className="btn btn-show"
        onClick={() => {
          const pos = ctx.map?.devicePosition(a.deviceId);
          if (pos) ctx.map?.flyTo(pos);
          ctx.select(a.deviceId);
          setDismissed(new Set([...dismissed, a.id]));
        }}
      >
        {t('seeAlert')}
      </button>
      <AlertActions alert={a} compact />
    </div>
  );
}
