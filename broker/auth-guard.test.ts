import { describe, expect, it } from 'vitest';
import { AuthGuard, type FloodReport } from './auth-guard';

const verify =
  (ms: number, ok = false) =>
  () =>
    new Promise<boolean>((r) => setTimeout(() => r(ok), ms));

describe('AuthGuard verification queue', () => {
  it('a flooding source backs off, its queued work is dropped, and another source is served first; nothing hangs', async () => {
    const g = new AuthGuard();
    const order: string[] = [];
    const attacker: Promise<unknown>[] = [];
    let failed = 0;
    let dropped = 0;
    for (let i = 0; i < 50; i++) {
      attacker.push(
        g.schedule('10.0.0.9', verify(20))!.then(
          () => (g.failed('10.0.0.9', 'truck-01', 'truck-01'), failed++, order.push('a')),
          () => dropped++,
        ),
      );
    }
    const legit = g.schedule('10.0.0.1', verify(20, true))!.then((ok) => (order.push('legit'), ok));
    await expect(Promise.race([Promise.all([...attacker, legit]), new Promise((_, j) => setTimeout(() => j(new Error('hung')), 5000))])).resolves.toBeDefined();
    expect(await legit).toBe(true);
    expect(order.indexOf('legit')).toBeLessThanOrEqual(2); // not behind the attacker's backlog
    expect(failed).toBe(5); // then the source backed off
    expect(dropped).toBe(45);
    expect(g.queueLength).toBe(0);
    expect(g.check('10.0.0.9', 'x')?.reason).toBe('backoff_source');
    expect(g.check('10.0.0.1', 'truck-01')).toBeNull();
  });

  it('caps pending connections per source and in total', () => {
    const g = new AuthGuard({ maxPendingPerSource: 2, maxPending: 3 });
    const c = [{}, {}, {}, {}, {}];
    expect([g.opened(c[0]!, 'a'), g.opened(c[1]!, 'a'), g.opened(c[2]!, 'a')]).toEqual([true, true, false]);
    expect([g.opened(c[3]!, 'b'), g.opened(c[4]!, 'c')]).toEqual([true, false]);
    g.settled(c[0]!);
    expect(g.opened(c[4]!, 'c')).toBe(true);
    expect(g.pendingCount).toBe(3);
  });

  it('reports a flood once when it starts and once when it ends, and each registered device under attack once', () => {
    let t = 0;
    const g = new AuthGuard({ floodThreshold: 10, floodWindowMs: 1000, now: () => t, isDevice: (u) => u === 'air-01' });
    const reports: string[] = [];
    g.onFlood = (r) => reports.push(`${r.state}:${r.devices.map((d) => d.id).join(',')}`);
    for (let i = 0; i < 30; i++) g.refused(`10.0.0.${i % 3}`, 'air-01');
    expect(reports).toEqual(['start:air-01', 'device:air-01']);
    t = 5000;
    g.tick();
    expect(reports).toEqual(['start:air-01', 'device:air-01', 'end:air-01']);
    expect(g.flooding).toBe(false);
  });

  it('invented user names are only counted: no report names them, devices reported are registered, at most maxFloodDevices', () => {
    let t = 0;
    const registered = new Set(['truck-01', 'truck-02', 'air-01', 'cam-01']);
    const g = new AuthGuard({ floodThreshold: 50, floodWindowMs: 10_000, floodDeviceMin: 10, maxFloodDevices: 2, now: () => t, isDevice: (u) => registered.has(u) });
    const reports: FloodReport[] = [];
    g.onFlood = (r) => reports.push(r);
    for (let i = 0; i < 20_000; i++) {
      t = i / 10; // 10 refusals a millisecond for 2 s
      // mostly fresh invented names (some as long as the wire allows), now and then a registered one
      const user = i % 97 === 0 ? 'truck-01' : i % 89 === 0 ? 'air-01' : i % 211 === 0 ? 'truck-02' : i % 1000 === 0 ? 'cam-01' : `x${i}-${'z'.repeat(i % 500)}`;
      g.refused(`10.${i % 200}.0.1`, user);
    }
    const starts = reports.filter((r) => r.state === 'start');
    const devices = reports.filter((r) => r.state === 'device');
    expect(starts).toHaveLength(1);
    expect(devices.map((r) => r.devices[0]!.id).sort()).toEqual(['air-01', 'truck-01']); // the first two to reach 10 refusals; truck-02 and cam-01 came after the cap was full
    for (const r of reports) for (const d of r.devices) expect(registered.has(d.id)).toBe(true);
    t += 60_000;
    g.tick();
    const end = reports.find((r) => r.state === 'end')!;
    expect(end.reported?.sort()).toEqual(['air-01', 'truck-01']);
    expect(end.unknownFailures).toBeGreaterThan(19_000);
    expect(end.failures).toBe(20_000);
    expect(end.devices.map((d) => d.id).sort()).toEqual(['air-01', 'cam-01', 'truck-01', 'truck-02']);
    expect(end.devices.map((d) => d.failures)).toEqual([...end.devices.map((d) => d.failures)].sort((a, b) => b - a));
    expect(end.sources).toBe(200);
  });
});
