/**
 * The MQTT.js behaviour ingest's deferred PUBACK relies on (ingest/deferred-puback.ts), against a
 * raw MQTT server that records every packet the client sends: an error argument to
 * handleMessage's callback sends no PUBACK; one sendPuback() sends exactly one; a plain cb()
 * still sends its own.
 */
import net from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../testing/net';
import { assertDeferrable, DEFERRED, sendPuback } from './deferred-puback';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function rawServer(onClientPacket: (p: mqttPacket.Packet, socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p) => onClientPacket(p, socket));
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('error', () => {});
  });
  cleanup.push(() => server.close());
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

const send = (socket: net.Socket, p: object) => socket.write(mqttPacket.generate(p as mqttPacket.Packet));

describe('deferred PUBACK (MQTT.js behaviour relied on)', () => {
  it('cb(err) sends no PUBACK; one sendPuback sends exactly one; cb() sends one', async () => {
    const pubacks: number[] = [];
    const port = await rawServer((p, socket) => {
      if (p.cmd === 'connect') {
        send(socket, { cmd: 'connack', returnCode: 0, sessionPresent: false });
        for (const messageId of [1, 2, 3]) send(socket, { cmd: 'publish', topic: 't', payload: Buffer.from(`m${messageId}`), qos: 1, messageId, dup: false, retain: false });
      }
      if (p.cmd === 'puback') pubacks.push(p.messageId!);
    });
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: 'deferred-test', reconnectPeriod: 0, protocolVersion: 4 });
    cleanup.push(() => client.end(true));
    assertDeferrable(client);
    const seen: number[] = [];
    client.handleMessage = (packet, cb) => {
      seen.push(packet.messageId!);
      if (packet.messageId === 1)
        cb(DEFERRED); // never acknowledged
      else if (packet.messageId === 2) {
        cb(DEFERRED);
        sendPuback(client, 2); // acknowledged once, by us
      } else cb(); // MQTT.js's own PUBACK
    };
    // the PUBACK of 3 comes after anything sent for 1 and 2 (one connection, handled in order)
    await waitFor(() => pubacks.includes(3), 10_000, 10, 'the PUBACK of message 3');
    expect(seen).toEqual([1, 2, 3]);
    expect(pubacks).toEqual([2, 3]);
  });
});
