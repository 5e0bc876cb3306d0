import { describe, expect, it } from 'vitest';
import { DICTIONARY, fmtTime, missingKeys, t } from './i18n';
import { API_ERROR_CODES, WEB_ERROR_CODES } from '../../../lib/error-codes';
import { errorKey } from './views/alert-ui';
import { ApiError } from './api/client';
import { canActOnAlerts, canSeePlates, viewsFor } from './roles';

describe('i18n', () => {
  it('Spanish by key, English when asked, placeholders filled', () => {
    expect(t('es', 'tabLive')).toBe('Mapa en vivo');
    expect(t('en', 'tabLive')).toBe('Live map');
    expect(t('es', 'newCritical', { title: 'PM2.5 alto' })).toBe('ALERTA CRÍTICA: PM2.5 alto');
    expect(t('en', 'error', { message: 'boom' })).toBe('Error: boom');
  });
  it('English is complete; unknown keys show the key', () => {
    expect(missingKeys('en')).toEqual([]);
    expect(t('en', 'no_such_key')).toBe('no_such_key');
  });
  it('every error message phrases a code of the one table (lib/error-codes.ts, E_<AREA>_<WHAT>), in Spanish and English', () => {
    const known = new Set<string>([...Object.keys(API_ERROR_CODES), ...WEB_ERROR_CODES]);
    for (const lang of ['es', 'en'] as const) {
      const codes = Object.keys(DICTIONARY[lang])
        .filter((k) => k.startsWith('err_'))
        .map((k) => k.slice(4));
      expect(codes.length).toBeGreaterThan(20);
      expect(codes.filter((c) => !known.has(c))).toEqual([]);
      for (const c of codes) expect(c).toMatch(/^E_[A-Z0-9]+_[A-Z0-9_]+$/);
    }
    expect(
      Object.keys(DICTIONARY.es)
        .filter((k) => k.startsWith('err_'))
        .sort(),
    ).toEqual(
      Object.keys(DICTIONARY.en)
        .filter((k) => k.startsWith('err_'))
        .sort(),
    );
    expect(t('es', 'err_E_QUERY_RANGE')).toBe('El final del periodo debe ser posterior al inicio');
    expect(errorKey(new ApiError(403, 'E_AUTH_FORBIDDEN', 'x'))).toEqual({ key: 'errForbidden' });
    expect(errorKey(new Error('x'))).toEqual({ key: 'errGeneric', vars: { code: 'E_WEB_UNKNOWN' } });
  });
  it('formats times in the city time zone', () => {
    expect(fmtTime('es', Date.UTC(2025, 0, 1, 18, 5, 9))).toBe('12:05:09');
  });
});

describe('roles', () => {
  it('planners see the planners view but do not act on alerts; operators act', () => {
    expect(viewsFor('planner')).toContain('planners');
    expect(viewsFor('operator')).not.toContain('planners');
    expect(canActOnAlerts('planner')).toBe(false);
    expect(canActOnAlerts('operator')).toBe(true);
    expect(canSeePlates('planner')).toBe(false);
    expect(canSeePlates('admin')).toBe(true);
    expect(viewsFor('public')).toEqual([]);
  });
});
