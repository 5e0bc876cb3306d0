/**
 * Devices: the registry with state, last error and credentials date; add / edit / rotate /
 * retire through /api/admin/devices (registry/admin.ts: the registry CLI's own code and
 * validation). Add and rotate show the rendered config, secret included, once.
 */
import { useMemo, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, saveBlob } from '../../api/client';
import { useConsole } from '../../context';
import { fmtTime } from '../../i18n';
import { errorText } from '../account/PasswordDialog';
import type { AdminDeviceRow, DeviceAddBody, RenderedDevice } from '../../../../shared/api';

const KINDS = ['truck', 'air', 'noise', 'camera'] as const;
const ZONES = ['residential', 'industrial_commercial', 'school', 'entertainment'] as const;
const DIRECTIONS = ['both', 'entering', 'leaving'] as const;
type Form = Record<keyof DeviceAddBody, string>;
const EMPTY: Form = { id: '', kind: 'air', model: '', district: '', lat: '', lon: '', zone: '', road: '', direction: '', lanes: '', depot: '', route: '', plate: '', dataS: '', statusS: '' };
const NUMERIC = new Set(['lat', 'lon', 'lanes', 'dataS', 'statusS']);

function formOf(d: AdminDeviceRow): Form {
  const f = { ...EMPTY };
  for (const k of Object.keys(EMPTY) as (keyof Form)[]) {
    const v = (d as Record<string, unknown>)[k];
    if (v !== undefined && v !== null) f[k] = String(v as string | number | boolean);
  }
  return f;
}
/** Only the fields the kind uses, numbers as numbers; empty fields are left out (the registry's defaults apply). */
function bodyOf(f: Form, withId: boolean): Record<string, string | number> {
  const use: Record<string, string[]> = { truck: ['depot', 'route', 'plate'], air: ['lat', 'lon'], noise: ['lat', 'lon', 'zone'], camera: ['lat', 'lon', 'road', 'direction', 'lanes'] };
  const keys = [...(withId ? ['id', 'kind'] : []), 'model', 'district', ...(use[f.kind] ?? []), 'dataS', 'statusS'];
  const out: Record<string, string | number> = {};
  for (const k of keys) {
    const v = f[k as keyof Form].trim();
    if (v !== '') out[k] = NUMERIC.has(k) ? Number(v) : v;
  }
  return out;
}

