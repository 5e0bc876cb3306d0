/**
 * The InfluxDB schema: one measurement per stream, bounded-cardinality tags only, event time as
 * the point time. Encodes records and dead letters as line protocol and decodes query rows back.
 *
 *   gps,device_id=truck-01,district=Centro,kind=truck heading=92.5,lat=18.1301,late=false,lon=-94.4502,receivedAt=1763900000400,speedKmh=23.4 1763900000000000000
 *
 * Times are written in ns precision but telemetry is always whole milliseconds (event time, ms);
 * dead letters use the sub-millisecond part (from a hash of their id) so that letters arriving
 * in the same millisecond with the same reason stay distinct points, and rewriting the same
 * letter overwrites itself.
 */
import type { AnyTelemetryRecord, DeadLetter, DeviceKind, RejectReason, TelemetryStream } from '../../contract';

export const MEASUREMENT: Record<TelemetryStream, string> = {
  gps: 'gps',
  event: 'truck_event',
  air: 'air',
  noise: 'noise',
  plate: 'plate',
  status: 'device_status',
};
export const STREAM_OF_MEASUREMENT: Record<string, TelemetryStream> = Object.fromEntries(Object.entries(MEASUREMENT).map(([s, m]) => [m, s as TelemetryStream]));
export const DEAD_LETTER = 'dead_letter';

/** A field every point of the measurement has (used for count() and existence checks). */
export const ALWAYS_FIELD: Record<TelemetryStream, string> = {
  gps: 'lat',
  event: 'type',
  air: 'windowS',
  noise: 'laeq',
  plate: 'plate',
  status: 'fw',
};

/** Tags beyond device_id, kind, district (bounded values only). Plate text is a field. */
const EXTRA_TAGS: Partial<Record<TelemetryStream, readonly string[]>> = { plate: ['direction'] };
/** Bookkeeping fields of every telemetry point (not part of the payload). */
const META_FIELDS = new Set(['receivedAt', 'late']);
const TAGS = new Set(['device_id', 'kind', 'district', 'direction']);

const escMeasurement = (s: string) => s.replace(/[\\, ]/g, (c) => `\\${c}`);
const escKey = (s: string) => s.replace(/[\\,= ]/g, (c) => `\\${c}`);
const escTagValue = (s: string) => s.replace(/[\\,= ]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
const escString = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** Field value: numbers are floats (never a field type conflict), booleans, strings. */
function fieldValue(v: unknown): string {
  if (typeof v === 'number') return String(v); // NaN/Infinity go to the server as-is: it rejects them (dead-lettered)
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return escString(String(v));
}

function line(measurement: string, tags: [string, string][], fields: [string, unknown][], timeNs: bigint): string {
  const t = tags
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `,${escKey(k)}=${escTagValue(v)}`)
    .join('');
  const f = fields.map(([k, v]) => `${escKey(k)}=${fieldValue(v)}`).join(',');
  return `${escMeasurement(measurement)}${t} ${f} ${timeNs}`;
}

export const msToNs = (ms: number): bigint => BigInt(Math.trunc(ms)) * 1_000_000n;

export function recordToLine(r: AnyTelemetryRecord): string {
  const p = r.payload as unknown as Record<string, unknown>;
  const tags: [string, string][] = [
    ['device_id', r.deviceId],
    ['kind', r.kind],
    ['district', r.district],
  ];
  const extra = EXTRA_TAGS[r.stream] ?? [];
  for (const k of extra) tags.push([k, String((p[k] as string | number | undefined) ?? '')]);
  const fields: [string, unknown][] = [];
  for (const [k, v] of Object.entries(p)) {
    if (k === 'ts' || v === undefined || extra.includes(k)) continue;
    fields.push([k, v]);
  }
  fields.push(['receivedAt', r.receivedAt], ['late', r.late]);
  return line(MEASUREMENT[r.stream], tags, fields, msToNs(r.ts));
}

