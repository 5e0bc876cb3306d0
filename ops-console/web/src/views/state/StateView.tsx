/**
 * The state level's console (role `state`, estatal): one table of the installation's
 * municipalities — devices online, open alerts by severity — and, per city, the Índice AIRE Y
 * SALUD per station and day and the NOM-081 noise exceedances (GET /api/state/cities,
 * ops-console/api/routes/state.ts). No map, no live stream, no device list: the role may read
 * nothing else, and this screen asks for nothing else.
 */
import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, setSession, type Session } from '../../api/client';
import { t as translate, type Lang } from '../../i18n';

interface CitySummary {
  tenant: string;
  city: string;
  at: number;
  days: number;
  devices: { total: number; online: number; byKind: Record<string, { total: number; online: number }> };
  alerts: { open: number; bySeverity: Record<string, number> };
  air: { deviceId: string; district: string; date: string; category: string | null; hours: number }[];
  noise: { stationPeriods: number; exceeded: number; rows: { deviceId: string; district: string; date: string; period: string; leqDb: number | null; limitDb: number | null }[] };
}
type CityEntry = CitySummary | { tenant: string; error: string };

/** YYYY-MM-DD → dd/mm/aaaa (Mexican) in Spanish, as is in English */
export const fmtLocalDate = (lang: Lang, d: string): string => (lang === 'es' ? d.split('-').reverse().join('/') : d);

export function StateConsole({ session, lang, setLang }: { session: Session; lang: Lang; setLang: (l: Lang) => void }) {
  const t = useMemo(() => (key: string, vars?: Record<string, string | number>) => translate(lang, key, vars), [lang]);
  const [days, setDays] = useState(7);
  const q = useQuery({ queryKey: ['state-cities', days], queryFn: () => api<{ cities: CityEntry[] }>(`/api/state/cities?days=${days}`), refetchInterval: 60_000 });
  const nf = new Intl.NumberFormat(lang === 'es' ? 'es-MX' : 'en-US');
  const cities = q.data?.cities ?? [];
  return (
    <div className="console view-state">
      <header className="topbar">
        <div className="brand">
          <span className="brand-title">{t('appTitle')}</span>
          <span className="brand-city">{t('roleState')}</span>
        </div>
        <div className="topbar-right">
          <button className="lang" onClick={() => setLang(lang === 'es' ? 'en' : 'es')} aria-label={t('language')}>
            {lang === 'es' ? 'EN' : 'ES'}
          </button>
          <span className="user">
            {session.username} · {t('roleState')}
          </span>
          <button className="logout" onClick={() => setSession(null)}>
            {t('logout')}
          </button>
        </div>
      </header>
      <main className="state-view" style={{ padding: '1rem', overflow: 'auto' }}>
        <h2>{t('stateTitle')}</h2>
        <p className="state-note">{t('stateNote')}</p>
        <label>
          {t('stateDays')}{' '}
          <select value={days} onChange={(e) => setDays(Number(e.target.value))} aria-label={t('stateDays')}>
            {[1, 7, 14, 31].map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        {q.isError && <div role="alert">{t('error', { message: (q.error as Error).message })}</div>}
        {q.isLoading && <div>{t('loading')}</div>}
        <table className="state-cities" data-testid="state-cities">
          <thead>
            <tr>
              <th>{t('stateCity')}</th>
              <th>{t('stateDevicesOnline')}</th>
              <th>{t('stateOpenAlerts')}</th>
              <th>{t('stateNoiseExceeded')}</th>
            </tr>
          </thead>
          <tbody>
            {cities.map((c) =>
              'error' in c ? (
                <tr key={c.tenant} data-tenant={c.tenant}>
                  <td>{c.tenant}</td>
                  <td colSpan={3}>{t('stateUnreachable')}</td>
                </tr>
              ) : (
                <tr key={c.tenant || c.city} data-tenant={c.tenant}>
                  <td className="state-city">{c.city}</td>
                  <td className="state-online">
                    {nf.format(c.devices.online)} / {nf.format(c.devices.total)}
                  </td>
                  <td className="state-alerts">
                    {nf.format(c.alerts.open)} (
                    {t('stateCityAlerts', {
                      critical: nf.format(c.alerts.bySeverity.critical ?? 0),
                      warning: nf.format(c.alerts.bySeverity.warning ?? 0),
                      info: nf.format(c.alerts.bySeverity.info ?? 0),
                    })}
                    )
                  </td>
                  <td className="state-noise">{nf.format(c.noise.exceeded)}</td>
                </tr>
              ),
            )}
          </tbody>
        </table>
        {cities.map((c) =>
          'error' in c ? null : (
            <section key={`d-${c.tenant || c.city}`} className="state-city-detail" data-tenant={c.tenant}>
              <h3>{c.city}</h3>
              <h4>{t('stateAirDays')}</h4>
              {c.air.length === 0 ? (
                <p>{t('stateNoData')}</p>
              ) : (
                <table className="state-air">
                  <thead>
                    <tr>
                      <th>{t('stateStation')}</th>
                      <th>{t('stateDate')}</th>
                      <th>{t('air')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.air.map((r) => (
                      <tr key={`${r.deviceId}-${r.date}`}>
                        <td>
                          {r.deviceId} · {r.district}
                        </td>
                        <td>{fmtLocalDate(lang, r.date)}</td>
                        <td>{r.category ? t(r.category) : t('stateNoData')}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <h4>{t('stateNoiseExceeded')}</h4>
              {c.noise.rows.length === 0 ? (
                <p>{t('stateNone')}</p>
              ) : (
                <table className="state-noise-rows">
                  <thead>
                    <tr>
                      <th>{t('stateStation')}</th>
                      <th>{t('stateDate')}</th>
                      <th>{t('statePeriod')}</th>
                      <th>dB(A)</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.noise.rows.map((r) => (
                      <tr key={`${r.deviceId}-${r.date}-${r.period}`}>
                        <td>
                          {r.deviceId} · {r.district}
                        </td>
                        <td>{fmtLocalDate(lang, r.date)}</td>
                        <td>{t(`period_${r.period}`)}</td>
                        <td>
                          {r.leqDb === null ? '—' : nf.format(r.leqDb)} / {r.limitDb === null ? '—' : nf.format(r.limitDb)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          ),
        )}
      </main>
    </div>
  );
}
