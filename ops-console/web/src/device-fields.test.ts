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

describe('every field the panel shows has a human label in both languages (never a raw field name)', () => {
  it('labels for every shown field of every stream in the contract, and for the enumerated values', async () => {
    const { STREAM_SCHEMAS, TRUCK_EVENT_TYPES, PLATE_DIRECTIONS } = await import('../../../contract/payloads');
    const missing: string[] = [];
    for (const [stream, schema] of Object.entries(STREAM_SCHEMAS as Record<string, { properties?: Record<string, unknown> }>)) {
      if (stream === 'presence') continue; // not shown (online / offline is the panel's own line)
      for (const field of Object.keys(schema.properties ?? {})) {
        if (!fieldShown(field)) continue;
        for (const lang of ['es', 'en'] as const) if (t(lang, `field_${stream}_${field}`) === `field_${stream}_${field}`) missing.push(`${lang}:${stream}.${field}`);
      }
    }
    for (const v of [...TRUCK_EVENT_TYPES, ...PLATE_DIRECTIONS]) for (const lang of ['es', 'en'] as const) if (t(lang, v) === v) missing.push(`${lang}:${v}`);
    expect(missing).toEqual([]);
  });
});
