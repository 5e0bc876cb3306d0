/**
 * Restart takeover: an engine that starts on the state file of the previous one takes over its
 * open alerts (same ids, nothing re-opened), resolves those whose condition cleared, and never
 * opens a second alert for the same rule and subject.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RegistryView } from '../../registry/registry';
import { tempDir } from '../../testing/net';
import { createRuleEngine, type CityRuleEngine } from './index';
import { loadTakeover } from './takeover';
import { record, sink, testRegistry } from './test-support';

const MIN = 60_000;
const t0 = Date.UTC(2025, 5, 2, 18);
let reg: RegistryView;
const engines: CityRuleEngine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.stop();
  reg?.close();
});

describe('restart takeover', () => {
  it('takes over the open alerts, resolves the cleared ones, confirms the others, never duplicates', () => {
    reg = testRegistry();
    const file = path.join(tempDir('takeover-'), 'rules-state.json');
    let clock = t0;
    const a = sink();
    const e1 = createRuleEngine({ registry: reg, publish: a.publish, now: () => clock, stateFile: file });
    engines.push(e1);
    e1.onPresence('air-01', false, t0, 'last will');
    e1.onRecord(record(reg, 'cam-01', 'status', { ts: t0, fw: '1', uptimeS: 5, batteryPct: 12 }, { receivedAt: t0 }));
    for (let i = 0; i < 3; i++) e1.onReject('noise-01', 'future_timestamp', t0 + i * 1000, t0 + 700_000);
    e1.onRecord(record(reg, 'truck-01', 'event', { ts: t0, type: 'ignition_off' }, { receivedAt: t0 }));
    e1.onRecord(record(reg, 'truck-01', 'gps', { ts: t0, lat: 18.13, lon: -94.45, speedKmh: 0, heading: 0, sats: 9, hdop: 1 }, { receivedAt: t0 }));
    e1.onRecord(record(reg, 'truck-01', 'gps', { ts: t0 + 10_000, lat: 18.13, lon: -94.44, speedKmh: 0, heading: 0, sats: 9, hdop: 1 }, { receivedAt: t0 + 10_000 }));
    const before = e1
      .openAlerts()
      .map((x) => x.alertId)
      .sort();
    expect(before).toHaveLength(4);
    e1.stop(); // Ctrl-C: the state is written
    const saved = loadTakeover(file)!;
    expect(saved.open.map((x) => x.alertId).sort()).toEqual(before);
    expect(saved.ignition).toEqual({ 'truck-01': false });

    // the next engine, minutes later
    clock = t0 + 5 * MIN;
    const b = sink();
    const e2 = createRuleEngine({ registry: reg, publish: b.publish, now: () => clock, stateFile: file });
    engines.push(e2);
    expect(
      e2
        .openAlerts()
        .map((x) => x.alertId)
        .sort(),
    ).toEqual(before);
    expect(e2.stats().takenOver).toBe(4);
    expect(b.events).toEqual([]); // nothing re-opened
    // the device is back: its taken-over offline alert resolves under the same id
    e2.onPresence('air-01', true, clock);
    const offlineId = a.of('offline', 'air-01')[0]!.alertId;
    expect(b.of('offline', 'air-01')).toEqual([expect.objectContaining({ event: 'auto_resolve', alertId: offlineId })]);
    // the battery is still low: confirmed, not a second alert
    e2.onRecord(record(reg, 'cam-01', 'status', { ts: clock, fw: '1', uptimeS: 5, batteryPct: 12 }, { receivedAt: clock }));
    expect(b.of('battery_low')).toEqual([]);
    // the clock was fixed while we were down: its readings are accepted, the alert resolves;
    // the GPS jump is never confirmed nor cleared (the parked truck sends status only): resolved
    // once the confirm window has passed
    for (let m = 6; m <= 25; m++) {
      clock = t0 + m * MIN;
      e2.onRecord(record(reg, 'noise-01', 'noise', { ts: clock - 300, windowS: 60, laeq: 50 + (m % 3), lamax: 60, lamin: 40 }, { receivedAt: clock }));
      e2.onRecord(record(reg, 'cam-01', 'status', { ts: clock, fw: '1', uptimeS: 5, batteryPct: 12 }, { receivedAt: clock }));
      e2.onRecord(record(reg, 'air-01', 'air', { ts: clock - 300, windowS: 60, o3: 0.02 + (m % 3) / 1000 }, { receivedAt: clock }));
      e2.onRecord(record(reg, 'truck-01', 'status', { ts: clock, fw: '1', uptimeS: 5 }, { receivedAt: clock }));
      e2.tick(clock);
    }
    const skewId = a.of('clock_skew', 'noise-01')[0]!.alertId;
    expect(b.of('clock_skew', 'noise-01')).toEqual([expect.objectContaining({ event: 'auto_resolve', alertId: skewId })]);
    const jumpId = a.of('gps_jump', 'truck-01')[0]!.alertId;
    expect(b.of('gps_jump')).toEqual([expect.objectContaining({ event: 'auto_resolve', alertId: jumpId })]);
    expect(b.of('gps_jump')[0]!.detail).toMatchObject({ takenOver: true });
    expect(b.of('gps_lost')).toEqual([]); // ignition off survived the restart: no engine, no GPS-lost
    const ours = (e: { deviceId: string }) => ['air-01', 'cam-01', 'noise-01', 'truck-01'].includes(e.deviceId);
    expect(b.events.filter((e) => e.event === 'open' && ours(e))).toEqual([]);
    const batteryId = a.of('battery_low', 'cam-01')[0]!.alertId;
    expect(
      e2
        .openAlerts()
        .filter((x) => ours({ deviceId: x.spec.device.id }))
        .map((x) => x.alertId),
    ).toEqual([batteryId]);
    expect(e2.stats().takeoverResolved).toBe(1);
    e2.stop();

    // and a third start still holds exactly that one
    const c = sink();
    const e3 = createRuleEngine({ registry: reg, publish: c.publish, now: () => clock, stateFile: file });
    engines.push(e3);
    expect(
      e3
        .openAlerts()
        .filter((x) => ours({ deviceId: x.spec.device.id }))
        .map((x) => x.alertId),
    ).toEqual([batteryId]);
  });

  it('a corrupt state file is reported and ignored; the engine starts empty', () => {
    reg = testRegistry();
    const file = path.join(tempDir('takeover-'), 'rules-state.json');
    fs.writeFileSync(file, '{not json');
    const s = sink();
    const e = createRuleEngine({ registry: reg, publish: s.publish, now: () => t0, stateFile: file });
    engines.push(e);
    expect(e.openAlerts()).toEqual([]);
    expect(loadTakeover(file)).toBeNull();
  });
});
