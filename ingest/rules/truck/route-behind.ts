/** route_behind — the share of the route's collection streets covered lags the elapsed shift. */
import type { RegistryDevice } from '../../../registry/schema';
import type { RouteGeom } from '../route-geometry';
import { TRUCK_RULES, type ShiftState, type TruckContext } from './context';

const RULE = TRUCK_RULES.behind;

/** `judged`: the collection streets observed live this shift (> 0). */
export function routeBehind(tc: TruckContext, dev: RegistryDevice, sh: ShiftState, g: RouteGeom, judged: number, at: number, stale: boolean): void {
  const T = tc.T;
  const since = Math.max(sh.start, sh.seenAt);
  const elapsed = (at - since) / (sh.end - since);
  const expected = Math.min(1, elapsed / T.planCompleteShare);
  let covered = 0;
  for (const i of sh.visited) if (i >= sh.fromIdx && !sh.unobserved.has(i)) covered++;
  const coverage = covered / judged;
  const detail = {
    routeId: g.route.id,
    coverage: Math.round(coverage * 1000) / 1000,
    expected: Math.round(expected * 1000) / 1000,
    elapsed: Math.round(elapsed * 1000) / 1000,
    covered,
    planned: judged,
    shiftStart: sh.start,
    shiftEnd: sh.end,
    judgedFrom: since,
  };
  if (elapsed >= T.behindMinElapsed && coverage < expected - T.behindTolerance) {
    if (tc.mayRaise(RULE, dev.id, stale)) {
      const critical = coverage < expected - 2 * T.behindTolerance;
      tc.ctx.book.raise(
        {
          rule: RULE,
          device: dev,
          severity: critical ? 'critical' : 'warning',
          code: 'route_behind',
          params: { routeId: g.route.id, coveragePct: Math.round(coverage * 100), expectedPct: Math.round(expected * 100) },
          title: `${dev.id} behind schedule on ${g.route.id}: ${Math.round(coverage * 100)} % of streets covered, ${Math.round(expected * 100)} % expected`,
          detail,
        },
        at,
      );
    }
  } else if (coverage >= expected - T.behindTolerance / 2) {
    tc.ctx.book.clear(RULE, dev.id, at, undefined, detail);
  }
}

export function routeBehindOnShiftEnd(tc: TruckContext, dev: RegistryDevice, at: number, detail: Record<string, unknown>): void {
  tc.ctx.book.clear(RULE, dev.id, at, undefined, detail);
}
