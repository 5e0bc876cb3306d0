import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyTelemetryRecord } from '../../contract';
import { tempDir } from '../../testing/net';
import { record, storeContractSuite } from '../../testing/store-contract-suite';
import { openDuckDbStore, StoreError } from './index';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function tempFile(): string {
  const dir = tempDir('duckdb-store-');
  dirs.push(dir);
  return path.join(dir, 'telemetry.duckdb');
}

storeContractSuite('duckdb (temp file)', async () => {
  const file = tempFile();
  const store = await openDuckDbStore({ file });
  return { store, cleanup: () => store.close() };
});

const T0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;

describe('DuckDB store: file lifecycle', () => {
  it('keeps its data across close and reopen, and the rollups still match', async () => {
    const file = tempFile();
    const a = await openDuckDbStore({ file });
    await a.init();
    const recs: AnyTelemetryRecord[] = [];
    for (let i = 0; i < 200; i++) recs.push(record('air', 'ro-air-1', { ts: T0 + i * 60_000, windowS: 60, pm25: i % 50, pm10: 30 }));
    expect(await a.writeBatch(recs)).toEqual({ written: 200, duplicates: 0 });
    await a.writeDeadLetters([{ id: 'ro-1', receivedAt: T0, topic: 'x', deviceId: null, reason: 'invalid_json', detail: 'd', payload: 'p' }]);
    await a.close();
    await a.close(); // idempotent
    await expect(a.count({})).rejects.toMatchObject({ code: 'E_STORE_CLOSED' });

    const b = await openDuckDbStore({ file });
    await b.init();
    expect(await b.count({ deviceId: 'ro-air-1' })).toBe(200);
    expect(await b.writeBatch(recs.slice(0, 10))).toEqual({ written: 0, duplicates: 10 });
    const more = recs.map((r) => ({ ...r, ts: r.ts + 200 * 60_000, payload: { ...r.payload, ts: r.ts + 200 * 60_000 } })) as AnyTelemetryRecord[];
    expect(await b.writeBatch(more)).toEqual({ written: 200, duplicates: 0 });
    const hourly = await b.series({ stream: 'air', field: 'pm25', from: T0, to: T0 + 400 * 60_000, windowMs: 3_600_000 });
    const raw = await b.series({ stream: 'air', field: 'pm25', from: T0, to: T0 + 400 * 60_000, windowMs: 1_800_000 });
    expect(hourly.reduce((s, x) => s + x.count, 0)).toBe(400);
    expect(raw.reduce((s, x) => s + x.count, 0)).toBe(400);
    expect((await b.latest({ deviceIds: ['ro-air-1'] }))[0]!.ts).toBe(T0 + 399 * 60_000);
    expect(await b.deadLetterCounts({})).toEqual({ invalid_json: 1 });
    await b.close();
  });

  it('a second store on a file that is open elsewhere fails with a code; the file opens after close', async () => {
    const file = tempFile();
    const a = await openDuckDbStore({ file });
    await a.init();
    // same process: DuckDB refuses a second instance on the same file
    const second = await openDuckDbStore({ file }).then(
      async (s) => {
        await s.close();
        return null;
      },
      (err: unknown) => err,
    );
    if (second) expect(second).toMatchObject({ code: 'E_STORE_OPEN' });
    await a.close();
    const c = await openDuckDbStore({ file });
    await c.init();
    expect(await c.count({})).toBe(0);
    await c.close();
  });

  it("':memory:' works", async () => {
    const s = await openDuckDbStore({ file: ':memory:' });
    await s.init();
    expect(await s.writeBatch([record('noise', 'mem-noise-1', { ts: T0, windowS: 60, laeq: 50, lamax: 60, lamin: 40 })])).toEqual({ written: 1, duplicates: 0 });
    expect(await s.count({ stream: 'noise' })).toBe(1);
    await s.close();
  });
});

describe('DuckDB store: bad input', () => {
  it('a malformed record rejects the batch with a code and writes nothing; the store keeps serving', async () => {
    const s = await openDuckDbStore({ file: ':memory:' });
    await s.init();
    const good = record('noise', 'bad-noise-1', { ts: T0, windowS: 60, laeq: 50, lamax: 60, lamin: 40 });
    const bad = { ...record('noise', 'bad-noise-1', { ts: T0 + 1000, windowS: 60, laeq: 50, lamax: 60, lamin: 40 }), payload: { ts: T0 + 1000, windowS: 60, laeq: 'loud', lamax: 60, lamin: 40 } };
    const unknown = { ...good, stream: 'smell' };
    const err = await s.writeBatch([good, bad as unknown as AnyTelemetryRecord, unknown as unknown as AnyTelemetryRecord]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({
      code: 'E_STORE_REJECTED',
      rejected: [
        { index: 1, detail: 'payload.laeq must be a finite number' },
        { index: 2, detail: 'unknown stream "smell"' },
      ],
    });
    expect(await s.count({})).toBe(0);
    expect(await s.writeBatch([good])).toEqual({ written: 1, duplicates: 0 });
    await expect(s.series({ stream: 'air', field: 'laeq' as never, from: 0, to: T0, windowMs: 1000 })).rejects.toMatchObject({ code: 'E_STORE_QUERY' });
    await expect(s.series({ stream: 'noise', field: 'laeq', from: 0, to: T0, windowMs: 0 })).rejects.toMatchObject({ code: 'E_STORE_QUERY' });
    expect((await s.health()).ok).toBe(true);
    await s.close();
    expect((await s.health()).ok).toBe(false);
  });
});

describe('DuckDB store: one batch of 20,000 points', () => {
  it('writes 20,000 mixed points in one call, then finds them all duplicates', async () => {
    const s = await openDuckDbStore({ file: tempFile() });
    await s.init();
    const recs: AnyTelemetryRecord[] = [];
    for (let i = 0; i < 20_000; i++) {
      const ts = T0 + Math.floor(i / 40) * 1000;
      const d = i % 40;
      if (d < 20) recs.push(record('gps', `big-truck-${d}`, { ts, lat: 18.13 + i * 1e-6, lon: -94.45, speedKmh: 30, heading: 90, hdop: 0.9, sats: 9 }));
      else if (d < 30) recs.push(record('air', `big-air-${d}`, { ts, windowS: 60, pm25: (i % 97) / 2, pm10: 40, o3: 0.03 }));
      else recs.push(record('noise', `big-noise-${d}`, { ts, windowS: 1, laeq: 40 + (i % 30), lamax: 80, lamin: 35 }));
    }
    const t = performance.now();
    expect(await s.writeBatch(recs)).toEqual({ written: 20_000, duplicates: 0 });
    const ms = performance.now() - t;
    console.log(`duckdb: 20,000-point batch in ${ms.toFixed(0)} ms = ${Math.round(20_000 / (ms / 1000))} points/s`);
    expect(await s.count({})).toBe(20_000);
    expect(await s.writeBatch(recs)).toEqual({ written: 0, duplicates: 20_000 });
    const q = { stream: 'air' as const, field: 'pm25' as const, from: T0, to: T0 + 86_400_000 };
    const hourly = await s.series({ ...q, windowMs: 3_600_000 });
    expect(hourly.reduce((n, b) => n + b.count, 0)).toBe(5000);
    await s.close();
  });
});
