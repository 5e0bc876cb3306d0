/**
 * A QoS 1 message whose publish completes after a newer one (its session enqueue was slower) is
 * still delivered to the online persistent subscriber — Aedes' per-client dedupe would skip it
 * and leave it in the session queue until the subscriber reconnects.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTopic, SUB_ALL_DEVICE_DATA } from '../contract';
import { waitFor } from '../testing/net';
import { collect, startTestBroker, type TestBroker } from './test-support';

const started: TestBroker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.close()));
});

type Enqueue = (subs: unknown[], packet: { payload: Buffer }) => Promise<void>;

describe('delivery of publishes that complete out of order', () => {
  it('an older message overtaken by a newer one still reaches the online persistent subscriber', async () => {
    const t = await startTestBroker();
    started.push(t);
    const sub = await t.connect('ingest', { clientId: 'dedupe-ingest', clean: false });
    await sub.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
    const got = collect(sub);
    const persistence = (t.broker.aedes as unknown as { persistence: { outgoingEnqueueCombi: Enqueue } }).persistence;
    const real = persistence.outgoingEnqueueCombi.bind(persistence);
    persistence.outgoingEnqueueCombi = async (subs, packet) => {
      if (packet.payload.toString() === 'older') await new Promise((r) => setTimeout(r, 300)); // a slow disk write
      await real(subs, packet);
    };
    const dev = await t.connect('truck-01');
    const topic = deviceTopic('truck', 'truck-01', 'gps');
    await Promise.all([dev.publishAsync(topic, 'older', { qos: 1 }), dev.publishAsync(topic, 'newer', { qos: 1 })]);
    await waitFor(() => got.length >= 2, 5000, 20, 'both messages delivered on the same connection');
    expect(got.map((m) => m.payload).sort()).toEqual(['newer', 'older']);
  });
});
