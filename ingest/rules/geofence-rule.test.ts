/**
 * Geofences: the enter / exit / dwell state machine (point in polygon / circle, hysteresis at the
 * border, dwell once, order), and the rule engine's events and alerts (live vs late, restart).
 */
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Geofence, GeofenceEvent, GpsFix } from '../../contract';
import { GEOFENCE_LIMITS, geofenceGeometryProblem, signedDistanceM } from '../../contract';
import { offsetM } from '../../contract/geo';
import type { RegistryView } from '../../registry/registry';
import { tempDir } from '../../testing/net';
import { GeofenceTracker, HISTORY_IDLE_MS } from './geofence-rule';
import { createRuleEngine, type CityRuleEngine } from './index';
import { LAT, X, record, sink, testRegistry } from './test-support';

const MIN = 60_000;
const C: [number, number] = [X(3), LAT];
/** a point `east` m east and `north` m north of C */
const at = (east: number, north = 0) => offsetM(C, east, north) as [number, number];
/** a 200 m × 200 m square centred on C */
const square = (id: string, extra: Partial<Geofence> = {}): Geofence => ({
  id,
  name: `Zona ${id}`,
  kind: 'other',
  geometry: { type: 'polygon', coordinates: [at(-100, -100), at(100, -100), at(100, 100), at(-100, 100), at(-100, -100)] },
  active: true,
  ...extra,
});
const circle = (id: string, radiusM: number, extra: Partial<Geofence> = {}): Geofence => ({
  id,
  name: `Círculo ${id}`,
  kind: 'depot',
  geometry: { type: 'circle', center: C, radiusM },
  active: true,
  ...extra,
});

describe('geometry', () => {
  it('signed distance: negative inside a polygon or circle, positive outside, in metres', () => {
    const sq = square('sq').geometry;
    expect(signedDistanceM(sq, C)).toBeCloseTo(-100, 0);
    expect(signedDistanceM(sq, at(90))).toBeCloseTo(-10, 0);
    expect(signedDistanceM(sq, at(130))).toBeCloseTo(30, 0);
    const ci = circle('c', 50).geometry;
    expect(signedDistanceM(ci, at(20))).toBeCloseTo(-30, 0);
    expect(signedDistanceM(ci, at(0, 80))).toBeCloseTo(30, 0);
  });

  it('validation: closed ring, vertex count, self-intersection, city bounds + 1 km, radius', () => {
    const bbox = [X(0), LAT - 0.01, X(7), LAT + 0.01] as const;
    expect(geofenceGeometryProblem(square('a').geometry, bbox)).toBeNull();
    expect(geofenceGeometryProblem({ type: 'polygon', coordinates: [at(0), at(50), at(50, 50), at(0, 50)] }, bbox)?.code).toBe('E_GEOFENCE_NOT_CLOSED');
    expect(geofenceGeometryProblem({ type: 'polygon', coordinates: [at(0), at(50), at(0), at(50), at(0)] }, bbox)?.code).toBe('E_GEOFENCE_VERTICES');
    // a bow tie
    expect(geofenceGeometryProblem({ type: 'polygon', coordinates: [at(0), at(100, 100), at(100), at(0, 100), at(0)] }, bbox)?.code).toBe('E_GEOFENCE_SELF_INTERSECTS');
    const far = offsetM([X(7), LAT], 1500, 0) as [number, number];
    expect(geofenceGeometryProblem({ type: 'polygon', coordinates: [at(0), far, at(0, 100), at(0)] }, bbox)?.code).toBe('E_GEOFENCE_OUTSIDE_CITY');
    const near = offsetM([X(7), LAT], 800, 0) as [number, number];
    expect(geofenceGeometryProblem({ type: 'circle', center: near, radiusM: 100 }, bbox)).toBeNull();
    expect(geofenceGeometryProblem({ type: 'circle', center: far, radiusM: 100 }, bbox)?.code).toBe('E_GEOFENCE_OUTSIDE_CITY');
    expect(geofenceGeometryProblem({ type: 'circle', center: C, radiusM: 5 }, bbox)?.code).toBe('E_GEOFENCE_RADIUS');
  });
});

