/**
 * The one error-code scheme: `E_<AREA>_<WHAT>` (the type below rejects anything else at compile
 * time). This is the table of every code a client of the console API can receive, by area, with
 * its usual HTTP status; the API's errors take their code from it (ops-console/api/lib/errors.ts)
 * and the web's i18n phrases each one (`err_<code>` keys, checked against this table by
 * ops-console/web/src/i18n.test.ts). Pure: no Node APIs (the browser bundles it).
 *
 * The other components' codes follow the same scheme in their own modules: the store's in
 * `store/errors.ts` (STORE), start-up checks in `lib/preflight.ts` (START), configuration
 * `E_CONFIG_*`, ingest `E_INGEST_*`, the broker `E_BROKER_*`, the registry `E_REGISTRY_*`,
 * the simulator `E_SIM_*`; Node-RED's (its start, dashboards/node-red.ts, and its flows'
 * warnings, dashboards/functions/*.js) in NODE_RED_ERROR_CODES below.
 */
export const ERROR_AREAS = {
  REQUEST: 'any route: a malformed request, an unknown route, too many requests',
  API: 'the server failed (the answer never says how: see the server log)',
  AUTH: 'login, tickets and roles',
  USER: 'console users (/api/users, password changes)',
  DEVICE: 'the device registry as the admin screens change it',
  REGISTRY: 'the registry file as a whole',
  ALERT: 'the alert workflow',
  GEOFENCE: 'geofences',
  HOTLIST: 'the plate hotlist',
  QUERY: 'history, planners, fleet reports and open data: ranges, fields, limits, time budget',
  EXPORT: 'export jobs',
  REPORT: 'citizen reports in the console',
  OPEN311: 'the public Open311 endpoint',
  STATE: 'the state level across municipalities (/api/state)',
} as const;
export type ErrorArea = keyof typeof ERROR_AREAS;
export type ErrorCode<A extends string = ErrorArea> = `E_${A}_${string}`;

export const API_ERROR_CODES = {
  E_REQUEST_VALIDATION: 400,
  E_REQUEST_INVALID: 400,
  E_REQUEST_NOT_FOUND: 404,
  E_REQUEST_RATE_LIMITED: 429,
  E_API_INTERNAL: 500,

  E_AUTH_REQUIRED: 401,
  E_AUTH_BAD_CREDENTIALS: 401,
  E_AUTH_BAD_TICKET: 401,
  E_AUTH_FORBIDDEN: 403,

  E_USER_UNKNOWN: 404,
  E_USER_DUPLICATE: 409,
  E_USER_SERVICE: 409,
  E_USER_NAME: 400,
  E_USER_ROLE: 400,
  E_USER_WEAK_PASSWORD: 400,
  E_USER_SAME_PASSWORD: 400,
  E_USER_SELF_DISABLE: 409,
  E_USER_READ_ONLY: 409,
  E_USER_FILE: 400,

  E_DEVICE_UNKNOWN: 404,
  E_DEVICE_DUPLICATE: 409,
  E_DEVICE_RETIRED: 409,
  E_DEVICE_KIND: 400,
  E_DEVICE_LIFECYCLE: 400,
  E_DEVICE_NO_SECRET: 400,
  E_REGISTRY_INVALID: 400,
  E_REGISTRY_RELOAD: 500,

  E_ALERT_UNKNOWN: 404,
  E_ALERT_STATE: 409,
  E_ALERT_NOTE_REQUIRED: 400,
  E_ALERT_ASSIGNEE_REQUIRED: 400,
  E_ALERT_NO_PLATE: 409,
  E_ALERT_BUSY: 409,

  E_GEOFENCE_UNKNOWN: 404,
  E_GEOFENCE_NAME: 400,
  E_GEOFENCE_NOT_CLOSED: 400,
  E_GEOFENCE_VERTICES: 400,
  E_GEOFENCE_OUTSIDE_CITY: 400,
  E_GEOFENCE_RADIUS: 400,
  E_GEOFENCE_SELF_INTERSECTS: 400,

  E_HOTLIST_CSV: 400,
  E_HOTLIST_UNKNOWN_PLATE: 404,

  E_QUERY_RANGE: 400,
  E_QUERY_RANGE_TOO_LONG: 400,
  E_QUERY_DATE: 400,
  E_QUERY_FIELD: 400,
  E_QUERY_TOO_MANY_BUCKETS: 400,
  E_QUERY_UNKNOWN_ROUTE: 400,
  E_QUERY_NO_CITY: 409,
  E_QUERY_TOO_MANY: 429,
  E_QUERY_CLIENT_GONE: 499,
  E_QUERY_BUDGET: 503,

  E_EXPORT_UNKNOWN: 404,
  E_EXPORT_GONE: 404,
  E_EXPORT_FORMAT: 400,
  E_EXPORT_NOT_READY: 409,
  E_EXPORT_FINISHED: 409,
  E_EXPORT_QUEUE_FULL: 429,

  E_REPORT_UNKNOWN: 404,
  E_REPORT_STATE: 409,
  E_REPORT_EVIDENCE: 400,
  E_REPORT_NO_EVIDENCE: 409,
  E_REPORT_NO_CONTACT: 404,

  E_OPEN311_REQUEST: 404,
  E_OPEN311_SERVICE_CODE: 400,
  E_OPEN311_FORMAT: 404,
  E_OPEN311_TOKEN: 404,
  E_OPEN311_MEDIA: 404,
  E_OPEN311_MEDIA_TYPE: 415,
  E_OPEN311_LOCATION: 400,
  E_OPEN311_ADDRESS: 400,
  E_OPEN311_ATTRIBUTE: 400,
  E_OPEN311_DATE: 400,
  E_OPEN311_DESCRIPTION: 400,
  E_OPEN311_EMAIL: 400,
  E_OPEN311_PHONE: 400,
  // several municipalities (routes/state.ts)
  E_STATE_NO_TOKEN: 404,
  E_STATE_TOKEN: 401,
  E_STATE_PEER: 502,
} as const satisfies Record<ErrorCode, number>;
export type ApiErrorCode = keyof typeof API_ERROR_CODES;

