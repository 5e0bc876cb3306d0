import { useState, type FormEvent } from 'react';
import { login, ApiError } from '../api/client';
import { t, type Lang } from '../i18n';

export function Login({ lang, setLang }: { lang: Lang; setLang: (l: Lang) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? t(lang, 'loginFailed')
          : err instanceof ApiError && err.status === 429
            ? t(lang, 'loginRateLimited')
            : t(lang, 'error', { message: (err as Error).message }),
      );
      setBusy(false);
    }
  };
  return (
    <div className="login-page">
      <form className="login" onSubmit={submit} aria-label={t(lang, 'login')}>
        <h1>{t(lang, 'appTitle')}</h1>
        <p className="login-city">Coatzacoalcos, Veracruz</p>
        <label>
          {t(lang, 'username')}
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} autoFocus required />
        </label>
        <label>
          {t(lang, 'password')}
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && (
          <div className="login-error" role="alert">
            {error}
          </div>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? t(lang, 'loginBusy') : t(lang, 'login')}
        </button>
        <button type="button" className="lang" onClick={() => setLang(lang === 'es' ? 'en' : 'es')}>
          {lang === 'es' ? 'English' : 'Español'}
        </button>
      </form>
    </div>
  );
}
