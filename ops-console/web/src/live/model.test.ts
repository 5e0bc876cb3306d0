import { describe, expect, it } from 'vitest';
import type { LiveState, Alert } from '../../../shared/live';
import { LiveModel, Trail, mergeState } from './model';
import { createThrottle, type Clock } from './throttle';
import { LiveFeatures } from './features';
import { decodePositions, encodePositions } from '../../../shared/live-positions';

const T0 = 1_800_000_000_000;
const truck = (id: string, ts: number, lon: number, lat: number, extra: Partial<LiveState> = {}): LiveState => ({
  deviceId: id,
  kind: 'truck',
  district: 'Centro',
  latest: { gps: { ts, late: false, data: { ts, lat, lon, speedKmh: 20, heading: 90 } } },
  online: true,
  lastSeen: ts,
  ...extra,
});
const alert = (id: string, openedAt: number, severity: Alert['severity'] = 'critical', state: Alert['state'] = 'open'): Alert => ({
  id,
  rule: 'air_quality',
  severity,
  state,
  deviceId: 'air-01',
  kind: 'air',
  district: 'Centro',
  title: `alert ${id}`,
  openedAt,
  updatedAt: openedAt,
  history: [],
});

describe('mergeState', () => {
  it('keeps the newer reading per stream and carries presence over', () => {
    const a = truck('truck-01', T0 + 2000, -94.4, 18.1);
    const older: LiveState = {
      ...truck('truck-01', T0 + 1000, -94.5, 18.2),
      online: undefined,
      lastSeen: T0 + 5000,
      latest: { ...truck('truck-01', T0 + 1000, -94.5, 18.2).latest, status: { ts: T0, late: false, data: { fw: '1' } } },
    };
    const m = mergeState(mergeState(undefined, a), older);
    expect((m.latest.gps!.data as { lon: number }).lon).toBe(-94.4); // older gps ignored
    expect(m.latest.status).toBeDefined(); // new stream added
    expect(m.online).toBe(true); // undefined presence keeps the old one
    expect(m.lastSeen).toBe(T0 + 5000);
  });
});

describe('mergeState: the device issue', () => {
  it("carries ingest's issue over merges that do not mention it, and clears it on null", () => {
    const issue = { code: 'credentials_refused', reason: 'bad_password', since: T0, lastAt: T0 };
    const m = mergeState(undefined, { ...truck('truck-01', T0, -94.4, 18.1), issue } as LiveState);
    mergeState(m, truck('truck-01', T0 + 1000, -94.4, 18.1));
    expect((m as { issue?: unknown }).issue).toEqual(issue);
    mergeState(m, { ...truck('truck-01', T0 + 2000, -94.4, 18.1), issue: null } as LiveState);
    expect((m as { issue?: unknown }).issue).toBeNull();
  });
});