export function DevicesAdmin() {
  const { t, lang, timeZone, basemap } = useConsole();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['admin-devices'], queryFn: () => api<{ devices: AdminDeviceRow[] }>('/api/admin/devices'), refetchInterval: 30_000 });
  const [form, setForm] = useState<Form | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [rendered, setRendered] = useState<RenderedDevice | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const districts = useMemo(() => [...new Set([...(q.data?.devices ?? []).map((d) => d.district), ...basemap.districts.features.map((f) => String(f.properties.name))])].sort(), [q.data, basemap]);

  const refresh = () => Promise.all([qc.invalidateQueries({ queryKey: ['admin-devices'] }), qc.invalidateQueries({ queryKey: ['devices'] })]);
  const act = async (fn: () => Promise<unknown>) => {
    setMsg(null);
    try {
      const r = await fn();
      await refresh();
      return r;
    } catch (err) {
      setMsg({ ok: false, text: errorText(t, err) });
      return null;
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!form) return;
    if (editing) {
      const r = await act(() => api(`/api/admin/devices/${encodeURIComponent(editing)}`, { method: 'PUT', body: bodyOf(form, false) }));
      if (r) {
        setMsg({ ok: true, text: t('saved') });
        setForm(null);
        setEditing(null);
      }
    } else {
      const r = (await act(() => api<RenderedDevice>('/api/admin/devices', { method: 'POST', body: bodyOf(form, true) }))) as RenderedDevice | null;
      if (r) {
        setRendered(r);
        setForm(null);
      }
    }
  };
  const rotate = async (id: string) => {
    if (!confirm(t('confirmRotate', { id }))) return;
    const r = (await act(() => api<RenderedDevice>(`/api/admin/devices/${encodeURIComponent(id)}/rotate`, { method: 'POST' }))) as RenderedDevice | null;
    if (r) setRendered(r);
  };
  const retire = async (id: string) => {
    if (!confirm(t('confirmRetire', { id }))) return;
    if (await act(() => api(`/api/admin/devices/${encodeURIComponent(id)}/retire`, { method: 'POST' }))) setMsg({ ok: true, text: t('saved') });
  };
  const field = (k: keyof Form, label: string, extra: Record<string, unknown> = {}) =>
    form && (
      <label className="field">
        {t(label)}
        <input name={`dev-${k}`} value={form[k]} onChange={(e) => setForm({ ...form, [k]: e.target.value })} {...extra} />
      </label>
    );

  return (
    <section className="card" data-testid="admin-devices">
      <header className="card-head">
        <h3>{t('adminDevices')}</h3>
        <div className="card-actions">
          <button
            className="btn btn-primary"
            data-testid="device-add"
            onClick={() => {
              setForm({ ...EMPTY });
              setEditing(null);
              setRendered(null);
            }}
          >
            {t('addDevice')}
          </button>
        </div>
      </header>
      {msg && (
        <p className={msg.ok ? 'ok' : 'error'} role="status" data-testid="devices-msg">
          {msg.text}
        </p>
      )}
      {rendered && (
        <div className="panel rendered" data-testid="rendered-config">
          <div className="panel-head">
            <h3>{t('renderedConfig', { id: rendered.config.deviceId })}</h3>
            <button className="btn-close" aria-label={t('close')} onClick={() => setRendered(null)}>
              ×
            </button>
          </div>
          <p className="warn-text">{t('configOnce')}</p>
          <pre className="raw">{JSON.stringify(rendered.config, null, 2)}</pre>
          <p className="muted">{t('configFile', { file: rendered.file })}</p>
          <button className="btn" onClick={() => saveBlob(new Blob([JSON.stringify(rendered.config, null, 2)], { type: 'application/json' }), `${rendered.config.deviceId}.json`)}>
            {t('download')}
          </button>
        </div>
      )}
      {form && (
        <form className="panel device-form" onSubmit={submit} data-testid="device-form">
          <h3>{editing ? t('editDevice', { id: editing }) : t('addDevice')}</h3>
          <div className="form-grid">
            {!editing && field('id', 'deviceId', { required: true, pattern: '[a-z0-9][a-z0-9\\-]{1,39}' })}
            {!editing && (
              <label className="field">
                {t('kind')}
                <select name="dev-kind" value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value })}>
                  {KINDS.map((k) => (
                    <option key={k} value={k}>
                      {t(`kind_${k}`)}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {field('model', 'model', { required: true })}
            {field('district', 'district', { required: true, list: 'districts' })}
            <datalist id="districts">
              {districts.map((d) => (
                <option key={d} value={d} />
              ))}
            </datalist>
            {form.kind !== 'truck' && field('lat', 'latitude', { type: 'number', step: 'any', required: true })}
            {form.kind !== 'truck' && field('lon', 'longitude', { type: 'number', step: 'any', required: true })}
            {form.kind === 'noise' && (
              <label className="field">
                {t('noiseZone')}
                <select name="dev-zone" value={form.zone} onChange={(e) => setForm({ ...form, zone: e.target.value })} required>
                  <option value="" />
                  {ZONES.map((z) => (
                    <option key={z} value={z}>
                      {t(`zone_${z}`)}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {form.kind === 'camera' && field('road', 'road', { required: true })}
            {form.kind === 'camera' && (
              <label className="field">
                {t('direction')}
                <select name="dev-direction" value={form.direction} onChange={(e) => setForm({ ...form, direction: e.target.value })} required>
                  <option value="" />
                  {DIRECTIONS.map((d) => (
                    <option key={d} value={d}>
                      {t(d)}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {form.kind === 'camera' && field('lanes', 'lanes', { type: 'number', min: 1, required: true })}
            {form.kind === 'truck' && field('depot', 'depot', { required: true, list: 'depots' })}
            {form.kind === 'truck' && field('route', 'route', { required: true, list: 'routes' })}
            {form.kind === 'truck' && field('plate', 'plateOfTruck')}
            <datalist id="depots">
              {basemap.depots.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </datalist>
            <datalist id="routes">
              {basemap.routes.map((r) => (
                <option key={r.id} value={r.id} />
              ))}
            </datalist>
            {field('dataS', 'dataInterval', { type: 'number', min: 1 })}
            {field('statusS', 'statusInterval', { type: 'number', min: 10 })}
          </div>
          <div className="row">
            <button type="submit" className="btn btn-primary" data-testid="device-save">
              {editing ? t('save') : t('create')}
            </button>
            <button
              type="button"
              className="btn"
              onClick={() => {
                setForm(null);
                setEditing(null);
              }}
            >
              {t('cancel')}
            </button>
          </div>
        </form>
      )}
      {q.error && <p className="error">{errorText(t, q.error)}</p>}
      <table className="grid">
        <thead>
          <tr>
            <th>{t('deviceId')}</th>
            <th>{t('kind')}</th>
            <th>{t('district')}</th>
            <th>{t('state')}</th>
            <th>{t('lastSeen')}</th>
            <th>{t('lastError')}</th>
            <th>{t('credentialsIssued')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(q.data?.devices ?? []).map((d) => (
            <tr key={d.id} data-device-id={d.id} className={d.status === 'retired' ? 'dim' : ''}>
              <td>{d.id}</td>
              <td>{t(`kind_${d.kind}`)}</td>
              <td>{d.district}</td>
              <td>
                {d.status === 'retired' ? t('retired') : d.online === true ? <span className="ok">{t('online')}</span> : d.online === false ? <span className="bad">{t('offline')}</span> : t('noData')}
              </td>
              <td>{d.lastSeen ? fmtTime(lang, d.lastSeen, timeZone, true) : '—'}</td>
              <td>
                {d.lastError ? (
                  <span title={d.lastError.detail}>
                    {t(`reject_${d.lastError.reason}`)} · {fmtTime(lang, d.lastError.at, timeZone, true)}
                  </span>
                ) : (
                  '—'
                )}
              </td>
              <td>{d.credentialsIssuedAt ? fmtTime(lang, d.credentialsIssuedAt, timeZone, true) : '—'}</td>
              <td className="actions">
                {d.status !== 'retired' && (
                  <>
                    <button
                      className="btn"
                      data-action="edit"
                      onClick={() => {
                        setForm(formOf(d));
                        setEditing(d.id);
                        setRendered(null);
                      }}
                    >
                      {t('edit')}
                    </button>
                    <button className="btn" data-action="rotate" onClick={() => rotate(d.id)}>
                      {t('rotate')}
                    </button>
                    <button className="btn" data-action="retire" onClick={() => retire(d.id)}>
                      {t('retire')}
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
