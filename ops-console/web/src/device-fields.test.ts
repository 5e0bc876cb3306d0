import { describe, expect, it } from 'vitest';
import { fieldShown, fieldUnit, fmtField } from './device-fields';
import { t } from './i18n';

describe('device panel fields', () => {
  it('units from the contract, numbers in the Mexican format, labels in both languages', () => {
    expect(fieldUnit('air', 'pm25')).toBe('µg/m³');
    expect(fieldUnit('air', 'o3')).toBe('ppm');
    expect(fieldUnit('noise', 'laeq')).toBe('dB(A)');
    expect(fieldUnit('gps', 'speedKmh')).toBe('km/h');
    expect(fmtField('es', 'air', 'pm25', 1234.56)).toBe('1,234.6 µg/m³');
    expect(fmtField('es', 'air', 'o3', 0.0712)).toBe('0.071 ppm');
    expect(fmtField('es', 'plate', 'confidence', 0.934)).toBe('93 %');
    expect(t('es', 'field_noise_laeq')).toBe('LAeq');
    expect(t('es', 'field_gps_speedKmh')).toBe('Velocidad');
    expect(t('en', 'field_air_rhPct')).toBe('Relative humidity');
    expect(fieldShown('ts')).toBe(false);
    expect(fieldShown('pm25')).toBe(true);
  });
});
