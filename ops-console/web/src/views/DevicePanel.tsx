/**
 * Details of the selected device: registry data, latest readings with human labels and units, a
 * small chart of recent history; for an air station its Índice AIRE Y SALUD with the responsible
 * pollutant (air-index.ts), for a camera its entrance, read rate and last read (counts and a time
 * for every role; the plates themselves only for the roles that may see them).
 */
import { errorText } from './account/PasswordDialog';
import { useEffect, useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { AlignedData } from 'uplot';
import { api } from '../api/client';
import type { DeviceDetail } from '../api/types';
import { AIR_COLORS, noiseLevel, NOISE_COLORS, textOn, TRUCK_COLORS, truckState } from '../colors';
import { useConsole } from '../context';
import { fieldShown, fmtField } from '../device-fields';
import { fmtTime, type Lang } from '../i18n';
import { UChart } from '../charts/UChart';
import { issueText } from '../../../shared/alert-text';
import type { AirIndexRow } from '../../../shared/api';
import type { AirReading } from '../../../../contract';
import { fmtIndicator, indicativeIndex, indicatorLabel, latestIndex, pollutantLabel, type AirIndexView } from '../air-index';

const HOUR = 3_600_000;

function useRecent(d: DeviceDetail | undefined): { data: AlignedData; label: string; color: string } | null {
  const kind = d?.kind;
  const id = d?.id;
  const q = useQuery({
    queryKey: ['recent', id],
    enabled: !!id && kind !== 'camera',
    refetchInterval: 30_000,
    queryFn: async (): Promise<AlignedData> => {
      const to = Date.now() + 60_000;
      if (kind === 'truck') {
        const r = await api<{ points: { ts: number; speedKmh: number }[] }>(`/api/history/track?deviceId=${id}&from=${to - HOUR}&to=${to}`);
        return [r.points.map((p) => p.ts / 1000), r.points.map((p) => p.speedKmh)];
      }
      const [stream, field] = kind === 'air' ? ['air', 'pm25'] : ['noise', 'laeq'];
      const r = await api<{ buckets: { t: number; mean: number }[] }>(`/api/history/series?stream=${stream}&field=${field}&deviceIds=${id}&from=${to - 6 * HOUR}&to=${to}&windowMs=300000`);
      return [r.buckets.map((b) => b.t / 1000), r.buckets.map((b) => Math.round(b.mean * 10) / 10)];
    },
  });
  if (!q.data || !kind || kind === 'camera') return null;
  return {
    data: q.data,
    label: kind === 'truck' ? 'km/h' : kind === 'air' ? 'PM2.5 µg/m³' : 'LAeq dB(A)',
    color: kind === 'truck' ? TRUCK_COLORS.driving : kind === 'air' ? '#00E400' : NOISE_COLORS.ok,
  };
}

const hhmm = (lang: Lang, ts: number, timeZone: string) =>
  new Intl.DateTimeFormat(lang === 'es' ? 'es-MX' : 'en-US', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(ts));

/** The station's latest hourly index (the API), else an indicative one from its latest reading. */
function useAirIndex(id: string, enabled: boolean, latest: AirReading | undefined): AirIndexView | null {
  const q = useQuery({
    queryKey: ['air-index', id],
    enabled,
    refetchInterval: 60_000,
    retry: false,
    queryFn: () => {
      const to = Date.now();
      return api<{ rows: AirIndexRow[] }>(`/api/history/air-index?deviceIds=${encodeURIComponent(id)}&from=${to - 4 * HOUR}&to=${to}`);
    },
  });
  return latestIndex(q.data?.rows) ?? indicativeIndex(latest);
}

function AirIndexBlock({ idx }: { idx: AirIndexView | null }) {
  const { t, lang, timeZone } = useConsole();
  if (!idx)
    return (
      <p className="muted" data-testid="aqi">
        {t('aqiNone')}
      </p>
    );
  const cat = idx.category as keyof typeof AIR_COLORS;
  const main = idx.responsible[0]!;
  const v = idx.pollutants[main]!;
  return (
    <div className="aqi" data-testid="aqi" data-category={idx.category} data-responsible={idx.responsible.join(',')}>
      <h3>{t('aqiTitle')}</h3>
      <div className="badge aqi-badge" style={{ background: AIR_COLORS[cat], color: textOn(AIR_COLORS[cat]) }}>
        {t(idx.category)} ·{' '}
        <span data-testid="aqi-value">
          {pollutantLabel(lang, main)} {fmtIndicator(lang, main, v)}
        </span>
      </div>
      <p data-testid="aqi-responsible">
        {t('aqiResponsible')}: <b>{idx.responsible.map((p) => pollutantLabel(lang, p)).join(', ')}</b>
      </p>
      <p className="muted">{idx.hour === null ? t('aqiIndicative') : t('aqiHour', { from: hhmm(lang, idx.hour, timeZone), to: hhmm(lang, idx.hour + HOUR, timeZone) })}</p>
      <table className="readings aqi-pollutants">
        <thead>
          <tr>
            <th>{t('aqiPollutant')}</th>
            <th>{t('aqiIndicator')}</th>
            <th>{t('aqiCategory')}</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(idx.pollutants).map(([p, c]) => (
            <tr key={p} data-pollutant={p} className={idx.responsible.includes(p) ? 'responsible' : undefined}>
              <th>
                {pollutantLabel(lang, p)}
                <small className="muted">{indicatorLabel(lang, p)}</small>
              </th>
              <td>{fmtIndicator(lang, p, c)}</td>
              <td>
                <i className="dot" style={{ background: AIR_COLORS[c.category as keyof typeof AIR_COLORS] }} /> {t(c.category)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CameraBlock({ d }: { d: DeviceDetail }) {
  const { t, lang, timeZone } = useConsole();
  const n = d.reads?.lastHour;
  const last = d.reads?.lastReadAt ?? null;
  return (
    <table className="readings camera-reads" data-testid="camera-reads">
      <tbody>
        {d.camera && (
          <tr>
            <th>{t('cameraEntrance')}</th>
            <td data-testid="camera-entrance">
              {d.camera.road} · {t(d.camera.direction)}
            </td>
          </tr>
        )}
        <tr>
          <th>{t('cameraReadRate')}</th>
          <td data-testid="camera-rate">{n === undefined ? '—' : t('readsPerHour', { n: new Intl.NumberFormat(lang === 'es' ? 'es-MX' : 'en-US').format(n) })}</td>
        </tr>
        <tr>
          <th>{t('cameraLastRead')}</th>
          <td data-testid="camera-last-read">{last === null ? t('cameraNoReads') : fmtTime(lang, last, timeZone, true)}</td>
        </tr>
      </tbody>
    </table>
  );
}

export function DevicePanel({ id, onClose }: { id: string; onClose: () => void }) {
  const { t, lang, timeZone, model } = useConsole();
  const q = useQuery({ queryKey: ['device', id], queryFn: () => api<DeviceDetail>(`/api/devices/${encodeURIComponent(id)}`), refetchInterval: 5_000 });
  const d = q.data;
  const recent = useRecent(d);
  // a 1 Hz tick for the live part (no per-message renders)
  const [, setTick] = useState(0);
  useEffect(() => {
    const h = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(h);
  }, []);
  const live = model.devices.get(id);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- the live model updates `live` in place: lastSeen marks a new reading
  const latest = useMemo(() => ({ ...(d?.latest ?? {}), ...(live?.latest ?? {}) }), [d, live, live?.lastSeen]);
  const plates = model.plates.get(id) ?? [];
  // ingest's reason when the device is not reporting normally (credentials refused, clock, payloads)
  const liveIssue = (live as { issue?: { code: string; reason: string; since: number } | null } | undefined)?.issue;
  const issue = liveIssue === undefined ? d?.issue : liveIssue;
  const airIdx = useAirIndex(id, d?.kind === 'air', latest.air?.data as AirReading | undefined);

  let badge: { text: string; color: string } | null = null;
  if (d?.kind === 'noise') {
    const n = noiseLevel(latest.noise?.data as never, d.noiseZone as never, timeZone);
    badge = {
      text: `${t(n.level === 'ok' ? 'noiseOk' : n.level === 'near' ? 'noiseNear' : n.level === 'over' ? 'noiseOver' : 'noData')}${n.limit ? ` · ${t('limit')} ${n.limit} dB(A)` : ''}`,
      color: NOISE_COLORS[n.level],
    };
  } else if (d?.kind === 'truck' && live) {
    const gps = live.latest.gps?.data as { ts: number; speedKmh: number } | undefined;
    const ev = live.latest.event?.data as { ts: number; type: string } | undefined;
    const st = truckState({ online: live.online, gps, event: ev, lastSeen: live.lastSeen }, Date.now());
    badge = { text: t(st), color: TRUCK_COLORS[st] };
  }

  return (
    <section className="panel device-panel" aria-label={id} data-device-id={id}>
      <header className="panel-head">
        <h2>{id}</h2>
        <button className="btn btn-close" onClick={onClose} aria-label={t('close')}>
          ✕
        </button>
      </header>
      {q.isLoading && <p className="muted">{t('loading')}</p>}
      {q.error && <p className="error">{errorText(t, q.error)}</p>}
      {d && (
        <>
          <div className="device-meta">
            <span>{t(d.kind === 'truck' ? 'trucks' : d.kind === 'camera' ? 'cameras' : d.kind)}</span>
            <span>
              {t('district')}: {d.district}
            </span>
            {d.routeId && (
              <span>
                {t('route')}: {d.routeId}
              </span>
            )}
            <span className={d.online ? 'ok' : 'bad'}>{d.online ? t('online') : t('offline')}</span>
            {issue && (
              <span className="bad device-issue" data-testid="device-issue">
                {issueText(lang, issue)} · {t('since', { time: fmtTime(lang, issue.since, timeZone, true) })}
              </span>
            )}
            {d.lastSeen && (
              <span>
                {t('lastSeen')}: {fmtTime(lang, d.lastSeen, timeZone)}
              </span>
            )}
            {d.firmware && <span>fw {d.firmware}</span>}
          </div>
          {d.kind === 'air' && <AirIndexBlock idx={airIdx} />}
          {d.kind === 'camera' && <CameraBlock d={d} />}
          {badge && (
            <div className="badge" style={{ background: badge.color, color: '#000' }}>
              {badge.text}
            </div>
          )}
          <h3>{t('lastReadings')}</h3>
          <table className="readings">
            <tbody>
              {Object.entries(latest)
                .filter(([s]) => s !== 'presence')
                .flatMap(([stream, rec]) =>
                  Object.entries((rec.data ?? {}) as Record<string, unknown>)
                    .filter(([k]) => fieldShown(k))
                    .map(([k, v]) => (
                      <tr key={`${stream}.${k}`} data-field={`${stream}.${k}`}>
                        <th>{t(`field_${stream}_${k}`)}</th>
                        <td>{k === 'direction' || k === 'type' || k === 'state' ? t(String(v)) : fmtField(lang, stream, k, v)}</td>
                        <td className="muted">{fmtTime(lang, rec.ts, timeZone)}</td>
                      </tr>
                    )),
                )}
            </tbody>
          </table>
          {d.kind === 'camera' && plates.length > 0 && (
            <>
              <h3>{t('latestReads')}</h3>
              <ul className="plates">
                {plates.map((p) => (
                  <li key={`${p.ts}-${p.plate}`}>
                    <b>{p.plate}</b> {p.region} · {t(p.direction)} · {fmtTime(lang, p.ts, timeZone)}
                  </li>
                ))}
              </ul>
            </>
          )}
          {recent && recent.data[0].length > 1 && <UChart timeZone={timeZone} data={recent.data} series={[{ label: recent.label, color: recent.color }]} height={150} testId="device-chart" />}
        </>
      )}
    </section>
  );
}
