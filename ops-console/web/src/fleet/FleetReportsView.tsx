/**
 * "Reportes de flota" for planners: a period (dd/mm/aaaa), one truck or all, a route or a
 * district; totals, a chart of distance and engine hours per day, summaries per route and per
 * district, the table per truck and day (a row opens that day's trips and stops), exports (CSV of
 * a table, XLSX, PDF, made by the API) and GPX of a truck's day. Shapes, columns and formats:
 * ops-console/shared/fleet-report.ts.
 */
import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { AlignedData } from 'uplot';
import { api, download, ApiError } from '../api/client';
import { useConsole } from '../context';
import { dayStart, localDate, localDateTime, parseMxDateTime } from '../dates';
import { UChart } from '../charts/UChart';
import {
  DAY_COLUMNS,
  DISTRICT_COLUMNS,
  FLEET_TABLES,
  ROUTE_COLUMNS,
  STOP_COLUMNS,
  TRIP_COLUMNS,
  TOTAL_COLUMNS,
  fillText,
  fmtCell,
  fmtDate,
  type Column,
  type FleetReport,
  type FleetTableKey,
  type TruckDay,
} from '../../../shared/fleet-report';

const mxDate = (iso: string) => fmtDate(iso);
/** 'dd/mm/aaaa' typed → 'YYYY-MM-DD', or null */
const isoOf = (text: string): string | null => parseMxDateTime(text)?.slice(0, 10) ?? null;

const addDays = (date: string, n: number): string => {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
};
const daysBetween = (a: string, b: string): number => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
const localDayCount = (from: number, to: number, tz: string): number => daysBetween(localDate(from, tz), localDate(to - 1, tz)) + 1;

