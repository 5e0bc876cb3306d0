/**
 * Mounts the one MapController for the console's lifetime. React passes callbacks in; the map's
 * data never goes through React state. Alert popups (acknowledge / resolve with a note on the
 * map) are DOM; resolve opens the console's resolve dialog.
 */
import { useEffect, useRef } from 'react';
import type { StyleSpecification } from 'maplibre-gl';
import { useConsole } from '../context';
import { actOnAlert, escalatedAt } from '../api/alerts';
import { canActOnAlerts } from '../roles';
import { SEVERITY_COLORS } from '../colors';
import { fmtTime } from '../i18n';
import { errorKey, openAlertDialog, phrase } from '../views/alert-ui';
import type { LayerKey } from '../live/model';
import { MapController } from './MapController';

export function MapView({
  style,
  onReady,
  onSelect,
}: {
  style: StyleSpecification | string;
  onReady: (c: MapController | null) => void;
  onSelect: (s: { id: string; kind: LayerKey } | null) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const ctx = useConsole();
  const ctxRef = useRef(ctx);
  ctxRef.current = ctx;
  const selectRef = useRef(onSelect);
  selectRef.current = onSelect;

  useEffect(() => {
    const c = ctxRef.current;
    const controller = new MapController({
      container: ref.current!,
      style,
      basemap: c.basemap,
      model: c.model,
      timeZone: c.timeZone,
      onSelect: (s) => selectRef.current(s),
      onAlertClick: (alertId, lngLat) => {
        const cur = ctxRef.current;
        const a = cur.model.alerts.get(alertId);
        if (!a) return;
        const el = document.createElement('div');
        el.className = 'popup-alert';
        const head = document.createElement('div');
        head.className = 'popup-sev';
        head.style.background = SEVERITY_COLORS[a.severity];
        head.textContent = `${cur.t(a.severity)} · ${cur.t(a.state)}`;
        const title = document.createElement('div');
        title.className = 'popup-title';
        title.textContent = phrase(cur.lang, a);
        const meta = document.createElement('div');
        meta.className = 'popup-meta';
        meta.textContent = `${a.deviceId} · ${a.district} · ${fmtTime(cur.lang, a.openedAt, cur.timeZone)}`;
        el.append(head, title, meta);
        const esc = escalatedAt(a);
        if (esc !== null) {
          const e = document.createElement('div');
          e.className = 'badge badge-escalated';
          e.textContent = cur.t('escalatedAt', { time: fmtTime(cur.lang, esc, cur.timeZone, true) });
          el.append(e);
        }
        if (a.assignee) {
          const who = document.createElement('div');
          who.className = 'popup-meta';
          who.textContent = cur.t('assignedTo', { who: a.assignee });
          el.append(who);
        }
        const popup = controller.alertPopup(a, lngLat, el);
        if (canActOnAlerts(cur.session.role)) {
          const row = document.createElement('div');
          row.className = 'popup-actions';
          const mk = (label: string, action: 'ack' | 'resolve', enabled: boolean) => {
            const b = document.createElement('button');
            b.textContent = label;
            b.className = `btn btn-${action}`;
            b.disabled = !enabled;
            b.dataset.action = action;
            b.onclick = async () => {
              if (action === 'resolve') {
                openAlertDialog({ kind: 'resolve', ids: [a.id], onDone: () => popup.remove() });
                return;
              }
              b.disabled = true;
              try {
                await actOnAlert(cur.model, a.id, action);
                popup.remove();
              } catch (err) {
                const k = errorKey(err);
                meta.textContent = cur.t(k.key, k.vars);
                b.disabled = false;
              }
            };
            return b;
          };
          row.append(mk(cur.t('ack'), 'ack', a.state === 'open'), mk(cur.t('resolve'), 'resolve', a.state === 'open' || a.state === 'acknowledged'));
          el.append(row);
        }
      },
    });
    (window as unknown as { __cityops: unknown }).__cityops = { controller, model: c.model };
    let alive = true;
    void controller.ready.then(() => alive && onReady(controller));
    return () => {
      alive = false;
      onReady(null);
      controller.destroy();
    };
    // the map is created once per console session; style changes need a reload
    // eslint-disable-next-line react-hooks/exhaustive-deps -- created once per console session (see above)
  }, []);

  return <div ref={ref} className="map" data-testid="map" />;
}
