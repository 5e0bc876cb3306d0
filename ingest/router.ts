/**
 * Ingest's message routing: every message from the broker goes one way — svc/ reports (hotlist,
 * geofences, refused connections) to the rules, commissioning readings and rejects to the dead
 * letters, presence to the live state, records (de-duplicated) to the batch writer — and, once a
 * batch is stored, each record to the lifecycle, the live state, svc/plate and the rules.
 * Acknowledgements go through the writer, in arrival order (MQTT-4.6.0-2).
 */
import { Compile } from 'typebox/compile';
import { AuthRefusal, GeofenceSet, Hotlist, SVC_PREFIX, isCommissioningTopic, svcTopics, type AnyTelemetryRecord, type TimePolicy } from '../contract';
import type { Logger } from '../lib/log';
import { clip, type LimitedLogger } from '../lib/log-limiter';
import type { BatchWriter } from './batch-writer';
import { classifyMessage, deadLetter, type Classified, type DeviceLookup } from './classify';
import { commissioningLetter } from './commissioning';
import type { RecentKeys } from './dedupe';
import type { LiveStateBook } from './live-state';
import type { IngestMetrics } from './metrics';
import { owns, type Partition } from './partition';
import type { Publisher } from './publisher';
import type { RuleEngine } from './rule-engine';

const checkHotlist = Compile(Hotlist);
const checkGeofences = Compile(GeofenceSet);
const checkAuthRefusal = Compile(AuthRefusal);

/** dead-letter reason → the LiveState issue (and alert) code it explains */
const ISSUE_OF_REASON: Partial<Record<string, string>> = {
  future_timestamp: 'clock_skew.rejected',
  invalid_json: 'payload_rejected',
  oversized: 'payload_rejected',
  schema: 'payload_rejected',
  kind_mismatch: 'payload_rejected',
  too_old: 'payload_rejected',
  store_rejected: 'payload_rejected',
};
/** a rejection issue clears once the device's readings are accepted this long after the last rejection */
const ISSUE_QUIET_MS = 60_000;

