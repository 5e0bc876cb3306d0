/**
 * Rule configuration: city-wide defaults here, overridable per district (`districts`) and per
 * device (registry `thresholds`). Precedence: device → district → city default.
 */
import type { RegistryDevice } from '../../registry/schema';
import type { Nom172Version } from '../../norms/aire-salud-tables';
import { DEFAULT_MIN_HOUR_COVERAGE, NOWCAST } from '../../norms/aire-salud-tables';
import { GPS_FIX, STANDING_SPEED_KMH } from '../../contract/gps-fix';
import { CITY_TZ } from '../../norms/local-time';

/** The per-device thresholds of the registry (registry/schema.ts `Thresholds`). */
export type DeviceThresholds = NonNullable<RegistryDevice['thresholds']>;

export interface RuleConfig {
  /** a record whose event time is older than this (vs now) — or flagged late — never opens a "now" alert */
  staleAfterMs: number;
  /** city time zone when the registry has none */
  timezone: string;
  /** thresholds per district name (registry device.district) */
  districts: Record<string, Partial<DeviceThresholds>>;
  air: {
    version: Nom172Version;
    /** alert from this category rank (2 = Mala) */
    alertFromRank: number;
    /** hourly average valid when readings cover this share of the hour */
    minHourCoverage: number;
    /** an hour is closed this long after its end even without a reading of the next hour */
    closeGraceMs: number;
    /** consecutive hours at Aceptable or better before the alert resolves */
    clearHours: number;
    /** NowCast factors (UNCONFIRMED, see aire-salud-tables.ts) */
    nowcastFactors: Record<'pm10' | 'pm25', number>;
  };
  noise: {
    sustainMinutes: number;
    /** resolve once LAeq is at least this far below the limit … */
    hysteresisDb: number;
    /** … for this long */
    clearMinutes: number;
    /** a gap longer than this many reading windows restarts the sustain clock */
    maxGapWindows: number;
    /** severity critical at limit + this */
    criticalOverDb: number;
  };
  truck: {
    idleMinutes: number;
    /** at or below this speed the truck is standing */
    idleSpeedKmh: number;
    /** moving again above this speed ends an idle episode (hysteresis) */
    moveSpeedKmh: number;
    /** within this distance of its depot a truck may idle and be off route */
    depotRadiusM: number;
    speedLimitKmh: number;
    speedingSustainS: number;
    /** resolved once speed is this far under the limit … */
    speedingClearMarginKmh: number;
    /** … for this long */
    speedingClearS: number;
    criticalOverKmh: number;
    offRouteMeters: number;
    offRouteSustainS: number;
    /** back on route when within this share of offRouteMeters */
    offRouteClearShare: number;
    /** no valid fix for this long while ignition on and the device still talking */
    gpsLostS: number;
    /** a fix with fewer satellites or a larger HDOP is not a fix */
    minSats: number;
    maxHdop: number;
    /** implied speed between consecutive fixes above this is a jump … */
    gpsJumpKmh: number;
    /** … when they are also at least this far apart */
    gpsJumpMinM: number;
    /** consecutive plausible fixes that resolve a jump alert */
    gpsJumpClearFixes: number;
    /** a fix this close to a street's interior counts as having driven it */
    coverageMeters: number;
    /** the plan is fully covered at this share of the shift (1 = by shift end) */
    planCompleteShare: number;
    /** behind schedule when coverage < expected − tolerance */
    behindTolerance: number;
    /** not judged before this share of the shift has elapsed */
    behindMinElapsed: number;
    /** a street is missed once the truck has driven this many planned streets beyond it */
    missedLookahead: number;
    /** a gap without live fixes longer than this, or than 3 of the truck's fix intervals (truck offline, engine restarted), leaves the streets passed meanwhile unjudged */
    coverageGapS: number;
    /** with no ignition event seen, fixes arriving mean the engine is on */
    assumeIgnitionWithFixes: boolean;
  };
  hotlist: {
    /** resolve a hotlist alert this long after the plate's last read (0 = only when the entry is removed/expires) */
    resolveAfterMinutes: number;
  };
  device: {
    /** offline after this many reporting intervals without a message … */
    offlineFactor: number;
    /**
     * … plus this allowance for transport latency (a platform on a faster clock scales it); every
     * judgement on arrival times takes it too: GPS lost (no fix arriving), a clock behind (event
     * time vs arrival)
     */
    offlineSlackMs: number;
    /** devices not heard from since start get this long (at least) */
    startupGraceMs: number;
    maxClockSkewS: number;
    /** records whose offset is considered for the skew estimate */
    skewSamples: number;
    stuckMinutes: number;
    batteryLowPct: number;
    batteryCriticalPct: number;
    batteryHysteresisPct: number;
    /** dead letters (per device and reason) counted over this window … */
    rejectWindowMs: number;
    /** … raise clock_skew.rejected / payload_rejected from this many */
    rejectMinCount: number;
    /** resolved after this long without a rejected message */
    rejectClearMs: number;
    /** broker refusals within rejectWindowMs that raise credentials_refused */
    authRefusedMinCount: number;
    /** an alert taken over at restart that no rule confirms or clears resolves after this long (at least 3 × the device's status interval) */
    takeoverConfirmMs: number;
  };
}

