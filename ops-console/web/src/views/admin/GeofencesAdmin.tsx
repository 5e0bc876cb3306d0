/**
 * Geocercas (admins): the geofences on their own map (geofence-layer.ts) and in a list; a new
 * one is drawn on the map (geofence-draw.ts: polygon vertex by vertex, or circle by centre and
 * radius) and saved with its name, kind and dwell limit through /api/geofences; edit and delete
 * from the list. Below, the visits of a truck on a day (dd/mm/aaaa) from /api/geofences/visits.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Map as MlMap, NavigationControl, ScaleControl } from 'maplibre-gl';
import { GEOFENCE_KINDS, type Geofence, type GeofenceGeometry, type GeofenceKind, type GeofenceSet } from '../../../../../contract/geofences';
import type { GeofenceVisitList } from '../../../../shared/geofences';
import { fmtDuration } from '../../../../shared/alert-text';
import { api } from '../../api/client';
import { useConsoleConfig } from '../../api/config';
import { chooseMapStyle } from '../../basemap/style';
import { useConsole } from '../../context';
import { localDate, parseMxDateTime } from '../../dates';
import { fmtTime } from '../../i18n';
import { GeofenceDraw, type DrawMode } from '../../map/geofence-draw';
import { GEOFENCE_COLORS, GeofenceLayer } from '../../map/geofence-layer';
import { errorText } from '../account/PasswordDialog';

interface Form {
  id: string | null;
  name: string;
  kind: GeofenceKind;
  dwell: string;
  active: boolean;
  radius: string;
}
const EMPTY: Form = { id: null, name: '', kind: 'depot', dwell: '', active: true, radius: '100' };
const mxDate = (iso: string) => iso.split('-').reverse().join('/');

export function GeofencesAdmin() {
  const { t, lang, timeZone, basemap, devices, map: liveMap } = useConsole();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['geofences'], queryFn: () => api<GeofenceSet>('/api/geofences') });
  const configQ = useConsoleConfig();
  const style = chooseMapStyle(configQ.data, configQ.isFetched, basemap, document.baseURI);
  const mapEl = useRef<HTMLDivElement>(null);
  const layer = useRef<GeofenceLayer | null>(null);
  const draw = useRef<GeofenceDraw | null>(null);
  const [ready, setReady] = useState(false);
  const [form, setForm] = useState<Form | null>(null);
  const [drawState, setDrawState] = useState<{ drawing: DrawMode | null; n: number; done: boolean }>({ drawing: null, n: 0, done: false });
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);

  // the editor's own map (the live map lies under this screen)
  useEffect(() => {
    if (!style || !mapEl.current) return;
    const b = basemap.bbox;
    const map = new MlMap({
      container: mapEl.current,
      style,
      bounds: [
        [b[0], b[1]],
        [b[2], b[3]],
      ],
      fitBoundsOptions: { padding: 10 },
      attributionControl: false,
      fadeDuration: 0,
    });
    map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
    map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-left');
    (window as unknown as { __geofenceMap?: MlMap }).__geofenceMap = map;
    let off: (() => void) | null = null;
    map.once('load', () => {
      layer.current = new GeofenceLayer();
      layer.current.attach(map);
      draw.current = new GeofenceDraw(map);
      off = draw.current.onChange(() => {
        const d = draw.current!;
        setDrawState({ drawing: d.drawing, n: d.vertexCount, done: !!d.geometry() });
        if (d.geometry()?.type === 'circle') setForm((f) => (f ? { ...f, radius: String(Math.round(d.radius)) } : f));
      });
      setReady(true);
    });
    return () => {
      off?.();
      draw.current?.destroy();
      layer.current?.destroy();
      draw.current = null;
      layer.current = null;
      setReady(false);
      map.remove();
    };
    // one map per visit of the screen; the style does not change meanwhile
    // eslint-disable-next-line react-hooks/exhaustive-deps -- one map per visit (see above)
  }, [style === null]);

  useEffect(() => {
    if (ready && q.data) layer.current?.set(q.data.geofences, form?.id ?? null);
  }, [ready, q.data, form?.id]);

  const act = async <T,>(fn: () => Promise<T>): Promise<T | null> => {
    setMsg(null);
    try {
      const r = await fn();
      await qc.invalidateQueries({ queryKey: ['geofences'] });
      void liveMap?.geofences.load(); // the live map's layer, at once
      return r;
    } catch (err) {
      setMsg({ ok: false, text: errorText(t, err) });
      return null;
    }
  };

  const startNew = () => {
    setForm({ ...EMPTY });
    draw.current?.clear();
    setMsg(null);
  };
  const startEdit = (g: Geofence) => {
    setForm({
      id: g.id,
      name: g.name,
      kind: g.kind,
      dwell: g.dwellLimitMin ? String(g.dwellLimitMin) : '',
      active: g.active,
      radius: g.geometry.type === 'circle' ? String(g.geometry.radiusM) : '100',
    });
    draw.current?.load(g.geometry);
    setMsg(null);
  };
  const cancel = () => {
    setForm(null);
    draw.current?.clear();
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!form) return;
    const geometry: GeofenceGeometry | null = draw.current?.geometry() ?? null;
    if (!geometry) {
      setMsg({ ok: false, text: t('drawNeeded') });
      return;
    }
    const body = { name: form.name, kind: form.kind, geometry, dwellLimitMin: form.dwell.trim() ? Number(form.dwell) : null, active: form.active };
    const r = await act(() => (form.id ? api<Geofence>(`/api/geofences/${encodeURIComponent(form.id)}`, { method: 'PUT', body }) : api<Geofence>('/api/geofences', { method: 'POST', body })));
    if (r) {
      setMsg({ ok: true, text: t('saved') });
      setForm(null);
      draw.current?.clear();
    }
  };
  const remove = async (g: Geofence) => {
    if (!confirm(t('confirmDeleteGeofence', { name: g.name }))) return;
    if (await act(() => api(`/api/geofences/${encodeURIComponent(g.id)}`, { method: 'DELETE' }))) {
      setMsg({ ok: true, text: t('saved') });
      if (form?.id === g.id) cancel();
    }
  };
  const drawMode = (m: DrawMode) => {
    draw.current?.start(m, Number(form?.radius) || 100);
  };

  const hint = drawState.done ? t('drawHintDone') : drawState.drawing === 'polygon' ? t('drawHintPolygon', { n: drawState.n }) : drawState.drawing === 'circle' ? t('drawHintCircle') : '';

  return (
    <section className="card" data-testid="admin-geofences">
      <header className="card-head">
        <h3>{t('adminGeofences')}</h3>
        <div className="card-actions">
          <button className="btn btn-primary" data-testid="geofence-new" onClick={startNew} disabled={!ready}>
            {t('geofenceNew')}
          </button>
        </div>
      </header>
      {msg && (
        <p className={msg.ok ? 'ok' : 'error'} role="status" data-testid="geofences-msg">
          {msg.text}
        </p>
      )}
      <div style={{ display: 'flex', gap: 16, flexWrap: 'wrap', alignItems: 'flex-start' }}>
        <div ref={mapEl} data-testid="geofence-map" style={{ flex: '2 1 560px', height: 520, borderRadius: 8, overflow: 'hidden', position: 'relative' }} />
        <div style={{ flex: '1 1 340px', minWidth: 320 }}>
          {form && (
            <form className="panel" onSubmit={submit} data-testid="geofence-form">
              <h3>{form.id ? t('geofenceEdit', { name: form.name }) : t('geofenceNew')}</h3>
              <div className="row" style={{ gap: 8, flexWrap: 'wrap' }}>
                <button type="button" className="btn" data-testid="draw-polygon" onClick={() => drawMode('polygon')}>
                  {t('drawPolygon')}
                </button>
                <button type="button" className="btn" data-testid="draw-circle" onClick={() => drawMode('circle')}>
                  {t('drawCircle')}
                </button>
                {drawState.drawing === 'polygon' && (
                  <>
                    <button type="button" className="btn" data-testid="draw-undo" onClick={() => draw.current?.undo()} disabled={drawState.n === 0}>
                      {t('drawUndo')}
                    </button>
                    <button type="button" className="btn" data-testid="draw-finish" onClick={() => draw.current?.finish()} disabled={drawState.n < 3}>
                      {t('drawFinish')}
                    </button>
                  </>
                )}
              </div>
              {hint && (
                <p className="muted" data-testid="draw-hint">
                  {hint}
                </p>
              )}
              <div className="form-grid">
                <label className="field">
                  {t('geofenceName')}
                  <input name="gf-name" value={form.name} maxLength={80} required onChange={(e) => setForm({ ...form, name: e.target.value })} />
                </label>
                <label className="field">
                  {t('geofenceKind')}
                  <select name="gf-kind" value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value as GeofenceKind })}>
                    {GEOFENCE_KINDS.map((k) => (
                      <option key={k} value={k}>
                        {t(`gfkind_${k}`)}
                      </option>
                    ))}
                  </select>
                </label>
                <label className="field">
                  {t('geofenceDwell')}
                  <input
                    name="gf-dwell"
                    type="number"
                    min={1}
                    max={1440}
                    step={1}
                    value={form.dwell}
                    placeholder={t('geofenceDwellNone')}
                    onChange={(e) => setForm({ ...form, dwell: e.target.value })}
                  />
                </label>
                {draw.current?.geometry()?.type === 'circle' || drawState.drawing === 'circle' ? (
                  <label className="field">
                    {t('radiusM')}
                    <input
                      name="gf-radius"
                      type="number"
                      min={10}
                      max={5000}
                      step={1}
                      value={form.radius}
                      onChange={(e) => {
                        setForm({ ...form, radius: e.target.value });
                        draw.current?.setRadius(Number(e.target.value));
                      }}
                    />
                  </label>
                ) : null}
                <label className="field">
                  <span>
                    <input name="gf-active" type="checkbox" checked={form.active} onChange={(e) => setForm({ ...form, active: e.target.checked })} /> {t('geofenceActive')}
                  </span>
                </label>
              </div>
              <div className="row">
                <button type="submit" className="btn btn-primary" data-testid="geofence-save">
                  {form.id ? t('save') : t('create')}
                </button>
                <button type="button" className="btn" onClick={cancel}>
                  {t('cancel')}
                </button>
              </div>
            </form>
          )}
          {q.error && <p className="error">{errorText(t, q.error)}</p>}
          <table className="grid" data-testid="geofence-list">
            <thead>
              <tr>
                <th>{t('geofenceName')}</th>
                <th>{t('geofenceKind')}</th>
                <th>{t('geofenceShape')}</th>
                <th>{t('geofenceDwell')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {(q.data?.geofences ?? []).map((g) => (
                <tr key={g.id} data-geofence-id={g.id} className={g.active ? '' : 'dim'}>
                  <td>
                    <span style={{ display: 'inline-block', width: 10, height: 10, borderRadius: 2, background: GEOFENCE_COLORS[g.kind], marginRight: 6 }} />
                    {g.name}
                    {!g.active && <span className="muted"> · {t('geofenceInactive')}</span>}
                  </td>
                  <td>{t(`gfkind_${g.kind}`)}</td>
                  <td>
                    {g.geometry.type === 'circle'
                      ? `${t('shape_circle')} · ${new Intl.NumberFormat('es-MX').format(g.geometry.radiusM)} m`
                      : `${t('shape_polygon')} · ${g.geometry.coordinates.length - 1}`}
                  </td>
                  <td>{g.dwellLimitMin ? `${g.dwellLimitMin} min` : '—'}</td>
                  <td className="actions">
                    <button className="btn" data-action="edit" onClick={() => startEdit(g)}>
                      {t('edit')}
                    </button>
                    <button className="btn" data-action="delete" onClick={() => remove(g)}>
                      {t('gfDelete')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <GeofenceVisits trucks={devices.filter((d) => d.kind === 'truck').map((d) => d.id)} lang={lang} timeZone={timeZone} />
    </section>
  );
}

function GeofenceVisits({ trucks, lang, timeZone }: { trucks: string[]; lang: 'es' | 'en'; timeZone: string }) {
  const { t } = useConsole();
  const [truck, setTruck] = useState('');
  const [dateText, setDateText] = useState(() => mxDate(localDate(Date.now(), timeZone)));
  const [asked, setAsked] = useState<{ deviceId: string; date: string } | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const sorted = useMemo(() => [...trucks].sort(), [trucks]);
  const q = useQuery({
    queryKey: ['geofence-visits', asked],
    enabled: !!asked,
    queryFn: () => api<GeofenceVisitList>(`/api/geofences/visits?${new URLSearchParams({ ...(asked!.deviceId ? { deviceId: asked!.deviceId } : {}), date: asked!.date })}`),
    refetchInterval: 15_000,
  });
  const show = (e: FormEvent) => {
    e.preventDefault();
    const iso = parseMxDateTime(dateText);
    if (!iso) {
      setErr(t('badDate'));
      return;
    }
    setErr(null);
    setAsked({ deviceId: truck, date: iso.slice(0, 10) });
  };
  const when = (ts: number | null) => (ts === null ? '—' : fmtTime(lang, ts, timeZone, true));
  return (
    <div className="panel" data-testid="geofence-visits" style={{ marginTop: 16 }}>
      <h3>{t('geofenceVisits')}</h3>
      <form className="row" onSubmit={show} style={{ gap: 8, alignItems: 'flex-end', flexWrap: 'wrap' }}>
        <label className="field">
          {t('visitTruck')}
          <select name="visit-truck" value={truck} onChange={(e) => setTruck(e.target.value)}>
            <option value="">—</option>
            {sorted.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('visitDate')}
          <input name="visit-date" value={dateText} onChange={(e) => setDateText(e.target.value)} placeholder="dd/mm/aaaa" />
        </label>
        <button type="submit" className="btn" data-testid="visits-show">
          {t('gfShow')}
        </button>
      </form>
      {err && <p className="error">{err}</p>}
      {q.error && <p className="error">{errorText(t, q.error)}</p>}
      {asked &&
        q.data &&
        (q.data.visits.length === 0 ? (
          <p className="muted" data-testid="visits-none">
            {t('visitsNone')}
          </p>
        ) : (
          <table className="grid" data-testid="visits-table">
            <thead>
              <tr>
                <th>{t('visitTruck')}</th>
                <th>{t('adminGeofences')}</th>
                <th>{t('geofenceKind')}</th>
                <th>{t('visitEntered')}</th>
                <th>{t('visitExited')}</th>
                <th>{t('visitDuration')}</th>
              </tr>
            </thead>
            <tbody>
              {q.data.visits.map((v) => (
                <tr key={v.visitId} data-visit-id={v.visitId} data-geofence-id={v.geofenceId}>
                  <td>{v.deviceId}</td>
                  <td>{v.name}</td>
                  <td>{t(`gfkind_${v.kind}`)}</td>
                  <td>{when(v.enteredAt)}</td>
                  <td>{v.exitedAt === null ? <span className="ok">{t('visitInside')}</span> : when(v.exitedAt)}</td>
                  <td>
                    {v.durationS === null ? '—' : fmtDuration(lang, v.durationS)}
                    {v.dwellOverAt !== null && <span className="bad"> · {t('visitDwellOver')}</span>}
                    {v.late && <span className="muted"> · {t('visitHistory')}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </div>
  );
}
