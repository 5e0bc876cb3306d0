/** truck_off_route — farther than `offRouteMeters` from its planned route for `offRouteSustainS`, engine on. */
import type { GpsFix } from '../../../contract';
import type { Position } from '../../../city/city';
import type { RegistryDevice } from '../../../registry/schema';
import { distanceToRouteM, type RouteGeom } from '../route-geometry';
import { TRUCK_RULES, type Thresholds, type TruckContext, type TruckState } from './context';

const RULE = TRUCK_RULES.offRoute;

export function truckOffRoute(tc: TruckContext, dev: RegistryDevice, th: Thresholds, s: TruckState, g: RouteGeom, fix: GpsFix, pos: Position, on: boolean, atDepot: boolean, stale: boolean): void {
  const T = tc.T;
  const d = distanceToRouteM(g, pos);
  if (atDepot || d <= th.offRouteMeters * T.offRouteClearShare) {
    s.offRoute.reset();
    tc.ctx.book.clear(RULE, dev.id, fix.ts, undefined, { distanceM: Math.round(d), atDepot });
  } else if (d > th.offRouteMeters && on) {
    const offFor = s.offRoute.update(true, fix.ts);
    if (offFor >= T.offRouteSustainS * 1000 && tc.mayRaise(RULE, dev.id, stale)) {
      tc.ctx.book.raise(
        {
          rule: RULE,
          device: dev,
          severity: 'warning',
          code: 'truck_off_route',
          params: { routeId: g.route.id, distanceM: Math.round(d) },
          title: `${dev.id} ${Math.round(d)} m off route ${g.route.id}`,
          detail: { routeId: g.route.id, distanceM: Math.round(d), limitM: th.offRouteMeters, lat: fix.lat, lon: fix.lon },
        },
        fix.ts,
      );
    }
  }
}
