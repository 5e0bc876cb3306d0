/**
 * The alert-quality scenario, short (≈ 70 s of wall time): 40 minutes of the simulated city at
 * 40× on the whole stack, restarted at minute 28, with injected faults (offline with and without
 * last will, GPS jump, clock skew beyond the limit, stuck sensor, low battery, wrong credentials,
 * noise exceedance, hotlisted plate, truck idling, truck skipping streets). `npm run bench:alerts`
 * runs it long (a whole shift, night noise, a pollution episode).
 */
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createLogger } from '../lib/log';
import { formatReport, runAlertScenario } from './alert-scenario';

it('alert quality: every injected fault alerts, ≥ 95 % of alerts are real, nothing stale after the restart', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alert-scenario-'));
  try {
    const report = await runAlertScenario({ dataDir, speed: 40, durationMin: 40, restartAtMin: 28, startLocal: '06:40', log: createLogger('alert-scenario', process.env.TEST_LOG_LEVEL ?? 'silent') });
    console.log(formatReport(report));
    expect(report.faults.length).toBeGreaterThanOrEqual(11);
    expect(report.faults.filter((f) => !f.detected)).toEqual([]);
    expect(report.recall).toBe(1);
    expect(report.precision).toBeGreaterThanOrEqual(0.95);
    expect(report.staleOpenAfterRestart).toBe(0);
    expect(report.staleOpen).toBe(0);
    expect(report.falseAlertsPerDeviceHour).toBeLessThanOrEqual(0.1);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 240_000);
