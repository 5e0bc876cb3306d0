/**
 * Runtime validation of device messages against the contract. Pure: no I/O, no registry.
 * Ingest adds the registry checks (unknown device, kind mismatch) and de-duplication on top.
 */
import { Compile, type Validator } from 'typebox/compile';
import type { TSchema } from 'typebox';
import { schemaProblems } from './schema-errors';
import { STREAM_SCHEMAS, type StreamPayload } from './payloads';
import { parseDeviceTopic, type DeviceKind, type Stream } from './topics';
import type { RejectReason } from './records';

/** UTF-8 as Node's Buffer decodes it (invalid bytes → U+FFFD, a BOM kept), with web APIs only. */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });
const UTF8_ENCODER = new TextEncoder();

/** Largest payload the contract accepts (a plate read or reading is a few hundred bytes). */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

const compiled = Object.fromEntries(Object.entries(STREAM_SCHEMAS).map(([s, schema]) => [s, Compile(schema as TSchema)])) as unknown as Record<Stream, Validator>;

export interface TimePolicy {
  /** now, ms since epoch (injectable for tests) */
  now: number;
  /** event time may be ahead of now by at most this much */
  maxFutureSkewMs: number;
  /** event time may be at most this old */
  maxAgeMs: number;
  /** readings arriving later than this after their event time are flagged `late` */
  lateAfterMs: number;
}

export const DEFAULT_TIME_POLICY: Omit<TimePolicy, 'now'> = {
  maxFutureSkewMs: 2 * 60_000,
  maxAgeMs: 30 * 86_400_000,
  lateAfterMs: 60_000,
};

export type Decoded =
  { ok: true; kind: DeviceKind; deviceId: string; stream: Stream; payload: StreamPayload[Stream]; late: boolean } | { ok: false; reason: RejectReason; detail: string; deviceId: string | null };

/** Describe the first schema error as "field: message (got value)". */
function schemaDetail(check: Validator, value: unknown): string {
  const errs = schemaProblems(check, value, 3);
  if (errs.length === 0) return 'schema mismatch';
  return errs
    .map((e) => {
      const field = e.field || '(payload)';
      let got: string;
      try {
        got = JSON.stringify(e.value) ?? String(e.value);
      } catch {
        got = String(e.value);
      }
      if (got.length > 40) got = got.slice(0, 40) + '…';
      if (e.message === 'Unexpected property') return `unknown field: ${field}`;
      return `${field}: ${e.message} (got ${got})`;
    })
    .join('; ');
}

/** Validate one MQTT message (topic + raw payload) against the contract. */
export function decodeMessage(topic: string, raw: Uint8Array | string, policy: TimePolicy): Decoded {
  const t = parseDeviceTopic(topic);
  if (!t.ok) return { ok: false, reason: 'unknown_topic', detail: t.detail, deviceId: null };
  return decodePayload(t, raw, policy);
}

/** Validate the payload of a message whose topic was already parsed (ingest parses it once). */
export function decodePayload(t: { kind: DeviceKind; deviceId: string; stream: Stream }, raw: Uint8Array | string, policy: TimePolicy): Decoded {
  const { kind, deviceId, stream } = t;
  const size = typeof raw === 'string' ? UTF8_ENCODER.encode(raw).byteLength : raw.byteLength;
  if (size > MAX_PAYLOAD_BYTES) {
    return { ok: false, reason: 'oversized', detail: `payload is ${size} bytes, limit ${MAX_PAYLOAD_BYTES}`, deviceId };
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : UTF8.decode(raw));
  } catch (err) {
    return { ok: false, reason: 'invalid_json', detail: `not JSON: ${(err as Error).message}`, deviceId };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'invalid_json', detail: 'payload must be a JSON object', deviceId };
  }
  const check = compiled[stream];
  if (!check.Check(value)) {
    return { ok: false, reason: 'schema', detail: schemaDetail(check, value), deviceId };
  }
  const payload = value as StreamPayload[Stream];
  const ts = (payload as { ts?: number }).ts;
  let late = false;
  if (ts !== undefined) {
    if (ts > policy.now + policy.maxFutureSkewMs) {
      return {
        ok: false,
        reason: 'future_timestamp',
        detail: `event time ${new Date(ts).toISOString()} is ${Math.round((ts - policy.now) / 1000)} s ahead of the server (allowed ${policy.maxFutureSkewMs / 1000} s)`,
        deviceId,
      };
    }
    if (ts < policy.now - policy.maxAgeMs) {
      return {
        ok: false,
        reason: 'too_old',
        detail: `event time ${new Date(ts).toISOString()} is older than ${Math.round(policy.maxAgeMs / 86_400_000)} days`,
        deviceId,
      };
    }
    late = policy.now - ts > policy.lateAfterMs;
  }
  return { ok: true, kind, deviceId, stream, payload, late };
}

/** Raw payload kept in a dead letter: UTF-8 text when it is text, else base64; at most 64 KiB. */
export function rawForDeadLetter(raw: Uint8Array | string): string {
  const bytes = typeof raw === 'string' ? UTF8_ENCODER.encode(raw) : raw;
  const cut = bytes.subarray(0, 64 * 1024);
  const text = UTF8.decode(cut);
  // eslint-disable-next-line no-control-regex -- control characters (other than tab, LF, CR…) mark a binary payload
  if (!text.includes('\uFFFD') && !/[\x00-\x08\x0e-\x1f]/.test(text)) return text;
  return 'base64:' + base64(cut);
}

/** Base64 of bytes with the web platform's btoa (contract/ is browser-safe: no Buffer). */
function base64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