function Table<R>({
  rows,
  columns,
  testId,
  onRow,
  selected,
  rowKey,
}: {
  rows: R[];
  columns: Column<R>[];
  testId: string;
  onRow?: (r: R) => void;
  selected?: string | null;
  rowKey?: (r: R) => string;
}) {
  const { lang, timeZone } = useConsole();
  return (
    <div className="table-scroll">
      <table className="grid compact" data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} className={c.kind === 'text' || c.kind === 'date' || c.kind === 'datetime' || c.kind === 'yesno' ? '' : 'num'}>
                {c[lang]}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => {
            const key = rowKey?.(r) ?? String(i);
            return (
              <tr key={key} data-row={key} className={[onRow ? 'clickable' : '', selected === key ? 'active' : ''].join(' ')} onClick={onRow ? () => onRow(r) : undefined}>
                {columns.map((c) => (
                  <td key={c.key} data-col={c.key} className={c.kind === 'text' || c.kind === 'date' || c.kind === 'datetime' || c.kind === 'yesno' ? '' : 'num'}>
                    {fmtCell(c.kind, c.value(r), timeZone, lang)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function FleetReportsView() {
  const { t, lang, devices, timeZone, basemap } = useConsole();
  const [fromText, setFromText] = useState(() => mxDate(localDate(Date.now() - 6 * 86_400_000, timeZone)));
  const [toText, setToText] = useState(() => mxDate(localDate(Date.now(), timeZone)));
  const [truck, setTruck] = useState('');
  const [routeId, setRouteId] = useState('');
  const [district, setDistrict] = useState('');
  const [csvTable, setCsvTable] = useState<FleetTableKey>('days');
  const [picked, setPicked] = useState<{ deviceId: string; date: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [dlError, setDlError] = useState<string | null>(null);

  const fromIso = isoOf(fromText);
  const toIso = isoOf(toText);
  const trucks = devices.filter((d) => d.kind === 'truck' && d.status !== 'retired');
  const routes = [...new Set([...basemap.routes.map((r) => r.id), ...trucks.map((d) => d.routeId).filter((r): r is string => !!r)])].sort();
  const districts = [...new Set(basemap.routes.map((r) => r.district))].sort((a, b) => a.localeCompare(b, 'es'));

  const params = useMemo(() => {
    if (!fromIso || !toIso) return null;
    const from = localDateTime(`${fromIso}T00:00`, timeZone);
    const to = dayStart(toIso, timeZone) + 86_400_000;
    const p = new URLSearchParams({ from: String(from), to: String(to) });
    if (truck) p.set('deviceIds', truck);
    if (routeId) p.set('routeId', routeId);
    if (district) p.set('district', district);
    return p.toString();
  }, [fromIso, toIso, truck, routeId, district, timeZone]);

  const q = useQuery({ queryKey: ['fleet-report', params], enabled: params !== null, queryFn: () => api<FleetReport>(`/api/fleet/report?${params}`) });
  const rep = q.data;

  // x in days since the first local day of the range (integers = local midnights), so the ticks are the city's days
  const dayCount = rep ? localDayCount(rep.from, rep.to, timeZone) : 0;
  const chart = useMemo(() => {
    const byDay = new Map<string, { km: number; h: number }>();
    for (const d of rep?.days ?? []) {
      const e = byDay.get(d.date) ?? { km: 0, h: 0 };
      e.km += d.distanceKm;
      e.h += d.engineHours;
      byDay.set(d.date, e);
    }
    const days = [...byDay.keys()].sort();
    const first = rep ? localDate(rep.from, timeZone) : '';
    // a day's bar stands at its middle, between two ticks
    return [days.map((d) => daysBetween(first, d) + 0.5), days.map((d) => Math.round(byDay.get(d)!.km * 10) / 10), days.map((d) => Math.round(byDay.get(d)!.h * 10) / 10)] as AlignedData;
  }, [rep, timeZone]);
  const xr = useMemo((): [number, number] => [0, Math.max(1, dayCount)], [dayCount]);
  const dayTick = useMemo(() => {
    const first = rep ? localDate(rep.from, timeZone) : '1970-01-01';
    return (x: number) => fmtDate(addDays(first, Math.floor(x))).slice(0, 5);
  }, [rep, timeZone]);

  const errText = (e: unknown) => {
    const code = e instanceof ApiError ? e.code : 'E_WEB_NETWORK';
    const known = t(`err_${code}`);
    return known === `err_${code}` ? t('errCode', { code }) : known;
  };
  const stamp = `${fromIso}_${toIso}`;
  const base = lang === 'en' ? 'fleet-report' : 'reporte-flota';
  const get = async (what: string, path: string, filename: string) => {
    setBusy(what);
    setDlError(null);
    try {
      await download(path, filename);
    } catch (e) {
      setDlError(errText(e));
    } finally {
      setBusy(null);
    }
  };
  const exportAs = (format: 'csv' | 'xlsx' | 'pdf') =>
    params &&
    get(
      format,
      `/api/fleet/report/export?${params}&format=${format}&lang=${lang}${format === 'csv' ? `&table=${csvTable}` : ''}`,
      `${base}_${stamp}${format === 'csv' ? `_${csvTable}` : ''}.${format}`,
    );
  const gpx = (deviceId: string, date: string) => get(`gpx-${deviceId}-${date}`, `/api/fleet/gpx?deviceId=${deviceId}&date=${date}&lang=${lang}`, `${deviceId}_${date}.gpx`);

  const pickedDay: TruckDay | undefined = picked ? rep?.days.find((d) => d.deviceId === picked.deviceId && d.date === picked.date) : undefined;
  const dayTrips = picked ? (rep?.trips ?? []).filter((x) => x.deviceId === picked.deviceId && x.date === picked.date) : [];
  const dayStops = picked ? (rep?.stops ?? []).filter((x) => x.deviceId === picked.deviceId && x.date === picked.date) : [];
  const totals = TOTAL_COLUMNS;

  return (
    <div className="planners fleet" data-testid="fleet-reports">
      <h2 className="fleet-title">{t('fleetTitle')}</h2>
      <div className="filters">
        <label className="field">
          {t('fleetFromDate')}
          <input type="text" inputMode="numeric" placeholder="dd/mm/aaaa" value={fromText} onChange={(e) => setFromText(e.target.value)} aria-invalid={!fromIso} data-testid="fleet-from" />
        </label>
        <label className="field">
          {t('fleetToDate')}
          <input type="text" inputMode="numeric" placeholder="dd/mm/aaaa" value={toText} onChange={(e) => setToText(e.target.value)} aria-invalid={!toIso} data-testid="fleet-to" />
        </label>
        <label className="field">
          {t('fleetTruck')}
          <select value={truck} onChange={(e) => setTruck(e.target.value)} data-testid="fleet-truck">
            <option value="">{t('fleetAllTrucks')}</option>
            {trucks.map((d) => (
              <option key={d.id} value={d.id}>
                {d.id}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('fleetRoute')}
          <select value={routeId} onChange={(e) => setRouteId(e.target.value)} data-testid="fleet-route">
            <option value="">{t('fleetAllRoutes')}</option>
            {routes.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {t('district')}
          <select value={district} onChange={(e) => setDistrict(e.target.value)} data-testid="fleet-district">
            <option value="">{t('fleetAllDistricts')}</option>
            {districts.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <div className="card-actions fleet-exports">
          <button className="btn" disabled={!rep || busy !== null} onClick={() => exportAs('xlsx')} data-testid="fleet-export-xlsx">
            {busy === 'xlsx' ? t('fleetDownloading') : t('fleetExportXlsx')}
          </button>
          <button className="btn" disabled={!rep || busy !== null} onClick={() => exportAs('pdf')} data-testid="fleet-export-pdf">
            {busy === 'pdf' ? t('fleetDownloading') : t('fleetExportPdf')}
          </button>
          <label className="field inline">
            <span className="sr-only">{t('fleetCsvTable')}</span>
            <select value={csvTable} onChange={(e) => setCsvTable(e.target.value as FleetTableKey)} aria-label={t('fleetCsvTable')} data-testid="fleet-csv-table">
              {FLEET_TABLES.map((x) => (
                <option key={x.key} value={x.key}>
                  {x[lang]}
                </option>
              ))}
            </select>
          </label>
          <button className="btn" disabled={!rep || busy !== null} onClick={() => exportAs('csv')} data-testid="fleet-export-csv">
            {busy === 'csv' ? t('fleetDownloading') : t('fleetExportCsv')}
          </button>
        </div>
      </div>
      {(!fromIso || !toIso) && <p className="error">{t('fleetBadDate')}</p>}
      {dlError && (
        <p className="error" data-testid="fleet-download-error">
          {dlError}
        </p>
      )}
      {q.isLoading && <p className="muted">{t('loading')}</p>}
      {q.error && (
        <p className="error" data-testid="fleet-error">
          {errText(q.error)}
        </p>
      )}
      {rep && (
        <>
          <p className="muted small" data-testid="fleet-rules">
            {fillText(t('fleetRules'), rep.rules)}
          </p>
          <div className="fleet-totals" data-testid="fleet-totals">
            <strong>{t('fleetTotals')}:</strong>
            {totals.map((c) => (
              <span key={c.key} className="fleet-total" data-total={c.key}>
                {c[lang]} <b>{fmtCell(c.kind, c.value(rep.totals), timeZone, lang)}</b>
              </span>
            ))}
          </div>
          {!rep.days.length ? (
            <p className="muted" data-testid="fleet-empty">
              {t('fleetNoDays')}
            </p>
          ) : (
            <div className="cards">
              <section className="card" data-testid="fleet-chart">
                <header className="card-head">
                  <h3>{t('fleetChart')}</h3>
                </header>
                <UChart
                  data={chart}
                  series={[
                    { label: t('fleetKm'), color: '#38bdf8', bars: true },
                    { label: t('fleetEngineH'), color: '#f59e0b' },
                  ]}
                  time={false}
                  xRange={xr}
                  xFormat={dayTick}
                  xIncrs={[1, 2, 7, 14]}
                  xLabel={t('fleetDay')}
                  yFromZero
                />
              </section>
              <section className="card" data-testid="fleet-routes">
                <header className="card-head">
                  <h3>{FLEET_TABLES.find((x) => x.key === 'routes')![lang]}</h3>
                </header>
                <Table rows={rep.routes} columns={ROUTE_COLUMNS} testId="fleet-routes-table" />
                <h3>{FLEET_TABLES.find((x) => x.key === 'districts')![lang]}</h3>
                <Table rows={rep.districts} columns={DISTRICT_COLUMNS} testId="fleet-districts-table" />
              </section>
              <section className="card wide" data-testid="fleet-days">
                <header className="card-head">
                  <h3>{FLEET_TABLES.find((x) => x.key === 'days')![lang]}</h3>
                </header>
                <Table
                  rows={rep.days}
                  columns={DAY_COLUMNS}
                  testId="fleet-days-table"
                  rowKey={(d) => `${d.deviceId}|${d.date}`}
                  selected={picked ? `${picked.deviceId}|${picked.date}` : null}
                  onRow={(d) => setPicked({ deviceId: d.deviceId, date: d.date })}
                />
              </section>
              <section className="card wide" data-testid="fleet-day-detail">
                {pickedDay ? (
                  <>
                    <header className="card-head">
                      <h3>{t('fleetDayDetail', { truck: pickedDay.deviceId + (pickedDay.plate ? ` (${pickedDay.plate})` : ''), date: fmtDate(pickedDay.date) })}</h3>
                      <div className="card-actions">
                        <button
                          className="btn"
                          disabled={busy !== null}
                          onClick={() => gpx(pickedDay.deviceId, pickedDay.date)}
                          title={t('fleetGpxOf', { truck: pickedDay.deviceId, date: fmtDate(pickedDay.date) })}
                          data-testid="fleet-gpx"
                        >
                          {t('fleetGpx')}
                        </button>
                      </div>
                    </header>
                    <h4>{FLEET_TABLES.find((x) => x.key === 'trips')![lang]}</h4>
                    <Table rows={dayTrips} columns={TRIP_COLUMNS} testId="fleet-trips-table" />
                    <h4>{FLEET_TABLES.find((x) => x.key === 'stops')![lang]}</h4>
                    <Table rows={dayStops} columns={STOP_COLUMNS} testId="fleet-stops-table" />
                  </>
                ) : (
                  <p className="muted">{t('fleetPickDay')}</p>
                )}
              </section>
            </div>
          )}
        </>
      )}
    </div>
  );
}
