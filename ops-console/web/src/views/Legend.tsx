import { AIR_CATEGORIES, AIR_COLORS, NOISE_COLORS, TRUCK_COLORS, TRUCK_STATES } from '../colors';
import { useConsole } from '../context';

export function Legend() {
  const { t } = useConsole();
  return (
    <div className="legend" aria-label="legend">
      <div className="legend-group">
        <b>{t('trucks')}</b>
        {TRUCK_STATES.map((s) => (
          <span key={s} className="legend-item">
            <i className="arrow" style={{ color: TRUCK_COLORS[s] }}>▲</i> {t(s)}
          </span>
        ))}
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
        <span className="legend-item"><i className="ring" style={{ borderColor: NOISE_COLORS.ok }} /> {t('noiseOk')}</span>
        <span className="legend-item"><i className="ring" style={{ borderColor: NOISE_COLORS.near }} /> {t('noiseNear')}</span>
        <span className="legend-item"><i className="ring" style={{ borderColor: NOISE_COLORS.over }} /> {t('noiseOver')}</span>
      </div>
    </div>
  );
}
