/**
 * The broker's session persistence on Redis, for a cluster of brokers: `aedes-persistence-redis`
 * 11.2.2 (the line Aedes 1.x declares, `^11.2.1`) with its outgoing queue made O(1) per message.
 *
 * Upstream keeps each persistent client's QoS 1 queue as a Redis list of packet keys. Enqueue is
 * an RPUSH (fine), but every PUBACK runs `LREM <list> 0 <key>`: count 0 means "remove every
 * occurrence", so Redis walks the WHOLE list on every acknowledgement — O(queue length) per
 * message, exactly when ingest has a backlog. And a reconnecting client gets only the first
 * 1,001 queued messages (`maxSessionDelivery`, default 1000): the rest stay in Redis until its
 * next reconnect. This thin subclass replaces only the outgoing-queue methods:
 *
 * - enqueue: one MULTI (packet + its subscriber count + one RPUSH per subscriber) = 1 round trip,
 *   atomic (upstream: 1 + one per subscriber, not atomic);
 * - update (delivery): one SET of the packet with its message id = 1 round trip (as upstream);
 * - clear (PUBACK): one Lua script = 1 round trip: `LREM <list> 1 <key>` stops at the first
 *   match from the head — acknowledgements come in queue order (ingest acknowledges in arrival
 *   order), so the match is at or near the head: O(1), not O(queue); then DECR the packet's
 *   subscriber count and DEL the packet when it reaches 0, atomically (upstream: 4–5 round trips);
 * - stream (reconnect): the whole queue, in order, fetched 500 packets per MGET (upstream: the
 *   first 1,001, one GET each).
 *
 * - subscribe: Aedes 1.2 calls `addSubscriptions(client, packet.subscriptions)` once PER TOPIC of
 *   a SUBSCRIBE packet, in parallel; upstream's BroadcastPersistence then waits for its own
 *   `$SYS/sub/add` echo under one key (client id + first topic) per call, so with 2+ topics in a
 *   persistent client's SUBSCRIBE all but one call wait forever and the SUBACK never comes
 *   (ingest subscribes 7 filters in one packet). Calls with the same subscriptions array share
 *   one store-and-broadcast here.
 *
 * The message-id → key map is kept per broker in memory, as upstream's (a client is connected to
 * one broker at a time; on a reconnect the stream re-delivers and re-maps every queued message).
 * `roundTrips` counts the Redis round trips these methods make (the benchmark divides by messages).
 * Proven by broker/redis-persistence.test.ts (behaviour against upstream, per-message cost flat in
 * the queue length, durability across a broker kill).
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { connectRedis } from '../lib/redis';
import { withDefaults } from '../lib/options';

const require = createRequire(import.meta.url);
const AsyncRedisPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (opts: object) => object;
const { CallBackPersistence } = require('aedes-persistence/callBackPersistence.js') as {
  CallBackPersistence: new (factory: (opts: object) => object, opts?: object) => object;
};
const msgpack = require('msgpack-lite') as { encode(v: unknown): Buffer; decode(b: Buffer): OutPacket };
const Packet = require('aedes-packet') as new (p: object) => OutPacket;

interface OutPacket {
  cmd?: string;
  brokerId: string;
  brokerCounter: number | string;
  messageId?: number;
  [k: string]: unknown;
}
interface ClientRef {
  id: string;
}

// the key layout of aedes-persistence-redis 11 (asyncPersistence.js), kept so both read the same data
const outgoingKey = (clientId: string) => `outgoing:${encodeURIComponent(clientId)}`;
const packetKey = (brokerId: string, counter: number | string) => `packet:${brokerId}:${counter}`;
const packetCountKey = (brokerId: string, counter: number | string) => `packet:${brokerId}:${counter}:offlineCount`;
const qos2Key = (clientId: string, brokerId: string, counter: number | string) => `${outgoingKey(clientId)}:${brokerId}:${counter}`;

/** KEYS: list, clientKey (what the list holds), pktKey, countKey → the stored packet (or nil) */
const CLEAR_SCRIPT = `
local buf = redis.call('GET', KEYS[2])
redis.call('LREM', KEYS[1], 1, KEYS[2])
if KEYS[2] ~= KEYS[3] then
  redis.call('DEL', KEYS[2])
  redis.call('LREM', KEYS[1], 1, KEYS[3])
end
local n = redis.call('DECR', KEYS[4])
if n <= 0 then redis.call('DEL', KEYS[3], KEYS[4]) end
return buf
`;

type ClearFn = (list: string, clientKey: string, pktKey: string, countKey: string) => Promise<Buffer | null>;

export interface RedisPersistenceOptions {
  /** redis://[:password@]host:port[/db] */
  url: string;
  /** packets fetched per MGET when a client's queue is streamed on reconnect */
  streamChunk?: number;
}

/** defaults of the options (lib/options.ts) */
export const REDIS_PERSISTENCE_DEFAULTS = { streamChunk: 500 };

export class IndexedRedisPersistence extends (AsyncRedisPersistence as new (opts: object) => object) {
  readonly db: Redis;
  /** Redis round trips made by the outgoing-queue methods (enqueue, update, clear, stream) */
  roundTrips = 0;
  readonly #chunk: number;
  /** `${clientId}\u0000${messageId}` → [key in the client's list, packet key] */
  readonly #byMessageId = new Map<string, [string, string]>();
  /** SUBSCRIBE packets being stored (see the header: one store-and-broadcast per packet) */
  readonly #adding = new WeakMap<object, Promise<unknown>>();

