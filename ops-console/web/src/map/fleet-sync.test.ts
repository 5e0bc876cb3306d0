import { describe, expect, it } from 'vitest';
import type { LiveState } from '../../../shared/live';
import { LiveModel } from '../live/model';
import { FleetBuffer } from './fleet-buffer';
import { FleetSync } from './fleet-sync';

const T0 = 1_800_000_000_000;
const truck = (i: number, ts: number, lon: number, extra: Partial<LiveState> = {}): LiveState => ({
  deviceId: `t${i}`,
  kind: 'truck',
  district: 'Centro',
  latest: { gps: { ts, late: false, data: { ts, lat: 18.14, lon, speedKmh: 20, heading: 90 } } },
  online: true,
  lastSeen: Date.now(),
  ...extra,
});

/** a clock that advances 1 ms per read: the budget is reached after a known number of reads */
function setup(n: number, budgetMs: number) {
  const model = new LiveModel();
  model.apply({ type: 'snapshot', at: T0, devices: Array.from({ length: n }, (_, i) => truck(i, T0, -94.44)), alerts: [] });
  const fleet = new FleetBuffer({ origin: [-94.43, 18.14], interpolate: false, initialCapacity: 16 });
  let t = 0;
  const sync = new FleetSync(model, fleet, budgetMs, () => t++);
  return { model, fleet, sync };
}

describe('FleetSync', () => {
  it('writes a big change over several frames within its budget, each truck once with its newest fix', () => {
    const { model, fleet, sync } = setup(2000, 3); // 64 trucks between clock reads; 3 reads = the budget
    let frames = 0;
    while (sync.step()) frames++;
    frames++;
    expect(fleet.size).toBe(2000);
    expect(frames).toBeGreaterThan(1); // not all in one frame
    expect(sync.stats.deferred).toBe(frames - 1);
    expect(sync.stats.applied).toBe(2000);
    // a truck changed twice while its write is pending is written once, at its newest fix
    model.apply({ type: 'delta', at: T0 + 1, devices: Array.from({ length: 2000 }, (_, i) => truck(i, T0 + 1000, -94.43)), plates: [], alerts: [] });
    expect(sync.step()).toBe(true);
    model.apply({ type: 'delta', at: T0 + 2, devices: [truck(1999, T0 + 2000, -94.42)], plates: [], alerts: [] });
    while (sync.step());
    expect(sync.stats.applied).toBe(4000);
    expect(fleet.position('t1999')![0]).toBeCloseTo(-94.42, 6);
    expect(fleet.position('t0')![0]).toBeCloseTo(-94.43, 6);
    expect(sync.backlog).toBe(0);
  });

  it('ages every truck into offline over frames without any message; removes trucks the model lost', () => {
    const { model, fleet, sync } = setup(1000, 3);
    while (sync.step());
    expect(fleet.stateOf('t5')).toBe('driving');
    for (const s of model.devices.values()) s.lastSeen = Date.now() - 10 * 60_000; // silent for 10 minutes
    sync.startAging();
    let frames = 0;
    while (sync.step()) frames++;
    expect(frames).toBeGreaterThan(0);
    expect(sync.agingPending).toBe(false);
    expect(fleet.ids.every((id) => fleet.stateOf(id) === 'offline')).toBe(true);
    model.apply({ type: 'snapshot', at: T0 + 5, devices: [truck(3, T0 + 5, -94.44)], alerts: [] });
    while (sync.step());
    expect(fleet.ids).toEqual(['t3']);
  });
});
