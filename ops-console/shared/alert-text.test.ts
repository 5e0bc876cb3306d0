import { describe, expect, it } from 'vitest';
import { ALERT_CODES, ALERT_CODE_LIST } from '../../contract/alert-codes';
import { ALERT_TEXT, alertText, fmtDuration, fmtNumber, issueText, placeholders, ruleName } from './alert-text';

describe('alert text', () => {
  it('phrases every catalogue code in Spanish and English, each template using every param once', () => {
    for (const code of ALERT_CODE_LIST) {
      const spec = ALERT_TEXT[code];
      expect(spec, `${code} has no text`).toBeDefined();
      const params = [...ALERT_CODES[code]].sort();
      expect(Object.keys(spec.params).sort(), `${code}: formatters`).toEqual(params);
      for (const lang of ['es', 'en'] as const) {
        expect(spec[lang], `${code}: ${lang}`).toBeTruthy();
        expect(placeholders(spec[lang]).sort(), `${code}: params used by the ${lang} text`).toEqual(params);
      }
      expect(spec.es).not.toBe(spec.en);
    }
    // and nothing is phrased that the catalogue does not have
    expect(Object.keys(ALERT_TEXT).sort()).toEqual([...ALERT_CODE_LIST].sort());
  });

  it('fills every placeholder for a full set of params (no braces, no missing marks)', () => {
    const sample: Record<string, string | number> = {
      category: 'muy_mala',
      risk: 'Muy alto',
      pollutant: 'pm25',
      value: 85,
      unit: 'µg/m³',
      table: '2023',
      laeq: 72.44,
      limitDb: 55,
      period: 'night',
      zone: 'residential',
      minutes: 12,
      silentS: 16,
      expectedS: 5,
      mode: 'moving',
      skewS: 600,
      count: 3,
      reason: 'bad_password',
      stream: 'air',
      pct: 9.5,
      plate: 'ABC-1234',
      region: 'VER',
      direction: 'entering',
      road: 'Carretera 180',
      maxSpeedKmh: 92,
      limitKmh: 60,
      routeId: 'route-03',
      distanceM: 420,
      seconds: 4,
      impliedKmh: 378,
      coveragePct: 40,
      expectedPct: 75,
      failures: 1706,
      sources: 3,
      user: 'truck-01',
      geofenceId: 'mercado-morelos',
      name: 'Mercado Morelos',
      kind: 'market',
      limitMin: 90,
    };
    for (const code of ALERT_CODE_LIST) {
      const params = Object.fromEntries(ALERT_CODES[code].map((k) => [k, sample[k]!]));
      for (const lang of ['es', 'en'] as const) {
        const s = alertText(lang, { rule: 'x', code, params });
        expect(s, `${code} ${lang}`).not.toMatch(/[{}]|—$/);
        expect(s).not.toMatch(/undefined|NaN|null/);
      }
    }
  });

  it('writes units and Mexican number formats', () => {
    expect(alertText('es', { rule: 'noise', code: 'noise', params: { laeq: 72.44, limitDb: 55, period: 'night', zone: 'residential', minutes: 12 } })).toBe(
      'Ruido 72.4 dB(A) sobre el límite nocturno de 55 dB(A) (zona residencial) durante 12 min — indicativo',
    );
    expect(alertText('en', { rule: 'noise', code: 'noise', params: { laeq: 72.44, limitDb: 55, period: 'night', zone: 'residential', minutes: 12 } })).toBe(
      'Noise 72.4 dB(A) above the night-time limit of 55 dB(A) (residential zone) for 12 min — indicative',
    );
    expect(alertText('es', { rule: 'missed_streets', code: 'missed_streets', params: { routeId: 'route-03', count: 1 } })).toBe('Pasó por 1 calle planeada de la ruta route-03 sin recolectar');
    expect(alertText('es', { rule: 'missed_streets', code: 'missed_streets', params: { routeId: 'route-03', count: 1234 } })).toContain('1,234 calles planeadas');
    expect(alertText('es', { rule: 'clock_skew', code: 'clock_skew', params: { skewS: -600 } })).toBe('Reloj del dispositivo atrasado 10 min respecto al servidor');
    expect(alertText('es', { rule: 'air_quality', code: 'air_quality', params: { category: 'muy_mala', risk: 'Muy alto', pollutant: 'pm25', value: 85, unit: 'µg/m³', table: '2023' } })).toBe(
      'Calidad del aire Muy mala (riesgo muy alto): PM2.5 85 µg/m³ — Índice AIRE Y SALUD, NOM-172-SEMARNAT-2023',
    );
    expect(fmtNumber('es', 1234.56)).toBe('1,234.6');
    expect(fmtDuration('es', 3900)).toBe('1 h 5 min');
    expect(fmtDuration('en', 45)).toBe('45 s');
  });

  it('an alert without a code (older events) gets a neutral phrase from the rule, never the title', () => {
    const old = { rule: 'truck_idle', title: 'truck-15 idling with the engine on' } as { rule: string; title: string };
    expect(alertText('es', old)).toBe('Camión detenido con el motor encendido');
    expect(alertText('en', old)).toBe('Truck idling');
    expect(alertText('es', { rule: 'brand_new' })).toBe('Regla «brand_new»');
    expect(alertText('es', { rule: 'noise', code: 'noise.future_variant', params: {} })).toBe(ruleName('es', 'noise'));
    // a missing param shows a dash, never "undefined"
    expect(alertText('es', { rule: 'battery_low', code: 'battery_low', params: {} })).toBe('Batería baja: —');
  });

  it("phrases a device's issue (why it is not reporting normally)", () => {
    expect(issueText('es', { code: 'credentials_refused', reason: 'bad_password' })).toBe('Credenciales rechazadas: contraseña incorrecta');
    expect(issueText('en', { code: 'clock_skew.rejected', reason: 'future_timestamp' })).toBe('Readings rejected by the clock: timestamp in the future');
    expect(issueText('es', { code: 'payload_rejected', reason: 'schema' })).toBe('Mensajes rechazados: no cumple el esquema');
    expect(issueText('es', { code: 'payload_rejected', reason: 'brand_new' })).toBe('Mensajes rechazados: brand_new');
  });

  it('phrases geofence alerts with the zone kind in words and the durations', () => {
    expect(alertText('es', { rule: 'geofence_dwell', code: 'geofence_dwell', params: { geofenceId: 'mercado', name: 'Mercado Morelos', kind: 'market', minutes: 95, limitMin: 90 } })).toBe(
      'Lleva 1 h 35 min en el mercado «Mercado Morelos» (mercado); el límite es 1 h 30 min',
    );
    expect(alertText('en', { rule: 'geofence_restricted', code: 'geofence_restricted', params: { geofenceId: 'zr-1', name: 'Centro histórico' } })).toBe(
      'Entered the restricted zone “Centro histórico” (zr-1)',
    );
  });
});
