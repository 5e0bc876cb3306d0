/**
 * Back-pressure and store outages end to end: while the store cannot write, ingest holds at most
 * `maxInFlight` un-acknowledged messages (it stops reading from the broker; the broker keeps the
 * rest in the session), and once the store is back every message is stored exactly once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deviceTopic } from '../contract';
import type { TelemetryStore } from '../store/types';
import { waitFor } from '../testing/net';
import { gpsFix, publish, startStack, type Stack } from './test-support';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(null);
}, 30_000);
afterAll(async () => {
  await stack?.close();
}, 30_000);

it('holds at most maxInFlight messages while the store is down, retries, and stores everything once it is back', async () => {
  let down = true;
  let failedWrites = 0;
  const outage = Object.create(stack.store) as TelemetryStore;
  outage.writeBatch = async (records) => {
    if (down) {
      failedWrites++;
      throw Object.assign(new Error('connection refused'), { code: 'E_STORE_WRITE' });
    }
    return stack.store.writeBatch(records);
  };
  const ingest = await stack.startIngest({ store: outage, clientId: 'ingest-bp', batchSize: 20, flushMs: 10, maxInFlight: 50, publishState: false });
  const dev = await stack.connect('truck-02');
  const topic = deviceTopic('truck', 'truck-02', 'gps');
  const N = 400;
  const t0 = Date.now() - 120_000;
  // the broker acknowledges the device's publishes whether or not ingest keeps up
  await Promise.all(Array.from({ length: N }, (_, i) => publish(dev, topic, JSON.stringify(gpsFix(t0 + i * 10)))));

  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, ingest.counters().inFlight)), 2);
  await waitFor(() => failedWrites >= 3 && ingest.counters().inFlight === 50, 10_000, 5, 'ingest saturated during the outage');
  await new Promise((r) => setTimeout(r, 300));
  const during = ingest.counters();
  expect(during.received).toBe(50); // it stopped reading: the other messages wait at the broker
  expect(during.written).toBe(0);
  expect(during.writeErrors).toBeGreaterThanOrEqual(3);
  expect(await stack.store.count({ deviceId: 'truck-02' })).toBe(0);

  down = false; // the store comes back
  await waitFor(async () => (await stack.store.count({ deviceId: 'truck-02', stream: 'gps' })) === N, 20_000, 50, 'everything stored after the outage');
  await waitFor(() => ingest.counters().inFlight === 0, 5000, 10, 'all acknowledged');
  clearInterval(sample);
  // maxInFlight device messages; a retained svc message (hotlist) waits in the same ordered queue
  expect(peak).toBeLessThanOrEqual(51);
  const c = ingest.counters();
  expect(c.received).toBe(N);
  expect(c.written).toBe(N);
  const ts = (await stack.store.track({ deviceId: 'truck-02', from: t0, to: t0 + N * 10 })).map((p) => p.ts);
  expect(ts).toEqual(Array.from({ length: N }, (_, i) => t0 + i * 10));
}, 60_000);