  constructor(opts: RedisPersistenceOptions & { conn: Redis }) {
    super({ conn: opts.conn });
    this.db = opts.conn;
    this.#chunk = withDefaults(REDIS_PERSISTENCE_DEFAULTS, opts).streamChunk;
    this.db.defineCommand('aedesOutgoingClear', { numberOfKeys: 4, lua: CLEAR_SCRIPT });
  }

  addSubscriptions(client: ClientRef, subs: object[]): Promise<unknown> {
    let p = this.#adding.get(subs);
    if (!p) {
      const parent = (AsyncRedisPersistence as unknown as { prototype: { addSubscriptions(c: ClientRef, s: object[]): Promise<unknown> } }).prototype;
      p = parent.addSubscriptions.call(this, client, subs);
      this.#adding.set(subs, p);
      const forget = () => this.#adding.delete(subs);
      p.then(forget, forget);
    }
    return p;
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: OutPacket): Promise<void> {
    await this.outgoingEnqueueCombi([sub], packet);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: OutPacket): Promise<void> {
    if (!subs || subs.length === 0) return;
    const pktKey = packetKey(packet.brokerId, packet.brokerCounter);
    const m = this.db.multi().mset(pktKey, msgpack.encode(new Packet(packet)), packetCountKey(packet.brokerId, packet.brokerCounter), subs.length);
    for (const s of subs) m.rpush(outgoingKey(s.clientId), pktKey);
    this.roundTrips++;
    const res = await m.exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw failed?.[0] ?? new Error('redis MULTI aborted');
  }

  async outgoingUpdate(client: ClientRef, packet: OutPacket): Promise<void> {
    if (!('brokerId' in packet && 'messageId' in packet)) {
      const known = this.#byMessageId.get(`${client.id}\u0000${packet.messageId}`);
      if (!known) throw new Error('unknown key');
      const tokens = known[1].split(':');
      packet.brokerId = tokens[tokens.length - 2]!;
      packet.brokerCounter = tokens[tokens.length - 1]!;
    }
    const pktKey = packetKey(packet.brokerId, packet.brokerCounter);
    const idKey = `${client.id}\u0000${packet.messageId}`;
    if (packet.cmd && packet.cmd !== 'pubrel') {
      // QoS 1 delivery: the shared packet now carries this delivery's message id
      this.#byMessageId.set(idKey, [pktKey, pktKey]);
      this.roundTrips++;
      if ((await this.db.set(pktKey, msgpack.encode(packet))) !== 'OK') throw new Error('no such packet');
      return;
    }
    // QoS 2 PUBREL: the client's own copy replaces the shared key in its list (as upstream)
    const own = qos2Key(client.id, packet.brokerId, packet.brokerCounter);
    this.#byMessageId.set(idKey, [own, pktKey]);
    const list = outgoingKey(client.id);
    this.roundTrips++;
    const res = await this.db.multi().lrem(list, 1, pktKey).rpush(list, own).set(own, msgpack.encode(packet)).exec();
    if (!res || res.some(([err]) => err)) throw new Error('no such packet');
  }

  async outgoingClearMessageId(client: ClientRef, packet: { messageId: number }): Promise<OutPacket | undefined> {
    const idKey = `${client.id}\u0000${packet.messageId}`;
    const known = this.#byMessageId.get(idKey);
    if (!known) return undefined;
    this.#byMessageId.delete(idKey);
    const [clientKey, pktKey] = known;
    const countKey = `${pktKey}:offlineCount`;
    this.roundTrips++;
    const buf = await (this.db as unknown as { aedesOutgoingClearBuffer: ClearFn }).aedesOutgoingClearBuffer(outgoingKey(client.id), clientKey, pktKey, countKey);
    if (!buf) return undefined;
    const orig = msgpack.decode(buf);
    orig.messageId = packet.messageId;
    return orig;
  }

  outgoingStream(client: ClientRef): AsyncIterable<OutPacket> {
    const db = this.db;
    const list = outgoingKey(client.id);
    const chunk = this.#chunk;
    const count = () => this.roundTrips++;
    return (async function* () {
      count();
      const keys = await db.lrange(list, 0, -1);
      for (let i = 0; i < keys.length; i += chunk) {
        const part = keys.slice(i, i + chunk);
        count();
        const values = await db.mgetBuffer(...part);
        const gone: string[] = [];
        for (let j = 0; j < part.length; j++) {
          const v = values[j];
          if (v) yield msgpack.decode(v);
          else gone.push(part[j]!);
        }
        // a packet that expired or was cleared meanwhile: drop its stale list entry (as upstream)
        for (const k of gone) void db.lrem(list, 1, k).catch(() => {});
      }
    })();
  }

  /** messages queued for a client (tests, runbook) */
  async outgoingSize(clientId: string): Promise<number> {
    return this.db.llen(outgoingKey(clientId));
  }
}

export interface OpenedRedisPersistence {
  aedes: object;
  inner: IndexedRedisPersistence;
}

/** The Aedes persistence object (callback + promise API, as the package's factory returns). */
export function indexedRedisPersistence(opts: RedisPersistenceOptions): OpenedRedisPersistence {
  const conn = connectRedis(opts.url, 'aedes-persistence');
  let inner: IndexedRedisPersistence | undefined;
  const aedes = new CallBackPersistence((o) => (inner = new IndexedRedisPersistence({ ...(o as RedisPersistenceOptions), conn })), opts);
  return { aedes, inner: inner! };
}
