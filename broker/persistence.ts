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
 *   Its outgoing queue is keyed (`outgoing:<client>:<broker>:<counter>`), and our subclass
 *   (batched-level-persistence.ts) writes it in group commits: one awaited put per message
 *   (shared `db.batch` per event-loop turn), the PUBACK's delete batched, deliveries in memory.
 * - `memory`: Aedes' in-memory persistence with an indexed outgoing queue
 *   (indexed-memory-persistence.ts); nothing survives the process. Tests and the benchmark's
 *   "price of durability".
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../lib/config';
import { createRequire } from 'node:module';
import { indexedMemoryPersistence } from './indexed-memory-persistence';
import { batchedLevelPersistence, type LevelDb } from './batched-level-persistence';

const require = createRequire(import.meta.url);

export type BrokerPersistenceOptions = { kind: 'memory' } | { kind: 'level'; dir: string };

export interface BrokerPersistence {
  /** what Aedes takes as `persistence` */
  aedes: object;
  kind: BrokerPersistenceOptions['kind'];
  /** close the database (after aedes.close()) */
  close(): Promise<void>;
}

/** The broker's persistence as configured (BROKER_PERSISTENCE; LevelDB under DATA_DIR/broker-sessions). */
export function persistenceOf(cfg: Pick<Config, 'BROKER_PERSISTENCE' | 'DATA_DIR'>): BrokerPersistenceOptions {
  return cfg.BROKER_PERSISTENCE === 'memory' ? { kind: 'memory' } : { kind: 'level', dir: path.join(cfg.DATA_DIR, 'broker-sessions') };
}

export class PersistenceError extends Error {
  readonly code = 'E_BROKER_PERSISTENCE';
}

export async function openPersistence(o: BrokerPersistenceOptions): Promise<BrokerPersistence> {
  if (o.kind === 'memory') {
    const p = indexedMemoryPersistence();
    return { aedes: p, kind: 'memory', close: async () => {} };
  }
  fs.mkdirSync(o.dir, { recursive: true });
  const { Level } = require('level') as { Level: new (dir: string) => { open(): Promise<void>; close(): Promise<void>; status: string } };
  const db = new Level(o.dir);
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    throw new PersistenceError(
      `cannot open the broker's session store ${o.dir}: ${(err as Error).message}${cause ? ` (${cause.message})` : ''} — is another broker running on this DATA_DIR?`,
    );
  }
  const { aedes, async: batched } = batchedLevelPersistence(db as unknown as LevelDb);
  return {
    aedes,
    kind: 'level',
    async close() {
      // the PUBACKs' deletes still pending (a missed one would only mean a redelivery)
      await batched.flush();
      if (db.status === 'open') await db.close();
    },
  };
}
