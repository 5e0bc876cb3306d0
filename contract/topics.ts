/**
 * Topic scheme of the device contract, version 1.
 *
 *   city/v1/<kind>/<deviceId>/<stream>        device → platform
 *   city/v1/svc/...                           platform services (ingest, console, Node-RED)
 *
 * Devices may publish only under `city/v1/<their kind>/<their id>/`; the broker enforces it
 * with `deviceTopicPrefix()`. Services subscribe with the wildcards below.
 */
export const TOPIC_ROOT = 'city';
export const CONTRACT_VERSION = 'v1';

export const DEVICE_KINDS = ['truck', 'air', 'noise', 'camera'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** Streams each kind of device publishes. `status` and `presence` exist for every kind. */
export const STREAMS_BY_KIND = {
  truck: ['gps', 'event', 'status', 'presence'],
  air: ['air', 'status', 'presence'],
  noise: ['noise', 'status', 'presence'],
  camera: ['plate', 'status', 'presence'],
} as const satisfies Record<DeviceKind, readonly string[]>;

export const STREAMS = ['gps', 'event', 'air', 'noise', 'plate', 'status', 'presence'] as const;
export type Stream = (typeof STREAMS)[number];
/** Streams that are telemetry (stored as time series); presence is state only. */
export const TELEMETRY_STREAMS = ['gps', 'event', 'air', 'noise', 'plate', 'status'] as const;
export type TelemetryStream = (typeof TELEMETRY_STREAMS)[number];

/** Device ids: lowercase letters, digits and dashes, 3–40 characters (safe in topics, file names, tags). */
export const DEVICE_ID_PATTERN = '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$';
const deviceIdRe = new RegExp(DEVICE_ID_PATTERN);
export const isDeviceId = (s: string): boolean => deviceIdRe.test(s);

export function deviceTopic(kind: DeviceKind, deviceId: string, stream: Stream): string {
  return `${TOPIC_ROOT}/${CONTRACT_VERSION}/${kind}/${deviceId}/${stream}`;
}

/** Everything a device may publish to ends up under this prefix (trailing slash included). */
export function deviceTopicPrefix(kind: DeviceKind, deviceId: string): string {
  return `${TOPIC_ROOT}/${CONTRACT_VERSION}/${kind}/${deviceId}/`;
}

export type ParsedDeviceTopic = { ok: true; kind: DeviceKind; deviceId: string; stream: Stream } | { ok: false; reason: 'unknown_topic'; detail: string };

/** Parse and check a device topic: right root and version, known kind, valid id, stream allowed for the kind. */
export function parseDeviceTopic(topic: string): ParsedDeviceTopic {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== TOPIC_ROOT || parts[1] !== CONTRACT_VERSION) {
    return { ok: false, reason: 'unknown_topic', detail: `topic "${topic}" is not city/v1/<kind>/<deviceId>/<stream>` };
  }
  const [, , kind, deviceId, stream] = parts as [string, string, string, string, string];
  if (!(DEVICE_KINDS as readonly string[]).includes(kind)) {
    return { ok: false, reason: 'unknown_topic', detail: `unknown device kind "${kind}"` };
  }
  if (!isDeviceId(deviceId)) {
    return { ok: false, reason: 'unknown_topic', detail: `invalid device id "${deviceId}"` };
  }
  const allowed = STREAMS_BY_KIND[kind as DeviceKind] as readonly string[];
  if (!allowed.includes(stream)) {
    return { ok: false, reason: 'unknown_topic', detail: `stream "${stream}" is not published by ${kind} devices` };
  }
  return { ok: true, kind: kind as DeviceKind, deviceId, stream: stream as Stream };
}

/** Subscriptions for platform services. */
export const SUB_ALL_DEVICE_DATA = `${TOPIC_ROOT}/${CONTRACT_VERSION}/+/+/+`;
/** Device data per kind (`city/v1/<kind>/+/+`): what ingest subscribes to — unlike SUB_ALL_DEVICE_DATA, no svc/ topics. */
export const SUB_DEVICE_DATA_BY_KIND: readonly string[] = DEVICE_KINDS.map((k) => `${TOPIC_ROOT}/${CONTRACT_VERSION}/${k}/+/+`);

/** Service topics (published by ingest / console; devices may never publish or subscribe here). */
export const SVC_PREFIX = `${TOPIC_ROOT}/${CONTRACT_VERSION}/svc/`;
export const svcTopics = {
  /** Latest validated state of a device, coalesced (≤ 1/s per device), retained. Payload: LiveState. */
  state: (kind: DeviceKind, deviceId: string) => `${SVC_PREFIX}state/${kind}/${deviceId}`,
  stateAll: `${SVC_PREFIX}state/+/+`,
  /** Every accepted plate read (not retained). Payload: LiveState with stream 'plate'. */
  plate: (deviceId: string) => `${SVC_PREFIX}plate/${deviceId}`,
  plateAll: `${SVC_PREFIX}plate/+`,
  /** Alert lifecycle events (open, update, auto-resolve; and console transitions). Payload: AlertEvent. */
  alert: (alertId: string) => `${SVC_PREFIX}alerts/${alertId}`,
  alertAll: `${SVC_PREFIX}alerts/+`,
  /** The active plate hotlist, retained, published by the console API. Payload: Hotlist. */
  hotlist: `${SVC_PREFIX}hotlist`,
  /** The broker refused a registry device's connection (or revoked it). Payload: AuthRefusal. Ingest's rules raise credentials_refused. */
  auth: (deviceId: string) => `${SVC_PREFIX}auth/${deviceId}`,
  authPrefix: `${SVC_PREFIX}auth/`,
  authAll: `${SVC_PREFIX}auth/+`,
  /** The active geofences, retained, published by the console API. Payload: GeofenceSet (geofences.ts). */
  geofences: `${SVC_PREFIX}geofences`,
  /** A truck entered / left / dwelt in a geofence, published by ingest's rules (QoS 1). Payload: GeofenceEvent. */
  geofenceEvent: (deviceId: string) => `${SVC_PREFIX}geofence/${deviceId}`,
  geofenceEventAll: `${SVC_PREFIX}geofence/+`,
  /** Registry changed (retained counter) so components can reload. */
  registry: `${SVC_PREFIX}registry`,
} as const;
