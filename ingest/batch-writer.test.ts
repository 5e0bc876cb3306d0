/**
 * BatchWriter against the real DuckDB store: acknowledgements only after durable writes, a failing
 * store retried without loss, malformed points taken out as store_rejected dead letters.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyTelemetryRecord, DeadLetter } from '../contract';
import { openDuckDbStore } from '../store/duckdb/index';
import type { TelemetryStore } from '../store/types';
import { waitFor } from '../testing/net';
import { BatchWriter } from './batch-writer';
import { deadLetter } from './classify';

const T0 = Date.now() - 3_600_000;
const gps = (i: number): AnyTelemetryRecord => ({
  deviceId: 'truck-01',
  kind: 'truck',
  stream: 'gps',
  ts: T0 + i * 1000,
  receivedAt: Date.now(),
  late: true,
  district: 'Centro',
  payload: { ts: T0 + i * 1000, lat: 18.1, lon: -94.4, speedKmh: i % 90, heading: 0 },
});
const toDeadLetter = (rec: AnyTelemetryRecord, detail: string): DeadLetter =>
  deadLetter(`city/v1/${rec.kind}/${rec.deviceId}/${rec.stream}`, JSON.stringify(rec.payload), rec.receivedAt, rec.deviceId, 'store_rejected', detail);

let store: TelemetryStore;
beforeEach(async () => {
  store = await openDuckDbStore({ file: ':memory:', threads: 1 });
  await store.init();
});
afterEach(async () => {
  await store.close();
});

describe('BatchWriter', () => {
  it('writes in batches of at most batchSize, in order, and acknowledges each message only once its batch is stored', async () => {
    const sizes: number[] = [];
    const w = new BatchWriter({ store, batchSize: 50, flushMs: 20, toDeadLetter, onRecordsWritten: (r) => sizes.push(r.length) });
    const ackedWhenStored: boolean[] = [];
    const checks: Promise<void>[] = [];
    for (let i = 0; i < 120; i++) {
      w.addRecord(gps(i), () => {
        // at ack time the reading is queryable in the store
        checks.push(store.count({ deviceId: 'truck-01', from: T0 + i * 1000, to: T0 + i * 1000 + 1 }).then((n) => void ackedWhenStored.push(n === 1)));
      });
    }
    expect(w.inFlight()).toBe(120);
    await w.drain();
    await Promise.all(checks);
    expect(ackedWhenStored).toHaveLength(120);
    expect(ackedWhenStored.every(Boolean)).toBe(true);
    expect(sizes.every((n) => n <= 50)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(120);
    expect(w.inFlight()).toBe(0);
  });

  it('writes several batches at once (maxWrites) and still settles them in arrival order: hooks and acks never overtake an earlier batch', async () => {
    let running = 0;
    let peak = 0;
    let call = 0;
    // the first batch's write is the slowest: later batches finish before it
    const slow: Pick<TelemetryStore, 'writeBatch' | 'writeDeadLetters'> = {
      writeBatch: async (recs) => {
        const delay = [300, 120, 10][call++ % 3]!;
        running++;
        peak = Math.max(peak, running);
        try {
          await new Promise((r) => setTimeout(r, delay));
          return await store.writeBatch(recs);
        } finally {
          running--;
        }
      },
      writeDeadLetters: (l) => store.writeDeadLetters(l),
    };
    const hooked: number[] = [];
    const w = new BatchWriter({ store: slow, batchSize: 40, flushMs: 10, maxWrites: 3, toDeadLetter, onRecordsWritten: (r) => hooked.push(...r.map((x) => x.ts)) });
    const acked: number[] = [];
    const checks: Promise<void>[] = [];
    const storedAtAck: boolean[] = [];
    for (let i = 0; i < 200; i++) {
      const ts = T0 + i * 1000;
      w.addRecord(gps(i), () => {
        acked.push(ts);
        checks.push(store.count({ deviceId: 'truck-01', from: ts, to: ts + 1 }).then((n) => void storedAtAck.push(n === 1)));
      });
      if (i === 100) w.addAckOnly(() => acked.push(-1));
    }
    await waitFor(() => w.writesInFlight() === 3, 5000, 2, 'three writes at once');
    await w.drain();
    await Promise.all(checks);
    expect(peak).toBe(3);
    const expected = Array.from({ length: 200 }, (_, i) => T0 + i * 1000);
    expect(hooked).toEqual(expected);
    expect(acked).toEqual([...expected.slice(0, 101), -1, ...expected.slice(101)]);
    expect(storedAtAck.every(Boolean)).toBe(true);
    expect(w.inFlight()).toBe(0);
  });

  it('acknowledges a message with nothing to write at once when idle, else after what came before it', async () => {
    const w = new BatchWriter({ store, batchSize: 100, flushMs: 20, toDeadLetter });
    const order: string[] = [];
    w.addAckOnly(() => order.push('dup-idle'));
    expect(order).toEqual(['dup-idle']);
    w.addRecord(gps(1), () => order.push('rec'));
    w.addAckOnly(() => order.push('dup-after-rec'));
    expect(order).toEqual(['dup-idle']);
    await w.drain();
    expect(order).toEqual(['dup-idle', 'rec', 'dup-after-rec']);
  });

  it('retries a failing store with back-off, keeps the messages un-acknowledged meanwhile, and loses nothing', async () => {
    let failuresLeft = 3;
    const flaky = Object.create(store) as TelemetryStore;
    flaky.writeBatch = async (records) => {
      if (failuresLeft > 0) {
        failuresLeft--;
        throw Object.assign(new Error('disk on fire'), { code: 'E_STORE_WRITE' });
      }
      return store.writeBatch(records);
    };
    const errors: number[] = [];
    const w = new BatchWriter({ store: flaky, batchSize: 10, flushMs: 10, backoffMs: 20, maxBackoffMs: 50, toDeadLetter, onWriteError: (_e, _w, attempt) => errors.push(attempt) });
    let acked = 0;
    for (let i = 0; i < 25; i++) w.addRecord(gps(i), () => acked++);
    await waitFor(() => errors.length >= 2, 5000, 5, 'failed attempts');
    expect(acked).toBe(0);
    expect(w.inFlight()).toBe(25);
    await w.drain();
    expect(errors).toEqual([1, 2, 3]);
    expect(acked).toBe(25);
    expect(await store.count({ deviceId: 'truck-01' })).toBe(25);
  });

  it('takes records the store refuses as malformed out of the batch as store_rejected dead letters and writes the rest', async () => {
    const refused: string[] = [];
    const w = new BatchWriter({ store, batchSize: 100, flushMs: 10, toDeadLetter, onStoreRejected: (_w, detail) => refused.push(detail) });
    const bad = gps(5);
    (bad.payload as { lat?: number }).lat = undefined; // what a buggy producer could hand the store
    let acked = 0;
    for (let i = 0; i < 10; i++) w.addRecord(i === 5 ? bad : gps(i), () => acked++);
    await w.drain();
    expect(acked).toBe(10);
    expect(refused).toHaveLength(1);
    expect(await store.count({ deviceId: 'truck-01' })).toBe(9);
    const letters = await store.deadLetters({ reason: 'store_rejected', limit: 10 });
    expect(letters).toHaveLength(1);
    expect(letters[0]!.detail).toMatch(/lat/);
    expect(letters[0]!.deviceId).toBe('truck-01');
  });

  it('abort discards what is queued and acknowledges nothing more', async () => {
    const w = new BatchWriter({ store, batchSize: 1000, flushMs: 10_000, toDeadLetter });
    let acked = 0;
    for (let i = 0; i < 5; i++) w.addRecord(gps(i), () => acked++);
    await w.abort();
    w.addRecord(gps(6), () => acked++);
    await new Promise((r) => setTimeout(r, 50));
    expect(acked).toBe(0);
    expect(await store.count({ deviceId: 'truck-01' })).toBe(0);
  });
});
