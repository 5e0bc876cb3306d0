/**
 * The store contract suite: every `TelemetryStore` backend (embedded DuckDB, InfluxDB) runs it.
 *
 *   storeContractSuite('duckdb', async () => ({ store, cleanup }));
 *
 * `open()` is called once per suite and must return an EMPTY, not yet initialised store (the suite
 * calls init()); `cleanup()` closes it and removes what it made. Sections use disjoint device ids
 * and disjoint time spans, so they share one store and run in order.
 *
 * Expectations are backend-neutral: floats are compared with a relative tolerance, results are
 * compared in the order documented in store/types.ts, optional payload fields that were not
 * written must be absent (not null) when read back. All data is generated here, deterministically
 * (seeded PRNG); times are anchored on the current UTC day so that backends with a retention
 * policy of 45+ days keep every point.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AirReading,
  AnyTelemetryRecord,
  DeadLetter,
  DeviceKind,
  DeviceStatus,
  GpsFix,
  NoiseReading,
  PlateRead,
  RejectReason,
  StreamPayload,
  TelemetryRecord,
  TelemetryStream,
  TruckEvent,
} from '../contract';
import type { SeriesBucket, SeriesQuery, TelemetryStore, TrackPoint, TruckEventRow } from '../store/types';
import { seededRng } from '../lib/rng';

export interface OpenedStore {
  store: TelemetryStore;
  cleanup(): Promise<void>;
}

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Start of the current UTC day minus 2 days: every section lives in [ANCHOR - 42 d, ANCHOR + 1 d). */
const ANCHOR = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;

// ── deterministic data ───────────────────────────────────────────────────────────────────────
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

const KIND_OF_STREAM: Record<Exclude<TelemetryStream, 'status'>, DeviceKind> = {
  gps: 'truck',
  event: 'truck',
  air: 'air',
  noise: 'noise',
  plate: 'camera',
};

/** Build a record with the contract types. receivedAt defaults to 400 ms after the event. */
export function record<S extends TelemetryStream>(
  stream: S,
  deviceId: string,
  payload: StreamPayload[S],
  extra: Partial<Pick<TelemetryRecord<S>, 'kind' | 'receivedAt' | 'late' | 'district'>> = {},
): TelemetryRecord<S> {
  const kind = extra.kind ?? (stream === 'status' ? 'truck' : KIND_OF_STREAM[stream as Exclude<TelemetryStream, 'status'>]);
  return {
    deviceId,
    kind,
    stream,
    ts: payload.ts as number,
    receivedAt: extra.receivedAt ?? (payload.ts as number) + 400,
    late: extra.late ?? false,
    district: extra.district ?? 'Centro',
    payload,
  };
}
const any = (r: TelemetryRecord): AnyTelemetryRecord => r as AnyTelemetryRecord;

function gpsFix(rand: () => number, ts: number, i: number, withQuality: boolean): GpsFix {
  const fix: GpsFix = {
    ts,
    lat: round(18.13 + i * 0.0003 + rand() * 0.0001, 6),
    lon: round(-94.45 + i * 0.0002 + rand() * 0.0001, 6),
    speedKmh: round(rand() * 40, 1),
    heading: round(rand() * 359, 1),
  };
  if (withQuality) {
    fix.hdop = round(0.6 + rand() * 2, 1);
    fix.sats = 5 + Math.floor(rand() * 8);
  }
  return fix;
}

function airReading(rand: () => number, ts: number, opts: { dropPm25?: boolean } = {}): AirReading {
  const r: AirReading = {
    ts,
    windowS: 60,
    pm10: round(20 + rand() * 60, 1),
    o3: round(rand() * 0.08, 3),
    no2: round(rand() * 0.05, 3),
    tempC: round(24 + rand() * 8, 1),
    rhPct: round(60 + rand() * 30, 1),
  };
  if (!opts.dropPm25) r.pm25 = round(5 + rand() * 40, 1);
  return r;
}

function noiseReading(rand: () => number, ts: number): NoiseReading {
  const laeq = round(45 + rand() * 30, 1);
  return { ts, windowS: 60, laeq, lamax: round(laeq + rand() * 15, 1), lamin: round(laeq - 5 - rand() * 10, 1) };
}

// ── comparison helpers ───────────────────────────────────────────────────────────────────────
/** Relative float tolerance: backends may sum in a different order. */
function close(actual: number, expected: number, what: string): void {
  const tol = 1e-9 * Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${what}: expected ${expected}, got ${actual}`);
  }
}

/** The series a correct backend returns, computed here from the raw records. */
export function expectedSeries(records: AnyTelemetryRecord[], q: SeriesQuery): SeriesBucket[] {
  const acc = new Map<string, SeriesBucket & { sum: number }>();
  for (const r of records) {
    if (r.stream !== q.stream || r.ts < q.from || r.ts >= q.to) continue;
    if (q.deviceIds && !q.deviceIds.includes(r.deviceId)) continue;
    const v = (r.payload as unknown as Record<string, unknown>)[q.field];
    if (typeof v !== 'number') continue;
    const t = Math.floor(r.ts / q.windowMs) * q.windowMs;
    const key = `${r.deviceId}\u0000${t}`;
    const b = acc.get(key);
    if (!b) acc.set(key, { deviceId: r.deviceId, t, mean: 0, min: v, max: v, count: 1, sum: v });
    else {
      b.sum += v;
      b.count += 1;
      b.min = Math.min(b.min, v);
      b.max = Math.max(b.max, v);
    }
  }
  return [...acc.values()].map(({ sum, ...b }) => ({ ...b, mean: sum / b.count })).sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.t - b.t));
}

function expectSeriesEqual(actual: SeriesBucket[], expected: SeriesBucket[], label: string): void {
  expect(
    actual.map((b) => `${b.deviceId}@${b.t}#${b.count}`),
    `${label}: buckets (device@t#count)`,
  ).toEqual(expected.map((b) => `${b.deviceId}@${b.t}#${b.count}`));
  expected.forEach((e, i) => {
    const a = actual[i]!;
    close(a.mean, e.mean, `${label} ${e.deviceId}@${new Date(e.t).toISOString()} mean`);
    close(a.min, e.min, `${label} ${e.deviceId}@${new Date(e.t).toISOString()} min`);
    close(a.max, e.max, `${label} ${e.deviceId}@${new Date(e.t).toISOString()} max`);
  });
}