/** Event time of a rejected payload, when it has a numeric `ts` (to report the clock's skew). */
function eventTsOf(raw: string): number | undefined {
  if (raw.length > 4096) return undefined;
  try {
    const ts = (JSON.parse(raw) as { ts?: unknown }).ts;
    return typeof ts === 'number' && Number.isFinite(ts) ? ts : undefined;
  } catch {
    return undefined;
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Run a rules callback; a throw is logged (rate-limited), never breaks ingest. */
export type Safely = (what: string, fn: () => void) => void;

export function createSafely(limiter: LimitedLogger, log: Logger): Safely {
  return (what, fn) => {
    try {
      fn();
    } catch (err) {
      limiter.log(`rules:${what}`, (suppressed) => log.error({ err, code: 'E_INGEST_RULES', ...(suppressed ? { suppressed } : {}) }, `alert rules failed in ${what}`));
    }
  };
}

export interface RouterDeps {
  registry: DeviceLookup;
  policy: Omit<TimePolicy, 'now'>;
  partition: Partition | undefined;
  metrics: IngestMetrics;
  live: LiveStateBook;
  recent: RecentKeys;
  /** the batch writer (set before the first message) */
  writer: () => Pick<BatchWriter, 'addAckOnly' | 'addDeadLetter' | 'addRecord'>;
  rules: RuleEngine | undefined;
  safely: Safely;
  publisher: Publisher;
  limiter: LimitedLogger;
  log: Logger;
  now: () => number;
  /** stop taking messages (left un-acknowledged for the broker's redelivery) */
  stopping: () => boolean;
  onFirstContact?: (deviceId: string) => void;
}

export type Router = ReturnType<typeof createRouter>;

export function createRouter(d: RouterDeps) {
  const { registry, policy, metrics, live, rules, safely, publisher, limiter, log, now } = d;
  const firstContact = new Set<string>();

  /** After a record is stored: lifecycle, live state, svc/plate, the rules. True when the live state changed. */
  function afterWrite(rec: AnyTelemetryRecord): boolean {
    if (publisher.closed) return false;
    if (d.onFirstContact && !firstContact.has(rec.deviceId) && registry.device(rec.deviceId)?.status === 'planned') {
      firstContact.add(rec.deviceId);
      safely('onFirstContact', () => d.onFirstContact!(rec.deviceId));
    }
    const issueCleared = !rec.late && live.clearIssue(rec.deviceId, rec.receivedAt, ISSUE_QUIET_MS);
    const changed = live.applyRecord(rec) || issueCleared;
    if (rec.stream === 'plate') publisher.plate(rec);
    if (rules) safely('onRecord', () => rules.onRecord(rec));
    return changed;
  }

  function logReject(c: Extract<Classified, { type: 'reject' }>): void {
    limiter.log(`reject:${c.reason}`, (suppressed) =>
      log.warn(
        {
          code: 'E_INGEST_REJECT',
          reason: c.reason,
          deviceId: c.letter.deviceId,
          topic: c.letter.topic.slice(0, 200),
          detail: c.letter.detail.slice(0, 300),
          ...(suppressed ? { suppressedSinceLast: suppressed } : {}),
        },
        `message rejected: ${c.reason}`,
      ),
    );
  }

  function onHotlist(payload: Buffer): void {
    const h = parseJson(payload);
    if (!checkHotlist.Check(h)) {
      limiter.log('hotlist', () => log.warn({ code: 'E_INGEST_HOTLIST' }, 'ignored an invalid hotlist on svc/hotlist'));
      return;
    }
    if (rules?.onHotlist) safely('onHotlist', () => rules.onHotlist!(h));
  }

  function onGeofences(payload: Buffer): void {
    const s = parseJson(payload);
    if (!checkGeofences.Check(s)) {
      limiter.log('geofences', () => log.warn({ code: 'E_INGEST_GEOFENCES' }, 'ignored an invalid geofence set on svc/geofences'));
      return;
    }
    if (rules?.onGeofences) safely('onGeofences', () => rules.onGeofences!(s));
  }

  /** The broker refused a registry device (svc/auth/<id>): an alert, and its live state says why. */
  function onAuthRefusal(payload: Buffer): void {
    const r = parseJson(payload);
    if (!checkAuthRefusal.Check(r)) {
      limiter.log('auth-refusal', () => log.warn({ code: 'E_INGEST_AUTH_REPORT' }, 'ignored an invalid report on svc/auth'));
      return;
    }
    const dev = registry.device(r.deviceId);
    if (!dev || !owns(d.partition, r.deviceId)) return; // another worker's device: its owner raises it
    metrics.authRefused();
    const at = now(); // the platform clock (the broker's report carries its own `at`)
    if (dev.status !== 'retired' && live.applyIssue(r.deviceId, dev.kind, dev.district, 'credentials_refused', r.reason, at, true)) publisher.statesDue();
    if (rules?.onAuthRefused) safely('onAuthRefused', () => rules.onAuthRefused!(r.deviceId, r.reason, at));
  }

  function onRejected(c: Extract<Classified, { type: 'reject' }>): void {
    const id = c.letter.deviceId;
    const dev = id ? registry.device(id) : undefined;
    if (!id || !dev || dev.status === 'retired') return;
    const code = ISSUE_OF_REASON[c.reason];
    if (code && live.applyIssue(id, dev.kind, dev.district, code, c.reason, c.letter.receivedAt, false)) publisher.statesDue();
    if (rules?.onReject) {
      const ts = c.reason === 'future_timestamp' ? eventTsOf(c.letter.payload) : undefined;
      safely('onReject', () => rules.onReject!(id, c.reason, c.letter.receivedAt, ts));
    }
  }

  function onMessage(topic: string, payload: Buffer, ack: () => void): void {
    if (d.stopping()) return; // left un-acknowledged: the broker redelivers it to the next session
    const writer = d.writer();
    if (topic.startsWith(SVC_PREFIX)) {
      // only svc/hotlist, svc/geofences and svc/auth/+ are subscribed (device data per kind no longer matches svc/ topics);
      // acknowledged behind the device messages that arrived before it (MQTT-4.6.0-2: PUBACKs in PUBLISH order)
      if (topic === svcTopics.hotlist) onHotlist(payload);
      else if (topic === svcTopics.geofences) onGeofences(payload);
      else if (topic.startsWith(svcTopics.authPrefix)) onAuthRefusal(payload);
      writer.addAckOnly(ack);
      return;
    }
    metrics.received();
    const receivedAt = now();
    if (isCommissioningTopic(topic)) {
      // an installer's test reading: validated, kept apart (never a record), counted
      metrics.rejected('commissioning');
      writer.addDeadLetter(commissioningLetter(topic, payload, receivedAt, registry, policy), ack);
      return;
    }
    let c: Classified;
    try {
      c = classifyMessage(topic, payload, receivedAt, registry, policy);
    } catch (err) {
      limiter.log('classify', (suppressed) =>
        log.error(
          { err: clip((err as Error).message, 300), topic: clip(topic), code: 'E_INGEST_CLASSIFY', ...(suppressed ? { suppressedSinceLast: suppressed } : {}) },
          'validation failed unexpectedly; dead-lettering the message',
        ),
      );
      c = { type: 'reject', reason: 'schema', letter: deadLetter(topic, payload, receivedAt, null, 'schema', `could not be validated: ${(err as Error).message}`) };
    }
    switch (c.type) {
      case 'reject':
        metrics.rejected(c.reason);
        logReject(c);
        onRejected(c);
        writer.addDeadLetter(c.letter, ack);
        return;
      case 'presence':
        metrics.presence();
        live.applyPresence(c.deviceId, c.kind, c.district, c.online, c.receivedAt);
        publisher.statesDue();
        if (c.online) live.clearIssue(c.deviceId, c.receivedAt, 0, ['credentials_refused']);
        if (rules) safely('onPresence', () => rules.onPresence(c.deviceId, c.online, c.at, c.reason));
        writer.addAckOnly(ack);
        return;
      case 'record': {
        const r = c.record;
        if (!d.recent.add(r.deviceId, r.stream, r.ts)) {
          metrics.duplicate(1);
          writer.addAckOnly(ack);
          return;
        }
        if (r.late) metrics.late();
        writer.addRecord(r, ack);
        return;
      }
    }
  }

  return { onMessage, afterWrite };
}