describe('GeofenceTracker', () => {
  it('enters a polygon only well inside and leaves only well outside (hysteresis at the border)', () => {
    const t = new GeofenceTracker();
    t.setGeofences([square('sq')], 0);
    const border = 100;
    expect(t.onFix('truck-09', at(border + 30), 1000)).toEqual([]);
    // GPS noise on the border: 2 m inside is not an entry
    expect(t.onFix('truck-09', at(border - 2), 2000)).toEqual([]);
    const [enter] = t.onFix('truck-09', at(border - GEOFENCE_LIMITS.enterDepthM - 1), 3000);
    expect(enter).toMatchObject({ type: 'enter', deviceId: 'truck-09', at: 3000, visit: { geofenceId: 'sq', enteredAt: 3000 } });
    // back and forth across the border by a few metres: still inside, no flapping
    for (let i = 0; i < 6; i++) expect(t.onFix('truck-09', at(border + (i % 2 ? 8 : -3)), 4000 + i * 1000)).toEqual([]);
    const [exit] = t.onFix('truck-09', at(border + GEOFENCE_LIMITS.exitDistanceM + 1), 20_000);
    expect(exit).toMatchObject({ type: 'exit', at: 20_000, visit: { visitId: enter!.visit.visitId } });
    expect(t.inside('truck-09')).toEqual([]);
  });

  it('circle: enter, dwell once at the limit, exit; out-of-order fixes are ignored', () => {
    const t = new GeofenceTracker();
    t.setGeofences([circle('base', 60, { dwellLimitMin: 10 })], 0);
    expect(t.onFix('truck-09', at(0), 0).map((e) => e.type)).toEqual(['enter']);
    expect(t.onFix('truck-09', at(5), 9 * MIN)).toEqual([]);
    expect(t.onFix('truck-09', at(100), 8 * MIN)).toEqual([]); // older than the last fix: ignored
    expect(t.onFix('truck-09', at(5), 10 * MIN).map((e) => e.type)).toEqual(['dwell']);
    expect(t.onFix('truck-09', at(5), 30 * MIN)).toEqual([]);
    expect(t.onFix('truck-09', at(200), 31 * MIN).map((e) => e.type)).toEqual(['exit']);
  });

  it('overlapping geofences are tracked each on its own; inactive ones are ignored', () => {
    const t = new GeofenceTracker();
    t.setGeofences([square('sq'), circle('base', 40), circle('off', 40, { active: false })], 0);
    expect(
      t
        .onFix('truck-09', at(0), 1)
        .map((e) => `${e.type}:${e.geofence.id}`)
        .sort(),
    ).toEqual(['enter:base', 'enter:sq']);
    expect(t.onFix('truck-09', at(70), 2).map((e) => `${e.type}:${e.geofence.id}`)).toEqual(['exit:base']);
  });

  it('a geofence removed or redrawn while a truck is inside ends its visit, with the reason', () => {
    const t = new GeofenceTracker();
    t.setGeofences([square('sq'), circle('base', 40)], 0);
    t.onFix('truck-09', at(0), 1);
    const evs = t.setGeofences([circle('base', 45)], 50);
    expect(evs.map((e) => `${e.type}:${e.geofence.id}:${e.reason}`).sort()).toEqual(['exit:base:geofence_changed', 'exit:sq:geofence_removed']);
    expect(t.onFix('truck-09', at(0), 60).map((e) => `${e.type}:${e.geofence.id}`)).toEqual(['enter:base']);
  });
});

