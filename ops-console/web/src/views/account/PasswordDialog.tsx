/** "Change my password" (any role): POST /api/auth/password with the current password. */
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api/client';
import { useConsole } from '../../context';

export function PasswordButton() {
  const { t } = useConsole();
  const [open, setOpen] = useState(false);
  return (
    <>
      <button className="btn btn-small" data-testid="change-password" onClick={() => setOpen(true)}>
        {t('changePassword')}
      </button>
      {open && <PasswordDialog onClose={() => setOpen(false)} />}
    </>
  );
}

function PasswordDialog({ onClose }: { onClose: () => void }) {
  const { t } = useConsole();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api('/api/auth/password', { method: 'POST', body: { current, password } });
      setMsg({ ok: true, text: t('passwordChanged') });
      setCurrent('');
      setPassword('');
    } catch (err) {
      setMsg({ ok: false, text: errorText(t, err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="modal-back" role="presentation" onClick={onClose}>
      <form className="modal panel" role="dialog" aria-label={t('changePassword')} onClick={(e) => e.stopPropagation()} onSubmit={submit}>
        <div className="panel-head">
          <h2>{t('changePassword')}</h2>
          <button type="button" className="btn-close" aria-label={t('close')} onClick={onClose}>
            ×
          </button>
        </div>
        <label className="field">
          {t('currentPassword')}
          <input type="password" name="current" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
        </label>
        <label className="field">
          {t('newPassword')}
          <input type="password" name="new-password" autoComplete="new-password" minLength={10} value={password} onChange={(e) => setPassword(e.target.value)} required />
          <span className="muted small">{t('passwordHint')}</span>
        </label>
        {msg && (
          <p className={msg.ok ? 'ok' : 'error'} role="status">
            {msg.text}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {t('save')}
        </button>
      </form>
    </div>
  );
}

/**
 * A request error for the screen, in the user's language: the API's stable code picks the text
 * (`err_<code>`); the fields the API names (`field x.y`, `/x/y`, `body/x`) are shown as they are.
 * The API's English message itself never reaches the screen.
 */
export function errorText(t: (k: string, v?: Record<string, string | number>) => string, err: unknown): string {
  if (!(err instanceof ApiError)) return t('err_E_WEB_NETWORK');
  const known = t(`err_${err.code}`);
  const base = known === `err_${err.code}` ? t('errCode', { code: err.code }) : known;
  const fields = [
    ...new Set(
      [...err.message.matchAll(/field ([\w.]+)|property '(\w+)'|(?:body|querystring)?\/([\w/]+)|^(\w+):/g)]
        .map((m) => (m[1] ?? m[2] ?? m[3] ?? m[4] ?? '').replace(/\//g, '.'))
        .filter((f) => f && f !== 'line'),
    ),
  ];
  return fields.length ? `${base} (${t('fields')}: ${fields.join(', ')})` : base;
}
