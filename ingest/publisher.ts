/**
 * Ingest's publishing on svc/ topics: alert and geofence events (QoS 1), plate reads (QoS 0) and
 * the coalesced live states (QoS 0, retained; at most one per device per second, ./live-state.ts).
 * Nothing is sent before the MQTT client is attached, nor after `close()`.
 */
import { svcTopics, type AlertEvent, type AnyTelemetryRecord, type GeofenceEvent } from '../contract';
import type { Logger } from '../lib/log';
import type { LimitedLogger } from '../lib/log-limiter';
import { plateLiveState, type LiveStateBook } from './live-state';
import type { IngestMetrics } from './metrics';

/** the part of an MQTT client the publisher uses */
export interface PublishClient {
  publish(topic: string, body: string, o: { qos: 0 | 1; retain: boolean }, cb: (err?: Error) => void): unknown;
}

export interface PublisherDeps {
  metrics: IngestMetrics;
  live: LiveStateBook;
  now: () => number;
  /** publish svc/state and svc/plate */
  publishState: boolean;
  limiter: LimitedLogger;
  log: Logger;
}

export type Publisher = ReturnType<typeof createPublisher>;

export function createPublisher(d: PublisherDeps) {
  let client: PublishClient | undefined;
  let closed = false;

  const raw = (topic: string, body: unknown, o: { qos: 0 | 1; retain: boolean }) => {
    if (closed || !client) return;
    client.publish(topic, JSON.stringify(body), o, (err) => {
      if (err) d.limiter.log('publish', () => d.log.warn({ err: err.message, topic, code: 'E_INGEST_PUBLISH' }, 'publish failed'));
    });
  };

  const states = (until: number) => {
    if (!d.publishState || closed) return;
    for (const s of d.live.due(until)) {
      raw(svcTopics.state(s.kind, s.deviceId), s, { qos: 0, retain: true });
      d.metrics.published('state');
    }
  };

  return {
    /** start publishing through this client (once connected) */
    attach(c: PublishClient): void {
      client = c;
    },
    /** publish nothing more (stopped or killed) */
    close(): void {
      closed = true;
    },
    get closed(): boolean {
      return closed;
    },
    /** Publish an alert event (QoS 1) on svc/alerts/<id>. */
    alert(alert: AlertEvent): void {
      raw(svcTopics.alert(alert.alertId), alert, { qos: 1, retain: false });
      d.metrics.published('alert');
    },
    geofence(e: GeofenceEvent): void {
      raw(svcTopics.geofenceEvent(e.deviceId), e, { qos: 1, retain: false });
      d.metrics.published('geofence');
    },
    /** svc/plate/<id> for a stored plate read (when live states are published) */
    plate(rec: AnyTelemetryRecord & { stream: 'plate' }): void {
      if (!d.publishState) return;
      raw(svcTopics.plate(rec.deviceId), plateLiveState(rec), { qos: 0, retain: false });
      d.metrics.published('plate');
    },
    /** the live states due now (coalesced, 1/s per device) */
    statesDue(): void {
      states(d.now());
    },
    /** on a clean stop: what is still coalescing (ignoring the 1/s limit once) */
    statesNow(): void {
      states(Number.MAX_SAFE_INTEGER);
    },
  };
}
