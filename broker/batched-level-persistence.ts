/**
 * `aedes-persistence-level` (9.2.0, pinned) with its outgoing QoS 1 queue written in group
 * commits: a thin subclass that replaces only the outgoing-queue methods.
 *
 * Upstream, every message to a persistent-session subscriber (ingest) costs ~8 separate LevelDB
 * operations: enqueue (put), delivery `outgoingUpdate` (get, del, put, put — the packet with its
 * payload written twice, under its queue key and under its message id) and the PUBACK's
 * `outgoingClearMessageId` (get, batch of 2 dels). Each is its own async round trip through
 * LevelDB's thread pool; with durable sessions this made the broker alone ~4× dearer per message
 * than in memory (bench/README.md). Here:
 *
 * - enqueue: one `put` of the packet under its queue key, *awaited* (Aedes sends the publisher's
 *   PUBACK after it: a PUBACK still means "in LevelDB's log"), but all enqueues of one event-loop
 *   turn — and those arriving while a write is under way — share one `db.batch` (group commit);
 * - delivery (`outgoingUpdate`): no disk write; the message id ↔ queue key of each delivered,
 *   un-acknowledged message is kept in memory (bounded by the subscriber's in-flight window).
 *   After a broker crash a redelivered message gets a fresh message id instead of its old one
 *   (it is marked dup either way; QoS 1 is at-least-once and ingest de-duplicates);
 * - PUBACK (`outgoingClearMessageId`): the queue key's `del` rides in the next batch, not awaited
 *   (a crash before it reaches the log redelivers the message: a duplicate, never a loss).
 *   `outgoingStream` (a reconnect) first writes what is pending, so cleared messages are not
 *   resent and messages still in flight are resent with their message id.
 *
 * So ~2 LevelDB operations per message, batched. Upstream's `outgoing-id:` keys are not written;
 * those left by an older broker on the same directory are removed at setup (its packets carry
 * their message id under the queue key, which `outgoingStream` yields as before).
 * Proven by broker/batched-level-persistence.test.ts (upstream's semantics, the group commit,
 * durability across a reopen, the per-message cost).
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

const require = createRequire(import.meta.url);
// CommonJS internals of the pinned aedes-persistence-level (9.2.0): the async class and its callback wrapper
const AsyncLevelPersistence = require('aedes-persistence-level/asyncPersistence.js') as new (db: object) => {
  setup(broker: object): Promise<void>;
  outgoingStream(client: ClientRef): Readable;
};
const { CallBackPersistence } = require('aedes-persistence/callBackPersistence.js') as {
  CallBackPersistence: new (factory: (opts: object) => object, opts?: object) => object;
};
const Packet = require('aedes-packet') as new (p: object) => OutPacket;
// the encoder upstream decodes with: its own msgpack-lite, resolved from aedes-persistence-level
const msgpack = createRequire(require.resolve('aedes-persistence-level'))('msgpack-lite') as { encode(v: unknown): Buffer };

interface OutPacket {
  cmd?: string;
  topic?: string;
  qos?: number;
  brokerId: string;
  brokerCounter: number;
  messageId?: number;
  [k: string]: unknown;
}
interface ClientRef {
  id: string;
}
type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };
export interface LevelDb {
  batch(ops: Op[], opts: { valueEncoding: 'buffer' }): Promise<void>;
  clear(range: { gte: string; lt: string }): Promise<void>;
}

// the key layout of aedes-persistence-level 9.2.0 (asyncPersistence.js: outgoingKey, padId)
const padId = (id: number) => String(id).padStart(16, '0');
const outgoingPrefix = (clientId: string) => `outgoing:${encodeURIComponent(clientId)}:`;
const outgoingKey = (clientId: string, brokerId: string, brokerCounter: number) => `${outgoingPrefix(clientId)}${brokerId}:${padId(brokerCounter)}`;

/** A delivered, un-acknowledged message of one client. */
interface InFlight {
  key: string;
  brokerId: string;
  brokerCounter: number;
  topic: string | undefined;
  cmd: string | undefined;
  qos: number | undefined;
}

class ClientInFlight {
  readonly byMessageId = new Map<number, InFlight>();
  readonly messageIdOfKey = new Map<string, number>();
}

export interface WriteStats {
  /** db.batch calls */
  batches: number;
  /** operations written (puts + dels) */
  ops: number;
}

export class BatchedLevelPersistence extends AsyncLevelPersistence {
  readonly #db: LevelDb;
  #inFlight = new Map<string, ClientInFlight>();
  #pending: Op[] = [];
  #waiters: { resolve(): void; reject(e: Error): void }[] = [];
  #writing: Promise<void> | null = null;
  #scheduled = false;
  readonly stats: WriteStats = { batches: 0, ops: 0 };

  constructor(db: LevelDb) {
    super(db);
    this.#db = db;
  }

  override async setup(broker: object): Promise<void> {
    // message-id keys an older (upstream) broker left: never read by this class
    await this.#db.clear({ gte: 'outgoing-id:', lt: 'outgoing-id;' });
    await super.setup(broker);
  }

