/**
 * The InfluxDB write path against a real influxd: bad line protocol is dead-lettered with the
 * server's reason (and the good points of the batch are kept); replaying a batch — at once,
 * concurrently, or while the first copy sits in the spill — leaves one point per (series, time);
 * spill files left by an earlier process are replayed by the next one.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyTelemetryRecord } from '../../contract';
import { createLogger } from '../../lib/log';
import { influxdSuiteGate, startInfluxd, type Influxd } from '../../testing/influxd';
import { tempDir, waitFor } from '../../testing/net';
import { createQlClient, type QlClient } from './influxql';
import { openInfluxStore, type InfluxStore } from './index';
import { v1WritePath } from './transport';

const run = influxdSuiteGate('store/influx writer');
const log = createLogger('influx-writer-test', 'error');
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;

const air = (deviceId: string, ts: number, pm25: number): AnyTelemetryRecord => ({
  deviceId,
  kind: 'air',
  stream: 'air',
  ts,
  receivedAt: ts + 500,
  late: false,
  district: 'Centro',
  payload: { ts, windowS: 60, pm25, pm10: 30 },
});

describe('v1 write path rewrite', () => {
  it("maps the client's /api/v2/write request onto 1.x /write", () => {
    expect(v1WritePath('/api/v2/write?org=&bucket=city&precision=ns', 'raw')).toBe('/write?db=city&rp=raw&precision=ns');
    expect(v1WritePath('/api/v2/write?org=o&bucket=my%20db&precision=ms')).toBe('/write?db=my+db&precision=ms');
    expect(v1WritePath('/query?q=x')).toBe('/query?q=x');
  });
});

describe.skipIf(!run)('influx store writer against influxd', () => {
  let influx: Influxd;
  let store: InfluxStore;
  let ql: QlClient;
  const dirs: string[] = [];

  const open = async (db: string, spillDir = tempDir('influx-spill-')) => {
    dirs.push(spillDir);
    const s = await openInfluxStore({ url: influx.url, bucket: db, api: 'auto', spillDir, log, writer: { maxRetryTimeMs: 1000, minRetryDelayMs: 100, maxRetryDelayMs: 300, probeEveryMs: 200 } });
    await s.init();
    return s;
  };
  /** points per (series, time) in a measurement: all must be 1 */
  const perSeriesTime = async (q: QlClient, m: string, from: number, to: number) => {
    const res = await q.query(`SELECT count("windowS") FROM "${m}" WHERE time >= ${from}ms AND time < ${to}ms GROUP BY time(1ms), * fill(none)`);
    return (res[0]?.series ?? []).flatMap((s) => s.values.map((v) => v[1] as number));
  };

  beforeAll(async () => {
    influx = await startInfluxd();
    store = await open('writer');
    ql = createQlClient({ url: influx.url, token: '', api: 'v1', db: 'writer' });
  });
  afterAll(async () => {
    await store?.close();
    await influx?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('auto-detects 1.x and reports health', async () => {
    expect(store.api).toBe('v1');
    expect(store.version).toMatch(/^1\./);
    const h = await store.health();
    expect(h).toMatchObject({ ok: true, backend: 'influx', buffered: 0, spilled: 0 });
  });

  it("a point rejected as bad line protocol is dead-lettered with the server's reason; the rest is stored", async () => {
    const batch = Array.from({ length: 40 }, (_, i) => air('dl-air-1', T0 + i * 1000, 10 + i));
    batch[17] = air('dl-air-1', T0 + 17 * 1000, Number.NaN); // → "pm25=NaN": InfluxDB answers 400 invalid number
    const res = await store.writeBatch(batch);
    expect(res).toEqual({ written: 39, duplicates: 0 });
    expect(await store.count({ deviceId: 'dl-air-1' })).toBe(39);
    const letters = await store.deadLetters({ reason: 'store_rejected', limit: 10 });
    expect(letters).toHaveLength(1);
    const l = letters[0]!;
    expect(l.deviceId).toBe('dl-air-1');
    expect(l.topic).toBe('city/v1/air/dl-air-1/air');
    expect(l.detail).toMatch(/400: .*unable to parse .*invalid number/);
    expect(l.payload).toContain('pm25=NaN');
    expect(await store.deadLetterCounts({})).toEqual({ store_rejected: 1 });
    expect(store.writerStats().rejectedTotal).toBe(1);
    // not retried forever: nothing left in memory or on disk
    expect(store.writerStats()).toMatchObject({ buffered: 0, spilled: 0 });
  });

  it('the same batch twice, and twice at once: one point per (series, time)', async () => {
    const batch = Array.from({ length: 100 }, (_, i) => air(`id-air-${i % 4}`, T0 + 100_000 + i * 10, i));
    expect(await store.writeBatch(batch)).toEqual({ written: 100, duplicates: 0 });
    expect(await store.writeBatch(batch)).toEqual({ written: 0, duplicates: 100 });
    const batch2 = batch.map((r) => air(r.deviceId, r.ts + 5, 1));
    const [a, b] = await Promise.all([store.writeBatch(batch2), store.writeBatch(batch2)]);
    expect(a.written + b.written).toBe(100);
    expect(a.duplicates + b.duplicates).toBe(100);
    const counts = await perSeriesTime(ql, 'air', T0 + 100_000, T0 + 102_000);
    expect(counts).toHaveLength(200);
    expect(counts.every((c) => c === 1)).toBe(true);
  });

  it('a batch spilled during an outage and sent again is a duplicate, before and after replay', async () => {
    const batch = Array.from({ length: 50 }, (_, i) => air('sp-air-1', T0 + 200_000 + i * 10, i));
    await influx.kill();
    try {
      expect(await store.writeBatch(batch)).toEqual({ written: 50, duplicates: 0 }); // spilled: durable
      expect(store.writerStats().spilled).toBeGreaterThanOrEqual(50);
      expect(await store.writeBatch(batch)).toEqual({ written: 0, duplicates: 50 });
    } finally {
      await influx.restart();
    }
    await waitFor(() => store.writerStats().spilled === 0 && store.writerStats().buffered === 0, 20_000, 100, 'replay');
    expect(await store.writeBatch(batch)).toEqual({ written: 0, duplicates: 50 });
    expect(await store.count({ deviceId: 'sp-air-1' })).toBe(50);
    const counts = await perSeriesTime(ql, 'air', T0 + 200_000, T0 + 201_000);
    expect(counts).toHaveLength(50);
    expect(counts.every((c) => c === 1)).toBe(true);
  });

  it('spill files left by a stopped process are replayed by the next one', async () => {
    const spillDir = tempDir('influx-spill-');
    const first = await open('restart', spillDir);
    const batch = Array.from({ length: 30 }, (_, i) => air('rs-air-1', T0 + 300_000 + i * 10, i));
    await influx.kill();
    try {
      expect(await first.writeBatch(batch)).toEqual({ written: 30, duplicates: 0 });
      await first.close();
      expect(fs.readdirSync(spillDir).some((f) => f.endsWith('.lp'))).toBe(true);
    } finally {
      await influx.restart();
    }
    const second = await open('restart', spillDir);
    try {
      await waitFor(async () => (await second.count({ deviceId: 'rs-air-1' })) === 30, 20_000, 100, 'replay by the next process');
      await waitFor(() => second.writerStats().spilled === 0, 5000, 50, 'spill emptied');
      expect(fs.readdirSync(spillDir).filter((f) => f.endsWith('.lp'))).toEqual([]);
    } finally {
      await second.close();
    }
  });
});
