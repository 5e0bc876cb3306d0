/**
 * The alert catalogue: every alert a rule can raise has a `code` and typed `params`.
 * Rules (ingest) emit code + params; the console phrases them in Spanish and English with units
 * (ops-console/shared/alert-text.ts). `title` on an AlertEvent is an English fallback for logs,
 * webhooks and Node-RED only — never shown on a console screen.
 *
 * A new rule or variant adds its code here first; a test checks every code has ES and EN text.
 */
export type AlertParamValue = string | number | boolean | null;
export type AlertParams = Record<string, AlertParamValue>;

/** code → the params it carries (names and units; all optional ones marked `?`) */
export const ALERT_CODES = {
  /** Índice AIRE Y SALUD category at or above the alert band */
  air_quality: ['category', 'risk', 'pollutant', 'value', 'unit', 'table'],
  /** LAeq over the NOM-081 zone limit for the period (indicative) */
  noise: ['laeq', 'limitDb', 'period', 'zone', 'minutes'],
  /** no message within the interval expected in the device's current mode */
  'offline.silent': ['silentS', 'expectedS', 'mode'],
  /** the broker delivered the device's last will (unclean disconnect) */
  'offline.last_will': [],
  /** the device disconnected cleanly and has not come back */
  'offline.disconnected': [],
  /** device clock ahead/behind the server clock (skewS signed, seconds) */
  clock_skew: ['skewS'],
  /** readings dead-lettered because their timestamp is beyond MAX_CLOCK_SKEW_S */
  'clock_skew.rejected': ['skewS', 'count'],
  /** the broker refused the device's credentials (wrong password, revoked, retired) */
  credentials_refused: ['reason', 'count'],
  /** the broker is refusing connects in bulk (wrong passwords, unknown names); the device named is the one tried most */
  auth_flood: ['failures', 'sources', 'user'],
  /** the device's payloads are being dead-lettered (reason = dead-letter reason) */
  payload_rejected: ['reason', 'count'],
  stuck_sensor: ['minutes', 'stream'],
  battery_low: ['pct'],
  /** hotlisted plate read at a camera (plate redacted for roles without plate access) */
  hotlist: ['plate', 'region', 'direction', 'road', 'reason'],
  truck_idle: ['minutes'],
  truck_speeding: ['maxSpeedKmh', 'limitKmh'],
  truck_off_route: ['routeId', 'distanceM'],
  gps_lost: ['seconds'],
  gps_jump: ['distanceM', 'seconds', 'impliedKmh'],
  route_behind: ['routeId', 'coveragePct', 'expectedPct'],
  missed_streets: ['routeId', 'count'],
  /** a truck entered a restricted geofence (contract/geofences.ts) */
  geofence_restricted: ['geofenceId', 'name'],
  /** a truck stayed in a geofence beyond its dwell limit */
  geofence_dwell: ['geofenceId', 'name', 'kind', 'minutes', 'limitMin'],
} as const satisfies Record<string, readonly string[]>;

export type AlertCode = keyof typeof ALERT_CODES;
export const ALERT_CODE_LIST = Object.keys(ALERT_CODES) as AlertCode[];
export const isAlertCode = (c: unknown): c is AlertCode => typeof c === 'string' && Object.hasOwn(ALERT_CODES, c);
