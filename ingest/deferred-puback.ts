/**
 * The one adapter around MQTT.js internals that ingest relies on (mqtt pinned exactly, 5.16.0,
 * in package.json): deferring a QoS 1 PUBACK until the message is durably written.
 *
 * MQTT.js calls `client.handleMessage(packet, cb)` for each PUBLISH and sends the PUBACK inside
 * `cb()`; it parses the next packet only after `cb`. Two behaviours are relied on:
 *   1. `cb(err)` with an error argument sends no PUBACK and lets the parser go on
 *      (handlers/publish.js: `if (err) return done(err)` before `_sendPacket({ cmd: 'puback' })`);
 *   2. one call of the private `client._sendPacket({ cmd: 'puback', messageId })` sends exactly
 *      one PUBACK for that message id.
 * Both are exercised against a raw MQTT server by ingest/deferred-puback.test.ts (in CI); the
 * start-up check below refuses an MQTT.js whose shape changed.
 */
import type { MqttClient } from 'mqtt';

/** The error argument that tells MQTT.js "handled, but do not acknowledge" (behaviour 1). */
export class DeferredAck extends Error {
  constructor() {
    super('PUBACK deferred until the message is durably written');
  }
}
export const DEFERRED = new DeferredAck();

type SendPacket = (packet: { cmd: 'puback'; messageId: number }, cb?: (err?: Error) => void) => void;

export class MqttJsShapeError extends Error {
  readonly code = 'E_INGEST_MQTTJS';
}

/** Start-up check: the private sender is there (else refuse to start rather than never acknowledge). */
export function assertDeferrable(client: MqttClient): void {
  if (typeof (client as unknown as { _sendPacket?: unknown })._sendPacket !== 'function') {
    throw new MqttJsShapeError('this MQTT.js version has no _sendPacket: deferred PUBACKs need review (ingest/deferred-puback.ts)');
  }
}

/** Send the PUBACK of `messageId` now (behaviour 2). */
export function sendPuback(client: MqttClient, messageId: number): void {
  (client as unknown as { _sendPacket: SendPacket })._sendPacket.call(client, { cmd: 'puback', messageId });
}