  #client(id: string): ClientInFlight {
    let c = this.#inFlight.get(id);
    if (!c) this.#inFlight.set(id, (c = new ClientInFlight()));
    return c;
  }

  /** Queue an operation for the next batch; the promise resolves once that batch is written. */
  #add(op: Op, wait: boolean): Promise<void> | void {
    this.#pending.push(op);
    this.#schedule();
    if (wait) return new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#writeNext();
    });
  }

  #writeNext(): Promise<void> {
    if (this.#writing || this.#pending.length === 0) return this.#writing ?? Promise.resolve();
    const ops = this.#pending;
    const waiters = this.#waiters;
    this.#pending = [];
    this.#waiters = [];
    this.stats.batches++;
    this.stats.ops += ops.length;
    this.#writing = this.#db
      .batch(ops, { valueEncoding: 'buffer' })
      .then(
        () => {
          for (const w of waiters) w.resolve();
        },
        (err: Error) => {
          for (const w of waiters) w.reject(err);
        },
      )
      .finally(() => {
        this.#writing = null;
        // what arrived during the write is the next group
        if (this.#pending.length) void this.#writeNext();
      });
    return this.#writing;
  }

  /** Write everything pending (a reconnect's stream, close). */
  async flush(): Promise<void> {
    while (this.#writing || this.#pending.length) {
      await (this.#writing ?? this.#writeNext()).catch(() => undefined);
    }
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: OutPacket): Promise<void> {
    const p = new Packet(packet);
    await this.#add({ type: 'put', key: outgoingKey(sub.clientId, p.brokerId, p.brokerCounter), value: msgpack.encode(p) }, true);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[] | undefined, packet: OutPacket): Promise<void> {
    if (!subs || subs.length === 0) return;
    const p = new Packet(packet);
    const value = msgpack.encode(p); // the same bytes for every subscriber
    // all in the same pending group, so one waiter covers them (and no un-awaited promise can reject unhandled)
    for (let i = 0; i < subs.length - 1; i++) void this.#add({ type: 'put', key: outgoingKey(subs[i]!.clientId, p.brokerId, p.brokerCounter), value }, false);
    await this.#add({ type: 'put', key: outgoingKey(subs.at(-1)!.clientId, p.brokerId, p.brokerCounter), value }, true);
  }

  async outgoingUpdate(client: ClientRef, packet: OutPacket): Promise<void> {
    const c = this.#client(client.id);
    if (!packet.brokerId) {
      // a PUBREL (QoS 2) names only its message id
      const f = typeof packet.messageId === 'number' ? c.byMessageId.get(packet.messageId) : undefined;
      if (!f) throw new Error('no such packet');
      packet.brokerId = f.brokerId;
      packet.brokerCounter = f.brokerCounter;
    }
    const key = outgoingKey(client.id, packet.brokerId, packet.brokerCounter);
    const old = c.messageIdOfKey.get(key);
    if (old !== undefined && c.byMessageId.get(old)?.key === key) c.byMessageId.delete(old);
    if (typeof packet.messageId === 'number') {
      c.byMessageId.set(packet.messageId, { key, brokerId: packet.brokerId, brokerCounter: packet.brokerCounter, topic: packet.topic, cmd: packet.cmd, qos: packet.qos });
      c.messageIdOfKey.set(key, packet.messageId);
    }
    // a PUBREL replaces the PUBLISH in the queue (QoS 2 survives a restart as upstream's does)
    if (packet.cmd === 'pubrel') await this.#add({ type: 'put', key, value: msgpack.encode(packet) }, true);
  }

  async outgoingClearMessageId(client: ClientRef, packet: { messageId?: number }): Promise<OutPacket | undefined> {
    const c = this.#inFlight.get(client.id);
    const f = c && typeof packet.messageId === 'number' ? c.byMessageId.get(packet.messageId) : undefined;
    if (!c || !f) return undefined;
    c.byMessageId.delete(packet.messageId!);
    c.messageIdOfKey.delete(f.key);
    if (c.byMessageId.size === 0) this.#inFlight.delete(client.id);
    void this.#add({ type: 'del', key: f.key }, false); // not awaited: settles with the pending group (it never rejects alone)
    return { cmd: f.cmd, topic: f.topic, qos: f.qos, brokerId: f.brokerId, brokerCounter: f.brokerCounter, messageId: packet.messageId };
  }

  override outgoingStream(client: ClientRef): Readable {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- a generator cannot be an arrow function: `self` is its `this`
    const self = this;
    async function* gen() {
      await self.flush();
      const ids = self.#inFlight.get(client.id);
      for await (const p of super_outgoingStream(self, client) as AsyncIterable<OutPacket>) {
        const id = ids?.messageIdOfKey.get(outgoingKey(client.id, p.brokerId, p.brokerCounter));
        if (id !== undefined) p.messageId = id;
        else if (typeof p.messageId === 'number' && p.messageId > 0 && ids?.byMessageId.has(p.messageId)) delete p.messageId; // an old id now used by another message
        yield p;
      }
    }
    return Readable.from(gen());
  }

  /** Delivered, un-acknowledged messages of a client (tests). */
  inFlightOf(clientId: string): number {
    return this.#inFlight.get(clientId)?.byMessageId.size ?? 0;
  }
}

// `super` is not reachable from the generator above
function super_outgoingStream(self: BatchedLevelPersistence, client: ClientRef): Readable {
  return (AsyncLevelPersistence.prototype as InstanceType<typeof AsyncLevelPersistence>).outgoingStream.call(self, client);
}

/** The Aedes persistence object (callback + promise API), on an open `level` database. */
export function batchedLevelPersistence(db: LevelDb): { aedes: object; async: BatchedLevelPersistence } {
  let inst: BatchedLevelPersistence | null = null;
  const aedes = new CallBackPersistence(() => (inst = new BatchedLevelPersistence(db)));
  return { aedes, async: inst! };
}
