import { describe, expect, it } from 'vitest';
import { AuthGuard } from './auth-guard';

const verify = (ms: number, ok = false) => () => new Promise<boolean>((r) => setTimeout(() => r(ok), ms));

describe('AuthGuard verification queue', () => {
  it('a flooding source backs off, its queued work is dropped, and another source is served first; nothing hangs', async () => {
    const g = new AuthGuard();
    const order: string[] = [];
    const attacker: Promise<unknown>[] = [];
    let failed = 0;
    let dropped = 0;
    for (let i = 0; i < 50; i++) {
      attacker.push(g.schedule('10.0.0.9', verify(20))!.then(() => (g.failed('10.0.0.9', 'truck-01', 'truck-01'), failed++, order.push('a')), () => dropped++));
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

  it('reports a flood once when it starts and once when it ends', () => {
    let t = 0;
    const g = new AuthGuard({ floodThreshold: 10, floodWindowMs: 1000, now: () => t });
    const reports: string[] = [];
    g.onFlood = (r) => reports.push(`${r.state}:${r.topUsers[0]}`);
    for (let i = 0; i < 30; i++) g.refused(`10.0.0.${i % 3}`, 'air-01');
    expect(reports).toEqual(['start:air-01']);
    t = 5000;
    g.tick();
    expect(reports).toEqual(['start:air-01', 'end:air-01']);
    expect(g.flooding).toBe(false);
  });
});
