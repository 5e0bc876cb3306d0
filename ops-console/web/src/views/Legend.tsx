/**
 * The live map's legend, drawn as the map draws: trucks as the fleet layer's dot (city zoom) and
 * heading triangle (street zoom) in their state colour with its dark outline (fleet-layer.ts's
 * fragment shader: dot ring from 0.72, triangle scaled 1.18 inside its outline), stations as
 * their dots and rings, cameras with their anchor, alerts as the map's own alert icon.
 */
import { useMemo } from 'react';
import { AIR_CATEGORIES, AIR_COLORS, NOISE_COLORS, SEVERITY_COLORS, TRUCK_COLORS, TRUCK_STATES } from '../colors';
import { useConsole } from '../context';
import { alertBadge, cameraSquare, imageDataUrl } from '../map/icons';
import { CAMERA_COLOR } from '../map/cameras-layer';

const OUTLINE = '#05080f';
/** the fleet layer's triangle: tip (0, 1), base y = −0.8, half width 0.75 (shader space, y up) */
const TRI = '0,-1 0.75,0.8 -0.75,0.8';

export function TruckDot({ color }: { color: string }) {
  return (
    <svg className="sym truck-dot" viewBox="-1 -1 2 2" width="14" height="14" aria-hidden>
      <circle r="1" fill={OUTLINE} />
      <circle r="0.72" fill={color} />
    </svg>
  );
}
export function TruckArrow({ color }: { color: string }) {
  return (
    <svg className="sym truck-arrow" viewBox="-1 -1 2 2" width="18" height="18" aria-hidden>
      <polygon points={TRI} fill={OUTLINE} />
      <polygon points={TRI} fill={color} transform="scale(0.847)" />
    </svg>
  );
}

export function Legend() {
  const { t } = useConsole();
  const icons = useMemo(
    () => ({
      camera: imageDataUrl(cameraSquare(CAMERA_COLOR)),
      alerts: Object.fromEntries(Object.entries(SEVERITY_COLORS).map(([s, c]) => [s, imageDataUrl(alertBadge(c))])) as Record<keyof typeof SEVERITY_COLORS, string>,
    }),
    [],
  );
  return (
    <div className="legend" aria-label="legend" data-testid="legend">
      <div className="legend-group" data-testid="legend-trucks">
        <b>{t('trucks')}</b>
        {TRUCK_STATES.map((s) => (
          <span key={s} className="legend-item" data-state={s}>
            <TruckDot color={TRUCK_COLORS[s]} />
            <TruckArrow color={TRUCK_COLORS[s]} /> {t(s)}
          </span>
        ))}
        <span className="legend-note muted">
          ● {t('legendCityZoom')} · ▲ {t('legendStreetZoom')}
        </span>
      </div>
      <div className="legend-group">
        <b>{t('air')}</b>
        {AIR_CATEGORIES.map((c) => (
          <span key={c} className="legend-item">
            <i className="dot" style={{ background: AIR_COLORS[c] }} /> {t(c)}
          </span>
        ))}
      </div>
      <div className="legend-group">
        <b>{t('noise')}</b>
        <span className="legend-item">
          <i className="ring" style={{ borderColor: NOISE_COLORS.ok }} /> {t('noiseOk')}
        </span>
        <span className="legend-item">
          <i className="ring" style={{ borderColor: NOISE_COLORS.near }} /> {t('noiseNear')}
        </span>
        <span className="legend-item">
          <i className="ring" style={{ borderColor: NOISE_COLORS.over }} /> {t('noiseOver')}
        </span>
      </div>
      <div className="legend-group">
        <b>{t('cameras')}</b>
        <span className="legend-item">
          <img src={icons.camera} width={15} height={15} alt="" /> {t('legendCamera')}
        </span>
        <span className="legend-item muted">
          <img src={icons.camera} width={12} height={12} alt="" />
          <img src={icons.camera} width={12} height={12} alt="" />
          <i className="anchor" style={{ background: CAMERA_COLOR }} /> {t('legendCameraEntrance')}
        </span>
      </div>
      <div className="legend-group" data-testid="legend-alerts">
        <b>{t('legendAlerts')}</b>
        {(Object.keys(SEVERITY_COLORS) as (keyof typeof SEVERITY_COLORS)[]).map((s) => (
          <span key={s} className="legend-item">
            <img src={icons.alerts[s]} width={30} height={30} alt="" /> {t(s)}
          </span>
        ))}
      </div>
    </div>
  );
}
