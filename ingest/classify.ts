/**
 * One device message → what ingest does with it: a telemetry record to store, a presence change,
 * or a rejection (dead letter) with its reason. Pure apart from the registry lookup: the contract
 * checks (`decodePayload`, on the topic parsed once) plus the registry checks (unknown / retired device, kind mismatch) and
 * enrichment (district).
 */
import { randomUUID } from 'node:crypto';
import {
  decodePayload,
  isTelemetryStream,
  parseDeviceTopic,
  rawForDeadLetter,
  type AnyTelemetryRecord,
  type DeadLetter,
  type DeviceKind,
  type Presence,
  type RejectReason,
  type TimePolicy,
} from '../contract';
import type { RegistryDevice } from '../registry/schema';

/** What ingest needs from the registry (RegistryView satisfies it). */
export interface DeviceLookup {
  device(id: string): RegistryDevice | undefined;
}

export type Classified =
  | { type: 'record'; record: AnyTelemetryRecord }
  | { type: 'presence'; deviceId: string; kind: DeviceKind; district: string; online: boolean; at: number; receivedAt: number; reason?: string }
  | { type: 'reject'; reason: Exclude<RejectReason, 'duplicate'>; letter: DeadLetter };

export function deadLetter(topic: string, raw: Buffer | Uint8Array | string, receivedAt: number, deviceId: string | null, reason: Exclude<RejectReason, 'duplicate'>, detail: string): DeadLetter {
  return { id: randomUUID(), receivedAt, topic, deviceId, reason, detail, payload: rawForDeadLetter(raw) };
}

/**
 * Classify one message. Registry checks come before payload checks: a message from a device the
 * registry does not know is `unknown_device` whatever its payload.
 */
export function classifyMessage(topic: string, raw: Buffer | Uint8Array | string, receivedAt: number, registry: DeviceLookup, policy: Omit<TimePolicy, 'now'>): Classified {
  const reject = (deviceId: string | null, reason: Exclude<RejectReason, 'duplicate'>, detail: string): Classified => ({
    type: 'reject',
    reason,
    letter: deadLetter(topic, raw, receivedAt, deviceId, reason, detail),
  });

  const t = parseDeviceTopic(topic);
  if (!t.ok) return reject(null, 'unknown_topic', t.detail);
  const dev = registry.device(t.deviceId);
  if (!dev) return reject(t.deviceId, 'unknown_device', `device "${t.deviceId}" is not in the registry`);
  if (dev.status === 'retired') return reject(t.deviceId, 'unknown_device', `device "${t.deviceId}" is retired`);
  if (dev.kind !== t.kind) {
    return reject(t.deviceId, 'kind_mismatch', `topic says kind "${t.kind}" but the registry has "${t.deviceId}" as "${dev.kind}"`);
  }

  const d = decodePayload(t, raw, { ...policy, now: receivedAt });
  if (!d.ok) return reject(d.deviceId, d.reason as Exclude<RejectReason, 'duplicate'>, d.detail);

  if (d.stream === 'presence') {
    const p = d.payload as Presence;
    return {
      type: 'presence',
      deviceId: d.deviceId,
      kind: d.kind,
      district: dev.district,
      online: p.state === 'online',
      at: p.ts ?? receivedAt,
      receivedAt,
      ...(p.reason !== undefined ? { reason: p.reason } : {}),
    };
  }
  if (!isTelemetryStream(d.stream)) {
    // parseDeviceTopic only lets contract streams through; this guards a future contract change.
    return reject(d.deviceId, 'unknown_topic', `stream "${d.stream as string}" is not telemetry`);
  }
  const ts = (d.payload as { ts: number }).ts;
  const record = {
    deviceId: d.deviceId,
    kind: d.kind,
    stream: d.stream,
    ts,
    receivedAt,
    late: d.late,
    district: dev.district,
    payload: d.payload,
  } as AnyTelemetryRecord;
  return { type: 'record', record };
}