/** Codes the web console makes up itself (no answer from the API). */
export const WEB_ERROR_CODES = ['E_WEB_NETWORK', 'E_WEB_UNKNOWN'] as const;
export type WebErrorCode = (typeof WEB_ERROR_CODES)[number];

export const isApiErrorCode = (code: string): code is ApiErrorCode => Object.hasOwn(API_ERROR_CODES, code);

/** Node-RED: its start (dashboards/node-red.ts) and the warnings of its flows (dashboards/functions/*.js, in Node-RED's log). */
export const NODE_RED_ERROR_CODES = {
  E_NODE_RED_SECRET: 'no credentialSecret (NODE_RED_CREDENTIAL_SECRET)',
  E_NODE_RED_ADMIN: 'the editor is on without an admin password',
  E_NODE_RED_START: 'Node-RED exited or did not answer during its start',
  E_NODE_RED_MQTT_URL: 'CITY_MQTT_URL is not a URL',
  E_NODE_RED_NO_API: 'CITY_API_URL not set: the daily report, open data and escalation reconcile are off',
  E_NODE_RED_NO_API_LOGIN: 'neither CITY_API_TOKEN nor CITY_API_USERNAME set',
  E_NODE_RED_NO_API_TOKEN: 'no console API token yet (the login has not answered): escalation reconcile skipped',
  E_NODE_RED_API_LOGIN: 'the console API refused or failed the login',
  E_NODE_RED_ESCALATION_RECONCILE: 'console API not available to reconcile escalations; the ones known are armed',
  E_NODE_RED_BAD_ALERT_EVENT: 'a message on the alert topic that is not an AlertEvent (ignored)',
  E_NODE_RED_WEBHOOK: 'the escalation webhook answered with an error',
  E_NODE_RED_OPEN_DATA: 'an open-data export request failed',
} as const satisfies Record<ErrorCode<'NODE_RED'>, string>;
export type NodeRedErrorCode = keyof typeof NODE_RED_ERROR_CODES;
