/**
 * Planners' view: air quality by station and hour (Índice AIRE Y SALUD), noise exceedances
 * (NOM-081, indicative), plate counts in/out per entrance per hour, coverage per day; filtered by
 * district and date range; each chart exports its rows as CSV, stations and missed streets as GeoJSON.
 */
import { inService } from '../api/types';
import { useMemo, useState, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { AlignedData } from 'uplot';
import type { Feature, FeatureCollection } from 'geojson';
import { api, saveBlob } from '../api/client';
import { AIR_CATEGORIES, AIR_COLORS } from '../colors';
import { useConsole } from '../context';
import { errorText } from './account/PasswordDialog';
import { dayStart, localDate } from '../dates';
import { UChart } from '../charts/UChart';
import { csvBlob, geoJsonBlob, toCsv } from '../planners/csv';
import type { AirIndexRow as AirRow, CoverageRow, NoiseExceedanceRow as NoiseRow, PlateCountRow as PlateRow } from '../../../shared/api';

const PALETTE = ['#7dd3fc', '#f472b6', '#a3e635', '#fbbf24', '#c084fc', '#34d399', '#fb7185', '#60a5fa', '#f97316', '#2dd4bf'];

/** Pivot rows into uPlot's aligned columns: x = sorted keys, one series per group. */
export function pivot<R>(rows: R[], x: (r: R) => number, group: (r: R) => string, y: (r: R) => number | null): { data: AlignedData; groups: string[] } {
  const xs = [...new Set(rows.map(x))].sort((a, b) => a - b);
  const groups = [...new Set(rows.map(group))].sort();
  const xi = new Map(xs.map((v, i) => [v, i]));
  const cols = groups.map(() => new Array<number | null>(xs.length).fill(null));
  const gi = new Map(groups.map((g, i) => [g, i]));
  for (const r of rows) cols[gi.get(group(r))!]![xi.get(x(r))!] = y(r);
  return { data: [xs.map((v) => v / 1000), ...cols] as AlignedData, groups };
}

function Card({ title, children, actions, testId }: { title: string; children: ReactNode; actions: ReactNode; testId: string }) {
  return (
    <section className="card" data-testid={testId}>
      <header className="card-head">
        <h3>{title}</h3>
        <div className="card-actions">{actions}</div>
      </header>
      {children}
    </section>
  );
}

export function PlannersView() {
  const { t, devices, basemap, timeZone } = useConsole();
  const today = localDate(Date.now(), timeZone);
  const [district, setDistrict] = useState('');
  const [fromDate, setFromDate] = useState(() => localDate(Date.now() - 6 * 86_400_000, timeZone));
  const [toDate, setToDate] = useState(today);
  const from = dayStart(fromDate, timeZone);
  const to = dayStart(toDate, timeZone) + 86_400_000;
  const inDistrict = (kind: string) => devices.filter((d) => d.kind === kind && inService(d.status) && (!district || d.district === district)).map((d) => d.id);
  const ids = (kind: string) => {
    const list = inDistrict(kind);
    return list.length ? `&${kind === 'camera' ? 'cameraIds' : 'deviceIds'}=${list.join(',')}` : null;
  };
  const range = `from=${from}&to=${to}`;
  const xr = useMemo((): [number, number] => [from / 1000, to / 1000], [from, to]);
  const airIds = ids('air');
  const noiseIds = ids('noise');
  const camIds = ids('camera');
  const truckIds = ids('truck');
  const air = useQuery({ queryKey: ['p-air', range, airIds], enabled: airIds !== null, queryFn: () => api<{ rows: AirRow[] }>(`/api/history/air-index?${range}${airIds}`) });
  const noise = useQuery({ queryKey: ['p-noise', range, noiseIds], enabled: noiseIds !== null, queryFn: () => api<{ rows: NoiseRow[] }>(`/api/history/noise-exceedances?${range}${noiseIds}`) });
  const plates = useQuery({ queryKey: ['p-plates', range, camIds], enabled: camIds !== null, queryFn: () => api<{ rows: PlateRow[] }>(`/api/history/plate-counts?${range}${camIds}`) });
  const cov = useQuery({ queryKey: ['p-cov', range, truckIds], enabled: truckIds !== null, queryFn: () => api<{ rows: CoverageRow[] }>(`/api/history/coverage?${range}${truckIds}`) });

  const airChart = useMemo(
    () =>
      pivot(
        air.data?.rows ?? [],
        (r) => r.hour,
        (r) => r.deviceId,
        (r) => (r.category ? AIR_CATEGORIES.indexOf(r.category as never) + 1 : null),
      ),
    [air.data],
  );
  const noiseChart = useMemo(
    () =>
      pivot(
        noise.data?.rows ?? [],
        (r) => dayStart(r.date, timeZone) + (r.period === 'night' ? 43_200_000 : 0),
        (r) => r.deviceId,
        (r) => r.hoursOver,
      ),
    [noise.data, timeZone],
  );
  const plateChart = useMemo(
    () =>
      pivot(
        plates.data?.rows ?? [],
        (r) => r.hour,
        (r) => `${r.cameraId} ${r.direction === 'entering' ? '→' : '←'}`,
        (r) => r.count,
      ),
    [plates.data],
  );
  const covChart = useMemo(() => {
    const byDay = new Map<string, { s: number; n: number }>();
    // only route-days that can be judged: a day without data is a gap in the chart, never 0 %
    for (const r of cov.data?.rows ?? []) {
      if (r.status !== 'done' && r.status !== 'in_progress') continue;
      const e = byDay.get(r.date) ?? { s: 0, n: 0 };
      e.s += r.share;
      e.n++;
      byDay.set(r.date, e);
    }
    const rows = [...byDay].map(([date, e]) => ({ date, share: Math.round((e.s / e.n) * 1000) / 10 }));
    return pivot(
      rows,
      (r) => dayStart(r.date, timeZone),
      () => t('share'),
      (r) => r.share,
    );
  }, [cov.data, timeZone, t]);

  const stamp = `${fromDate}_${toDate}${district ? `_${district.replace(/\W+/g, '-')}` : ''}`;
  const exportCsv = (name: string, rows: Record<string, unknown>[]) => saveBlob(csvBlob(toCsv(rows)), `${name}_${stamp}.csv`);
  const stationsGeoJson = () => {
    const worst = new Map<string, number>();
    for (const r of air.data?.rows ?? []) if (r.category) worst.set(r.deviceId, Math.max(worst.get(r.deviceId) ?? -1, AIR_CATEGORIES.indexOf(r.category as never)));
    const over = new Map<string, number>();
    for (const r of noise.data?.rows ?? []) over.set(r.deviceId, (over.get(r.deviceId) ?? 0) + (r.exceeded ? 1 : 0));
    const features: Feature[] = devices
      .filter((d) => d.location && (d.kind === 'air' || d.kind === 'noise' || d.kind === 'camera') && (!district || d.district === district))
      .map((d) => ({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [d.location!.lon, d.location!.lat] },
        properties: { id: d.id, kind: d.kind, district: d.district, worstAirCategory: worst.has(d.id) ? AIR_CATEGORIES[worst.get(d.id)!] : null, noisePeriodsExceeded: over.get(d.id) ?? null },
      }));
    saveBlob(geoJsonBlob({ type: 'FeatureCollection', features } satisfies FeatureCollection), `stations_${stamp}.geojson`);
  };
  const missedGeoJson = () => {
    const missed = new Map<string, number>();
    for (const r of cov.data?.rows ?? []) for (const m of r.missed) missed.set(m.segmentId, (missed.get(m.segmentId) ?? 0) + 1);
    const features = basemap.streets.features
      .filter((f) => missed.has(f.properties.segmentId))
      .map((f) => ({ ...f, properties: { ...f.properties, timesMissed: missed.get(f.properties.segmentId) } }));
    saveBlob(geoJsonBlob({ type: 'FeatureCollection', features }), `missed-streets_${stamp}.geojson`);
  };

  const status = (q: { isLoading: boolean; error: unknown; data?: { rows: unknown[] } }) =>
    q.isLoading ? <p className="muted">{t('loading')}</p> : q.error ? <p className="error">{errorText(t, q.error)}</p> : !q.data?.rows.length ? <p className="muted">{t('noData')}</p> : null;

  return (
    <div className="planners" data-testid="planners">
      <div className="filters">
        <label className="field">
          {t('district')}
          <select value={district} onChange={(e) => setDistrict(e.target.value)} data-testid="filter-district">
            <option value="">{t('allDistricts')}</option>
            {basemap.districts.features.map((f) => (
              <option key={f.properties.name} value={f.properties.name}>
                {f.properties.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('from')}
          <input type="date" value={fromDate} max={toDate} onChange={(e) => setFromDate(e.target.value)} data-testid="filter-from" />
        </label>
        <label className="field">
          {t('to')}
          <input type="date" value={toDate} min={fromDate} onChange={(e) => setToDate(e.target.value)} data-testid="filter-to" />
        </label>
        <button className="btn" onClick={stationsGeoJson} data-testid="export-stations-geojson">
          {t('exportGeoJson')}
        </button>
      </div>
      <div className="cards">
        <Card
          testId="card-air"
          title={t('airByHour')}
          actions={
            <button
              className="btn"
              onClick={() =>
                exportCsv(
                  'air-index',
                  (air.data?.rows ?? []).map((r) => ({ station: r.deviceId, hour: new Date(r.hour).toISOString(), category: r.category, label: r.label })),
                )
              }
              data-testid="export-air-csv"
            >
              {t('exportCsv')}
            </button>
          }
        >
          {status(air) ?? (
            <UChart timeZone={timeZone} data={airChart.data} series={airChart.groups.map((g, i) => ({ label: g, color: PALETTE[i % PALETTE.length]! }))} yLabel="1 Buena … 5 Ext. mala" xRange={xr} />
          )}
          <div className="legend-inline">
            {AIR_CATEGORIES.map((c, i) => (
              <span key={c}>
                <i className="dot" style={{ background: AIR_COLORS[c] }} /> {i + 1} {t(c)}
              </span>
            ))}
          </div>
        </Card>
        <Card
          testId="card-noise"
          title={t('noiseExceed')}
          actions={
            <button className="btn" onClick={() => exportCsv('noise-exceedances', (noise.data?.rows ?? []) as never)} data-testid="export-noise-csv">
              {t('exportCsv')}
            </button>
          }
        >
          {status(noise) ?? (
            <UChart
              timeZone={timeZone}
              data={noiseChart.data}
              series={noiseChart.groups.map((g, i) => ({ label: g, color: PALETTE[i % PALETTE.length]!, bars: true }))}
              yLabel="h > límite"
              xRange={xr}
            />
          )}
        </Card>
        <Card
          testId="card-plates"
          title={t('plateCounts')}
          actions={
            <button
              className="btn"
              onClick={() =>
                exportCsv(
                  'plate-counts',
                  (plates.data?.rows ?? []).map((r) => ({ camera: r.cameraId, hour: new Date(r.hour).toISOString(), direction: r.direction, count: r.count })),
                )
              }
              data-testid="export-plates-csv"
            >
              {t('exportCsv')}
            </button>
          }
        >
          {status(plates) ?? (
            <UChart timeZone={timeZone} data={plateChart.data} series={plateChart.groups.map((g, i) => ({ label: g, color: PALETTE[i % PALETTE.length]! }))} yLabel={t('count')} xRange={xr} />
          )}
        </Card>
        <Card
          testId="card-coverage"
          title={t('coveragePerDay')}
          actions={
            <>
              <button
                className="btn"
                onClick={() =>
                  exportCsv(
                    'coverage',
                    (cov.data?.rows ?? []).map((r) => ({
                      date: r.date,
                      route: r.routeId,
                      truck: r.deviceId,
                      status: r.status,
                      planned: r.planned,
                      due: r.status === 'done' || r.status === 'in_progress' ? r.due : '',
                      served: r.status === 'done' || r.status === 'in_progress' ? r.served : '',
                      share: r.status === 'done' || r.status === 'in_progress' ? r.share : '',
                      missed: r.missed.map((m) => m.segmentId).join(' '),
                    })),
                  )
                }
                data-testid="export-coverage-csv"
              >
                {t('exportCsv')}
              </button>
              <button className="btn" onClick={missedGeoJson} data-testid="export-missed-geojson">
                {t('exportGeoJson')}
              </button>
            </>
          }
        >
          {status(cov) ?? <UChart timeZone={timeZone} data={covChart.data} series={[{ label: `${t('share')} %`, color: '#22c55e' }]} yLabel="%" xRange={xr} />}
        </Card>
      </div>
    </div>
  );
}
