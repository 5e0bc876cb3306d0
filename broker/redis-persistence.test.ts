/**
 * The Redis persistence (BROKER_PERSISTENCE=redis) against a real redis-server: the O(1) outgoing
 * queue behaves like upstream's and its server time per message does not grow with the queue;
 * a PUBACK means the message is in Redis in ingest's session queue; a session made on one broker
 * is resumed, with its queued messages, on another broker of the same Redis.
 */
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { deviceTopic, SUB_DEVICE_DATA_BY_KIND } from '../contract';
import { waitFor } from '../testing/net';
import { redisSuiteGate, startRedis, type RedisServer } from '../testing/redis';
import { IndexedRedisPersistence } from './redis-persistence';
import { collect, startTestBroker, type TestBroker } from './test-support';

const require = createRequire(import.meta.url);
const UpstreamRedis = require('aedes-persistence-redis/asyncPersistence.js') as new (o: object) => AsyncP;

interface AsyncP {
  setup(b: object): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], p: object): Promise<void>;
  outgoingUpdate(c: { id: string }, p: object): Promise<void>;
  outgoingClearMessageId(c: { id: string }, p: { messageId: number }): Promise<{ messageId?: number } | undefined>;
  outgoingStream(c: { id: string }): AsyncIterable<{ payload: unknown; messageId?: number }>;
  destroy(): Promise<void>;
}

const run = redisSuiteGate('broker/redis-persistence');
const packet = (counter: number) => ({
  cmd: 'publish',
  topic: 'city/v1/truck/t1/gps',
  payload: Buffer.from(`m${counter}`),
  qos: 1,
  retain: false,
  dup: false,
  brokerId: 'brokerA',
  brokerCounter: counter,
});

/** what BroadcastPersistence needs from a broker: subscribe/publish on $SYS (no other node here) */
const brokerStub = () => ({
  id: 'brokerA',
  subscribe: (_t: string, _f: unknown, done: () => void) => done(),
  unsubscribe: (_t: string, _f: unknown, done: () => void) => done(),
  publish: (_p: unknown, done: () => void) => done(),
});

async function drain(s: AsyncIterable<{ payload: unknown; messageId?: number }>) {
  const out: { payload: string; messageId?: number }[] = [];
  for await (const p of s) out.push({ payload: String(p.payload), messageId: p.messageId });
  return out;
}

