/**
 * The rule engine on sequences of records as ingest hands them over (real registry file, real
 * rule code, an injected clock). The MQTT-driven end-to-end tests are in rules.mqtt.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AirReading, GpsFix, Hotlist } from '../../contract';
import { HOUR_MS } from '../../norms/aire-salud';
import { createRuleEngine, type CityRuleEngine } from './index';
import { LAT, X, record, sink, testCity, testRegistry } from './test-support';
import type { RuleConfigInput } from './config';
import type { RegistryView } from '../../registry/registry';

const MIN = 60_000;
const localUtc = (day: number, h: number, m = 0) => Date.UTC(2025, 5, day, h + 6, m); // Mexico City is UTC−6

let reg: RegistryView;
let engine: CityRuleEngine;
let clock = 0;
afterEach(() => {
  engine?.stop();
  reg?.close();
});

function setup(config: RuleConfigInput = {}, withCity = false) {
  reg = testRegistry();
  const s = sink();
  engine = createRuleEngine({ registry: reg, ...(withCity ? { city: testCity() } : {}), publish: s.publish, config, now: () => clock });
  return s;
}

describe('air quality (Índice AIRE Y SALUD)', () => {
  const H = localUtc(2, 8);
  const air = (hour: number, o3: number, extra: Partial<AirReading> = {}) => record(reg, 'air-01', 'air', { ts: H + (hour + 1) * HOUR_MS, windowS: 3600, o3, ...extra });

  it('opens at Mala with the pollutant and risk, updates on Muy mala, auto-resolves when good again', () => {
    const s = setup();
    const feed = (hour: number, o3: number) => {
      const r = air(hour, o3);
      clock = r.ts + 1000;
      engine.onRecord(r);
    };
    feed(0, 0.03);
    feed(1, 0.03);
    feed(2, 0.1); // Mala, evaluated when hour 3 arrives
    expect(s.of('air_quality')).toHaveLength(0);
    feed(3, 0.15);
    const [open] = s.of('air_quality');
    expect(open).toMatchObject({ event: 'open', severity: 'warning', deviceId: 'air-01', kind: 'air', district: 'Centro', at: H + 3 * HOUR_MS });
    expect(open!.detail).toMatchObject({ pollutant: 'o3', category: 'mala', label: 'Mala', risk: 'Alto', colour: '#FF7E00', value: 0.1, unit: 'ppm', norm: 'NOM-172-SEMARNAT-2023' });
    expect(open!.title).toContain('Mala');
    feed(4, 0.03);
    expect(s.of('air_quality')[1]).toMatchObject({ event: 'update', severity: 'critical', alertId: open!.alertId });
    expect(s.of('air_quality')[1]!.detail).toMatchObject({ category: 'muy_mala', risk: 'Muy alto' });
    feed(5, 0.03);
    expect(s.of('air_quality')[2]).toMatchObject({ event: 'auto_resolve', alertId: open!.alertId });
    expect(s.of('air_quality')).toHaveLength(3);
    // tick closes the last hour without a new reading: still good, nothing new
    engine.tick(H + 7 * HOUR_MS);
    expect(s.of('air_quality')).toHaveLength(3);
  });

  it('a closed hour is evaluated on tick when no later reading comes', () => {
    const s = setup();
    const r = air(0, 0.2);
    clock = r.ts;
    engine.onRecord(r);
    engine.tick(r.ts + 5 * MIN);
    expect(s.of('air_quality')).toHaveLength(0); // grace not over
    clock = r.ts + 11 * MIN;
    engine.tick(clock);
    expect(s.of('air_quality')[0]).toMatchObject({ event: 'open', severity: 'critical' });
    expect(s.of('air_quality')[0]!.detail).toMatchObject({ category: 'extremadamente_mala', risk: 'Extremadamente alto' });
  });

  it('old hours replayed late do not open an alert for now', () => {
    const s = setup();
    clock = H + 30 * HOUR_MS;
    for (let h = 0; h < 4; h++) engine.onRecord(air(h, 0.15));
    engine.tick(clock);
    expect(s.of('air_quality')).toHaveLength(0);
  });

  it('particles use the 12-hour NowCast of the hourly averages', () => {
    const s = setup();
    // PM2.5 steady 130 µg/m³ → 130 × 0.694 = 90 → Muy mala (> 79)
    for (let h = 0; h < 4; h++) {
      const r = record(reg, 'air-01', 'air', { ts: H + (h + 1) * HOUR_MS, windowS: 3600, pm25: 130 });
      clock = r.ts;
      engine.onRecord(r);
    }
    const open = s.of('air_quality')[0]!;
    expect(open.detail).toMatchObject({ pollutant: 'pm25', value: 90, category: 'muy_mala' });
  });
});

describe('noise (NOM-081, indicative)', () => {
  const noise = (dev: string, ts: number, laeq: number) => record(reg, dev, 'noise', { ts, windowS: 60, laeq, lamax: laeq + 5, lamin: laeq - 5 });
  const run = (dev: string, from: number, minutes: number, laeq: number) => {
    for (let i = 0; i < minutes; i++) {
      const r = noise(dev, from + i * MIN, laeq);
      clock = r.ts;
      engine.onRecord(r);
    }
    return from + minutes * MIN;
  };

  it('opens after the sustain time and not before, holds within the hysteresis band, then resolves', () => {
    const s = setup();
    const t0 = localUtc(2, 12);
    let t = run('noise-01', t0, 14, 60); // 14 one-minute windows above 55
    expect(s.of('noise')).toHaveLength(0);
    t = run('noise-01', t, 1, 60); // 15 minutes
    const open = s.of('noise')[0]!;
    expect(open).toMatchObject({ event: 'open', severity: 'warning', deviceId: 'noise-01' });
    expect(open.detail).toMatchObject({ limitDb: 55, period: 'day', zone: 'residential', indicative: true, norm: 'NOM-081-SEMARNAT-1994' });
    expect(open.title).toMatch(/indicative/);
    t = run('noise-01', t, 10, 54); // under the limit but within 3 dB: stays open
    expect(s.of('noise')).toHaveLength(1);
    t = run('noise-01', t, 4, 50);
    expect(s.of('noise')).toHaveLength(1);
    run('noise-01', t, 1, 50); // 5 minutes ≥ 3 dB below
    expect(s.of('noise')[1]).toMatchObject({ event: 'auto_resolve', alertId: open.alertId });
  });

  it('night limit applies 22:00–06:00 local; the same level by day is fine', () => {
    const s = setup();
    run('noise-01', localUtc(2, 12), 20, 53);
    expect(s.of('noise')).toHaveLength(0);
    run('noise-01', localUtc(2, 23), 20, 53);
    expect(s.of('noise')[0]!.detail).toMatchObject({ limitDb: 50, period: 'night' });
  });

  it('per-device sustain threshold from the registry and zone limits', () => {
    const s = setup();
    run('noise-02', localUtc(2, 12), 4, 70); // industrial 68 dB(A), sustain 5 min for this station
    expect(s.of('noise', 'noise-02')).toHaveLength(0);
    run('noise-02', localUtc(2, 12) + 4 * MIN, 1, 70);
    expect(s.of('noise', 'noise-02')[0]!.detail).toMatchObject({ limitDb: 68, zone: 'industrial_commercial' });
  });

  it('late readings do not open it', () => {
    const s = setup();
    const t0 = localUtc(2, 12);
    for (let i = 0; i < 20; i++) {
      clock = t0 + i * MIN;
      engine.onRecord(record(reg, 'noise-01', 'noise', { ts: t0 + i * MIN, windowS: 60, laeq: 70, lamax: 75, lamin: 65 }, { late: true }));
    }
    expect(s.of('noise')).toHaveLength(0);
  });
});

describe('trucks', () => {
  const T0 = localUtc(2, 6, 30);
  const fix = (ts: number, lon: number, speedKmh: number, lat = LAT, extra: Partial<GpsFix> = {}) => {
    clock = ts;
    engine.onRecord(record(reg, 'truck-09', 'gps', { ts, lat, lon, speedKmh, heading: 90, sats: 9, hdop: 0.9, ...extra }));
  };
  const ignition = (ts: number, on: boolean) => {
    clock = ts;
    engine.onRecord(record(reg, 'truck-09', 'event', { ts, type: on ? 'ignition_on' : 'ignition_off' }));
  };

  it('idle with the engine on away from the depot, beyond N minutes; moving again resolves', () => {
    const s = setup({}, true);
    ignition(T0, true);
    for (let i = 0; i <= 54; i++) fix(T0 + i * 10_000, X(3) + 0.0005, 0); // 9 min
    expect(s.of('truck_idle')).toHaveLength(0);
    for (let i = 55; i <= 61; i++) fix(T0 + i * 10_000, X(3) + 0.0005, 1); // 10 min
    expect(s.of('truck_idle')[0]).toMatchObject({ event: 'open', severity: 'warning' });
    fix(T0 + 62 * 10_000, X(3) + 0.0005, 5); // below the moving threshold: still idle
    expect(s.of('truck_idle')).toHaveLength(1);
    fix(T0 + 63 * 10_000, X(3) + 0.0006, 20);
    expect(s.of('truck_idle')[1]).toMatchObject({ event: 'auto_resolve' });
  });

  it('no idle alert at the depot or with the ignition off', () => {
    const s = setup({}, true);
    ignition(T0, true);
    for (let i = 0; i <= 70; i++) fix(T0 + i * 10_000, X(0) + 0.0002, 0);
    ignition(T0 + 71 * 10_000, false);
    for (let i = 72; i <= 150; i++) fix(T0 + i * 10_000, X(3), 0);
    expect(s.of('truck_idle')).toHaveLength(0);
  });

  it('speeding: sustained over the per-device limit, critical when far over, resolves below', () => {
    const s = setup({}, true);
    fix(T0, X(3), 60);
    fix(T0 + 5000, X(3), 60);
    fix(T0 + 10_000, X(3), 60);
    expect(s.of('truck_speeding')).toHaveLength(0);
    fix(T0 + 15_000, X(3), 60);
    expect(s.of('truck_speeding')[0]).toMatchObject({ event: 'open', severity: 'warning' });
    expect(s.of('truck_speeding')[0]!.detail).toMatchObject({ limitKmh: 50 });
    fix(T0 + 20_000, X(3), 75);
    expect(s.of('truck_speeding')[1]).toMatchObject({ event: 'update', severity: 'critical' });
    for (let i = 5; i <= 11; i++) fix(T0 + i * 5000, X(3), 40);
    expect(s.of('truck_speeding')[2]).toMatchObject({ event: 'auto_resolve' });
  });

  it('GPS jump opens on an impossible implied speed, resolves after plausible fixes', () => {
    const s = setup({}, true);
    fix(T0, X(3), 20);
    fix(T0 + 10_000, X(3) + 0.01, 20); // ~1 km in 10 s
    expect(s.of('gps_jump')[0]).toMatchObject({ event: 'open' });
    expect((s.of('gps_jump')[0]!.detail as { impliedKmh: number }).impliedKmh).toBeGreaterThan(300);
    for (let i = 2; i <= 11; i++) fix(T0 + i * 10_000, X(3) + 0.01, 20);
    expect(s.of('gps_jump')[1]).toMatchObject({ event: 'auto_resolve' });
  });

  it('GPS lost: no valid fix while the engine is on (on the stream, and silent fixes on tick)', () => {
    const s = setup({}, true);
    ignition(T0, true);
    fix(T0 + 1000, X(3), 10);
    for (let i = 1; i <= 13; i++) fix(T0 + i * 10_000, X(3), 0, LAT, { sats: 0, hdop: 99.9 });
    expect(s.of('gps_lost')[0]).toMatchObject({ event: 'open' });
    fix(T0 + 140_000, X(3), 10);
    expect(s.of('gps_lost')[1]).toMatchObject({ event: 'auto_resolve' });
    // fixes stop but the device keeps sending status
    for (let i = 1; i <= 3; i++) {
      clock = T0 + 140_000 + i * 60_000;
      engine.onRecord(record(reg, 'truck-09', 'status', { ts: clock, fw: '1.0', uptimeS: 100 }));
      engine.tick(clock);
    }
    expect(s.of('gps_lost')[2]).toMatchObject({ event: 'open' });
  });

  it('GPS lost is not a stalled platform: nothing processed since the fix was due blames no truck', () => {
    const s = setup({}, true);
    ignition(T0, true);
    fix(T0 + 1000, X(3), 10);
    // a status right after the fix, then the platform stalls (nothing arrives) for 250 s
    engine.onRecord(record(reg, 'truck-09', 'status', { ts: T0 + 10_000, fw: '1.0', uptimeS: 100 }));
    clock = T0 + 126_000; // the status still counts as talking (< 120 s ago), the fix does not
    engine.tick(clock);
    expect(s.of('gps_lost')).toEqual([]);
    // messages flow again (another device's): now the missing fixes are the truck's own
    engine.onRecord(record(reg, 'noise-01', 'noise', { ts: clock, windowS: 60, laeq: 50, lamax: 60, lamin: 40 }, { receivedAt: clock }));
    engine.onRecord(record(reg, 'truck-09', 'status', { ts: clock, fw: '1.0', uptimeS: 220 }, { receivedAt: clock }));
    engine.tick(clock + 1000);
    expect(s.of('gps_lost')[0]).toMatchObject({ event: 'open', deviceId: 'truck-09' });
  });

  it('off route beyond the distance, sustained; back on route resolves', () => {
    const s = setup({}, true);
    ignition(T0, true);
    for (let i = 0; i < 10; i++) fix(T0 + i * 10_000, X(2) + i * 0.0003, 20, LAT + 0.0036); // 400 m north
    expect(s.of('truck_off_route')[0]).toMatchObject({ event: 'open' });
    expect((s.of('truck_off_route')[0]!.detail as { distanceM: number }).distanceM).toBeGreaterThan(380);
    fix(T0 + 110_000, X(5), 20);
    expect(s.of('truck_off_route')[1]).toMatchObject({ event: 'auto_resolve' });
  });

  const shiftStart = localUtc(2, 6);
  let t = 0;
  const drive = (fromI: number, toI: number, lat = LAT, late = false) => {
    for (let lon = X(fromI) + 0.0004; lon < X(toI) - 0.0003; lon += 0.0004) {
      t += 10_000;
      clock = late ? t + 2 * HOUR_MS : t;
      engine.onRecord(record(reg, 'truck-09', 'gps', { ts: t, lat, lon, speedKmh: 20, heading: 90, sats: 9, hdop: 0.9 }, { receivedAt: clock, late }));
    }
  };

  it('behind schedule and missed streets while the shift runs; resolved once collected', () => {
    const s = setup({ truck: { missedLookahead: 1 } }, true);
    // before the shift and with no data: nothing to judge
    clock = shiftStart - HOUR_MS;
    engine.tick(clock);
    clock = shiftStart + 3 * HOUR_MS;
    engine.tick(clock);
    expect(s.events.filter((e) => e.rule === 'route_behind' || e.rule === 'missed_streets')).toEqual([]);
    // seen live from the shift start: collects s2, then stands until 09:00 with the engine on
    t = shiftStart + 5 * MIN;
    ignition(t, true);
    drive(1, 2);
    fix((t = shiftStart + 3 * HOUR_MS), X(2) - 0.0004, 0);
    const behind = s.of('route_behind')[0]!;
    expect(behind).toMatchObject({ event: 'open', severity: 'warning', code: 'route_behind' });
    expect(behind.detail).toMatchObject({ routeId: 'route-t', covered: 1, planned: 5 });
    expect(behind.params).toMatchObject({ routeId: 'route-t', coveragePct: 20 });
    // back on s2 (a live fix after a long gap), then skip s3 and s4 on the parallel street, then s5 and s6
    t -= 10_000;
    drive(1, 2);
    drive(2, 4, LAT + 0.0036);
    drive(4, 6);
    expect(s.of('missed_streets')[0]).toMatchObject({ event: 'open', severity: 'warning', code: 'missed_streets' });
    const missed = s.of('missed_streets').at(-1)!; // the list grows as the truck drives on: update events
    expect((missed.detail as { segments: { segmentId: string }[] }).segments.map((x) => x.segmentId)).toEqual(['s3', 's4']);
    expect(missed.params).toEqual({ routeId: 'route-t', count: 2 });
    drive(2, 4); // goes back for them
    expect(s.of('missed_streets').at(-1)).toMatchObject({ event: 'auto_resolve', alertId: missed.alertId });
    expect(s.of('route_behind').at(-1)).toMatchObject({ event: 'auto_resolve', alertId: behind.alertId });
    expect(engine.openAlerts().filter((a) => a.spec.device.id === 'truck-09')).toEqual([]);
  });

  it('missed streets: streets passed while the truck was not heard (offline) are not judged', () => {
    const s = setup({ truck: { missedLookahead: 1 } }, true);
    t = shiftStart + 10 * MIN;
    ignition(t, true);
    drive(1, 2);
    t += 10 * MIN; // offline ten minutes: s3 and s4 collected unseen
    drive(4, 7);
    expect(s.of('missed_streets')).toEqual([]);
  });

  it('route rules: a truck first seen mid-shift is judged from there; late data and fixes before the shift raise nothing', () => {
    const s = setup({ truck: { missedLookahead: 1 } }, true);
    const routeAlerts = () => s.events.filter((e) => e.rule === 'route_behind' || e.rule === 'missed_streets');
    // before the shift starts: skipping streets is no miss
    t = shiftStart - 2 * HOUR_MS;
    ignition(t, true);
    drive(1, 2);
    drive(2, 4, LAT + 0.0036);
    drive(4, 6);
    expect(routeAlerts()).toEqual([]);
    // backfilled (late) fixes of the shift: stored, never alerting
    t = shiftStart + 10 * MIN;
    drive(1, 2, LAT, true);
    drive(2, 4, LAT + 0.0036, true);
    drive(4, 6, LAT, true);
    expect(routeAlerts()).toEqual([]);
    // a truck that joins the shift at s5 (fast-forwarded simulator, restarted engine): s2–s4 not judged
    const s2 = setup({ truck: { missedLookahead: 1 } }, true);
    t = shiftStart + 4 * HOUR_MS;
    ignition(t, true);
    drive(4, 7);
    clock = t + 60_000;
    engine.tick(clock);
    expect(s2.events.filter((e) => e.rule === 'route_behind' || e.rule === 'missed_streets')).toEqual([]);
  });

  it('a parked truck (ignition off, heartbeat fixes) is neither offline nor GPS-lost', () => {
    const s = setup({}, true);
    t = shiftStart + 9 * HOUR_MS; // after its shift
    ignition(t, false);
    for (let i = 0; i <= 60; i++) {
      clock = t + i * MIN;
      engine.onRecord(record(reg, 'truck-09', 'status', { ts: clock, fw: '1.0', uptimeS: 100 }, { receivedAt: clock }));
      if (i % 5 === 0) engine.onRecord(record(reg, 'truck-09', 'gps', { ts: clock, lat: LAT, lon: X(0), speedKmh: 0, heading: 0, sats: 9, hdop: 0.9 }, { receivedAt: clock }));
      engine.tick(clock + 30_000);
    }
    expect(s.of('offline', 'truck-09')).toEqual([]);
    expect(s.of('gps_lost', 'truck-09')).toEqual([]);
    // unknown ignition and only heartbeat fixes at speed 0: not an engine either
    const s2 = setup({}, true);
    for (let i = 0; i <= 30; i++) {
      clock = t + i * MIN;
      engine.onRecord(record(reg, 'truck-09', 'status', { ts: clock, fw: '1.0', uptimeS: 100 }, { receivedAt: clock }));
      if (i % 5 === 0) engine.onRecord(record(reg, 'truck-09', 'gps', { ts: clock, lat: LAT, lon: X(0), speedKmh: 0, heading: 0, sats: 9, hdop: 0.9 }, { receivedAt: clock }));
      engine.tick(clock + 30_000);
    }
    expect(s2.of('gps_lost', 'truck-09')).toEqual([]);
    expect(s2.of('offline', 'truck-09')).toEqual([]);
    // a moving truck that goes quiet is offline after 3 × its moving interval (status counts)
    const s3 = setup({}, true);
    t = shiftStart + HOUR_MS;
    ignition(t, true);
    fix(t + 1000, X(3), 20);
    const other = (at: number) => engine.onRecord(record(reg, 'air-01', 'status', { ts: at, fw: '1', uptimeS: 5 }, { receivedAt: at }));
    other(t + 1000 + 25_000);
    engine.tick(t + 1000 + 25_000);
    expect(s3.of('offline', 'truck-09')).toEqual([]);
    other(t + 1000 + 35_000);
    engine.tick(t + 1000 + 35_000);
    // nobody heard at all for a while: a platform-side silence, no device is blamed
    const s4 = setup({}, true);
    ignition(t, true);
    fix(t + 1000, X(3), 20);
    engine.tick(t + 1000 + 5 * MIN);
    expect(s4.of('offline')).toEqual([]);
    expect(s3.of('offline', 'truck-09')[0]).toMatchObject({ event: 'open', code: 'offline.silent', params: { expectedS: 10, mode: 'moving' } });
  });

  it('without a city the route rules are off and the others still work', () => {
    const s = setup({}, false);
    for (let i = 0; i < 10; i++) fix(T0 + i * 5000, X(3), 70);
    engine.tick(localUtc(2, 10));
    expect(s.of('truck_speeding')).toHaveLength(1);
    expect(s.of('route_behind')).toHaveLength(0);
    expect(s.of('truck_off_route')).toHaveLength(0);
  });
});

describe('hotlist', () => {
  const read = (ts: number, plate: string, direction: 'entering' | 'leaving' = 'entering') => {
    clock = ts;
    engine.onRecord(record(reg, 'cam-01', 'plate', { ts, plate, region: 'VER', confidence: 0.93, direction, lane: 2 }));
  };
  const day = localUtc(2, 12);
  const list: Hotlist = {
    version: 1,
    entries: [
      { plate: 'ABC1234', reason: 'robo de vehículo' },
      { plate: 'XYZ9876', reason: 'sale de la ciudad', direction: 'leaving' },
      { plate: 'NOC0001', reason: 'solo de noche', activeHours: { from: 22, to: 6 } },
      { plate: 'EXP0001', reason: 'vencida', expiresAt: day - 1 },
    ],
  };

  it('a listed plate is critical at any camera, de-duplicated while open, resolved when delisted', () => {
    const s = setup();
    engine.onHotlist(list);
    read(day, 'ABC-1234');
    const open = s.of('hotlist')[0]!;
    expect(open).toMatchObject({ event: 'open', severity: 'critical', deviceId: 'cam-01', kind: 'camera' });
    expect(open.detail).toMatchObject({ plate: 'ABC-1234', reason: 'robo de vehículo', direction: 'entering' });
    read(day + MIN, 'ABC-1234');
    expect(s.of('hotlist')).toHaveLength(1);
    engine.onHotlist({ version: 2, entries: list.entries.slice(1) });
    expect(s.of('hotlist')[1]).toMatchObject({ event: 'auto_resolve', alertId: open.alertId });
  });

  it('direction, active hours and expiry limit an entry', () => {
    const s = setup();
    engine.onHotlist(list);
    read(day, 'XYZ9876', 'entering');
    read(day, 'NOC0001');
    read(day, 'EXP0001');
    read(day, 'OTR0001');
    expect(s.of('hotlist')).toHaveLength(0);
    read(day + MIN, 'XYZ9876', 'leaving');
    read(localUtc(2, 23), 'NOC0001');
    expect(s.of('hotlist').map((e) => (e.detail as { plate: string }).plate)).toEqual(['XYZ9876', 'NOC0001']);
  });
});

describe('devices', () => {
  const t0 = localUtc(2, 12);
  it('offline by last will, back online resolves', () => {
    const s = setup();
    engine.onPresence('air-01', false, t0, 'last will');
    expect(s.of('offline', 'air-01')[0]).toMatchObject({ event: 'open', severity: 'warning', code: 'offline.last_will' });
    engine.onPresence('air-01', true, t0 + MIN);
    expect(s.of('offline', 'air-01')[1]).toMatchObject({ event: 'auto_resolve' });
  });

  it('offline after 3× the reporting interval without a message; a message resolves', () => {
    clock = t0;
    const s = setup();
    engine.onRecord(record(reg, 'air-01', 'air', { ts: t0, windowS: 60, o3: 0.02 }, { receivedAt: t0 }));
    engine.tick(t0 + 170_000);
    expect(s.of('offline', 'air-01')).toHaveLength(0);
    clock = t0 + 190_000;
    // others are heard meanwhile: the silence is air-01's, not the platform's
    engine.onRecord(record(reg, 'noise-01', 'noise', { ts: clock, windowS: 60, laeq: 50, lamax: 60, lamin: 40 }, { receivedAt: clock }));
    engine.tick(clock);
    expect(s.of('offline', 'air-01')[0]).toMatchObject({ event: 'open' });
    engine.onRecord(record(reg, 'air-01', 'air', { ts: clock, windowS: 60, o3: 0.02 }, { receivedAt: clock }));
    expect(s.of('offline', 'air-01')[1]).toMatchObject({ event: 'auto_resolve' });
  });

  it('clock skew reported by the device, or seen between event time and arrival', () => {
    const s = setup();
    clock = t0;
    engine.onRecord(record(reg, 'noise-01', 'status', { ts: t0, fw: '1', uptimeS: 5, clockSkewMs: 45_000 }));
    expect(s.of('clock_skew', 'noise-01')[0]).toMatchObject({ event: 'open' });
    engine.onRecord(record(reg, 'noise-01', 'status', { ts: t0 + 1, fw: '1', uptimeS: 5, clockSkewMs: 20_000 }));
    expect(s.of('clock_skew', 'noise-01')).toHaveLength(1); // hysteresis: resolves under half the limit
    engine.onRecord(record(reg, 'noise-01', 'status', { ts: t0 + 2, fw: '1', uptimeS: 5, clockSkewMs: 1000 }));
    expect(s.of('clock_skew', 'noise-01')[1]).toMatchObject({ event: 'auto_resolve' });
    for (let i = 0; i < 5; i++) {
      const recv = t0 + i * MIN;
      engine.onRecord(record(reg, 'air-01', 'air', { ts: recv + 90_000, windowS: 60, o3: 0.02 + i / 1000 }, { receivedAt: recv }));
    }
    expect(s.of('clock_skew', 'air-01')[0]!.detail).toMatchObject({ skewMs: 90_000 });
  });

  it('a lag the whole platform shares is not a clock behind; one device lagging beyond it is', () => {
    const s = setup();
    const ids = ['air-01', 'noise-01', 'noise-02', 'truck-01', 'cam-01'];
    const status = (id: string, recv: number, behindMs: number, i: number) => {
      clock = recv;
      engine.onRecord(record(reg, id, 'status', { ts: recv - behindMs, fw: '1', uptimeS: 5 + i }, { receivedAt: recv }));
    };
    // ingest falls 45 s behind (beyond the 30 s limit, not yet late): every reading arrives 45 s after its event time
    for (let i = 0; i < 6; i++) ids.forEach((id, k) => status(id, t0 + i * MIN + k * 100, 45_000, i));
    expect(s.of('clock_skew')).toEqual([]);
    // caught up; air-01's own clock is 45 s behind
    for (let i = 6; i < 12; i++) ids.forEach((id, k) => status(id, t0 + i * MIN + k * 100, id === 'air-01' ? 45_000 : 200, i));
    expect(s.of('clock_skew').map((e) => [e.deviceId, e.event])).toEqual([['air-01', 'open']]);
    // beyond the others' 0.2 s of transport
    expect((s.of('clock_skew', 'air-01')[0]!.detail as { skewMs: number }).skewMs).toBe(-44_800);
    // a lag shared by all again does not hide it: air-01 still lags 45 s beyond the others
    for (let i = 12; i < 18; i++) ids.forEach((id, k) => status(id, t0 + i * MIN + k * 100, id === 'air-01' ? 90_000 : 45_000, i));
    expect(s.of('clock_skew', 'air-01').filter((e) => e.event === 'auto_resolve')).toEqual([]);
    expect(s.of('clock_skew').filter((e) => e.deviceId !== 'air-01')).toEqual([]);
  });

  it('stuck sensor: identical readings for the configured time; a change resolves', () => {
    const s = setup();
    for (let i = 0; i <= 60; i++) {
      clock = t0 + i * MIN;
      engine.onRecord(record(reg, 'air-01', 'air', { ts: clock, windowS: 60, pm25: 12, o3: 0.021 }));
      if (i === 59) expect(s.of('stuck_sensor')).toHaveLength(0);
    }
    expect(s.of('stuck_sensor')[0]).toMatchObject({ event: 'open', deviceId: 'air-01' });
    engine.onRecord(record(reg, 'air-01', 'air', { ts: t0 + 61 * MIN, windowS: 60, pm25: 13, o3: 0.021 }));
    expect(s.of('stuck_sensor')[1]).toMatchObject({ event: 'auto_resolve' });
  });

  it('battery low with hysteresis, critical when very low', () => {
    const s = setup();
    const status = (i: number, batteryPct: number) => engine.onRecord(record(reg, 'cam-01', 'status', { ts: (clock = t0 + i * MIN), fw: '1', uptimeS: 5, batteryPct }));
    status(0, 15);
    expect(s.of('battery_low')[0]).toMatchObject({ event: 'open', severity: 'warning' });
    status(1, 8);
    expect(s.of('battery_low')[1]).toMatchObject({ event: 'update', severity: 'critical' });
    status(2, 22);
    expect(s.of('battery_low')).toHaveLength(2);
    status(3, 26);
    expect(s.of('battery_low')[2]).toMatchObject({ event: 'auto_resolve' });
  });
});

describe('robustness', () => {
  it('a malformed record is counted, not thrown; unknown devices are ignored', () => {
    const s = setup();
    clock = localUtc(2, 12);
    expect(() => engine.onRecord({ deviceId: 'air-01', stream: 'air', ts: clock, receivedAt: clock, late: false, payload: null } as never)).not.toThrow();
    expect(() => engine.onRecord({ deviceId: 'nope-99', stream: 'air', ts: clock, receivedAt: clock, late: false, payload: {} } as never)).not.toThrow();
    expect(() => engine.onHotlist({ version: 1, entries: null } as never)).not.toThrow();
    expect(Object.values(engine.stats().errors).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    engine.onRecord(record(reg, 'air-01', 'status', { ts: clock, fw: '1', uptimeS: 1, batteryPct: 5 }));
    expect(s.of('battery_low')).toHaveLength(1);
  });

  it('alert ids are stable per episode and safe in MQTT topics', () => {
    const s = setup();
    engine.onPresence('truck-01', false, 1_750_000_000_000, 'last will');
    engine.onPresence('truck-01', true, 1_750_000_060_000);
    engine.onPresence('truck-01', false, 1_750_000_120_000, 'last will');
    const ids = s.of('offline', 'truck-01').map((e) => e.alertId);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._-]+$/);
  });
});
