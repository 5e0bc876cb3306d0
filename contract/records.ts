/**
 * What the platform derives from device messages: stored telemetry records, dead letters,
 * live state and alert events. Shared by ingest, the stores, the console API and Node-RED flows.
 */
import { Type, type Static } from 'typebox';
import { DEVICE_KINDS, TELEMETRY_STREAMS, type DeviceKind, type TelemetryStream } from './topics';
import type { StreamPayload } from './payloads';

/** One accepted, validated, enriched reading, as every store writes it. */
export interface TelemetryRecord<S extends TelemetryStream = TelemetryStream> {
  deviceId: string;
  kind: DeviceKind;
  stream: S;
  /** event time, ms since epoch (from payload.ts) */
  ts: number;
  /** arrival time at ingest, ms since epoch */
  receivedAt: number;
  /** arrived more than `lateAfterMs` after its event time (buffered while offline, or clock skew) */
  late: boolean;
  /** enrichment from the registry */
  district: string;
  payload: StreamPayload[S];
}
export type AnyTelemetryRecord = { [S in TelemetryStream]: TelemetryRecord<S> }[TelemetryStream];

/** Why a message was refused. Every code is counted; all but `duplicate` are dead-lettered. */
export const REJECT_REASONS = [
  'invalid_json', // payload is not JSON (or not a JSON object)
  'oversized', // payload larger than the contract allows
  'unknown_topic', // topic not in the scheme
  'unknown_device', // device not in the registry (or retired)
  'kind_mismatch', // topic kind differs from the registry's kind for that device
  'schema', // fails the stream's payload schema (missing/unknown field, wrong type, out of range, NaN)
  'future_timestamp', // event time ahead of the server clock beyond the allowed skew
  'too_old', // event time older than the accepted maximum age
  'store_rejected', // the store refused the point (e.g. InfluxDB 400 on line protocol), with its message
  'duplicate', // same device + stream + event time already accepted (counted, not dead-lettered)
  'commissioning', // not refused: an installer's test reading, validated and kept apart from telemetry (see commissioning.ts)
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const DeadLetter = Type.Object(
  {
    id: Type.String(),
    receivedAt: Type.Integer({ description: 'ms since epoch' }),
    topic: Type.String(),
    deviceId: Type.Union([Type.String(), Type.Null()], { description: 'from the topic when it parses' }),
    reason: Type.Enum(REJECT_REASONS),
    detail: Type.String({ description: 'human-readable reason, e.g. the failing field' }),
    payload: Type.String({ description: 'raw payload (UTF-8, or base64: prefix when binary), truncated to 64 KiB' }),
  },
  { $id: 'DeadLetter' },
);
export type DeadLetter = Static<typeof DeadLetter>;

/** The broker's report of a refused connection of a registry device, on svc/auth/<deviceId> (QoS 1). */
export const AuthRefusal = Type.Object(
  {
    deviceId: Type.String(),
    /** broker/auth.ts AuthFailureReason (bad_password, retired, client_id_mismatch, bad_will, …) or `revoked` */
    reason: Type.String(),
    at: Type.Integer({ description: 'ms since epoch' }),
  },
  { $id: 'AuthRefusal' },
);
export type AuthRefusal = Static<typeof AuthRefusal>;

/** Live state pushed on svc/state/... (coalesced per device) and svc/plate/... (every read). */
export const LiveState = Type.Object(
  {
    deviceId: Type.String(),
    kind: Type.Enum(DEVICE_KINDS),
    district: Type.String(),
    /** per stream, the latest record by event time */
    latest: Type.Record(Type.String(), Type.Object({ ts: Type.Integer(), late: Type.Boolean(), data: Type.Unknown() })),
    online: Type.Optional(Type.Boolean()),
    lastSeen: Type.Integer({ description: 'latest arrival time, ms' }),
    /**
     * Why the device is not reporting normally, when ingest knows (absent = nothing known):
     * `credentials_refused` (the broker refuses its credentials: wrong, rotated, revoked, retired),
     * `clock_skew` (its readings are dead-lettered as future_timestamp), `payload_rejected`
     * (its payloads are being dead-lettered). `code` is an ALERT_CODES key of the matching alert.
     */
    issue: Type.Optional(
      Type.Union(
        [
          Type.Object({
            code: Type.String(),
            reason: Type.String({ description: 'broker refusal reason or dead-letter reason' }),
            since: Type.Integer({ description: 'ms since epoch' }),
            lastAt: Type.Integer({ description: 'latest occurrence, ms since epoch' }),
          }),
          Type.Null(),
        ],
        { description: 'null = the issue cleared' },
      ),
    ),
  },
  { $id: 'LiveState' },
);
export type LiveState = Static<typeof LiveState>;

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const ALERT_STATES = ['open', 'acknowledged', 'resolved', 'auto_resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
export const ALERT_EVENTS = ['open', 'update', 'auto_resolve', 'acknowledge', 'assign', 'comment', 'resolve', 'escalate'] as const;
export type AlertEventType = (typeof ALERT_EVENTS)[number];

/**
 * An alert lifecycle event on svc/alerts/<id>. Ingest's rules emit `open`, `update` and
 * `auto_resolve`; the console API emits `acknowledge`, `assign`, `resolve` with who and a note.
 */
export const AlertEvent = Type.Object(
  {
    alertId: Type.String(),
    event: Type.Enum(ALERT_EVENTS),
    at: Type.Integer({ description: 'ms since epoch' }),
    rule: Type.String({ description: 'rule id, e.g. air_quality, noise, truck_idle, hotlist, offline' }),
    severity: Type.Enum(ALERT_SEVERITIES),
    deviceId: Type.String(),
    kind: Type.Enum(DEVICE_KINDS),
    district: Type.String(),
    title: Type.String({ description: 'English fallback for logs and webhooks; consoles phrase `code` + `params`' }),
    /** catalogue code (contract/alert-codes.ts); absent only on events of older versions */
    code: Type.Optional(Type.String()),
    params: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]))),
    detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    by: Type.Optional(Type.String({ description: 'user or service that made the transition' })),
    note: Type.Optional(Type.String()),
    assignee: Type.Optional(Type.String()),
  },
  { $id: 'AlertEvent' },
);
export type AlertEvent = Static<typeof AlertEvent>;

export const HotlistEntry = Type.Object(
  {
    plate: Type.String({ pattern: '^[A-Z0-9-]{3,10}$' }),
    reason: Type.String({ minLength: 1, maxLength: 200 }),
    direction: Type.Optional(Type.Union([Type.Literal('entering'), Type.Literal('leaving')])),
    /** active hours, local time, e.g. { from: 22, to: 6 } wraps midnight */
    activeHours: Type.Optional(Type.Object({ from: Type.Integer({ minimum: 0, maximum: 23 }), to: Type.Integer({ minimum: 0, maximum: 24 }) })),
    expiresAt: Type.Optional(Type.Integer({ description: 'ms since epoch' })),
  },
  { $id: 'HotlistEntry', additionalProperties: false },
);
export type HotlistEntry = Static<typeof HotlistEntry>;
export const Hotlist = Type.Object({ version: Type.Integer(), entries: Type.Array(HotlistEntry) }, { $id: 'Hotlist' });
export type Hotlist = Static<typeof Hotlist>;

export const isTelemetryStream = (s: string): s is TelemetryStream => (TELEMETRY_STREAMS as readonly string[]).includes(s);
