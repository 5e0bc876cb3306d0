import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTopic, SUB_ALL_DEVICE_DATA } from '../contract';
import { waitFor } from '../testing/net';
import { TEST_PASSWORD } from '../testing/registry-fixture';
import { closed, collect, startTestBroker, type TestBroker } from './test-support';

/** Remaining-length varint (MQTT 3.1.1 §2.2.3). */
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const str = (s: string) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
/** A hand-built MQTT 3.1.1 CONNECT (clean session, user name + password, keepalive 60 s). */
function connectPacket(id: string): Buffer {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str(id), str(id), str(TEST_PASSWORD(id))]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}
/** Send CONNECT and wait for a successful CONNACK (20 02 00 00). */
async function rawConnect(s: net.Socket, id: string): Promise<void> {
  const connack = new Promise<Buffer>((resolve) => s.once('data', resolve));
  s.write(connectPacket(id));
  expect([...(await connack)]).toEqual([0x20, 2, 0, 0]);
}

let t: TestBroker;
afterEach(async () => {
  await t?.close();
});

/** After the bad connection, the broker still serves: a device publishes, ingest receives. */
async function stillServes(t: TestBroker, device = 'air-01'): Promise<void> {
  const ingest = await t.connect('ingest', { clientId: `ingest-${Math.random().toString(36).slice(2, 8)}` });
  const got = collect(ingest);
  await ingest.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
  const dev = await t.connect(device);
  await dev.publishAsync(deviceTopic('air', device, 'air'), 'still-here', { qos: 1 });
  await waitFor(() => got.some((m) => m.payload === 'still-here'), 5000, 20, 'message after bad input');
}

describe('broker robustness', () => {
  it('raw garbage bytes on TCP close that socket only; another client still publishes', async () => {
    t = await startTestBroker();
    const bystander = await t.connect('truck-01');
    const s = await t.raw();
    const gone = closed(s);
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\x13garbage');
    await gone;
    expect(t.broker.metrics().protocolErrors).toEqual({ first_packet_not_connect: 1 });
    expect(bystander.connected).toBe(true);
    await stillServes(t);
  });

  it('garbage after a valid CONNECT (reserved type, malformed PUBLISH) closes that connection and is counted', async () => {
    t = await startTestBroker();
    const a = await t.raw();
    await rawConnect(a, 'truck-01');
    const goneA = closed(a);
    a.write(Buffer.from([0x00, 0x00])); // reserved packet type 0
    await goneA;

    const b = await t.raw();
    await rawConnect(b, 'truck-02');
    const goneB = closed(b);
    b.write(Buffer.from([0x30, 0x02, 0xff, 0xff])); // PUBLISH whose topic length overruns the packet
    await goneB;

    const c = await t.raw();
    await rawConnect(c, 'noise-01');
    const goneC = closed(c);
    c.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])); // remaining length of 5 bytes
    await goneC;

    await waitFor(() => Object.keys(t.broker.metrics().protocolErrors).length === 3, 5000, 20, 'three protocol errors');
    expect(t.broker.metrics().protocolErrors).toEqual({ bad_packet_type: 1, invalid_packet: 1, bad_length: 1 });
    await stillServes(t);
  });

  it('a CONNECT and PUBLISH trickled one byte at a time are accepted', async () => {
    t = await startTestBroker();
    const ingest = await t.connect('ingest', { clientId: 'ingest-1' });
    const got = collect(ingest);
    await ingest.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
    const s = await t.raw();
    const connack = new Promise<Buffer>((resolve) => s.once('data', resolve));
    const topic = Buffer.from(deviceTopic('air', 'air-01', 'air'));
    const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from('trickled')]);
    const publish = Buffer.concat([Buffer.from([0x30]), varint(body.length), body]);
    for (const byte of connectPacket('air-01')) {
      s.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 1));
    }
    expect([...(await connack)]).toEqual([0x20, 2, 0, 0]);
    for (const byte of publish) {
      s.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 1));
    }
    await waitFor(() => got.some((m) => m.payload === 'trickled'), 5000, 20, 'trickled publish');
    expect(t.broker.metrics().protocolErrors).toEqual({});
  });

  it('an oversized packet closes that connection; a packet just under the limit is accepted', async () => {
    t = await startTestBroker({ maxPacketSize: 8 * 1024 });
    const ingest = await t.connect('ingest', { clientId: 'ingest-1' });
    const got = collect(ingest);
    await ingest.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });

    const topic = deviceTopic('air', 'air-01', 'air');
    const dev = await t.connect('air-01');
    const fits = 'x'.repeat(8 * 1024 - 2 - 2 - topic.length - 2 - 1); // header 1 + length 2, topic 2+len, message id 2
    await dev.publishAsync(topic, fits, { qos: 1 });
    await waitFor(() => got.length === 1, 5000, 20, 'largest allowed packet');

    const gone = closed(dev);
    dev.publish(topic, 'y'.repeat(8 * 1024), { qos: 0 });
    await gone;
    expect(t.broker.metrics().protocolErrors).toEqual({ oversized: 1 });
    expect(got.map((m) => m.payload.length)).toEqual([fits.length]);
    await stillServes(t, 'air-01');
  });

  it('a header announcing a huge packet is refused before its body arrives (default 64 KiB limit)', async () => {
    t = await startTestBroker();
    const s = await t.raw();
    await rawConnect(s, 'cam-01');
    const gone = closed(s);
    // PUBLISH announcing 200 MB, followed by only a few bytes: closed on the header alone
    s.write(Buffer.concat([Buffer.from([0x30]), varint(200 * 1024 * 1024), Buffer.from('abc')]));
    await gone;
    expect(t.broker.metrics().protocolErrors).toEqual({ oversized: 1 });
    await stillServes(t);
  });

  it('a connection that never sends CONNECT is closed after the connect timeout', async () => {
    t = await startTestBroker({ connectTimeoutMs: 300 });
    const s = await t.raw();
    const started = Date.now();
    await closed(s);
    expect(Date.now() - started).toBeLessThan(5000);
    await waitFor(() => t.broker.metrics().protocolErrors.connect_timeout === 1, 2000, 20, 'connect_timeout counted');
  });
});
