/**
 * The plate hotlist (GET/PUT/DELETE /api/hotlist/entries/:plate, POST /api/hotlist/import):
 * add, edit (reason, direction, active hours, expiry), remove, CSV import; every change is
 * audited by the API and reaches the cameras' rule at once (retained svc/hotlist).
 */
import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, apiUrl, ApiError, getSession } from '../../api/client';
import { useConsole } from '../../context';
import { localDateTime, toLocalInput } from '../../dates';
import { fmtTime } from '../../i18n';
import { errorText } from '../account/PasswordDialog';
import type { Hotlist as HotlistT, HotlistEntry } from '../../../../../contract';

interface Form {
  plate: string;
  reason: string;
  direction: string;
  from: string;
  to: string;
  expires: string;
}
const EMPTY: Form = { plate: '', reason: '', direction: '', from: '', to: '', expires: '' };

export function Hotlist() {
  const { t, lang, timeZone } = useConsole();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['hotlist'], queryFn: () => api<HotlistT>('/api/hotlist') });
  const [form, setForm] = useState<Form | null>(null);
  const [editing, setEditing] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [mode, setMode] = useState<'merge' | 'replace'>('merge');
  const done = async (text: string) => {
    setMsg({ ok: true, text });
    await qc.invalidateQueries({ queryKey: ['hotlist'] });
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!form) return;
    const body: Record<string, unknown> = { reason: form.reason.trim() };
    if (form.direction) body.direction = form.direction;
    if (form.from !== '' && form.to !== '') body.activeHours = { from: Number(form.from), to: Number(form.to) };
    if (form.expires) body.expiresAt = localDateTime(form.expires, timeZone);
    try {
      await api(`/api/hotlist/entries/${encodeURIComponent(form.plate.trim().toUpperCase())}`, { method: 'PUT', body });
      setForm(null);
      await done(t('saved'));
    } catch (err) {
      setMsg({ ok: false, text: errorText(t, err) });
    }
  };
  const remove = async (plate: string) => {
    try {
      await api(`/api/hotlist/entries/${encodeURIComponent(plate)}`, { method: 'DELETE' });
      await done(t('saved'));
    } catch (err) {
      setMsg({ ok: false, text: errorText(t, err) });
    }
  };
  const importCsv = async (file: File) => {
    const text = await file.text();
    try {
      const res = await fetch(apiUrl(`/api/hotlist/import?mode=${mode}`), {
        method: 'POST',
        headers: { 'content-type': 'text/csv', authorization: `Bearer ${getSession()?.token ?? ''}` },
        body: text,
      });
      const data = (await res.json()) as { imported?: number; code?: string; message?: string };
      if (!res.ok) throw new ApiError(res.status, data.code ?? `E_HTTP_${res.status}`, data.message ?? '');
      await done(t('imported', { count: data.imported ?? 0 }));
    } catch (err) {
      const line = err instanceof ApiError ? /line (\d+)/.exec(err.message)?.[1] : undefined;
      setMsg({ ok: false, text: `${errorText(t, err)}${line ? ` · ${t('csvLine', { line })}` : ''}` });
    }
  };
  const edit = (e: HotlistEntry) => {
    setEditing(true);
    setForm({
      plate: e.plate,
      reason: e.reason,
      direction: e.direction ?? '',
      from: e.activeHours ? String(e.activeHours.from) : '',
      to: e.activeHours ? String(e.activeHours.to) : '',
      expires: e.expiresAt ? toLocalInput(e.expiresAt, timeZone) : '',
    });
  };
  const now = Date.now();

  return (
    <section className="panel" data-testid="hotlist">
      <div className="panel-head">
        <h2>{t('hotlist')}</h2>
        <button
          className="btn btn-primary"
          data-testid="hotlist-add"
          onClick={() => {
            setForm({ ...EMPTY });
            setEditing(false);
          }}
        >
          {t('addToHotlist')}
        </button>
      </div>
      {msg && (
        <p className={msg.ok ? 'ok' : 'error'} role="status" data-testid="hotlist-msg">
          {msg.text}
        </p>
      )}
      {form && (
        <form onSubmit={save} data-testid="hotlist-form">
          <label className="field">
            {t('plate')}
            <input name="hl-plate" value={form.plate} disabled={editing} onChange={(e) => setForm({ ...form, plate: e.target.value.toUpperCase() })} required pattern="[A-Z0-9\-]{3,10}" />
          </label>
          <label className="field">
            {t('reason')}
            <input name="hl-reason" value={form.reason} onChange={(e) => setForm({ ...form, reason: e.target.value })} required maxLength={200} />
          </label>
          <label className="field">
            {t('direction')}
            <select name="hl-direction" value={form.direction} onChange={(e) => setForm({ ...form, direction: e.target.value })}>
              <option value="">{t('anyDirection')}</option>
              <option value="entering">{t('entering')}</option>
              <option value="leaving">{t('leaving')}</option>
            </select>
          </label>
          <div className="row">
            <label className="field">
              {t('activeHours')} {t('from').toLowerCase()}
              <input name="hl-from" type="number" min={0} max={23} value={form.from} onChange={(e) => setForm({ ...form, from: e.target.value })} placeholder="0–23" />
            </label>
            <label className="field">
              {t('to').toLowerCase()}
              <input name="hl-to" type="number" min={0} max={24} value={form.to} onChange={(e) => setForm({ ...form, to: e.target.value })} placeholder="0–24" />
            </label>
          </div>
          <label className="field">
            {t('expires')}
            <input name="hl-expires" type="datetime-local" value={form.expires} onChange={(e) => setForm({ ...form, expires: e.target.value })} />
          </label>
          <div className="row">
            <button type="submit" className="btn btn-primary" data-testid="hotlist-save">
              {t('save')}
            </button>
            <button type="button" className="btn" onClick={() => setForm(null)}>
              {t('cancel')}
            </button>
          </div>
        </form>
      )}
      <div className="row">
        <label className="field">
          {t('importCsv')}
          <input
            type="file"
            name="hl-csv"
            accept=".csv,text/csv"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void importCsv(f);
              e.target.value = '';
            }}
          />
          <span className="muted small">{t('csvHint')}</span>
        </label>
        <label className="field">
          {t('importMode')}
          <select name="hl-mode" value={mode} onChange={(e) => setMode(e.target.value as 'merge' | 'replace')}>
            <option value="merge">{t('importMerge')}</option>
            <option value="replace">{t('importReplace')}</option>
          </select>
        </label>
      </div>
      {q.error && <p className="error">{errorText(t, q.error)}</p>}
      <table className="grid compact">
        <thead>
          <tr>
            <th>{t('plate')}</th>
            <th>{t('reason')}</th>
            <th>{t('direction')}</th>
            <th>{t('activeHours')}</th>
            <th>{t('expires')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(q.data?.entries ?? []).map((e) => (
            <tr key={e.plate} data-plate={e.plate} className={e.expiresAt && e.expiresAt < now ? 'dim' : ''}>
              <td className="mono">{e.plate}</td>
              <td>{e.reason}</td>
              <td>{e.direction ? t(e.direction) : t('anyDirection')}</td>
              <td>{e.activeHours ? `${String(e.activeHours.from).padStart(2, '0')}–${String(e.activeHours.to).padStart(2, '0')} h` : t('allDay')}</td>
              <td>{e.expiresAt ? `${fmtTime(lang, e.expiresAt, timeZone, true)}${e.expiresAt < now ? ` (${t('expired')})` : ''}` : t('noExpiry')}</td>
              <td className="actions">
                <button className="btn" data-action="edit" onClick={() => edit(e)}>
                  {t('edit')}
                </button>
                <button className="btn" data-action="remove" onClick={() => remove(e.plate)}>
                  {t('remove')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