describe('LiveModel', () => {
  it('merges many deltas per device into one dirty entry, newest position wins', () => {
    const m = new LiveModel();
    m.apply({ type: 'snapshot', at: T0, devices: [truck('truck-01', T0, -94.45, 18.13)], alerts: [] });
    expect([...m.takeDirty('truck')]).toEqual(['truck-01']);
    for (let i = 1; i <= 50; i++) m.apply({ type: 'delta', at: T0 + i * 1000, devices: [truck('truck-01', T0 + i * 1000, -94.45 + i * 1e-4, 18.13)], plates: [], alerts: [] });
    const dirty = m.takeDirty('truck');
    expect([...dirty]).toEqual(['truck-01']);
    expect(m.takeDirty('truck').size).toBe(0);
    expect((m.devices.get('truck-01')!.latest.gps!.data as { lon: number }).lon).toBeCloseTo(-94.445, 6);
    expect(m.messages).toBe(51);
  });

  it('keeps alerts newest first, open before acknowledged, and signals listeners', () => {
    const m = new LiveModel();
    let calls = 0;
    m.onAlerts(() => calls++);
    m.apply({ type: 'snapshot', at: T0, devices: [], alerts: [alert('a1', T0), alert('a2', T0 + 10)] });
    m.apply({ type: 'delta', at: T0 + 1, devices: [], plates: [], alerts: [alert('a3', T0 + 5, 'warning', 'acknowledged')] });
    expect(m.sortedAlerts().map((a) => a.id)).toEqual(['a2', 'a1', 'a3']);
    m.upsertAlert({ ...alert('a2', T0 + 10), state: 'acknowledged', updatedAt: T0 + 20 });
    expect(m.sortedAlerts().map((a) => a.id)).toEqual(['a1', 'a2', 'a3']);
    m.upsertAlert({ ...alert('a2', T0 + 10), state: 'open', updatedAt: T0 + 15 }); // stale: ignored
    expect(m.alerts.get('a2')!.state).toBe('acknowledged');
    expect(calls).toBe(3);
  });

  it('keeps the latest plate reads per camera, newest first', () => {
    const m = new LiveModel({ platesPerCamera: 2 });
    const read = (plate: string, ts: number) => ({ deviceId: 'cam-01', district: 'X', read: { ts, plate, region: 'VER', confidence: 0.9, direction: 'entering' as const, lane: 1 } });
    m.apply({ type: 'delta', at: T0, devices: [], plates: [read('AAA111', T0), read('BBB222', T0 + 2), read('CCC333', T0 + 1)], alerts: [] });
    expect(m.plates.get('cam-01')!.map((r) => r.plate)).toEqual(['BBB222', 'CCC333']);
    expect(m.takeDirty('camera').has('cam-01')).toBe(true);
  });
});

describe('Trail', () => {
  it('spaces points, keeps the head current and drops points older than the window', () => {
    const tr = new Trail(60_000, 5_000);
    tr.push(0, 0, 0);
    tr.push(1, 0, 1000); // within spacing: replaces head
    expect(tr.length).toBe(1);
    tr.push(2, 0, 6000);
    expect(tr.coordinates()).toEqual([
      [1, 0],
      [2, 0],
    ]);
    expect(tr.push(3, 0, 5000)).toBe(false); // out of order
    for (let t = 12_000; t <= 120_000; t += 6000) tr.push(t / 1000, 0, t);
    expect(tr.pts[2]).toBeGreaterThanOrEqual(120_000 - 60_000);
  });

  it('a device reporting faster than the spacing (1 Hz, 5 s spacing) still grows a trail, a point per spacing', () => {
    const tr = new Trail(60_000, 5_000);
    for (let t = 0; t <= 20_000; t += 1000) tr.push(t / 1000, 0, t);
    // a point pushed every 5 s, each kept current until the next is pushed
    expect(tr.coordinates()).toEqual([
      [4, 0],
      [9, 0],
      [14, 0],
      [19, 0],
      [20, 0],
    ]);
    tr.push(21, 0, 21_000); // the head follows
    expect(tr.coordinates().at(-1)).toEqual([21, 0]);
    expect(tr.length).toBe(5);
  });
});

describe('createThrottle', () => {
  function fakeClock() {
    let now = 0;
    const timers: { at: number; fn: () => void; id: number }[] = [];
    let seq = 0;
    const clock: Clock = {
      now: () => now,
      setTimeout: (fn, ms) => (timers.push({ at: now + ms, fn, id: ++seq }), seq),
      clearTimeout: (h) => {
        const i = timers.findIndex((t) => t.id === h);
        if (i >= 0) timers.splice(i, 1);
      },
    };
    const advance = (ms: number) => {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        now = t.at;
        t.fn();
      }
      now = end;
    };
    return { clock, advance };
  }

  it('flushes at most once per interval and once after the last call', () => {
    const { clock, advance } = fakeClock();
    const flushes: number[] = [];
    const th = createThrottle(() => flushes.push(clock.now()), 250, clock);
    for (let t = 0; t < 1000; t += 10) {
      th.schedule();
      advance(10);
    }
    advance(1000);
    expect(flushes.length).toBeGreaterThanOrEqual(4);
    expect(flushes.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < flushes.length; i++) expect(flushes[i]! - flushes[i - 1]!).toBeGreaterThanOrEqual(250);
    expect(th.pending).toBe(false);
    const n = flushes.length;
    advance(5000);
    expect(flushes.length).toBe(n); // idle: no flushes
  });

  it('reads a function interval at each schedule (a big fleet flushes less often)', () => {
    const { clock, advance } = fakeClock();
    const flushes: number[] = [];
    let interval = 250;
    const th = createThrottle(
      () => flushes.push(clock.now()),
      () => interval,
      clock,
    );
    for (let t = 0; t < 1000; t += 10) {
      th.schedule();
      advance(10);
    }
    for (let i = 1; i < flushes.length; i++) expect(flushes[i]! - flushes[i - 1]!).toBeGreaterThanOrEqual(250);
    interval = 1000;
    advance(1000);
    const start = flushes.length;
    for (let t = 0; t < 4000; t += 10) {
      th.schedule();
      advance(10);
    }
    const slow = flushes.slice(start);
    expect(slow.length).toBeGreaterThanOrEqual(3);
    expect(slow.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < slow.length; i++) expect(slow[i]! - slow[i - 1]!).toBeGreaterThanOrEqual(1000);
  });
});

