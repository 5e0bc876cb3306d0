import { describe, expect, it } from 'vitest';
import { fmtTime, missingKeys, t } from './i18n';
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
