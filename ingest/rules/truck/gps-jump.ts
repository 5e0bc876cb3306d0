/** gps_jump — the implied speed between consecutive fixes is impossible; cleared after `gpsJumpClearFixes` plausible fixes. */
import type { GpsFix } from '../../../contract';
import type { Position } from '../../../city/city';
import { distanceM } from '../../../contract/geo';
import type { RegistryDevice } from '../../../registry/schema';
import { fmt1 } from '../context';
import { TRUCK_RULES, type TruckContext, type TruckState } from './context';

const RULE = TRUCK_RULES.gpsJump;

/** True when this fix jumped (the other checks skip it). */
export function gpsJump(tc: TruckContext, dev: RegistryDevice, s: TruckState, prev: { ts: number; pos: Position }, fix: GpsFix, pos: Position, stale: boolean): boolean {
  const T = tc.T;
  const d = distanceM(prev.pos, pos);
  const hours = (fix.ts - prev.ts) / 3_600_000;
  const implied = d / 1000 / hours;
  if (d >= T.gpsJumpMinM && implied > T.gpsJumpKmh) {
    s.plausible = 0;
    if (tc.mayRaise(RULE, dev.id, stale)) {
      tc.ctx.book.raise(
        {
          rule: RULE,
          device: dev,
          severity: 'warning',
          code: 'gps_jump',
          params: { distanceM: Math.round(d), seconds: Math.round((fix.ts - prev.ts) / 100) / 10, impliedKmh: Math.round(implied) },
          title: `${dev.id} GPS jumped ${Math.round(d)} m in ${fmt1((fix.ts - prev.ts) / 1000)} s (${Math.round(implied)} km/h)`,
          detail: { from: prev.pos, to: pos, distanceM: Math.round(d), seconds: (fix.ts - prev.ts) / 1000, impliedKmh: Math.round(implied) },
        },
        fix.ts,
      );
    }
    return true;
  }
  s.plausible++;
  if (s.plausible >= T.gpsJumpClearFixes) tc.ctx.book.clear(RULE, dev.id, fix.ts, undefined, { plausibleFixes: s.plausible });
  return false;
}