const toTrackPoint = (p: GpsFix): TrackPoint => {
  const t: TrackPoint = { ts: p.ts, lat: p.lat, lon: p.lon, speedKmh: p.speedKmh, heading: p.heading };
  if (p.hdop !== undefined) t.hdop = p.hdop;
  if (p.sats !== undefined) t.sats = p.sats;
  return t;
};
const toEventRow = (deviceId: string, e: TruckEvent): TruckEventRow => {
  const row: TruckEventRow = { deviceId, ts: e.ts, type: e.type };
  if (e.lat !== undefined) row.lat = e.lat;
  if (e.lon !== undefined) row.lon = e.lon;
  if (e.binId !== undefined) row.binId = e.binId;
  if (e.weightKg !== undefined) row.weightKg = e.weightKg;
  return row;
};

/** Sort helper: by string key then number. */
const byKeys =
  <T>(...keys: ((x: T) => string | number)[]) =>
  (a: T, b: T): number => {
    for (const k of keys) {
      const x = k(a);
      const y = k(b);
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  };

// ── the suite ────────────────────────────────────────────────────────────────────────────────
export function storeContractSuite(name: string, open: () => Promise<OpenedStore>, opts: { skip?: string } = {}): void {
  const d = opts.skip ? describe.skip : describe;
  d(`TelemetryStore contract: ${name}${opts.skip ? ` (skipped: ${opts.skip})` : ''}`, () => {
    let opened: OpenedStore;
    let store: TelemetryStore;

    beforeAll(async () => {
      opened = await open();
      store = opened.store;
      await store.init();
    });
    afterAll(async () => {
      await opened?.cleanup();
    });

    describe('init and health', () => {
      it('init() is idempotent and health() reports ok for its backend', async () => {
        await store.init();
        const h = await store.health();
        expect(h.ok).toBe(true);
        expect(h.backend).toBe(store.backend);
        expect(['duckdb', 'influx']).toContain(store.backend);
        expect(typeof h.detail).toBe('string');
      });

      it('an empty batch writes nothing', async () => {
        expect(await store.writeBatch([])).toEqual({ written: 0, duplicates: 0 });
        await store.writeDeadLetters([]);
      });

      it('a read whose signal is aborted rejects with E_STORE_CANCELLED, and the next read works', async () => {
        const ac = new AbortController();
        ac.abort();
        await expect(store.count({}, { signal: ac.signal })).rejects.toMatchObject({ code: 'E_STORE_CANCELLED' });
        await expect(store.series({ stream: 'air', field: 'pm25', from: 0, to: HOUR, windowMs: HOUR }, { signal: ac.signal })).rejects.toMatchObject({ code: 'E_STORE_CANCELLED' });
        // aborted while under way (or queued): still E_STORE_CANCELLED, never another error
        const late = new AbortController();
        const p = store.plateSearch({ plate: 'X', partial: true, from: 0, to: Date.now(), limit: 10 }, { signal: late.signal });
        late.abort();
        await expect(p).rejects.toMatchObject({ code: 'E_STORE_CANCELLED' });
        expect(await store.count({ from: 0, to: HOUR })).toBe(0);
      });
    });

    // Section 1: one mixed batch of every stream, read back through every query.
    describe('write a batch of every stream and read it back', () => {
      const T0 = ANCHOR + 10 * HOUR; // a whole hour
      const rand = seededRng(1);
      const gps = Array.from({ length: 6 }, (_, i) => record('gps', 'rb-truck-1', gpsFix(rand, T0 + i * 5000, i, i % 2 === 0)));
      const events = [
        record('event', 'rb-truck-1', { ts: T0 + 1000, type: 'ignition_on' }),
        record('event', 'rb-truck-1', { ts: T0 + 12_000, type: 'bin_lift', lat: 18.1301, lon: -94.4502, binId: 'BIN-0042', weightKg: 37.5 }),
        record('event', 'rb-truck-1', { ts: T0 + 20_000, type: 'unload', weightKg: 1250 }),
      ];
      const air = [0, 1, 2, 3].map((i) => record('air', 'rb-air-1', airReading(rand, T0 + i * MIN, { dropPm25: i === 2 })));
      const fullAir = record('air', 'rb-air-1', {
        ts: T0 + 4 * MIN,
        windowS: 3600,
        pm25: 12.3,
        pm10: 40.1,
        o3: 0.041,
        no2: 0.022,
        so2: 0.004,
        co: 1.25,
        tempC: -3.5,
        rhPct: 88,
      });
      const noise = [0, 1, 2, 3].map((i) => record('noise', 'rb-noise-1', noiseReading(rand, T0 + i * MIN)));
      const plates = [
        record('plate', 'rb-cam-1', { ts: T0 + 100, plate: 'YKR-123-A', region: 'VER', confidence: 0.93, direction: 'entering', lane: 1, frames: 7 }),
        record('plate', 'rb-cam-1', { ts: T0 + 2100, plate: 'ABC1234', region: 'TAB', confidence: 0.71, direction: 'leaving', lane: 3 }),
      ];
      const status = [
        record('status', 'rb-truck-1', { ts: T0 + 30_000, fw: '1.4.2', uptimeS: 3600, batteryPct: 87.5, powerV: 12.6, signalDbm: -71, clockSkewMs: -120 }),
        record('status', 'rb-cam-1', { ts: T0 + 30_000, fw: '2.0.0-rc.1', uptimeS: 86_400 * 30 }, { kind: 'camera', district: 'Entrada Sur' }),
      ];
      const all: AnyTelemetryRecord[] = [...gps, ...events, ...air, fullAir, ...noise, ...plates, ...status].map(any);
      // interleave streams and devices, as ingest batches them
      const batch = [...all].sort(byKeys((r) => (r.ts * 7919) % 1013));

      it('writes every point once', async () => {
        expect(await store.writeBatch(batch)).toEqual({ written: all.length, duplicates: 0 });
        expect(await store.count({ from: T0, to: T0 + HOUR })).toBe(all.length);
      });

      it('count() per stream and per device', async () => {
        const q = { from: T0, to: T0 + HOUR };
        expect(await store.count({ ...q, stream: 'gps' })).toBe(gps.length);
        expect(await store.count({ ...q, stream: 'event' })).toBe(events.length);
        expect(await store.count({ ...q, stream: 'air' })).toBe(air.length + 1);
        expect(await store.count({ ...q, stream: 'noise' })).toBe(noise.length);
        expect(await store.count({ ...q, stream: 'plate' })).toBe(plates.length);
        expect(await store.count({ ...q, stream: 'status' })).toBe(status.length);
        expect(await store.count({ ...q, deviceId: 'rb-truck-1' })).toBe(gps.length + events.length + 1);
        expect(await store.count({ ...q, deviceId: 'rb-truck-1', stream: 'status' })).toBe(1);
        expect(await store.count({ ...q, deviceId: 'rb-nobody' })).toBe(0);
      });

      it('track() returns the gps fixes with their optional fields', async () => {
        const track = await store.track({ deviceId: 'rb-truck-1', from: T0, to: T0 + HOUR });
        expect(track).toEqual(gps.map((r) => toTrackPoint(r.payload)));
        // optional fields that were not written are absent, not null
        expect(Object.keys(track[1]!).sort()).toEqual(['heading', 'lat', 'lon', 'speedKmh', 'ts']);
      });

      it('truckEvents() returns the events with their optional fields', async () => {
        const rows = await store.truckEvents({ deviceIds: ['rb-truck-1'], from: T0, to: T0 + HOUR });
        expect(rows).toEqual(events.map((r) => toEventRow(r.deviceId, r.payload)));
        expect(Object.keys(rows[0]!).sort()).toEqual(['deviceId', 'ts', 'type']);
      });

      it('series() reads every air and noise field back', async () => {
        for (const field of ['pm25', 'pm10', 'o3', 'no2', 'so2', 'co', 'tempC', 'rhPct'] as const) {
          const q: SeriesQuery = { stream: 'air', field, deviceIds: ['rb-air-1'], from: T0, to: T0 + HOUR, windowMs: MIN };
          expectSeriesEqual(await store.series(q), expectedSeries(all, q), `air ${field}`);
        }
        for (const field of ['laeq', 'lamax', 'lamin'] as const) {
          const q: SeriesQuery = { stream: 'noise', field, from: T0, to: T0 + HOUR, windowMs: MIN };
          expectSeriesEqual(await store.series(q), expectedSeries(all, q), `noise ${field}`);
        }
      });

      it('plateSearch() returns the plate reads with their district', async () => {
        const rows = await store.plateSearch({ plate: 'YKR-123-A', from: T0, to: T0 + HOUR, limit: 10 });
        expect(rows).toEqual([{ cameraId: 'rb-cam-1', ts: T0 + 100, plate: 'YKR-123-A', region: 'VER', confidence: 0.93, direction: 'entering', lane: 1, district: 'Centro' }]);
      });

      it('latest() returns whole records, equal to what was written', async () => {
        const got = await store.latest({ deviceIds: ['rb-truck-1', 'rb-air-1', 'rb-noise-1', 'rb-cam-1'] });
        const want = [gps.at(-1)!, events.at(-1)!, fullAir, noise.at(-1)!, plates.at(-1)!, ...status].map(any).sort(
          byKeys(
            (r) => r.deviceId,
            (r) => r.stream,
          ),
        );
        expect(got).toEqual(want);
      });
    });

    // Section 2: idempotence per (device, stream, event time).
    describe('idempotent writes', () => {
      const T0 = ANCHOR + 12 * HOUR;
      const rand = seededRng(2);
      const batch = [
        ...Array.from({ length: 20 }, (_, i) => record('air', 'id-air-1', airReading(rand, T0 + i * MIN))),
        ...Array.from({ length: 20 }, (_, i) => record('noise', 'id-noise-1', noiseReading(rand, T0 + i * MIN))),
        ...Array.from({ length: 10 }, (_, i) => record('gps', 'id-truck-1', gpsFix(rand, T0 + i * 1000, i, true))),
      ].map(any);

      it('the same batch twice counts duplicates and stores one point each', async () => {
        expect(await store.writeBatch(batch)).toEqual({ written: 50, duplicates: 0 });
        expect(await store.writeBatch(batch)).toEqual({ written: 0, duplicates: 50 });
        expect(await store.count({ from: T0, to: T0 + HOUR })).toBe(50);
        // hourly windows (where a backend may read a rollup) count each point once too
        for (const q of [
          { stream: 'air', field: 'pm10', from: T0, to: T0 + HOUR, windowMs: HOUR },
          { stream: 'noise', field: 'laeq', from: T0, to: T0 + 2 * HOUR, windowMs: 2 * HOUR },
        ] as SeriesQuery[]) {
          expectSeriesEqual(await store.series(q), expectedSeries(batch, q), `${q.field} after re-send`);
        }
      });

      it('a batch of new and old points writes only the new ones; stored points are not overwritten', async () => {
        const changed = record('air', 'id-air-1', { ...(batch[3]!.payload as AirReading), pm10: 999 });
        const fresh = [20, 21, 22].map((i) => any(record('air', 'id-air-1', airReading(rand, T0 + i * MIN))));
        const sameTsOtherStream = any(record('status', 'id-air-1', { ts: T0 + 3 * MIN, fw: '1.0.0', uptimeS: 10 }, { kind: 'air' }));
        const res = await store.writeBatch([any(changed), ...fresh, batch[0]!, sameTsOtherStream]);
        expect(res).toEqual({ written: 4, duplicates: 2 });
        const s = await store.series({ stream: 'air', field: 'pm10', deviceIds: ['id-air-1'], from: T0 + 3 * MIN, to: T0 + 4 * MIN, windowMs: MIN });
        expect(s).toHaveLength(1);
        close(s[0]!.mean, (batch[3]!.payload as AirReading).pm10!, 'first write kept');
        expect(await store.count({ deviceId: 'id-air-1', from: T0, to: T0 + HOUR })).toBe(24);
      });

      it('duplicates inside one batch are stored once', async () => {
        const r = any(record('noise', 'id-noise-2', noiseReading(rand, T0 + 5 * MIN)));
        const res = await store.writeBatch([r, r, r]);
        expect(res).toEqual({ written: 1, duplicates: 2 });
        expect(await store.count({ deviceId: 'id-noise-2' })).toBe(1);
      });
    });

    // Section 3: truck tracks and events.
    describe('track and truck events', () => {
      const T0 = ANCHOR + 14 * HOUR;
      const rand = seededRng(3);
      const fixes = Array.from({ length: 60 }, (_, i) => record('gps', 'tr-truck-1', gpsFix(rand, T0 + i * 5000, i, i % 3 !== 0)));
      const other = Array.from({ length: 10 }, (_, i) => record('gps', 'tr-truck-2', gpsFix(rand, T0 + i * 5000, i, false)));
      const ev1 = [
        record('event', 'tr-truck-1', { ts: T0 + 10_000, type: 'ignition_on', lat: 18.14, lon: -94.44 }),
        record('event', 'tr-truck-1', { ts: T0 + 60_000, type: 'bin_lift', binId: 'B-1', weightKg: 20 }),
        record('event', 'tr-truck-1', { ts: T0 + 90_000, type: 'bin_lift', binId: 'B-2', weightKg: 31.5 }),
        record('event', 'tr-truck-1', { ts: T0 + 300_000, type: 'ignition_off' }),
      ];
      const ev2 = [record('event', 'tr-truck-2', { ts: T0 + 60_000, type: 'bin_lift', binId: 'B-9', weightKg: 12 }), record('event', 'tr-truck-2', { ts: T0 + 70_000, type: 'unload', weightKg: 900 })];

      beforeAll(async () => {
        // written out of order, in two batches
        const shuffled = [...fixes].sort(byKeys((r) => (r.ts * 31) % 97));
        await store.writeBatch([...shuffled.slice(0, 30), ...other.slice(0, 5), ...ev1.slice(2)].map(any));
        await store.writeBatch([...shuffled.slice(30), ...other.slice(5), ...ev2, ...ev1.slice(0, 2)].map(any));
      });

      it('track() is in time order and covers exactly [from, to)', async () => {
        const from = T0 + 50_000;
        const to = T0 + 150_000;
        const track = await store.track({ deviceId: 'tr-truck-1', from, to });
        const want = fixes.filter((r) => r.ts >= from && r.ts < to).map((r) => toTrackPoint(r.payload));
        expect(want).toHaveLength(20);
        expect(track).toEqual(want);
        expect(track[0]!.ts).toBe(from); // from is included
        expect(track.at(-1)!.ts).toBe(to - 5000); // to is excluded
      });

      it('track() of another device or an empty range is empty', async () => {
        expect(await store.track({ deviceId: 'tr-truck-1', from: T0 - HOUR, to: T0 })).toEqual([]);
        expect(await store.track({ deviceId: 'tr-nobody', from: T0, to: T0 + HOUR })).toEqual([]);
        expect(await store.track({ deviceId: 'tr-truck-2', from: T0, to: T0 + HOUR })).toHaveLength(10);
      });

      it('truckEvents() orders by time then device and filters by devices and [from, to)', async () => {
        const all = await store.truckEvents({ from: T0, to: T0 + HOUR });
        const want = [...ev1, ...ev2]
          .map((r) => toEventRow(r.deviceId, r.payload))
          .sort(
            byKeys(
              (r) => r.ts,
              (r) => r.deviceId,
            ),
          );
        expect(all).toEqual(want);
        const one = await store.truckEvents({ deviceIds: ['tr-truck-2'], from: T0, to: T0 + 70_000 });
        expect(one).toEqual([toEventRow('tr-truck-2', ev2[0]!.payload)]);
        expect(await store.truckEvents({ deviceIds: ['tr-nobody'], from: T0, to: T0 + HOUR })).toEqual([]);
      });
    });

    // Section 4: series by window, short range.
    describe('series by window', () => {
      const T0 = ANCHOR + 16 * HOUR;
      const rand = seededRng(4);
      const recs: AnyTelemetryRecord[] = [];
      for (const dev of ['sw-air-1', 'sw-air-2', 'sw-air-3']) {
        for (let i = 0; i < 90; i++) recs.push(any(record('air', dev, airReading(rand, T0 + i * MIN + Math.floor(rand() * 50_000), { dropPm25: rand() < 0.2 }))));
      }
      for (const dev of ['sw-noise-1', 'sw-noise-2']) {
        for (let i = 0; i < 90; i++) recs.push(any(record('noise', dev, noiseReading(rand, T0 + i * MIN + 30_000))));
      }
      beforeAll(async () => {
        await store.writeBatch(recs);
      });

      it('buckets are aligned to multiples of windowMs, sorted by device then time', async () => {
        const q: SeriesQuery = { stream: 'air', field: 'pm25', from: T0, to: T0 + 90 * MIN, windowMs: 10 * MIN };
        const got = await store.series(q);
        expect(got.length).toBeGreaterThanOrEqual(27);
        for (const b of got) expect(b.t % q.windowMs).toBe(0);
        expectSeriesEqual(got, expectedSeries(recs, q), 'pm25 10 min');
      });

      it('count is the number of readings that had the field', async () => {
        const q: SeriesQuery = { stream: 'air', field: 'pm25', deviceIds: ['sw-air-1'], from: T0, to: T0 + 2 * HOUR, windowMs: 2 * HOUR };
        const got = await store.series(q);
        const have = recs.filter((r) => r.deviceId === 'sw-air-1' && (r.payload as AirReading).pm25 !== undefined).length;
        expect(have).toBeLessThan(90);
        expect(got.reduce((s, b) => s + b.count, 0)).toBe(have);
        expectSeriesEqual(got, expectedSeries(recs, q), 'pm25 2 h');
      });

      it('filters by devices; range not aligned to the window keeps only readings in [from, to)', async () => {
        const q: SeriesQuery = { stream: 'noise', field: 'laeq', deviceIds: ['sw-noise-2'], from: T0 + 7 * MIN + 30_000, to: T0 + 67 * MIN + 30_000, windowMs: 15 * MIN };
        const got = await store.series(q);
        expect(new Set(got.map((b) => b.deviceId))).toEqual(new Set(['sw-noise-2']));
        expect(got.reduce((s, b) => s + b.count, 0)).toBe(60);
        expectSeriesEqual(got, expectedSeries(recs, q), 'laeq 15 min');
        const q2: SeriesQuery = { ...q, field: 'lamax', deviceIds: ['sw-noise-1', 'sw-noise-2'], windowMs: 5 * MIN };
        expectSeriesEqual(await store.series(q2), expectedSeries(recs, q2), 'lamax 5 min two devices');
      });

      it('no readings → no buckets', async () => {
        expect(await store.series({ stream: 'air', field: 'so2', deviceIds: ['sw-air-1'], from: T0, to: T0 + HOUR, windowMs: MIN })).toEqual([]);
        expect(await store.series({ stream: 'noise', field: 'laeq', deviceIds: ['sw-nobody'], from: T0, to: T0 + HOUR, windowMs: MIN })).toEqual([]);
      });
    });

    // Section 5: a long range, where a backend may use rollups: must equal the raw aggregation.
    describe('series over 40 days equals the raw aggregation', () => {
      const START = ANCHOR - 40 * DAY;
      const END = ANCHOR;
      const rand = seededRng(5);
      const recs: AnyTelemetryRecord[] = [];
      for (const dev of ['lr-air-1', 'lr-air-2']) {
        for (let t = START; t < END; t += 20 * MIN) {
          if (rand() < 0.03) continue; // gaps
          recs.push(any(record('air', dev, airReading(rand, t + Math.floor(rand() * 19 * MIN), { dropPm25: rand() < 0.1 }))));
        }
      }
      for (let t = START; t < END; t += 30 * MIN) recs.push(any(record('noise', 'lr-noise-1', noiseReading(rand, t + Math.floor(rand() * 29 * MIN)))));

      beforeAll(async () => {
        // several batches, out of time order (a late batch at the end)
        const late = recs.filter((_, i) => i % 17 === 0);
        const onTime = recs.filter((_, i) => i % 17 !== 0);
        for (let i = 0; i < onTime.length; i += 2500) await store.writeBatch(onTime.slice(i, i + 2500));
        await store.writeBatch(late);
        // re-sent points (ingest retrying after a lost ack) must not count twice, rollups included
        const resend = recs.slice(1000, 2500);
        expect(await store.writeBatch(resend)).toEqual({ written: 0, duplicates: resend.length });
      }, 120_000);

      it('hourly and daily windows over the whole range', async () => {
        for (const windowMs of [HOUR, 6 * HOUR, DAY]) {
          const q: SeriesQuery = { stream: 'air', field: 'pm25', from: START, to: END, windowMs };
          expectSeriesEqual(await store.series(q), expectedSeries(recs, q), `pm25 ${windowMs / HOUR} h`);
        }
        const qn: SeriesQuery = { stream: 'noise', field: 'lamin', from: START, to: END, windowMs: DAY };
        expectSeriesEqual(await store.series(qn), expectedSeries(recs, qn), 'lamin 1 d');
      });

      it('a range that does not start or end on the hour', async () => {
        const q: SeriesQuery = { stream: 'air', field: 'tempC', deviceIds: ['lr-air-2'], from: START + 3 * DAY + 17 * MIN, to: END - 5 * DAY - 41 * MIN, windowMs: DAY };
        expectSeriesEqual(await store.series(q), expectedSeries(recs, q), 'tempC 1 d unaligned');
        const q2: SeriesQuery = { ...q, windowMs: HOUR };
        expectSeriesEqual(await store.series(q2), expectedSeries(recs, q2), 'tempC 1 h unaligned');
      });

      it('a window that is not a multiple of an hour', async () => {
        const q: SeriesQuery = { stream: 'air', field: 'rhPct', from: START + 10 * DAY, to: START + 12 * DAY, windowMs: 45 * MIN };
        expectSeriesEqual(await store.series(q), expectedSeries(recs, q), 'rhPct 45 min');
      });

      it('totals match the raw count', async () => {
        const q: SeriesQuery = { stream: 'air', field: 'pm10', from: START, to: END, windowMs: 10 * DAY };
        const got = await store.series(q);
        expect(got.reduce((s, b) => s + b.count, 0)).toBe(recs.filter((r) => r.stream === 'air').length);
        expect(await store.count({ stream: 'air', from: START, to: END })).toBe(recs.filter((r) => r.stream === 'air').length);
      });
    });

    // Section 6: plates.
    describe('plate reads: counts, search, purge', () => {
      const T0 = ANCHOR + 18 * HOUR;
      const rand = seededRng(6);
      const plates: TelemetryRecord<'plate'>[] = [];
      const letters = 'ABCDEFGHJKLMNPRSTUVWXYZ';
      for (const cam of ['pl-cam-1', 'pl-cam-2']) {
        for (let i = 0; i < 120; i++) {
          const ts = T0 + Math.floor(rand() * 3 * HOUR);
          const plate = `${letters[Math.floor(rand() * 23)]}${letters[Math.floor(rand() * 23)]}${letters[Math.floor(rand() * 23)]}-${100 + Math.floor(rand() * 900)}`;
          const p: PlateRead = {
            ts,
            plate,
            region: rand() < 0.8 ? 'VER' : 'TAB',
            confidence: round(0.5 + rand() * 0.5, 2),
            direction: rand() < 0.5 ? 'entering' : 'leaving',
            lane: 1 + Math.floor(rand() * 4),
          };
          plates.push(record('plate', cam, p, { district: cam === 'pl-cam-1' ? 'Entrada Sur' : 'Puerto' }));
        }
      }
      // one plate seen several times, by both cameras
      const WATCH = 'XYZ-987-B';
      const watched = [5, 40, 95, 150].map((m, i) =>
        record(
          'plate',
          i % 2 ? 'pl-cam-2' : 'pl-cam-1',
          { ts: T0 + m * MIN + 1, plate: WATCH, region: 'VER', confidence: 0.9, direction: i % 2 ? 'leaving' : 'entering', lane: 2 },
          { district: i % 2 ? 'Puerto' : 'Entrada Sur' },
        ),
      );
      const similar = record('plate', 'pl-cam-1', { ts: T0 + 7 * MIN, plate: 'XYZ-9876', region: 'VER', confidence: 0.8, direction: 'entering', lane: 1 }, { district: 'Entrada Sur' });
      // dedupe: same camera + ts would collide; the generator may produce one, keep the first
      const all = [...plates, ...watched, similar].filter((r, i, arr) => arr.findIndex((o) => o.deviceId === r.deviceId && o.ts === r.ts) === i);
      const toRow = (r: TelemetryRecord<'plate'>) => ({
        cameraId: r.deviceId,
        ts: r.ts,
        plate: r.payload.plate,
        region: r.payload.region,
        confidence: r.payload.confidence,
        direction: r.payload.direction,
        lane: r.payload.lane,
        district: r.district,
      });

      beforeAll(async () => {
        const res = await store.writeBatch(all.map(any));
        expect(res).toEqual({ written: all.length, duplicates: 0 });
      });

      it('plateCounts() per camera, hour and direction, sorted', async () => {
        const from = T0;
        const to = T0 + 3 * HOUR;
        const counts = new Map<string, number>();
        for (const r of all) {
          const key = `${r.deviceId}|${Math.floor(r.ts / HOUR) * HOUR}|${r.payload.direction}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        const want = [...counts.entries()]
          .map(([k, count]) => {
            const [cameraId, hour, direction] = k.split('|') as [string, string, 'entering' | 'leaving'];
            return { cameraId, hour: Number(hour), direction, count };
          })
          .sort(
            byKeys(
              (r) => r.cameraId,
              (r) => r.hour,
              (r) => r.direction,
            ),
          );
        expect(await store.plateCounts({ from, to })).toEqual(want);
        expect(await store.plateCounts({ cameraIds: ['pl-cam-2'], from, to })).toEqual(want.filter((r) => r.cameraId === 'pl-cam-2'));
        // half-open range on hour boundaries
        expect(await store.plateCounts({ from: T0 + HOUR, to: T0 + 2 * HOUR })).toEqual(want.filter((r) => r.hour === T0 + HOUR));
      });

      it('plateSearch() exact: newest first, filtered by cameras, range and limit', async () => {
        const want = watched.map(toRow).sort(
          byKeys(
            (r) => -r.ts,
            (r) => r.cameraId,
          ),
        );
        expect(await store.plateSearch({ plate: WATCH, from: T0, to: T0 + 3 * HOUR, limit: 50 })).toEqual(want);
        expect(await store.plateSearch({ plate: WATCH, from: T0, to: T0 + 3 * HOUR, limit: 2 })).toEqual(want.slice(0, 2));
        expect(await store.plateSearch({ plate: WATCH, cameraIds: ['pl-cam-1'], from: T0, to: T0 + 3 * HOUR, limit: 50 })).toEqual(want.filter((r) => r.cameraId === 'pl-cam-1'));
        expect(await store.plateSearch({ plate: WATCH, from: T0 + 40 * MIN + 1, to: T0 + 150 * MIN + 1, limit: 50 })).toEqual(
          want.filter((r) => r.ts >= T0 + 40 * MIN + 1 && r.ts < T0 + 150 * MIN + 1),
        );
        // exact does not match a longer plate
        expect((await store.plateSearch({ plate: 'XYZ-987', from: T0, to: T0 + 3 * HOUR, limit: 50 })).filter((r) => r.plate !== 'XYZ-987')).toEqual([]);
      });

      it('plateSearch() partial: case-insensitive substring, special characters taken literally', async () => {
        const sub = 'yz-98';
        const want = all
          .filter((r) => r.payload.plate.includes(sub.toUpperCase()))
          .map(toRow)
          .sort(
            byKeys(
              (r) => -r.ts,
              (r) => r.cameraId,
            ),
          );
        expect(want.length).toBeGreaterThanOrEqual(5);
        expect(await store.plateSearch({ plate: sub, partial: true, from: T0, to: T0 + 3 * HOUR, limit: 100 })).toEqual(want);
        // '.' '*' '%' '_' are not wildcards
        for (const p of ['X.Z', 'XY.*', '%', 'X_Z', '.*', '(', '[A-Z]', '\\']) {
          expect(await store.plateSearch({ plate: p, partial: true, from: T0, to: T0 + 3 * HOUR, limit: 100 }), p).toEqual([]);
        }
      });

      it('purgePlates() deletes reads before the cut-off and returns how many', async () => {
        const cut = T0 + 90 * MIN;
        const before = all.filter((r) => r.ts < cut).length;
        // earlier sections also stored a few plate reads before the cut
        const storedBefore = await store.count({ stream: 'plate', to: cut });
        expect(storedBefore).toBeGreaterThanOrEqual(before);
        const otherStreamsBefore = await store.count({ stream: 'air' });
        expect(await store.purgePlates(cut)).toBe(storedBefore);
        expect(await store.count({ stream: 'plate', to: cut })).toBe(0);
        expect(await store.count({ stream: 'plate', from: T0, to: T0 + 3 * HOUR })).toBe(all.length - before);
        expect(await store.plateSearch({ plate: WATCH, from: T0, to: T0 + 3 * HOUR, limit: 50 })).toEqual(
          watched
            .filter((r) => r.ts >= cut)
            .map(toRow)
            .sort(byKeys((r) => -r.ts)),
        );
        expect(await store.count({ stream: 'air' })).toBe(otherStreamsBefore);
        expect(await store.purgePlates(cut)).toBe(0);
      });
    });

    // Section 7: latest by event time.
    describe('latest by event time', () => {
      const T0 = ANCHOR + 20 * HOUR;
      const rand = seededRng(7);

      it('an older reading that arrives later does not replace the latest', async () => {
        const newer = record('air', 'lt-air-1', airReading(rand, T0 + 10 * MIN), { receivedAt: T0 + 10 * MIN + 300 });
        await store.writeBatch([any(newer)]);
        const older = record('air', 'lt-air-1', airReading(rand, T0 + 2 * MIN), { receivedAt: T0 + 30 * MIN, late: true });
        expect(await store.writeBatch([any(older)])).toEqual({ written: 1, duplicates: 0 });
        expect(await store.latest({ deviceIds: ['lt-air-1'] })).toEqual([newer]);
        // the late one is stored, with its flag, and shows in series
        const s = await store.series({ stream: 'air', field: 'pm10', deviceIds: ['lt-air-1'], from: T0, to: T0 + HOUR, windowMs: HOUR });
        expect(s[0]!.count).toBe(2);
      });

      it('a late reading with a newer event time becomes the latest, late flag kept', async () => {
        const st1 = record('status', 'lt-truck-1', { ts: T0 + 5 * MIN, fw: '1.0.0', uptimeS: 100 });
        const gps1 = record('gps', 'lt-truck-1', gpsFix(rand, T0 + 5 * MIN, 1, true));
        await store.writeBatch([any(st1), any(gps1)]);
        const gpsLate = record('gps', 'lt-truck-1', gpsFix(rand, T0 + 6 * MIN, 2, false), { receivedAt: T0 + 25 * MIN, late: true });
        const gpsOld = record('gps', 'lt-truck-1', gpsFix(rand, T0 + 1 * MIN, 3, false), { receivedAt: T0 + 26 * MIN, late: true });
        await store.writeBatch([any(gpsLate), any(gpsOld)]);
        expect(await store.latest({ deviceIds: ['lt-truck-1'] })).toEqual([gpsLate, st1]);
      });

      it('filters by devices and streams, sorted by device then stream', async () => {
        const n1 = record('noise', 'lt-noise-1', noiseReading(rand, T0 + 3 * MIN));
        const n2 = record('noise', 'lt-noise-1', noiseReading(rand, T0 + 4 * MIN));
        const s1 = record('status', 'lt-noise-1', { ts: T0 + 1 * MIN, fw: '3.1', uptimeS: 5, batteryPct: 50 }, { kind: 'noise' });
        await store.writeBatch([any(n2), any(s1), any(n1)]);
        expect(await store.latest({ deviceIds: ['lt-noise-1'], streams: ['noise'] })).toEqual([n2]);
        expect(await store.latest({ deviceIds: ['lt-noise-1', 'lt-truck-1'], streams: ['status'] })).toEqual([s1, expect.objectContaining({ deviceId: 'lt-truck-1', stream: 'status' })]);
        const everything = await store.latest({});
        const keys = everything.map((r) => `${r.deviceId}/${r.stream}`);
        expect(keys).toEqual([...keys].sort());
        expect(new Set(keys).size).toBe(keys.length);
        expect(keys).toContain('lt-noise-1/noise');
        expect(keys).toContain('rb-cam-1/status');
        expect(await store.latest({ deviceIds: ['lt-nobody'] })).toEqual([]);
      });
    });

    // Section 8: dead letters.
    describe('dead letters', () => {
      const R0 = ANCHOR + 22 * HOUR;
      const reasons: RejectReason[] = ['schema', 'invalid_json', 'unknown_device', 'future_timestamp', 'store_rejected'];
      const letters: DeadLetter[] = [];
      for (let i = 0; i < 40; i++) {
        const reason = reasons[i % reasons.length]!;
        letters.push({
          id: `dl-${String(i).padStart(3, '0')}`,
          // bursts: several letters share one millisecond, device and reason
          receivedAt: R0 + Math.floor(i / 4) * 1000,
          topic: reason === 'unknown_device' ? 'city/v1/air/dl-ghost/air' : `city/v1/air/dl-air-${i % 3}/air`,
          deviceId: i % 10 === 9 ? null : reason === 'unknown_device' ? 'dl-ghost' : `dl-air-${i % 3}`,
          reason,
          detail: `${reason}: field /pm25 must be <= 1000 (got ${i})`,
          payload: i === 7 ? 'base64:AAECAwQ=' : `{"ts":1,"pm25":${i},"note":"comma, space = \\"quote\\" \\n newline ñ"}`,
        });
      }

      beforeAll(async () => {
        await store.writeDeadLetters(letters.slice(0, 25));
        await store.writeDeadLetters(letters.slice(25));
      });

      const newestFirst = byKeys<DeadLetter>(
        (l) => -l.receivedAt,
        (l) => l.id,
      );

      it('every letter is kept, newest first, equal to what was written', async () => {
        const got = await store.deadLetters({ from: R0, to: R0 + HOUR, limit: 1000 });
        expect(got).toEqual([...letters].sort(newestFirst));
        expect(got.find((l) => l.id === 'dl-009')!.deviceId).toBeNull();
      });

      it('filters by device, reason, time and limit', async () => {
        expect(await store.deadLetters({ deviceId: 'dl-air-1', limit: 1000 })).toEqual(letters.filter((l) => l.deviceId === 'dl-air-1').sort(newestFirst));
        expect(await store.deadLetters({ reason: 'schema', limit: 1000 })).toEqual(letters.filter((l) => l.reason === 'schema').sort(newestFirst));
        expect(await store.deadLetters({ deviceId: 'dl-ghost', reason: 'unknown_device', limit: 3 })).toEqual(
          letters
            .filter((l) => l.deviceId === 'dl-ghost')
            .sort(newestFirst)
            .slice(0, 3),
        );
        const from = R0 + 2000;
        const to = R0 + 6000;
        expect(await store.deadLetters({ from, to, limit: 1000 })).toEqual(letters.filter((l) => l.receivedAt >= from && l.receivedAt < to).sort(newestFirst));
        expect(await store.deadLetters({ from: R0, to: R0 + HOUR, limit: 5 })).toEqual([...letters].sort(newestFirst).slice(0, 5));
        expect(await store.deadLetters({ reason: 'oversized', limit: 10 })).toEqual([]);
      });

      it('deadLetterCounts() per reason, over a range or everything', async () => {
        const want: Partial<Record<RejectReason, number>> = {};
        for (const l of letters) want[l.reason] = (want[l.reason] ?? 0) + 1;
        expect(await store.deadLetterCounts({ from: R0, to: R0 + HOUR })).toEqual(want);
        expect(await store.deadLetterCounts({})).toEqual(want);
        const part: Partial<Record<RejectReason, number>> = {};
        for (const l of letters.filter((x) => x.receivedAt < R0 + 3000)) part[l.reason] = (part[l.reason] ?? 0) + 1;
        expect(await store.deadLetterCounts({ to: R0 + 3000 })).toEqual(part);
        expect(await store.deadLetterCounts({ from: R0 + HOUR })).toEqual({});
      });
    });

    // Section 9: count() filters.
    describe('count()', () => {
      const T0 = ANCHOR + 23 * HOUR;
      const rand = seededRng(9);

      it('counts by stream, device and half-open range; unbounded ranges', async () => {
        const totalBefore = await store.count({});
        const recs = [
          ...Array.from({ length: 30 }, (_, i) => record('noise', 'ct-noise-1', noiseReading(rand, T0 + i * MIN))),
          ...Array.from({ length: 12 }, (_, i) => record('status', 'ct-noise-1', { ts: T0 + i * 5 * MIN, fw: '1.0', uptimeS: i * 300 } as DeviceStatus, { kind: 'noise' })),
          ...Array.from({ length: 7 }, (_, i) => record('noise', 'ct-noise-2', noiseReading(rand, T0 + i * MIN))),
        ].map(any);
        await store.writeBatch(recs);
        expect(await store.count({})).toBe(totalBefore + recs.length);
        expect(await store.count({ deviceId: 'ct-noise-1' })).toBe(42);
        expect(await store.count({ deviceId: 'ct-noise-1', stream: 'noise' })).toBe(30);
        expect(await store.count({ deviceId: 'ct-noise-1', from: T0 + 10 * MIN, to: T0 + 20 * MIN })).toBe(12);
        expect(await store.count({ deviceId: 'ct-noise-1', from: T0 + 10 * MIN })).toBe(20 + 10);
        expect(await store.count({ deviceId: 'ct-noise-1', to: T0 + 10 * MIN })).toBe(10 + 2);
        expect(await store.count({ stream: 'noise', from: T0, to: T0 + 7 * MIN })).toBe(14);
        expect(await store.count({ stream: 'gps', deviceId: 'ct-noise-1' })).toBe(0);
      });
    });
  });
}