describe('LiveFeatures', () => {
  it('builds one feature per device, stations from registry locations, trucks age into offline', () => {
    const m = new LiveModel();
    m.setMeta([
      { id: 'air-01', kind: 'air', district: 'Centro', location: { lat: 18.14, lon: -94.43 } },
      { id: 'noise-01', kind: 'noise', district: 'Centro', location: { lat: 18.15, lon: -94.43 }, noiseZone: 'residential' },
    ]);
    const f = new LiveFeatures(m);
    const tsNoon = Date.UTC(2025, 5, 1, 18);
    m.apply({
      type: 'snapshot',
      at: T0,
      alerts: [],
      devices: [
        truck('truck-01', T0, -94.45, 18.13),
        { deviceId: 'air-01', kind: 'air', district: 'Centro', latest: { air: { ts: tsNoon, late: false, data: { ts: tsNoon, windowS: 60, pm25: 40 } } }, online: true, lastSeen: T0 },
        {
          deviceId: 'noise-01',
          kind: 'noise',
          district: 'Centro',
          latest: { noise: { ts: tsNoon, late: false, data: { ts: tsNoon, windowS: 60, laeq: 60, lamax: 70, lamin: 40 } } },
          online: true,
          lastSeen: T0,
        },
      ],
    });
    expect(f.update('truck', T0)).toBe(true);
    f.update('air', T0);
    f.update('noise', T0);
    expect(f.truck.collection().features).toHaveLength(1);
    expect(f.truck.get('truck-01')!.properties).toMatchObject({ id: 'truck-01', state: 'driving', heading: 90 });
    expect(f.air.get('air-01')!.properties.cat).toBe('mala');
    expect(f.noise.get('noise-01')!.properties).toMatchObject({ level: 'over', limit: 55 });
    // no message: nothing to do until the truck goes silent for 5 minutes
    expect(f.update('truck', T0 + 1000)).toBe(false);
    expect(f.update('truck', T0 + 6 * 60_000)).toBe(true);
    expect(f.truck.get('truck-01')!.properties.state).toBe('offline');
  });

  it('10,000 trucks: a flush after one delta each grows linearly with the fleet (not O(n²))', () => {
    /** ms to flush after one delta per truck, for a fleet of n */
    const flushMs = (n: number) => {
      const m = new LiveModel();
      const f = new LiveFeatures(m);
      const devices = Array.from({ length: n }, (_, i) => truck(`truck-${i}`, T0, -94.45 + (i % 100) * 1e-4, 18.13 + Math.floor(i / 100) * 1e-4));
      m.apply({ type: 'snapshot', at: T0, devices, alerts: [] });
      f.update('truck', T0);
      const moved = devices.map((d) => truck(d.deviceId, T0 + 1000, -94.44, 18.12));
      m.apply({ type: 'delta', at: T0 + 1000, devices: moved, plates: [], alerts: [] });
      const t0 = performance.now();
      f.update('truck', T0 + 1000);
      const fc = f.truck.collection();
      const ms = performance.now() - t0;
      expect(fc.features).toHaveLength(n);
      expect(fc.features[n - 1]!.geometry.coordinates).toEqual([-94.44, 18.12]);
      return ms;
    };
    flushMs(2_000); // warm-up (JIT)
    // a ratio in the same run, not a wall-clock limit: 10× the fleet may cost ~10×, never ~100×
    const small = Math.min(flushMs(1_000), flushMs(1_000), flushMs(1_000));
    const big = Math.min(flushMs(10_000), flushMs(10_000));
    expect(big / Math.max(small, 0.5)).toBeLessThan(40);
  });
});

