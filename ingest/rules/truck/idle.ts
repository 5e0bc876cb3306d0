/** truck_idle — engine on, standing still beyond `idleMinutes`, away from the depot. */
import type { GpsFix } from '../../../contract';
import type { RegistryDevice } from '../../../registry/schema';
import { TRUCK_RULES, type Thresholds, type TruckContext, type TruckState } from './context';

const RULE = TRUCK_RULES.idle;

export function truckIdle(tc: TruckContext, dev: RegistryDevice, th: Thresholds, s: TruckState, fix: GpsFix, on: boolean, atDepot: boolean, stale: boolean): void {
  const T = tc.T;
  // hysteresis: standing ≤ idleSpeedKmh starts it, moving > moveSpeedKmh ends it
  const standing = s.idle.since !== null ? fix.speedKmh < T.moveSpeedKmh : fix.speedKmh <= T.idleSpeedKmh;
  const idleFor = s.idle.update(on && standing && !atDepot, fix.ts);
  if (idleFor >= th.idleMinutes * 60_000) {
    if (tc.mayRaise(RULE, dev.id, stale)) {
      tc.ctx.book.raise(
        {
          rule: RULE,
          device: dev,
          severity: 'warning',
          code: 'truck_idle',
          params: { minutes: Math.round(idleFor / 60_000) },
          title: `${dev.id} idling with the engine on for ${Math.round(idleFor / 60_000)} min away from the depot`,
          detail: { since: s.idle.since, minutes: Math.round(idleFor / 60_000), idleMinutes: th.idleMinutes, lat: fix.lat, lon: fix.lon },
        },
        fix.ts,
      );
    }
  } else if (idleFor < 0) tc.ctx.book.clear(RULE, dev.id, fix.ts, undefined, { speedKmh: fix.speedKmh, atDepot });
}

/** Ignition off ends idling. */
export function truckIdleOnIgnitionOff(tc: TruckContext, dev: RegistryDevice, s: TruckState, at: number): void {
  s.idle.reset();
  tc.ctx.book.clear(RULE, dev.id, at, undefined, { reason: 'ignition off' });
}
