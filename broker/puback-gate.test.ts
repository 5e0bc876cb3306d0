/**
 * A QoS 1 PUBACK leaves the broker only after the message is stored in every persistent
 * subscriber's session, in the order the PUBLISHes arrived; a message that could not be stored
 * gets no PUBACK.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { deviceTopic, SUB_ALL_DEVICE_DATA } from '../contract';
import { waitFor } from '../testing/net';
import { PubackGate } from './puback-gate';
import { startTestBroker, type TestBroker } from './test-support';

const puback = (id: number) => Buffer.from([0x40, 0x02, id >> 8, id & 0xff]);
const publishFrame = (body: string) => Buffer.concat([Buffer.from([0x30, body.length]), Buffer.from(body)]);

describe('PubackGate (bytes)', () => {
  it('holds a PUBACK until released, keeps later bytes behind it, handles split frames and early releases', () => {
    const out: Buffer[] = [];
    const gate = new PubackGate((b) => (out.push(Buffer.from(b)), true));
    const flat = () => Buffer.concat(out);
    gate.write(Buffer.concat([publishFrame('a@x'), puback(1), publishFrame('b@y')]));
    expect(flat()).toEqual(publishFrame('a@x')); // what precedes the PUBACK goes; the rest waits
    gate.write(puback(2));
    expect(gate.held()).toBe(2);
    gate.released(2); // out of order: 2 is stored first, but must not overtake 1
    expect(flat()).toEqual(publishFrame('a@x'));
    gate.released(1);
    expect(flat()).toEqual(Buffer.concat([publishFrame('a@x'), puback(1), publishFrame('b@y'), puback(2)]));
    expect(gate.held()).toBe(0);

    // a PUBACK split across two writes; a release that arrives before its frame
    out.length = 0;
    gate.released(7);
    const p = puback(9);
    gate.write(p.subarray(0, 2));
    gate.write(Buffer.concat([p.subarray(2), puback(7)]));
    expect(flat().length).toBe(0); // 9 held, 7 (already stored) waits behind it
    gate.released(9);
    expect(flat()).toEqual(Buffer.concat([puback(9), puback(7)]));

    // a PUBLISH whose body contains 0x40 0x02 is not mistaken for a PUBACK
    out.length = 0;
    const tricky = publishFrame('\x40\x02\x00\x01');
    gate.write(tricky);
    expect(flat()).toEqual(tricky);
  });
});

const started: TestBroker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.close()));
});

type Enqueue = (subs: unknown[], packet: { payload: Buffer }) => Promise<void>;

async function withPersistentSubscriber() {
  const t = await startTestBroker();
  started.push(t);
  const sub = await t.connect('ingest', { clientId: 'gate-ingest', clean: false });
  await sub.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
  const persistence = (t.broker.aedes as unknown as { persistence: { outgoingEnqueueCombi: Enqueue } }).persistence;
  const real = persistence.outgoingEnqueueCombi.bind(persistence);
  return { t, persistence, real };
}

function pubackOrder(c: MqttClient): number[] {
  const ids: number[] = [];
  c.on('packetreceive', (p) => {
    if (p.cmd === 'puback') ids.push(p.messageId!);
  });
  return ids;
}

describe('broker: PUBACK after the store', () => {
  it('the PUBACK waits for the session store; PUBACKs keep the PUBLISH order', async () => {
    const { t, persistence, real } = await withPersistentSubscriber();
    const storedAt = new Map<string, number>();
    persistence.outgoingEnqueueCombi = async (subs, packet) => {
      const body = packet.payload.toString();
      if (body === 'slow') await new Promise((r) => setTimeout(r, 400));
      await real(subs, packet);
      storedAt.set(body, Date.now());
    };
    const dev = await t.connect('truck-01');
    const order = pubackOrder(dev);
    const ackedAt = new Map<string, number>();
    const topic = deviceTopic('truck', 'truck-01', 'gps');
    await Promise.all(['slow', 'fast'].map((body) => dev.publishAsync(topic, body, { qos: 1 }).then(() => ackedAt.set(body, Date.now()))));
    expect(ackedAt.get('slow')!).toBeGreaterThanOrEqual(storedAt.get('slow')!);
    expect(ackedAt.get('fast')!).toBeGreaterThanOrEqual(storedAt.get('slow')!); // stored first, acknowledged after 'slow' (order)
    expect(order.length).toBe(2);
    expect(order[0]).toBeLessThan(order[1]!); // message ids in publish order
  });

  it('a message the session store refused gets no PUBACK (the publisher is disconnected and keeps it); the broker keeps serving', async () => {
    const { t, persistence, real } = await withPersistentSubscriber();
    persistence.outgoingEnqueueCombi = async (subs, packet) => {
      if (packet.payload.toString() === 'refused') throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
      await real(subs, packet);
    };
    const errors: Error[] = [];
    (t.broker.aedes as unknown as NodeJS.EventEmitter).on('clientError', (_c: unknown, e: Error) => errors.push(e));
    const dev = await t.connect('truck-01');
    const order = pubackOrder(dev);
    const topic = deviceTopic('truck', 'truck-01', 'gps');
    dev.publish(topic, 'refused', { qos: 1 });
    await waitFor(() => errors.length > 0, 5000, 20, 'the store error');
    const other = await t.connect('truck-02');
    await other.publishAsync(deviceTopic('truck', 'truck-02', 'gps'), 'fine', { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(order).toEqual([]); // never acknowledged: the device keeps it and sends it again
    expect(errors[0]!.message).toBe('disk full');
  });
});
