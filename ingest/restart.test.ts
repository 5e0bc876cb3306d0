/**
 * Kill an ingest worker mid-stream and start a new one with the same client id: with QoS 1, a
 * persistent session and PUBACKs only after durable writes, every reading the device published
 * is in the store exactly once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deviceTopic } from '../contract';
import { waitFor } from '../testing/net';
import { gpsFix, publish, startStack, type Stack } from './test-support';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(null);
}, 30_000);
afterAll(async () => {
  await stack?.close();
}, 30_000);

it('a worker killed mid-stream and restarted with the same client id loses nothing and stores nothing twice', async () => {
  const N = 2000;
  // one store write at a time (ingest's default is several): the kill then finds messages queued
  // behind the write under way, not even being written — with several writes under way, all the
  // held messages may be in writes that land (batch-writer.test.ts covers the settling order)
  const opts = { clientId: 'ingest-crashy', batchSize: 100, flushMs: 20, maxInFlight: 300, maxWrites: 1, publishState: false };
  // the first worker's store is slow (250 ms per batch of ≤ 100: 400/s against ~1000/s published), so it holds received-but-unwritten messages
  const slowStore = Object.create(stack.store) as typeof stack.store;
  slowStore.writeBatch = async (records) => {
    await new Promise((r) => setTimeout(r, 250));
    return stack.store.writeBatch(records);
  };
  const first = await stack.startIngest({ ...opts, store: slowStore });
  const dev = await stack.connect('truck-01');
  const topic = deviceTopic('truck', 'truck-01', 'gps');
  const t0 = Date.now() - 60_000;
  const expected = Array.from({ length: N }, (_, i) => t0 + i * 7);

  // steady publisher: 10 readings every 10 ms (~1000/s), each awaited at QoS 1 by the end
  let published = 0;
  const acks: Promise<void>[] = [];
  const publisher = new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (let k = 0; k < 10 && published < N; k++, published++) {
        acks.push(publish(dev, topic, JSON.stringify(gpsFix(expected[published]!, { speedKmh: published % 100 }))));
      }
      if (published >= N) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });

  // crash the worker once part of the stream is stored (no flush, no PUBACKs for what it holds)
  // (more in flight than one batch holds = some are queued, not even being written)
  // (checked synchronously right before the kill: on a loaded machine an await in between lets the worker catch up)
  await waitFor(async () => (await stack.store.count({ deviceId: 'truck-01', stream: 'gps' })) >= 200, 20_000, 5, 'first worker mid-stream');
  await waitFor(
    () => {
      const c = first.counters();
      return c.inFlight > 120 && c.received - c.written > 120;
    },
    20_000,
    1,
    'first worker holding unwritten messages',
  );
  await first.kill();
  const atKill = { published, stored: await stack.store.count({ deviceId: 'truck-01', stream: 'gps' }), ...first.counters() };
  expect(atKill.published).toBeLessThan(N); // really mid-stream
  expect(atKill.received).toBeGreaterThan(atKill.written); // it died holding unwritten, un-acknowledged messages

  // the broker queues for the session meanwhile; a new worker takes over the same session
  await new Promise((r) => setTimeout(r, 200));
  const second = await stack.startIngest({ ...opts, batchSize: 1000, maxInFlight: 3000 });
  await publisher;
  await Promise.all(acks);

  await waitFor(async () => (await stack.store.count({ deviceId: 'truck-01', stream: 'gps' })) >= N, 30_000, 50, `all ${N} readings stored`);
  await waitFor(() => second.counters().inFlight === 0, 10_000, 20, 'second worker idle');
  await new Promise((r) => setTimeout(r, 300)); // nothing more trickles in

  expect(await stack.store.count({ deviceId: 'truck-01', stream: 'gps' })).toBe(N);
  const track = await stack.store.track({ deviceId: 'truck-01', from: t0, to: t0 + N * 7 });
  expect(track.length).toBe(N);
  expect(track.map((p) => p.ts)).toEqual(expected);
  const byTs = new Map(track.map((p) => [p.ts, p.speedKmh]));
  expect(expected.every((ts, i) => byTs.get(ts) === i % 100)).toBe(true);

  const c2 = second.counters();
  // each reading newly written exactly once across the two workers
  expect(atKill.written + c2.written).toBe(N);
  // the second worker received what the first had taken in but not acknowledged, plus the rest
  expect(c2.received).toBeGreaterThanOrEqual(N - atKill.stored);
  expect(c2.rejected.schema + c2.rejected.invalid_json).toBe(0);
  console.log(
    `restart: first worker received ${atKill.received}, wrote ${atKill.written} before the kill at ${atKill.published} published; ` +
      `second received ${c2.received}, wrote ${c2.written}, duplicates ${c2.duplicates} (redelivered, already stored)`,
  );
}, 60_000);
