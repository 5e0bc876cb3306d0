/**
 * Aedes' in-memory persistence (aedes-persistence 11) with an indexed outgoing queue.
 *
 * Upstream keeps each persistent-session client's outgoing QoS 1/2 queue as an array: every
 * delivery runs `outgoingUpdate` (a linear scan from the front) and every PUBACK runs
 * `outgoingClearMessageId` (a scan plus a splice). For ingest's `clean: false` subscription with
 * thousands of messages in flight plus a backlog, the per-message cost grows with the queue.
 * This thin subclass replaces only the outgoing methods: per client, one insertion-ordered Map
 * keyed by (brokerId, brokerCounter) — the queue order — and one Map messageId → key. Enqueue,
 * update and clear are O(1); the stream still yields in enqueue order.
 * The semantics follow upstream's (including a messageId reused by a packet of another broker).
 * Proven by broker/indexed-memory-persistence.test.ts (behaviour and per-message cost).
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

const require = createRequire(import.meta.url);
// CommonJS internals of the pinned aedes-persistence (11.0.0): the async class and its callback wrapper
const AsyncMemoryPersistence = require('aedes-persistence/asyncPersistence.js') as new (opts?: object) => object;
const { CallBackPersistence } = require('aedes-persistence/callBackPersistence.js') as {
  CallBackPersistence: new (factory: (opts: object) => object, opts?: object) => object;
};
const Packet = require('aedes-packet') as new (p: object) => OutPacket;

interface OutPacket {
  brokerId: string;
  brokerCounter: number;
  messageId?: number;
  [k: string]: unknown;
}
interface ClientRef {
  id: string;
}

class OutgoingQueue {
  /** queue order = insertion order; key `${brokerId}:${brokerCounter}` */
  readonly byKey = new Map<string, OutPacket>();
  readonly byMessageId = new Map<number, string>();
}

const keyOf = (p: { brokerId: string; brokerCounter: number }) => `${p.brokerId}:${p.brokerCounter}`;

export class IndexedMemoryPersistence extends (AsyncMemoryPersistence as new (opts?: object) => object) {
  #outgoing = new Map<string, OutgoingQueue>();

  #queue(clientId: string): OutgoingQueue {
    let q = this.#outgoing.get(clientId);
    if (!q) this.#outgoing.set(clientId, (q = new OutgoingQueue()));
    return q;
  }

  #enqueue(clientId: string, packet: OutPacket): void {
    const q = this.#queue(clientId);
    const p = new Packet(packet);
    const key = keyOf(p);
    q.byKey.delete(key); // (never happens for a fresh broker counter; keeps the order honest if it does)
    q.byKey.set(key, p);
    if (typeof p.messageId === 'number' && p.messageId > 0) q.byMessageId.set(p.messageId, key);
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: OutPacket): Promise<void> {
    this.#enqueue(sub.clientId, packet);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: OutPacket): Promise<void> {
    for (const s of subs ?? []) this.#enqueue(s.clientId, packet);
  }

  async outgoingUpdate(client: ClientRef, packet: OutPacket): Promise<void> {
    const q = this.#queue(client.id);
    const key = keyOf(packet);
    const own = q.byKey.get(key);
    if (own) {
      if (typeof own.messageId === 'number' && q.byMessageId.get(own.messageId) === key) q.byMessageId.delete(own.messageId);
      own.messageId = packet.messageId;
      if (typeof packet.messageId === 'number') q.byMessageId.set(packet.messageId, key);
      return;
    }
    // upstream: a packet of another broker carrying the same messageId replaces that entry in place
    const otherKey = typeof packet.messageId === 'number' ? q.byMessageId.get(packet.messageId) : undefined;
    const other = otherKey === undefined ? undefined : q.byKey.get(otherKey);
    if (otherKey !== undefined && other && other.brokerId !== packet.brokerId) {
      // replace in place: rebuild the key without moving it in the queue order
      const entries = [...q.byKey.entries()];
      q.byKey.clear();
      for (const [k, v] of entries) {
        if (k === otherKey) q.byKey.set(key, packet);
        else q.byKey.set(k, v);
      }
      q.byMessageId.set(packet.messageId!, key);
      return;
    }
    throw new Error('no such packet');
  }

  async outgoingClearMessageId(client: ClientRef, packet: { messageId: number }): Promise<OutPacket | undefined> {
    const q = this.#outgoing.get(client.id);
    if (!q) return undefined;
    const key = q.byMessageId.get(packet.messageId);
    if (key === undefined) return undefined;
    q.byMessageId.delete(packet.messageId);
    const p = q.byKey.get(key);
    q.byKey.delete(key);
    if (q.byKey.size === 0 && q.byMessageId.size === 0) this.#outgoing.delete(client.id);
    return p;
  }

  outgoingStream(client: ClientRef): Readable {
    // a snapshot, as upstream does (avoids races with concurrent updates)
    const q = this.#outgoing.get(client.id);
    return Readable.from(q ? [...q.byKey.values()] : []);
  }

  /** Messages queued for a client (tests, metrics). */
  outgoingSize(clientId: string): number {
    return this.#outgoing.get(clientId)?.byKey.size ?? 0;
  }
}

/** The Aedes persistence object (callback + promise API, as `aedes-persistence`'s factory returns). */
export function indexedMemoryPersistence(opts: object = {}): object {
  return new CallBackPersistence((o) => new IndexedMemoryPersistence(o), opts);
}
