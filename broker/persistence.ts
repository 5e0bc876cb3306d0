/**
 * The broker's session persistence (subscriptions, QoS 1 outgoing queues, retained messages,
 * wills), from the Aedes ecosystem:
 *
 * - `level` (the embedded default, no server): `aedes-persistence-level` 9.2.0 on LevelDB
 *   (`level` 10.0.0, classic-level) in a directory under DATA_DIR. Aedes sends a publisher's
 *   PUBACK only after the message is enqueued in every persistent subscriber's session
 *   (`enqueueOffline` → `outgoingEnqueueCombi`, awaited), so with this backend a PUBACK to a
 *   device means the message is in LevelDB's write-ahead log, in ingest's session queue; it
 *   survives a crash of the broker process (kill -9; the OS holds the written log). Not fsync'd
 *   per message: a power cut can lose the last writes (LevelDB `sync: false`, its default).
 *   Its outgoing queue is upstream's key layout (`outgoing:<client>:<broker>:<counter>`) written
 *   in group commits by batched-level-persistence.ts (~2 LevelDB operations per message instead
 *   of ~8, no scan; the default since session 4). The loss once blamed on it (the first queued
 *   message "missing" after a clean restart, 2 of 3 runs) was the test's: it listened after the
 *   CONNACK, and the message came in the same read, delivered and acknowledged (proven in
 *   persistence.test.ts). A real loss found on the way: Aedes restarts its counter at 0, so with a
 *   fixed BROKER_ID a restart overwrote queued messages; see seedBrokerCounter.
 * - `redis` (a cluster of brokers): `aedes-persistence-redis` 11.2.2 with an O(1) outgoing queue
 *   (redis-persistence.ts) on REDIS_URL. Every broker of the cluster reads and writes the same
 *   sessions, subscriptions, retained messages and QoS 1 queues; a PUBACK to a device means the
 *   message is in Redis, in ingest's session queue (durable as Redis is configured: the runbook
 *   asks for `appendonly yes`, `appendfsync everysec` or `always`). Messages between the brokers
 *   go through Redis too (`mqemitter-redis`, publish-queue.ts).
 * - `memory`: Aedes' in-memory persistence with an indexed outgoing queue
 *   (indexed-memory-persistence.ts); nothing survives the process. Tests and the benchmark's
 *   "price of durability".
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../lib/config';
import { createRequire } from 'node:module';
import { indexedMemoryPersistence } from './indexed-memory-persistence';
import { batchedLevelPersistence } from './batched-level-persistence';
import { redactUrl } from '../lib/redis';
import { indexedRedisPersistence, type IndexedRedisPersistence } from './redis-persistence';

const require = createRequire(import.meta.url);

export type BrokerPersistenceOptions = { kind: 'memory' } | { kind: 'level'; dir: string } | { kind: 'redis'; url: string };

export interface BrokerPersistence {
  /** what Aedes takes as `persistence` */
  aedes: object;
  kind: BrokerPersistenceOptions['kind'];
  /** close the database (after aedes.close()) */
  close(): Promise<void>;
  /** the Redis persistence itself (round-trip counter, queue sizes), when kind = redis */
  redis?: IndexedRedisPersistence;
}

/** The broker's persistence as configured (BROKER_PERSISTENCE; LevelDB under DATA_DIR/broker-sessions; Redis at REDIS_URL). */
export function persistenceOf(cfg: Pick<Config, 'BROKER_PERSISTENCE' | 'DATA_DIR' | 'REDIS_URL'>): BrokerPersistenceOptions {
  if (cfg.BROKER_PERSISTENCE === 'memory') return { kind: 'memory' };
  if (cfg.BROKER_PERSISTENCE === 'redis') return { kind: 'redis', url: cfg.REDIS_URL };
  return { kind: 'level', dir: path.join(cfg.DATA_DIR, 'broker-sessions') };
}

/**
 * Start Aedes' message counter past every counter an earlier run of this broker id can have used.
 * Queue keys are `<brokerId>:<brokerCounter>` (LevelDB `outgoing:<client>:<brokerId>:<counter>`,
 * Redis `packet:<brokerId>:<counter>`) and Aedes starts its counter at 0 on every start: with a
 * fixed BROKER_ID a restarted broker wrote its first messages under the keys of messages still
 * queued from before the restart (overwritten: lost). Microseconds since the epoch are above any
 * counter an earlier run reached unless it averaged over 1,000,000 messages per second; they fit
 * the 16 digits the LevelDB keys are padded to (and stay a safe integer) until the year 2255.
 */
export function seedBrokerCounter(broker: { counter: number }, now = Date.now()): void {
  broker.counter = Math.max(broker.counter, now * 1000);
}

export class PersistenceError extends Error {
  readonly code = 'E_BROKER_PERSISTENCE';
}

export async function openPersistence(o: BrokerPersistenceOptions): Promise<BrokerPersistence> {
  if (o.kind === 'memory') {
    const p = indexedMemoryPersistence();
    return { aedes: p, kind: 'memory', close: async () => {} };
  }
  if (o.kind === 'redis') {
    const { aedes, inner } = indexedRedisPersistence({ url: o.url });
    try {
      // fail the start with a clear message rather than queue every command behind a dead server
      await Promise.race([inner.db.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 10 s')), 10_000).unref())]);
    } catch (err) {
      inner.db.disconnect();
      throw new PersistenceError(`cannot reach Redis at ${redactUrl(o.url)} (REDIS_URL): ${(err as Error).message}`);
    }
    return {
      aedes,
      kind: 'redis',
      redis: inner,
      async close() {
        // after aedes.close(): every write it started has been answered (QUIT is queued behind them)
        if (inner.db.status === 'ready') await inner.db.quit().catch(() => inner.db.disconnect());
        else if (inner.db.status !== 'end') inner.db.disconnect();
      },
    };
  }
  fs.mkdirSync(o.dir, { recursive: true });
  const { Level } = require('level') as { Level: new (dir: string) => { open(): Promise<void>; close(): Promise<void>; status: string } };
  const db = new Level(o.dir);
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    throw new PersistenceError(`cannot open the broker's session store ${o.dir}: ${(err as Error).message}${cause ? ` (${cause.message})` : ''} — is another broker running on this DATA_DIR?`);
  }
  const { aedes, async: queue } = batchedLevelPersistence(db as never);
  return {
    aedes,
    kind: 'level',
    async close() {
      // the PUBACKs' deletes still pending: written, so a clean restart does not redeliver them
      if (db.status === 'open') await queue.flush();
      if (db.status === 'open') await db.close();
    },
  };
}
