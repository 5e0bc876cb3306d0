/**
 * The MQTT side of ingest: one MQTT.js client with a persistent session (clean: false, stable
 * client id) whose PUBACKs are sent only when the caller acknowledges a message — after the batch
 * holding it is durably written. With that, a worker that dies loses nothing: the broker keeps
 * every un-acknowledged QoS 1 message in the session and redelivers it to the next worker.
 *
 * How the acknowledgement is deferred (MQTT.js internals behind ingest/deferred-puback.ts, pinned 5.16.0):
 * MQTT.js calls `handleMessage(packet, cb)` and sends the PUBACK inside `cb()`; it also parses
 * the NEXT packet only after `cb` — so holding `cb` until a batch is written would serialize
 * ingest to one message per store write. Instead, while fewer than `maxInFlight` messages are
 * un-acknowledged we release the parser at once with `cb(DEFERRED)` (an error argument makes
 * MQTT.js skip its PUBACK and just move on) and send the PUBACK ourselves on acknowledgement. At
 * `maxInFlight` we hold `cb` itself: MQTT.js stops reading the socket, TCP flow control pushes
 * back to the broker (bounded memory), and acknowledging that message resumes reading.
 * An acknowledgement that arrives after its connection is gone is dropped: the broker redelivers
 * the message on the new connection and de-duplication absorbs it.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { assertDeferrable, DEFERRED, sendPuback } from './deferred-puback';
import type { Logger } from '../lib/log';
import { clip, createLogLimiter } from '../lib/log-limiter';

export type AckFn = () => void;

export interface ConsumerOptions {
  url: string;
  username: string;
  password: string;
  clientId: string;
  subscriptions: Record<string, { qos: 0 | 1 }>;
  /** filters a stored session may still hold from an older version: unsubscribed on the first connection */
  legacySubscriptions?: string[];
  /** every delivered message; call `ack` once it is durably handled (exactly once) */
  onMessage(topic: string, payload: Buffer, packet: IPublishPacket, ack: AckFn): void;
  /** true when no more messages should be taken in until some are acknowledged */
  saturated(): boolean;
  /** the parser is being held (back-pressure): the caller should flush what it has */
  onSaturated?(): void;
  log: Logger;
  reconnectPeriodMs?: number;
}

export interface Consumer {
  client: MqttClient;
  /** resolves on the first CONNACK (rejects when the first connection is refused) */
  ready: Promise<void>;
  connected(): boolean;
  /** subscribe more filters (QoS 1) now and on every new session; returns the ones that were new */
  addSubscriptions(filters: string[]): string[];
  /** clean disconnect (after the caller has flushed and acknowledged what it could) */
  end(): Promise<void>;
  /** crash simulation: drop the connection at once; nothing more is acknowledged or sent */
  kill(): void;
}

/** a graceful end waits this long for the broker's PUBACKs of our own publishes */
const END_TIMEOUT_MS = 5000;