export const DEFAULT_RULE_CONFIG: RuleConfig = {
  staleAfterMs: 10 * 60_000,
  timezone: CITY_TZ,
  districts: {},
  air: {
    version: '2023',
    alertFromRank: 2,
    minHourCoverage: DEFAULT_MIN_HOUR_COVERAGE,
    closeGraceMs: 10 * 60_000,
    clearHours: 1,
    nowcastFactors: { ...NOWCAST.factors },
  },
  noise: { sustainMinutes: 15, hysteresisDb: 3, clearMinutes: 5, maxGapWindows: 3, criticalOverDb: 15 },
  truck: {
    idleMinutes: 10,
    idleSpeedKmh: STANDING_SPEED_KMH,
    moveSpeedKmh: 8,
    depotRadiusM: 250,
    speedLimitKmh: 60,
    speedingSustainS: 15,
    speedingClearMarginKmh: 5,
    speedingClearS: 30,
    criticalOverKmh: 20,
    offRouteMeters: 200,
    offRouteSustainS: 60,
    offRouteClearShare: 0.6,
    gpsLostS: 120,
    minSats: GPS_FIX.minSats,
    maxHdop: GPS_FIX.maxHdop,
    gpsJumpKmh: 180,
    gpsJumpMinM: 300,
    gpsJumpClearFixes: 10,
    coverageMeters: 30,
    planCompleteShare: 1,
    behindTolerance: 0.2,
    behindMinElapsed: 0.25,
    missedLookahead: 3,
    coverageGapS: 60,
    assumeIgnitionWithFixes: true,
  },
  hotlist: { resolveAfterMinutes: 120 },
  device: {
    offlineFactor: 3,
    offlineSlackMs: 0,
    startupGraceMs: 60_000,
    maxClockSkewS: 30,
    skewSamples: 5,
    stuckMinutes: 60,
    batteryLowPct: 20,
    batteryCriticalPct: 10,
    batteryHysteresisPct: 5,
    rejectWindowMs: 10 * 60_000,
    rejectMinCount: 3,
    rejectClearMs: 5 * 60_000,
    authRefusedMinCount: 2,
    takeoverConfirmMs: 15 * 60_000,
  },
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends Record<string, unknown> ? DeepPartial<T[K]> : T[K] };
export type RuleConfigInput = DeepPartial<RuleConfig>;

function merge<T>(base: T, over: unknown): T {
  if (!over || typeof over !== 'object' || Array.isArray(over)) return over === undefined ? base : (over as T);
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] = b && typeof b === 'object' && !Array.isArray(b) && k !== 'districts' ? merge(b, v) : v;
  }
  return out as T;
}

export function resolveRuleConfig(over: RuleConfigInput | Partial<RuleConfig> = {}): RuleConfig {
  return merge(DEFAULT_RULE_CONFIG, over);
}

/** Effective thresholds of a device: registry device → district → city default. */
export function thresholdsFor(cfg: RuleConfig, dev: RegistryDevice): Required<DeviceThresholds> {
  const d = cfg.districts[dev.district] ?? {};
  const t = dev.thresholds ?? {};
  const pick = <K extends keyof DeviceThresholds>(k: K, def: number): number => (t[k] ?? d[k] ?? def) as number;
  return {
    speedLimitKmh: pick('speedLimitKmh', cfg.truck.speedLimitKmh),
    idleMinutes: pick('idleMinutes', cfg.truck.idleMinutes),
    offRouteMeters: pick('offRouteMeters', cfg.truck.offRouteMeters),
    noiseSustainMinutes: pick('noiseSustainMinutes', cfg.noise.sustainMinutes),
    batteryLowPct: pick('batteryLowPct', cfg.device.batteryLowPct),
    stuckMinutes: pick('stuckMinutes', cfg.device.stuckMinutes),
    maxClockSkewS: pick('maxClockSkewS', cfg.device.maxClockSkewS),
  };
}
