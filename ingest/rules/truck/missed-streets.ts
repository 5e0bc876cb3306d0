/** missed_streets — planned streets the truck has driven past without collecting, while the shift runs. */
import type { RegistryDevice } from '../../../registry/schema';
import type { RouteGeom } from '../route-geometry';
import { TRUCK_RULES, type ShiftState, type TruckContext } from './context';

const RULE = TRUCK_RULES.missed;

/** collection streets behind the truck (by `missedLookahead`), observed, not visited */
export function missedOf(tc: TruckContext, g: RouteGeom, sh: ShiftState): number[] {
  const out: number[] = [];
  for (let i = Math.max(0, sh.fromIdx); i < sh.maxIdx - tc.T.missedLookahead; i++) if (!sh.visited.has(i) && !sh.unobserved.has(i)) out.push(i);
  return out;
}

export function missedStreets(tc: TruckContext, dev: RegistryDevice, sh: ShiftState, g: RouteGeom, at: number, stale: boolean): void {
  const missed = missedOf(tc, g, sh);
  if (missed.length) {
    if (tc.mayRaise(RULE, dev.id, stale)) {
      tc.ctx.book.raise(
        {
          rule: RULE,
          device: dev,
          severity: 'warning',
          level: missed.length,
          code: 'missed_streets',
          params: { routeId: g.route.id, count: missed.length },
          title: `${dev.id} passed ${missed.length} planned street${missed.length > 1 ? 's' : ''} of ${g.route.id} without collecting`,
          detail: {
            routeId: g.route.id,
            count: missed.length,
            segments: missed.map((i) => ({ segmentId: g.collect[i]!.segmentId, name: g.collect[i]!.name })),
            shiftStart: sh.start,
            shiftEnd: sh.end,
          },
        },
        at,
      );
    }
  } else {
    tc.ctx.book.clear(RULE, dev.id, at, undefined, { routeId: g.route.id, reason: 'collected after all' });
  }
}

export function missedStreetsOnShiftEnd(tc: TruckContext, dev: RegistryDevice, at: number, detail: Record<string, unknown>): void {
  tc.ctx.book.clear(RULE, dev.id, at, undefined, detail);
}
