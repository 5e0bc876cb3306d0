/** truck_speeding — above the speed limit for `speedingSustainS`; critical `criticalOverKmh` over it. */
import type { GpsFix } from '../../../contract';
import type { RegistryDevice } from '../../../registry/schema';
import { TRUCK_RULES, type Thresholds, type TruckContext, type TruckState } from './context';

const RULE = TRUCK_RULES.speeding;

export function truckSpeeding(tc: TruckContext, dev: RegistryDevice, th: Thresholds, s: TruckState, fix: GpsFix, stale: boolean): void {
  const T = tc.T;
  const over = fix.speedKmh > th.speedLimitKmh;
  const overFor = s.speeding.update(over, fix.ts);
  const okFor = s.speedOk.update(fix.speedKmh <= th.speedLimitKmh - T.speedingClearMarginKmh, fix.ts);
  if (overFor >= T.speedingSustainS * 1000) {
    s.maxSpeed = tc.isOpen(RULE, dev.id) ? Math.max(s.maxSpeed, fix.speedKmh) : fix.speedKmh;
    if (tc.mayRaise(RULE, dev.id, stale)) {
      const critical = s.maxSpeed >= th.speedLimitKmh + T.criticalOverKmh;
      tc.ctx.book.raise(
        {
          rule: RULE,
          device: dev,
          severity: critical ? 'critical' : 'warning',
          code: 'truck_speeding',
          params: { maxSpeedKmh: Math.round(s.maxSpeed), limitKmh: th.speedLimitKmh },
          title: `${dev.id} speeding: ${Math.round(s.maxSpeed)} km/h (limit ${th.speedLimitKmh})`,
          detail: { speedKmh: fix.speedKmh, maxSpeedKmh: s.maxSpeed, limitKmh: th.speedLimitKmh, lat: fix.lat, lon: fix.lon },
        },
        fix.ts,
      );
    }
  } else if (okFor >= T.speedingClearS * 1000) {
    tc.ctx.book.clear(RULE, dev.id, fix.ts, undefined, { speedKmh: fix.speedKmh });
  }
}
