/**
 * Coverage reads only what can be judged: a shift not yet started and a day without any track
 * are "not started" / "no data" (no street listed as missed), a shift in progress is measured
 * against what was due by now, a finished one against the whole plan. Real in-memory DuckDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApi, type TestApi } from './test-support';
import { routeCoverage } from './lib/planner';
import { localDays } from './lib/local-days';

const TZ = 'America/Mexico_City';
let t: TestApi;
beforeAll(async () => {
  t = await makeTestApi();
});
afterAll(async () => {
  await t?.close();
});

describe('coverage status per route-day', () => {
  it('not started, no data, in progress (against what is due), done', async () => {
    // route-01 of the test city: shift 06:00–14:00 local, collects s1 and s2 (lon −94.44 → −94.436)
    const [d0, d1, d2] = localDays(Date.UTC(2026, 5, 1, 12), Date.UTC(2026, 5, 3, 12), TZ);
    const shift = (d: typeof d0) => d!.dayStart + 6 * 3_600_000;
    // day 1: the truck drives most of s1 only; day 0: nothing at all
    const fixes = Array.from({ length: 20 }, (_, i) => {
      const ts = shift(d1) + 3_600_000 + i * 30_000;
      return {
        deviceId: 'truck-01',
        kind: 'truck' as const,
        stream: 'gps' as const,
        ts,
        receivedAt: ts,
        late: false,
        district: 'Centro',
        payload: { ts, lat: 18.14, lon: -94.44 + (i / 19) * 0.0012, speedKmh: 12, heading: 90 },
      };
    });
    await t.store.writeBatch(fixes);
    const ctx = { store: t.store, registry: t.registry, city: t.app.ctx.city, tz: TZ };
    const q = { from: d0!.dayStart, to: d2!.dayStart + 86_400_000, deviceIds: ['truck-01'] };

    // at 05:00 of day 2: day 0 no data, day 1 done (1 of 2), day 2 not started
    const early = await routeCoverage(ctx, q, shift(d2) - 3_600_000);
    expect(early.map((r) => [r.date, r.status])).toEqual([
      [d0!.date, 'no_data'],
      [d1!.date, 'done'],
      [d2!.date, 'not_started'],
    ]);
    expect(early[0]).toMatchObject({ served: 0, missed: [], fixes: 0 });
    expect(early[1]).toMatchObject({ planned: 2, due: 2, served: 1, share: 0.5, missed: [{ segmentId: 's2' }] });
    expect(early[2]).toMatchObject({ missed: [], due: 0 });

    // during day 1's shift, 1 h 10 min in (of 8 h): 1 of 2 segments due, 1 served → 100 % of what was due
    const during = await routeCoverage(ctx, { ...q, from: d1!.dayStart, to: d1!.dayStart + 86_400_000 }, shift(d1) + 70 * 60_000);
    expect(during[0]).toMatchObject({ status: 'in_progress', planned: 2, due: 1, served: 1, share: 1, missed: [] });

    // through the route as a planner calls it: the fields are in the response
    const tok = await t.token('plan');
    const r = await t.app.inject({ method: 'GET', url: `/api/history/coverage?deviceIds=truck-01&from=${q.from}&to=${q.to}`, headers: { authorization: `Bearer ${tok}` } });
    expect(r.statusCode).toBe(200);
    expect(r.json().rows.map((x: { status: string }) => x.status)).toEqual(['no_data', 'done', 'no_data']);
  });
});