export function startConsumer(o: ConsumerOptions): Consumer {
  /** resumes the parser of the message held at a full window, without acknowledging it */
  let held: (() => void) | null = null;
  const log = o.log;
  const handlerErrors = createLogLimiter({ burst: 5, windowMs: 10_000 });
  const opts: IClientOptions = {
    clientId: o.clientId,
    username: o.username,
    password: o.password,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: o.reconnectPeriodMs ?? 1000,
    connectTimeout: 10_000,
    resubscribe: true,
    manualConnect: true,
  };
  const client = mqtt.connect(o.url, opts);
  assertDeferrable(client);
  let killed = false;

  client.handleMessage = (packet, cb) => {
    const topic = packet.topic.toString();
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (killed) return; // never acknowledge after a kill
    if (packet.qos !== 1 || packet.messageId === undefined) {
      // QoS 0 has nothing to acknowledge; QoS 2 (never granted: we subscribe at 1) is completed by MQTT.js.
      try {
        o.onMessage(topic, payload, packet, () => {});
      } finally {
        cb();
      }
      return;
    }
    const stream = client.stream;
    const messageId = packet.messageId;
    const hold = o.saturated();
    let acked = false;
    if (hold) held = () => cb(DEFERRED);
    const ack: AckFn = () => {
      if (acked) return;
      acked = true;
      const sameConnection = !killed && client.connected && client.stream === stream;
      if (hold) {
        held = null;
        // cb() sends the PUBACK and resumes the parser; on a dead connection only resume.
        if (sameConnection) cb();
        else cb(DEFERRED);
      } else if (sameConnection) {
        sendPuback(client, messageId);
      }
    };
    if (!hold) cb(DEFERRED);
    try {
      o.onMessage(topic, payload, packet, ack);
    } catch (err) {
      // onMessage must not throw; if it does, the message is left un-acknowledged (redelivered
      // on the next connection) rather than lost.
      handlerErrors.log('handler', (suppressed) =>
        log.error(
          { err: clip((err as Error)?.message, 300), topic: clip(topic), code: 'E_INGEST_HANDLER', ...(suppressed ? { suppressedSinceLast: suppressed } : {}) },
          'message handler failed; message left un-acknowledged',
        ),
      );
      if (hold) {
        held = null;
        cb(DEFERRED);
      }
    }
    if (hold) o.onSaturated?.();
  };

  let first = true;
  /** filters added while disconnected, for a session the broker kept (a new session takes them all) */
  let unsent: string[] = [];
  const subscribeMore = (filters: string[]) =>
    client.subscribe(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }])), (err, granted) => {
      if (err) log.error({ err, code: 'E_INGEST_SUBSCRIBE' }, 'subscribe failed');
      const refused = (granted ?? []).filter((g) => g.qos === 128);
      if (refused.length) log.error({ refused: refused.map((g) => g.topic), code: 'E_INGEST_SUBSCRIBE' }, 'subscription refused by the broker');
    });
  const ready = new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    // A refused CONNECT (bad credentials) fails start-up; network errors are retried.
    const onError = (err: Error & { code?: unknown }) => {
      if (first && typeof err.code === 'number') reject(err);
    };
    client.on('error', onError);
    client.once('connect', () => client.off('error', onError));
  });
  client.on('connect', (connack) => {
    log.info({ sessionPresent: connack.sessionPresent, clientId: o.clientId }, first ? 'ingest connected to the broker' : 'ingest reconnected');
    const dropLegacy = first && connack.sessionPresent && !!o.legacySubscriptions?.length;
    const more = unsent;
    unsent = [];
    if (!first && connack.sessionPresent && more.length) subscribeMore(more);
    if (first || !connack.sessionPresent) {
      client.subscribe(o.subscriptions, (err, granted) => {
        // only once the new filters are in place (no gap in which a message matches neither)
        if (!err && dropLegacy) {
          client.unsubscribe(o.legacySubscriptions!, (e) => {
            if (e) log.warn({ err: e.message, code: 'E_INGEST_SUBSCRIBE' }, 'could not drop a legacy subscription');
          });
        }
        if (err) log.error({ err, code: 'E_INGEST_SUBSCRIBE' }, 'subscribe failed');
        const refused = (granted ?? []).filter((g) => g.qos === 128);
        if (refused.length) log.error({ refused: refused.map((g) => g.topic), code: 'E_INGEST_SUBSCRIBE' }, 'subscription refused by the broker');
      });
    }
    first = false;
  });
  client.on('error', (err) => log.warn({ err: err.message, code: 'E_INGEST_MQTT' }, 'MQTT error'));
  client.on('offline', () => log.warn({ code: 'E_INGEST_OFFLINE' }, 'ingest lost the broker; reconnecting'));
  client.connect();

  return {
    client,
    ready,
    connected: () => client.connected,
    addSubscriptions(filters) {
      const added = filters.filter((f) => !(f in o.subscriptions));
      if (!added.length) return added;
      for (const f of added) o.subscriptions[f] = { qos: 1 };
      if (client.connected) subscribeMore(added);
      else unsent.push(...added);
      return added;
    },
    end: () =>
      new Promise<void>((resolve) => {
        if (killed) return resolve();
        killed = true;
        // A message held at a full window (never written: the stop gave up on it) keeps the parser
        // paused, so the broker's PUBACKs for our own publishes are never read and a graceful end
        // would wait for them forever. Resume without acknowledging it (it stays in the session for
        // redelivery), then end gracefully — bounded: past END_TIMEOUT_MS the socket is closed.
        const h = held;
        held = null;
        h?.();
        const timer = setTimeout(() => {
          log.warn({ code: 'E_INGEST_END_TIMEOUT' }, 'the broker did not acknowledge our last publishes in time; closing the connection');
          client.stream?.destroy();
          resolve();
        }, END_TIMEOUT_MS);
        client.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    kill() {
      killed = true;
      client.end(true);
    },
  };
}