describe.runIf(run)('Redis session persistence', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis({ password: 'test-redis-pw' });
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
  });
  const conns: Redis[] = [];
  const make = async (kind: 'upstream' | 'ours', db: number): Promise<AsyncP> => {
    const conn = new Redis(`${redis.url}/${db}`, { enableAutoPipelining: true });
    conns.push(conn);
    await conn.flushdb();
    const p = kind === 'ours' ? (new IndexedRedisPersistence({ url: redis.url, conn }) as unknown as AsyncP) : new UpstreamRedis({ conn });
    await p.setup(brokerStub());
    return p;
  };
  afterEach(async () => {
    await Promise.all(conns.splice(0).map((c) => c.quit().catch(() => {})));
  });

  it('enqueue, update, stream and clear behave as upstream’s', async () => {
    const results: unknown[] = [];
    for (const [kind, db] of [
      ['upstream', 1],
      ['ours', 2],
    ] as const) {
      const p = await make(kind, db);
      const client = { id: 'ingest-1' };
      for (let i = 1; i <= 5; i++) await p.outgoingEnqueueCombi([{ clientId: client.id }, { clientId: 'other' }], packet(i));
      await p.outgoingUpdate(client, { ...packet(2), messageId: 42 });
      await p.outgoingUpdate(client, { ...packet(4), messageId: 7 });
      const before = await drain(p.outgoingStream(client));
      const cleared = (await p.outgoingClearMessageId(client, { messageId: 42 }))?.messageId;
      const again = await p.outgoingClearMessageId(client, { messageId: 42 });
      const after = (await drain(p.outgoingStream(client))).map((m) => m.payload);
      const other = (await drain(p.outgoingStream({ id: 'other' }))).length;
      results.push({ before, cleared, again, after, other });
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[1]).toMatchObject({ cleared: 42, again: undefined, after: ['m1', 'm3', 'm4', 'm5'], other: 5 });
  });

  it('streams the whole queue on reconnect (upstream: the first 1,001)', async () => {
    const counts: number[] = [];
    for (const [kind, db] of [
      ['upstream', 3],
      ['ours', 4],
    ] as const) {
      const p = await make(kind, db);
      for (let i = 1; i <= 1500; i++) await p.outgoingEnqueueCombi([{ clientId: 'ingest-1' }], packet(i));
      const got = await drain(p.outgoingStream({ id: 'ingest-1' }));
      counts.push(got.length);
      if (kind === 'ours') expect(got.map((m) => m.payload)).toEqual(Array.from({ length: 1500 }, (_, i) => `m${i + 1}`));
    }
    expect(counts).toEqual([1001, 1500]);
  });

  it('server time per PUBACK does not grow with the queue (upstream LREM 0 walks the whole list)', async () => {
    /** Redis server µs per message spent clearing `window` in-order acknowledgements at the head of a queue of `queued` */
    const clearCost = async (kind: 'upstream' | 'ours', db: number, queued: number, window: number) => {
      const p = await make(kind, db);
      const c = { id: `ingest-${queued}` };
      for (let i = 1; i <= queued; i++) await p.outgoingEnqueueCombi([{ clientId: c.id }], packet(i));
      for (let i = 1; i <= window; i++) await p.outgoingUpdate(c, { ...packet(i), messageId: i });
      await redis.resetStats();
      for (let i = 1; i <= window; i++) await p.outgoingClearMessageId(c, { messageId: i });
      const s = await redis.stats();
      const usec =
        kind === 'ours'
          ? (s.evalsha?.usec ?? 0) + (s.eval?.usec ?? 0)
          : Object.entries(s)
              .filter(([k]) => ['lrem', 'decr', 'del', 'get'].includes(k))
              .reduce((a, [, v]) => a + v.usec, 0);
      return usec / window;
    };
    const oursSmall = await clearCost('ours', 5, 1_000, 500);
    const oursLarge = await clearCost('ours', 6, 20_000, 500);
    const upSmall = await clearCost('upstream', 7, 1_000, 500);
    const upLarge = await clearCost('upstream', 8, 20_000, 500);
    console.log(`Redis outgoing queue, server µs per PUBACK: ours ${oursSmall.toFixed(1)} @1k, ${oursLarge.toFixed(1)} @20k; upstream ${upSmall.toFixed(1)} @1k, ${upLarge.toFixed(1)} @20k`);
    expect(oursLarge).toBeLessThan(Math.max(oursSmall, 2) * 3); // flat (×20 the queue)
    expect(upLarge).toBeGreaterThan(upSmall * 5); // what the subclass fixes
    expect(oursLarge).toBeLessThan(upLarge);
  }, 120_000);

  describe('through the broker', () => {
    const started: TestBroker[] = [];
    afterEach(async () => {
      await Promise.all(started.splice(0).map((t) => t.close()));
    });

    it('a PUBACK means the message is in Redis in ingest’s queue; another broker of the same Redis resumes the session', async () => {
      const url = `${redis.url}/9`;
      const flush = new Redis(url);
      await flush.flushdb();
      await flush.quit();
      const a = await startTestBroker({ persistence: { kind: 'redis', url }, id: 'node-a' });
      started.push(a);
      const sub = await a.connect('ingest', { clientId: 'ingest-1', clean: false });
      await sub.subscribeAsync(
        SUB_DEVICE_DATA_BY_KIND.map((t) => t),
        { qos: 1 },
      );
      await sub.endAsync();
      const dev = await a.connect('truck-01');
      for (let i = 0; i < 50; i++) {
        await dev.publishAsync(deviceTopic('truck', 'truck-01', 'gps'), `fix-${i}`, { qos: 1 });
        // the PUBACK has arrived: the message is already in ingest's session queue in Redis
        expect(await a.broker.persistence.redis!.outgoingSize('ingest-1')).toBe(i + 1);
      }
      await dev.endAsync();

      const b = await startTestBroker({ persistence: { kind: 'redis', url }, id: 'node-b' });
      started.push(b);
      const back = await b.connect('ingest', { clientId: 'ingest-1', clean: false });
      const got = collect(back);
      await waitFor(() => got.length === 50, 15_000, 20, 'queued messages on the other broker');
      expect(got.map((m) => m.payload)).toEqual(Array.from({ length: 50 }, (_, i) => `fix-${i}`));
      // MQTT.js acknowledged them: the queue empties
      await waitFor(async () => (await b.broker.persistence.redis!.outgoingSize('ingest-1')) === 0, 10_000, 20, 'queue drained');
      expect(b.broker.persistence.redis!.roundTrips).toBeGreaterThan(0);
    }, 60_000);

    it('one Redis pattern per node for city/ traffic, however many filters its clients hold; messages still cross nodes', async () => {
      const url = `${redis.url}/10`;
      const a = await startTestBroker({ persistence: { kind: 'redis', url }, id: 'node-a' });
      started.push(a);
      const b = await startTestBroker({ persistence: { kind: 'redis', url }, id: 'node-b' });
      started.push(b);
      const admin = redis.client();
      const numpat = async () => Number(await admin.pubsub('NUMPAT'));
      const before = await numpat();
      // 200 per-device filters on node B (what a partitioned ingest worker holds)
      const sub = await b.connect('ingest', { clientId: 'ingest-2' });
      await sub.subscribeAsync(Array.from({ length: 200 }, (_, i) => `city/v1/truck/truck-${i}/+`).concat('city/v1/truck/truck-01/+'), { qos: 1 });
      expect(await numpat()).toBeLessThanOrEqual(before + 1);
      const got = collect(sub);
      const dev = await a.connect('truck-01');
      await dev.publishAsync(deviceTopic('truck', 'truck-01', 'gps'), 'across', { qos: 1 });
      await waitFor(() => got.length === 1, 10_000, 20, 'message from node A on node B');
      expect(got.map((m) => m.payload)).toEqual(['across']);
      admin.disconnect();
    }, 60_000);
  });
});