describe('rule engine: geofence events and alerts', () => {
  let reg: RegistryView;
  let engine: CityRuleEngine;
  let clock = 0;
  afterEach(() => {
    engine?.stop();
    reg?.close();
  });
  const fix = (ts: number, pos: [number, number], extra: Partial<GpsFix> = {}) =>
    record(reg, 'truck-09', 'gps', { ts, lat: pos[1], lon: pos[0], speedKmh: 20, heading: 90, sats: 9, hdop: 1, ...extra });
  function setup(stateFile?: string) {
    reg ??= testRegistry();
    const s = sink();
    const events: GeofenceEvent[] = [];
    engine = createRuleEngine({ registry: reg, publish: s.publish, publishGeofence: (e) => void events.push(e), now: () => clock, ...(stateFile ? { stateFile } : {}) });
    return { s, events };
  }
  const T0 = Date.UTC(2026, 11, 1, 15, 0);

  it('live: entering a restricted zone raises a critical alert, leaving resolves it; every event is published', () => {
    const { s, events } = setup();
    engine.onGeofences({ version: 1, geofences: [square('centro-historico', { kind: 'restricted', name: 'Centro histórico' })] });
    for (const [i, east] of [-300, -150, -50, 0, 50, 200].entries()) {
      clock = T0 + i * 10_000 + 500;
      engine.onRecord(fix(T0 + i * 10_000, at(east)));
    }
    expect(events.map((e) => e.event)).toEqual(['enter', 'exit']);
    expect(events[0]).toMatchObject({
      geofenceId: 'centro-historico',
      name: 'Centro histórico',
      kind: 'restricted',
      deviceId: 'truck-09',
      district: 'Centro',
      at: T0 + 20_000,
      enteredAt: T0 + 20_000,
      late: false,
    });
    expect(events[1]).toMatchObject({ visitId: events[0]!.visitId, at: T0 + 50_000 });
    const alerts = s.of('geofence_restricted');
    expect(alerts.map((a) => a.event)).toEqual(['open', 'auto_resolve']);
    expect(alerts[0]).toMatchObject({ severity: 'critical', code: 'geofence_restricted', params: { geofenceId: 'centro-historico', name: 'Centro histórico' }, at: T0 + 20_000 });
    expect(engine.stats()).toMatchObject({ geofencesVersion: 1, geofences: 1, geofenceEvents: 2 });
  });

  it('late (backfilled) fixes: the visit is published as history, marked late, and raises no alert', () => {
    const { s, events } = setup();
    engine.onGeofences({ version: 3, geofences: [square('zr', { kind: 'restricted' }), circle('base', 60, { dwellLimitMin: 5 })] });
    clock = T0 + 86_400_000; // a day later
    for (let i = 0; i < 12; i++) engine.onRecord(fix(T0 + i * MIN, at(i < 10 ? 0 : 500), { speedKmh: 0 }));
    expect(events.map((e) => `${e.event}:${e.geofenceId}:${e.late}`)).toEqual(['enter:zr:true', 'enter:base:true', 'dwell:base:true', 'exit:zr:true', 'exit:base:true']);
    expect(s.events).toEqual([]);
  });

  it('backfilled history replayed after the live fixes began: its visits are still found (a state machine of their own), the live visit is untouched', async () => {
    const { s, events } = setup();
    engine.onGeofences({ version: 1, geofences: [circle('base', 80)] });
    clock = T0 + 7 * 86_400_000;
    engine.onRecord(fix(clock - 500, at(0), { speedKmh: 0 })); // live: parked at the depot
    expect(events.map((e) => `${e.event}:${e.late}`)).toEqual(['enter:false']);
    // the first start's backfill: yesterday the truck left the depot and came back
    const y = clock - 86_400_000;
    for (const [m, east] of [
      [0, 0],
      [10, 600],
      [200, 900],
      [300, 0],
      [310, 5],
    ] as const)
      engine.onRecord({ ...fix(y + m * MIN, at(east)), receivedAt: clock + 100 });
    expect(events.slice(1).map((e) => `${e.event}:${e.late}:${e.at - y}`)).toEqual([`enter:true:0`, `exit:true:${10 * MIN}`, `enter:true:${300 * MIN}`]);
    expect(events.slice(1).every((e) => e.visitId !== events[0]!.visitId)).toBe(true);
    // the live visit goes on: a live fix still inside emits nothing, the next live one outside exits it
    engine.onRecord(fix(clock + 1000, at(3), { speedKmh: 0 }));
    expect(events).toHaveLength(4);
    clock += 60_000;
    engine.onRecord(fix(clock - 500, at(400)));
    expect(events[4]).toMatchObject({ event: 'exit', late: false, visitId: events[0]!.visitId });
    expect(s.events.filter((e) => e.rule.startsWith('geofence'))).toEqual([]);
    // the replay is over: its visit still open ends at its last fix once no late fix came for HISTORY_IDLE_MS
    engine.tick(clock + 60_000);
    expect(events).toHaveLength(5);
    engine.tick(clock + HISTORY_IDLE_MS + 1000);
    expect(events[5]).toMatchObject({ event: 'exit', late: true, reason: 'history_end', visitId: events[3]!.visitId, at: y + 310 * MIN });
    expect(events).toHaveLength(6);
  });

  it('dwell over the limit raises geofence_dwell live, resolved when the truck leaves', () => {
    const { s, events } = setup();
    engine.onGeofences({ version: 1, geofences: [circle('mercado', 80, { kind: 'market', name: 'Mercado Morelos', dwellLimitMin: 15 })] });
    for (let m = 0; m <= 20; m += 5) {
      clock = T0 + m * MIN + 300;
      engine.onRecord(fix(T0 + m * MIN, at(10), { speedKmh: 0 }));
    }
    clock = T0 + 21 * MIN + 300;
    engine.onRecord(fix(T0 + 21 * MIN, at(300)));
    expect(events.map((e) => e.event)).toEqual(['enter', 'dwell', 'exit']);
    expect(s.of('geofence_dwell').map((a) => a.event)).toEqual(['open', 'auto_resolve']);
    expect(s.of('geofence_dwell')[0]).toMatchObject({ severity: 'warning', params: { geofenceId: 'mercado', name: 'Mercado Morelos', kind: 'market', minutes: 15, limitMin: 15 } });
  });

  it('an invalid set on the bus is ignored; an older version does not replace a newer one', () => {
    const { events } = setup();
    engine.onGeofences({ version: 2, geofences: [circle('base', 60)] });
    engine.onGeofences({ version: 1, geofences: [] });
    engine.onGeofences(null as never);
    clock = T0 + 500;
    engine.onRecord(fix(T0, at(0)));
    expect(events.map((e) => e.event)).toEqual(['enter']);
  });

  it('restart takeover: a truck inside a restricted zone is not entered twice and its alert stays open until it leaves', () => {
    const file = path.join(tempDir('geofence-takeover-'), 'rules-state.json');
    const first = setup(file);
    const set = { version: 1, geofences: [square('zr', { kind: 'restricted' })] };
    engine.onGeofences(set);
    clock = T0 + 500;
    engine.onRecord(fix(T0, at(0)));
    expect(first.s.of('geofence_restricted').map((a) => a.event)).toEqual(['open']);
    engine.stop();
    const second = setup(file);
    engine.onGeofences(set);
    clock = T0 + 10 * MIN;
    engine.onRecord(fix(T0 + 10 * MIN - 500, at(10)));
    engine.tick(T0 + 30 * MIN); // long past the takeover confirmation window
    expect(second.events).toEqual([]);
    expect(second.s.of('geofence_restricted')).toEqual([]);
    clock = T0 + 31 * MIN;
    engine.onRecord(fix(T0 + 31 * MIN - 500, at(400)));
    expect(second.events.map((e) => `${e.event}:${e.visitId}`)).toEqual([`exit:${first.events[0]!.visitId}`]);
    expect(second.s.of('geofence_restricted')).toMatchObject([{ event: 'auto_resolve', alertId: first.s.of('geofence_restricted')[0]!.alertId }]);
  });
});