describe('LiveModel.applyPositions (columnar frames)', () => {
  const frame = (at: number, fixes: [number, number, number][], names: [number, string][] = []) =>
    decodePositions(
      encodePositions(
        at,
        fixes.map(([index, ts, lon]) => ({ index, fix: { ts, lat: 18.14, lon, speedKmh: 12.5, heading: 45 }, late: false, lastSeen: ts + 50 })),
        names,
      ),
    );

  it('writes fixes into the merged states in place, marks them dirty, extends trails; skips older fixes and unknown devices', () => {
    const m = new LiveModel();
    m.apply({ type: 'snapshot', at: T0, devices: [truck('truck-01', T0, -94.45, 18.13), truck('truck-02', T0, -94.44, 18.13)], alerts: [], positionIds: ['truck-01'] });
    m.takeDirty('truck');
    const before = m.devices.get('truck-01')!.latest.gps;
    // truck-02 is named by the frame itself; index 7 is nobody
    m.applyPositions(
      frame(
        T0 + 1000,
        [
          [0, T0 + 1000, -94.451],
          [1, T0 + 1000, -94.441],
          [7, T0 + 1000, -94.4],
        ],
        [[1, 'truck-02']],
      ),
    );
    const g1 = m.devices.get('truck-01')!.latest.gps!;
    expect(g1).toBe(before); // same object, updated in place
    expect(g1.ts).toBe(T0 + 1000);
    expect(g1.data).toMatchObject({ ts: T0 + 1000, lon: -94.451, lat: 18.14, speedKmh: 12.5, heading: 45 });
    expect((g1.data as { hdop?: number }).hdop).toBeUndefined();
    expect(m.devices.get('truck-01')!.lastSeen).toBe(T0 + 1050);
    expect((m.devices.get('truck-02')!.latest.gps!.data as { lon: number }).lon).toBe(-94.441);
    expect(m.unknownPositions).toBe(1);
    expect([...m.takeDirty('truck')].sort()).toEqual(['truck-01', 'truck-02']);
    expect(m.trails.get('truck-01')!.pts.slice(-3)).toEqual([-94.451, 18.14, T0 + 1000]); // the trail's head follows
    // an older fix does not move it back
    m.applyPositions(frame(T0 + 2000, [[0, T0 + 500, -94.9]]));
    expect((m.devices.get('truck-01')!.latest.gps!.data as { lon: number }).lon).toBe(-94.451);
  });
});

describe('LiveModel.applySnapshotPart', () => {
  it('a snapshot applied in parts replaces devices and alerts like one applied whole', () => {
    const m = new LiveModel();
    m.apply({ type: 'snapshot', at: T0, devices: [truck('old', T0, -94.4, 18.1)], alerts: [alert('a0', T0)] });
    m.applySnapshotPart({ type: 'snapshot', at: T0 + 1, devices: [truck('t1', T0, -94.4, 18.1)], alerts: [alert('a1', T0)], positionIds: ['t1', 't2'] }, { first: true, last: false });
    expect(m.devices.has('old')).toBe(false);
    m.applySnapshotPart({ type: 'snapshot', at: T0 + 1, devices: [truck('t2', T0, -94.4, 18.1)], alerts: [] }, { first: false, last: true });
    expect([...m.devices.keys()]).toEqual(['t1', 't2']);
    expect([...m.alerts.keys()]).toEqual(['a1']);
    expect(m.trails.has('old')).toBe(false);
    expect([...m.takeDirty('truck')].sort()).toEqual(['old', 't1', 't2']);
    expect(m.messages).toBe(2);
  });
});
