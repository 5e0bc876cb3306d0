/**
 * Two device-side topics outside the telemetry streams, under the device's own prefix:
 *
 *   city/v1/<kind>/<id>/commissioning   the installer's check publishes its test reading here,
 *                                       wrapped with the stream it stands for. Ingest validates the
 *                                       reading exactly like a real one but stores only the outcome,
 *                                       apart from telemetry (a dead letter with reason
 *                                       `commissioning`): never in plate search, charts, coverage
 *                                       or rules.
 *   city/v1/<kind>/<id>/notice          the broker tells a device why it closes its connection
 *                                       (MQTT 3.1.1 has no reason codes for that): a refused
 *                                       publish, or its session taken over by another connection.
 */
import { Type, type Static } from 'typebox';
import { deviceTopicPrefix, TELEMETRY_STREAMS, type DeviceKind } from './topics';

export const COMMISSIONING_STREAM = 'commissioning';
export const NOTICE_STREAM = 'notice';

export const commissioningTopic = (kind: DeviceKind, deviceId: string): string => `${deviceTopicPrefix(kind, deviceId)}${COMMISSIONING_STREAM}`;
export const noticeTopic = (kind: DeviceKind, deviceId: string): string => `${deviceTopicPrefix(kind, deviceId)}${NOTICE_STREAM}`;

/** city/v1/<kind>/<id>/commissioning */
export const isCommissioningTopic = (topic: string): boolean => {
  const p = topic.split('/');
  return p.length === 5 && p[4] === COMMISSIONING_STREAM;
};

export const CommissioningReading = Type.Object(
  {
    /** the check run this reading belongs to (the check finds its outcome by it) */
    checkId: Type.String({ pattern: '^[a-z0-9-]{4,40}$' }),
    /** the stream the reading stands for */
    stream: Type.Enum(TELEMETRY_STREAMS),
    /** the reading, exactly as the device would publish it on that stream */
    reading: Type.Unknown(),
  },
  { additionalProperties: false, $id: 'CommissioningReading' },
);
export type CommissioningReading = Static<typeof CommissioningReading>;

/** The outcome ingest stores for a commissioning reading (the dead letter's detail). */
export const commissioningDetail = (checkId: string, stream: string, outcome: { ok: true } | { ok: false; reason: string; detail: string }): string =>
  outcome.ok ? `check ${checkId}: accepted ${stream} reading (commissioning data, kept apart from telemetry)` : `check ${checkId}: rejected ${stream} reading: ${outcome.reason}: ${outcome.detail}`;

export const NOTICE_REASONS = ['publish_refused', 'session_taken_over'] as const;
export const BrokerNotice = Type.Object(
  {
    reason: Type.Enum(NOTICE_REASONS),
    detail: Type.String(),
    /** the refused topic (publish_refused) */
    topic: Type.Optional(Type.String()),
    at: Type.Integer({ description: 'ms since epoch' }),
  },
  { additionalProperties: false, $id: 'BrokerNotice' },
);
export type BrokerNotice = Static<typeof BrokerNotice>;
