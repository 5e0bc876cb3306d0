/** A plate's reads across all entrances on one timeline: a row per camera, a mark per read (▶ entering, ◀ leaving). */
import { useConsole } from '../../context';
import { fmtTime } from '../../i18n';
import type { DeviceSummary } from '../../api/types';
import type { PlateReadRow as PlateRead } from '../../../../shared/api';

export function PlateTimeline({ plate, reads, cameras }: { plate: string; reads: PlateRead[]; cameras: DeviceSummary[] }) {
  const { t, lang, timeZone } = useConsole();
  if (!reads.length) return null;
  const rows = [...new Set([...cameras.map((c) => c.id), ...reads.map((r) => r.cameraId)])].filter((id) => reads.some((r) => r.cameraId === id) || cameras.length <= 8);
  const t0 = Math.min(...reads.map((r) => r.ts));
  const t1 = Math.max(...reads.map((r) => r.ts));
  const span = Math.max(t1 - t0, 60_000);
  const W = 420,
    left = 90,
    rowH = 26,
    top = 8;
  const H = top + rows.length * rowH + 36;
  const x = (ts: number) => left + ((ts - t0) / span) * (W - left - 12);
  const ticks = [t0, t0 + span / 2, t0 + span];
  return (
    <figure className="timeline" data-testid="plate-timeline">
      <figcaption>{t('timeline', { plate })}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={t('timeline', { plate })}>
        {rows.map((id, i) => (
          <g key={id}>
            <text x={4} y={top + i * rowH + 17} className="tl-label">
              {id}
            </text>
            <line x1={left} x2={W - 8} y1={top + i * rowH + 13} y2={top + i * rowH + 13} className="tl-row" />
          </g>
        ))}
        {reads.map((r) => {
          const i = rows.indexOf(r.cameraId);
          const cx = x(r.ts);
          const cy = top + i * rowH + 13;
          return (
            <text key={`${r.cameraId}-${r.ts}`} x={cx} y={cy + 5} textAnchor="middle" className={`tl-mark ${r.direction}`} data-read-camera={r.cameraId}>
              <title>{`${r.cameraId} · ${t(r.direction)} · ${fmtTime(lang, r.ts, timeZone, true)}`}</title>
              {r.direction === 'entering' ? '▶' : '◀'}
            </text>
          );
        })}
        {ticks.map((ts, i) => (
          <text key={i} x={x(ts)} y={H - 8} textAnchor={i === 0 ? 'start' : i === 2 ? 'end' : 'middle'} className="tl-tick">
            {fmtTime(lang, ts, timeZone, true).replace(/:\d\d$/, '')}
          </text>
        ))}
      </svg>
    </figure>
  );
}
