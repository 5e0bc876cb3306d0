/** Users: list with role, state and last login; create with a role; reset a password; disable / enable. */
import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';
import { useConsole } from '../../context';
import { fmtTime } from '../../i18n';
import { errorText } from '../account/PasswordDialog';
import type { UserRow } from '../../../../shared/api';

const ROLES = ['operator', 'planner', 'investigator', 'admin'] as const;

export function UsersAdmin() {
  const { t, lang, timeZone, session } = useConsole();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['admin-users'], queryFn: () => api<{ users: UserRow[] }>('/api/users') });
  const [form, setForm] = useState({ username: '', role: 'operator', password: '' });
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [resetFor, setResetFor] = useState<string | null>(null);
  const [resetPw, setResetPw] = useState('');
  const run = async (fn: () => Promise<unknown>, ok: string) => {
    try {
      await fn();
      setMsg({ ok: true, text: ok });
      await qc.invalidateQueries({ queryKey: ['admin-users'] });
      return true;
    } catch (err) {
      setMsg({ ok: false, text: errorText(t, err) });
      return false;
    }
  };
  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (await run(() => api('/api/users', { method: 'POST', body: form }), t('userCreated', { username: form.username }))) setForm({ username: '', role: form.role, password: '' });
  };
  const reset = async (e: FormEvent) => {
    e.preventDefault();
    if (!resetFor) return;
    if (await run(() => api(`/api/users/${encodeURIComponent(resetFor)}/password`, { method: 'POST', body: { password: resetPw } }), t('passwordReset', { username: resetFor }))) {
      setResetFor(null);
      setResetPw('');
    }
  };
  return (
    <section className="card" data-testid="admin-users">
      <header className="card-head">
        <h3>{t('adminUsers')}</h3>
      </header>
      <form className="row form-row" onSubmit={create} aria-label={t('newUser')} data-testid="user-create">
        <label className="field">
          {t('username')}
          <input name="new-username" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value.trim() })} required pattern="[a-z][a-z0-9._\-]{1,39}" />
        </label>
        <label className="field">
          {t('role')}
          <select name="new-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(r)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('password')}
          <input
            name="new-user-password"
            type="password"
            autoComplete="new-password"
            minLength={10}
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
            required
            placeholder={t('passwordHint')}
          />
        </label>
        <button type="submit" className="btn btn-primary">
          {t('create')}
        </button>
      </form>
      {msg && (
        <p className={msg.ok ? 'ok' : 'error'} role="status" data-testid="users-msg">
          {msg.text}
        </p>
      )}
      {q.error && <p className="error">{errorText(t, q.error)}</p>}
      <table className="grid">
        <thead>
          <tr>
            <th>{t('username')}</th>
            <th>{t('role')}</th>
            <th>{t('state')}</th>
            <th>{t('lastLogin')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(q.data?.users ?? []).map((u) => (
            <tr key={u.username} data-username={u.username} className={u.disabled ? 'dim' : ''}>
              <td>{u.username}</td>
              <td>{t(u.role)}</td>
              <td>{u.service ? t('serviceAccount') : u.disabled ? t('disabledUser') : t('enabled')}</td>
              <td>{u.lastLogin ? fmtTime(lang, u.lastLogin, timeZone, true) : t('never')}</td>
              <td className="actions">
                {!u.service && (
                  <>
                    <button className="btn" data-action="reset" onClick={() => setResetFor(resetFor === u.username ? null : u.username)}>
                      {t('resetPassword')}
                    </button>
                    {u.username !== session.username && (
                      <button
                        className="btn"
                        data-action={u.disabled ? 'enable' : 'disable'}
                        onClick={() => run(() => api(`/api/users/${encodeURIComponent(u.username)}/disable`, { method: 'POST', body: { disabled: !u.disabled } }), t('saved'))}
                      >
                        {u.disabled ? t('enable') : t('disable')}
                      </button>
                    )}
                  </>
                )}
                {resetFor === u.username && (
                  <form className="row" onSubmit={reset}>
                    <input
                      name="reset-password"
                      type="password"
                      autoComplete="new-password"
                      minLength={10}
                      value={resetPw}
                      onChange={(e) => setResetPw(e.target.value)}
                      placeholder={t('newPassword')}
                      required
                    />
                    <button type="submit" className="btn btn-primary">
                      {t('save')}
                    </button>
                  </form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
