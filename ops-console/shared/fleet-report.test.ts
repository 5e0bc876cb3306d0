import { describe, expect, it } from 'vitest';
import { DAY_COLUMNS, FLEET_RULE_BOUNDS, FLEET_RULES, FLEET_TABLES, fillText, fmtCell, fmtDate, fmtDateTime, fmtDuration, fmtNum } from './fleet-report';

describe('fleet report formats (Mexican, whatever the language)', () => {
  it('numbers 1,234.5; dates dd/mm/aaaa; 24-hour times in the city zone; durations h:mm', () => {
    expect(fmtNum(1234.56, 1)).toBe('1,234.6');
    expect(fmtNum(0.6, 1)).toBe('0.6');
    expect(fmtDate('2026-11-30')).toBe('30/11/2026');
    expect(fmtDateTime(Date.UTC(2026, 10, 30, 20, 5), 'America/Mexico_City')).toBe('30/11/2026 14:05');
    expect(fmtDateTime(Date.UTC(2026, 10, 30, 20, 5), 'America/Mexico_City', false)).toBe('30/11/2026');
    expect(fmtDuration(3 * 3600 + 7 * 60 + 20)).toBe('3:07');
    expect(fmtDuration(26 * 3600)).toBe('26:00');
  });
  it('a cell by its kind; yes/no in the language; empty for null', () => {
    expect(fmtCell('km', 1537.84, 'America/Mexico_City')).toBe('1,537.8');
    expect(fmtCell('int', 8086, 'America/Mexico_City')).toBe('8,086');
    expect(fmtCell('yesno', 1, 'America/Mexico_City', 'es')).toBe('sí');
    expect(fmtCell('yesno', 1, 'America/Mexico_City', 'en')).toBe('yes');
    expect(fmtCell('text', null, 'America/Mexico_City')).toBe('');
    expect(fillText('≥ {minStopS} s', FLEET_RULES)).toBe('≥ 120 s');
  });
  it('every column has Spanish and English labels; keys are unique per table; defaults lie within their bounds', () => {
    for (const t of FLEET_TABLES) {
      expect(new Set(t.columns.map((c) => c.key)).size).toBe(t.columns.length);
      for (const c of t.columns) expect([c.es.length > 0, c.en.length > 0]).toEqual([true, true]);
    }
    expect(DAY_COLUMNS.map((c) => c.key)).toEqual(expect.arrayContaining(['distanceKm', 'engineHours', 'binsLifted', 'depotHours', 'trips', 'stops']));
    for (const [k, [lo, hi]] of Object.entries(FLEET_RULE_BOUNDS)) {
      const v = FLEET_RULES[k as keyof typeof FLEET_RULES];
      expect(v >= lo && v <= hi, k).toBe(true);
    }
  });
});
