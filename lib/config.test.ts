import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';

describe('escalation and report configuration', () => {
  it('defaults, valid values, and a bad value names the variable', () => {
    expect(loadConfig({})).toMatchObject({ ESCALATION_WEBHOOK_URL: '', ESCALATION_DELAY_MIN: 10, DAILY_REPORT_AT: '22:30' });
    expect(loadConfig({ ESCALATION_WEBHOOK_URL: 'https://hooks.example.mx/alertas', ESCALATION_DELAY_MIN: '2.5', DAILY_REPORT_AT: '06:05' })).toMatchObject({ ESCALATION_WEBHOOK_URL: 'https://hooks.example.mx/alertas', ESCALATION_DELAY_MIN: 2.5, DAILY_REPORT_AT: '06:05' });
    expect(() => loadConfig({ ESCALATION_WEBHOOK_URL: 'ftp://x' })).toThrow(/ESCALATION_WEBHOOK_URL/);
    expect(() => loadConfig({ ESCALATION_DELAY_MIN: '0' })).toThrow(/ESCALATION_DELAY_MIN/);
    expect(() => loadConfig({ DAILY_REPORT_AT: '25:00' })).toThrow(/DAILY_REPORT_AT/);
  });
});