/** Identity of a point for idempotence: (device, stream, event time). */
export const recordKey = (r: { deviceId: string; stream: TelemetryStream; ts: number }) => `${r.stream}|${r.deviceId}|${r.ts}`;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * Dead letters: tag `reason` (bounded); device id, topic, detail and payload are fields (device ids
 * of rejected messages are attacker-controlled: never a tag). Text fields are stored JSON-encoded so
 * that newlines and any byte survive line protocol.
 */
export function deadLetterToLine(l: DeadLetter): string {
  const fields: [string, unknown][] = [
    ['id', l.id],
    ['receivedAt', l.receivedAt],
    ['topic', JSON.stringify(l.topic)],
    ['detail', JSON.stringify(l.detail)],
    ['payload', JSON.stringify(l.payload)],
  ];
  if (l.deviceId !== null) fields.push(['deviceId', l.deviceId]);
  return line(DEAD_LETTER, [['reason', l.reason]], fields, msToNs(l.receivedAt) + BigInt(fnv1a(l.id) % 1_000_000));
}

export type Row = Record<string, unknown>;

const parseJsonString = (v: unknown): string => {
  if (typeof v !== 'string') return '';
  try {
    const s: unknown = JSON.parse(v);
    return typeof s === 'string' ? s : v;
  } catch {
    return v;
  }
};

export function rowToDeadLetter(row: Row): DeadLetter {
  return {
    id: String(row.id),
    receivedAt: Number(row.receivedAt),
    topic: parseJsonString(row.topic),
    deviceId: typeof row.deviceId === 'string' ? row.deviceId : null,
    reason: row.reason as RejectReason,
    detail: parseJsonString(row.detail),
    payload: parseJsonString(row.payload),
  };
}

/** A row of `SELECT *` (time in ms, tags and fields as columns) back into the record written. */
export function rowToRecord(stream: TelemetryStream, row: Row): AnyTelemetryRecord {
  const payload: Record<string, unknown> = { ts: Number(row.time) };
  for (const [k, v] of Object.entries(row)) {
    if (k === 'time' || v === null || v === undefined || META_FIELDS.has(k)) continue;
    if (TAGS.has(k) && !(EXTRA_TAGS[stream] ?? []).includes(k)) continue;
    payload[k] = v;
  }
  return {
    deviceId: String(row.device_id),
    kind: row.kind as DeviceKind,
    stream,
    ts: Number(row.time),
    receivedAt: Number(row.receivedAt),
    late: row.late === true,
    district: String((row.district as string | undefined) ?? ''), // a tag: always a string
    payload,
  } as AnyTelemetryRecord;
}

/**
 * Parse the parts of a line we need when only the line is known (spill replay, rejected lines):
 * measurement, tags, time. Tolerates escapes in measurement and tags.
 */
export function parseLineHead(l: string): { measurement: string; tags: Record<string, string>; timeNs: bigint | null } {
  // measurement+tags end at the first unescaped space
  let i = 0;
  for (; i < l.length; i++) {
    if (l[i] === '\\') i++;
    else if (l[i] === ' ') break;
  }
  const head = l.slice(0, i);
  const parts: string[] = [];
  let cur = '';
  for (let j = 0; j < head.length; j++) {
    const c = head[j]!;
    if (c === '\\' && j + 1 < head.length) {
      cur += head[++j];
    } else if (c === ',') {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  const tags: Record<string, string> = {};
  for (const kv of parts.slice(1)) {
    const eq = kv.indexOf('=');
    if (eq > 0) tags[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const m = / (-?\d+)$/.exec(l);
  return { measurement: parts[0] ?? '', tags, timeNs: m ? BigInt(m[1]!) : null };
}

/** The idempotence key of a telemetry line (null for dead letters or unparsable lines). */
export function lineKey(l: string): string | null {
  const { measurement, tags, timeNs } = parseLineHead(l);
  const stream = STREAM_OF_MEASUREMENT[measurement];
  if (!stream || !tags.device_id || timeNs === null) return null;
  return recordKey({ stream, deviceId: tags.device_id, ts: Number(timeNs / 1_000_000n) });
}
