/**
 * What counts as a usable GPS fix and a standing truck: one definition for ingest's truck rules
 * (the defaults of `RuleConfig.truck`, ingest/rules/config.ts) and the console API's collection
 * evidence (ops-console/api/lib/evidence.ts), so a fix the rules ignore is no evidence either.
 * Browser-safe.
 */

/** a fix with fewer satellites or a larger HDOP is ignored (absent values are accepted) */
export const GPS_FIX = { minSats: 4, maxHdop: 10 } as const;

/** at or below this speed (km/h) a truck is standing */
export const STANDING_SPEED_KMH = 3;
