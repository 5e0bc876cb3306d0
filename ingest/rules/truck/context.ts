/**
 * What the truck rules (one file per rule, ./*.ts) share: each truck's state, and a small
 * context over the rule engine's (the alert book, the truck's route, whether the engine is on).
 */
import type { Position } from '../../../city/city';
import type { RegistryDevice } from '../../../registry/schema';
import { thresholdsFor, type DeviceThresholds, type RuleConfig } from '../config';
import { Sustain, type RuleContext } from '../context';
import type { RouteGeom } from '../route-geometry';

export const TRUCK_RULES = {
  idle: 'truck_idle',
  speeding: 'truck_speeding',
  offRoute: 'truck_off_route',
  gpsLost: 'gps_lost',
  gpsJump: 'gps_jump',
  behind: 'route_behind',
  missed: 'missed_streets',
} as const;

export interface ShiftState {
  start: number;
  end: number;
  visited: Set<number>;
  maxIdx: number;
  /** collection streets before this index were not observed live this shift: not judged */
  fromIdx: number;
  /** first live fix seen in this shift (ms) */
  seenAt: number;
  /** collection streets passed while no live fix came (offline, restart): not judged */
  unobserved: Set<number>;
  /** event time of the last live fix of this shift */
  lastFixTs: number;
  afterGap: boolean;
}

export interface TruckState {
  ignition: boolean | null;
  lastFix: { ts: number; pos: Position; speed: number } | null;
  lastValidFixArrival: number | null;
  lastArrival: number | null;
  /** last live fix arrival (ms) */
  lastLiveFix: number | null;
  everMoved: boolean;
  noFix: Sustain;
  idle: Sustain;
  speeding: Sustain;
  speedOk: Sustain;
  maxSpeed: number;
  offRoute: Sustain;
  plausible: number;
  shift: ShiftState | null;
}

export const newTruckState = (): TruckState => ({
  ignition: null,
  lastFix: null,
  lastValidFixArrival: null,
  lastArrival: null,
  lastLiveFix: null,
  everMoved: false,
  noFix: new Sustain(),
  idle: new Sustain(),
  speeding: new Sustain(),
  speedOk: new Sustain(),
  maxSpeed: 0,
  offRoute: new Sustain(),
  plausible: 0,
  shift: null,
});

/** a truck's thresholds (its own, its district's, the defaults), looked up once per fix */
export type Thresholds = Required<DeviceThresholds>;

export interface TruckContext {
  ctx: RuleContext;
  /** the truck rules' settings (ctx.cfg.truck) */
  readonly T: RuleConfig['truck'];
  thresholds(dev: RegistryDevice): Thresholds;
  routeOf(dev: RegistryDevice): RouteGeom | undefined;
  isOpen(rule: string, id: string): boolean;
  /** a rule may raise: on live data, or (stale data) to update an alert already open */
  mayRaise(rule: string, id: string, stale: boolean): boolean;
  engineOn(s: TruckState): boolean;
}

export function truckContext(ctx: RuleContext, routes: Map<string, RouteGeom>): TruckContext {
  const isOpen = (rule: string, id: string) => ctx.book.isOpen(`${rule}|${id}`);
  return {
    ctx,
    get T() {
      return ctx.cfg.truck;
    },
    thresholds: (dev) => thresholdsFor(ctx.cfg, dev),
    routeOf: (dev) => (dev.truck ? routes.get(dev.truck.routeId) : undefined),
    isOpen,
    mayRaise: (rule, id, stale) => !stale || isOpen(rule, id),
    engineOn: (s) => s.ignition ?? (ctx.cfg.truck.assumeIgnitionWithFixes && s.everMoved),
  };
}
