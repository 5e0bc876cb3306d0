/**
 * Coverage: the day's planned collection segments per route, served vs missed (from
 * GET /api/history/coverage), with the share per route. Selecting a route colours its segments on
 * the map via feature-state (green served, red missed).
 */
import { useEffect, useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import bbox from '@turf/bbox';
import type { FeatureCollection } from 'geojson';
import { api } from '../api/client';
import { useConsole } from '../context';
import { errorText } from './account/PasswordDialog';
import { dayStart, localDate } from '../dates';

// the API's response shape (type only: nothing of the server is bundled)
import type { CoverageRow } from '../../../shared/api';

export function CoverageView() {
  const { t, timeZone, basemap, map } = useConsole();
  const [date, setDate] = useState(() => localDate(Date.now(), timeZone));
  const [route, setRoute] = useState<string | null>(null);
  const from = dayStart(date, timeZone);
  const q = useQuery({
    queryKey: ['coverage', date],
    queryFn: () => api<{ rows: CoverageRow[] }>(`/api/history/coverage?from=${from}&to=${from + 86_400_000}`),
    refetchInterval: 60_000,
  });
  // route-days that can be judged first (lowest share first), then "not started" / "no data"
  const judged = (r: CoverageRow) => r.status === 'done' || r.status === 'in_progress';
  const rows = useMemo(() => [...(q.data?.rows ?? [])].sort((a, b) => Number(judged(b)) - Number(judged(a)) || a.share - b.share), [q.data]);
  const routes = useMemo(() => new Map(basemap.routes.map((r) => [r.id, r])), [basemap]);

  useEffect(() => {
    if (!map) return;
    const row = rows.find((r) => r.routeId === route);
    const plan = route ? routes.get(route) : undefined;
    if (!row || !plan) {
      map.setCoverage([], []);
      return;
    }
    const planned = plan.segments.slice(plan.collectFrom, plan.collectTo + 1);
    const missed = new Set(row.missed.map((m) => m.segmentId));
    map.setCoverage(
      planned.filter((s) => !missed.has(s)),
      [...missed],
    );
    const ids = new Set(planned);
    const fc: FeatureCollection = { type: 'FeatureCollection', features: basemap.streets.features.filter((f) => ids.has(f.properties.segmentId)) as FeatureCollection['features'] };
    if (fc.features.length) {
      const [x0, y0, x1, y1] = bbox(fc);
      map.map.fitBounds([x0, y0, x1, y1], { padding: 60, duration: 500 });
    }
  }, [map, route, rows, routes, basemap]);
  useEffect(() => () => map?.setCoverage([], []), [map]);

  return (
    <section className="panel coverage-panel">
      <h2>{t('tabCoverage')}</h2>
      <label className="field">
        {t('date')}
        <input type="date" value={date} onChange={(e) => setDate(e.target.value)} />
      </label>
      {q.isLoading && <p className="muted">{t('loading')}</p>}
      {q.error && <p className="error">{errorText(t, q.error)}</p>}
      <div className="legend-inline">
        <span>
          <i className="bar served" /> {t('served')}
        </span>
        <span>
          <i className="bar missed" /> {t('missed')}
        </span>
      </div>
      <ul className="coverage-list">
        {rows.map((r) => (
          <li key={`${r.routeId}-${r.deviceId}`} className={route === r.routeId ? 'active' : ''}>
            <button onClick={() => setRoute(route === r.routeId ? null : r.routeId)} data-route={r.routeId}>
              <span className="cov-route">
                {r.routeId} · {r.deviceId}
              </span>
              {judged(r) ? (
                <>
                  <span className="cov-bar" aria-label={`${Math.round(r.share * 100)}%`}>
                    <span className="cov-fill" style={{ width: `${Math.round(r.share * 100)}%`, background: r.share >= 0.9 ? '#22c55e' : r.share >= 0.6 ? '#fbbf24' : '#ef4444' }} />
                  </span>
                  <span className="cov-share">{Math.round(r.share * 100)}%</span>
                  <span className="cov-counts muted" data-status={r.status}>
                    {r.status === 'in_progress'
                      ? t('covInProgress', { served: r.served, due: r.due, planned: r.planned })
                      : `${t('served')} ${r.served}/${r.planned} · ${t('missed')} ${r.missed.length}`}
                  </span>
                </>
              ) : (
                <span className="cov-counts muted" data-status={r.status}>
                  {r.status === 'not_started' ? t('covNotStarted') : t('noData')}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
