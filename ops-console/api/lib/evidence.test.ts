/**
 * Evidence on seeded telemetry (real in-memory DuckDB store, the test registry): a street the
 * truck lifted bins on → collected (time and distance); a street it drove along → drove by; a
 * stop → stopped; a street off every route → not served; a serving truck with a telemetry gap →
 * unknown; full telemetry and no pass → not served; noise against NOM-081 and air against the
 * Índice AIRE Y SALUD at the report's hour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyTelemetryRecord } from '../../../contract';
import { RegistryView } from '../../../registry/registry';
import { openDuckDbStore } from '../../../store/duckdb/index';
import type { TelemetryStore } from '../../../store/types';
import { tempDir } from '../../../testing/net';
import { writeTestRegistry } from '../../../testing/registry-fixture';
import { evidenceCity } from './evidence.test-data';
import { computeEvidence, dueShift, geocodeAddress, type EvidenceDeps } from './evidence';

const LAT = 18.14;
const TZ = 'America/Mexico_City';
/** 2026-11-30 06:00 local (UTC−6): route-01's shift start */
const T0 = Date.UTC(2026, 10, 30, 12, 0);
const MIN = 60_000;

const gps = (ts: number, lon: number, lat: number, speedKmh: number): AnyTelemetryRecord => ({
  deviceId: 'truck-01',
  kind: 'truck',
  stream: 'gps',
  ts,
  receivedAt: ts,
  late: false,
  district: 'Centro',
  payload: { ts, lat, lon, speedKmh, heading: 90 },
});

describe('report evidence from telemetry', () => {
  let store: TelemetryStore;
  let registry: RegistryView;
  let deps: EvidenceDeps;
  let liftTs = 0;

  beforeAll(async () => {
    registry = new RegistryView(writeTestRegistry(tempDir('evidence-')));
    store = await openDuckDbStore({ file: ':memory:' });
    await store.init();
    const recs: AnyTelemetryRecord[] = [];
    // day 1: truck-01 collects s1 (a bin lift at -94.439) at 15 km/h, drives s2 at 25 km/h, then its telemetry stops
    let ts = T0 + 10 * MIN;
    for (let lon = -94.44; lon <= -94.4380001; lon += 0.0002, ts += 10_000) recs.push(gps(ts, lon, LAT, 15));
    liftTs = T0 + 10 * MIN + 50_000;
    recs.push({
      deviceId: 'truck-01',
      kind: 'truck',
      stream: 'event',
      ts: liftTs,
      receivedAt: liftTs,
      late: false,
      district: 'Centro',
      payload: { ts: liftTs, type: 'bin_lift', lat: LAT, lon: -94.439, binId: 'B-17', weightKg: 40 },
    });
    for (let lon = -94.4378; lon <= -94.4360001; lon += 0.0002, ts += 10_000) recs.push(gps(ts, lon, LAT, 25));
    // a bad fix (HDOP 25: the rules' maxHdop rejects it) that jumps onto s4, off every route
    recs.push({ ...gps(T0 + 30 * MIN, -94.439, 18.15, 20), payload: { ts: T0 + 30 * MIN, lat: 18.15, lon: -94.439, speedKmh: 20, heading: 90, hdop: 25, sats: 3 } } as AnyTelemetryRecord);
    // day 2: truck-01 stands at its depot the whole shift, a fix a minute (no gap, no pass elsewhere)
    for (let t = T0 + 86_400_000; t < T0 + 86_400_000 + 8 * 60 * MIN; t += MIN) recs.push(gps(t, -94.44, LAT, 0));
    // noise-01 (residential) at 62 dB(A) around 23:30 local of day 1 (night: limit 50)
    const night = Date.UTC(2026, 11, 1, 5, 0);
    for (let t = night + MIN; t <= night + 60 * MIN; t += MIN) {
      recs.push({ deviceId: 'noise-01', kind: 'noise', stream: 'noise', ts: t, receivedAt: t, late: false, district: 'Centro', payload: { ts: t, windowS: 60, laeq: 62, lamax: 70, lamin: 55 } });
    }
    // air-01: PM2.5 at 80 µg/m³ for the three hours before it
    for (let t = night - 3 * 60 * MIN + MIN; t <= night + 60 * MIN; t += MIN) {
      recs.push({ deviceId: 'air-01', kind: 'air', stream: 'air', ts: t, receivedAt: t, late: false, district: 'Centro', payload: { ts: t, windowS: 60, pm25: 80, pm10: 100 } });
    }
    await store.writeBatch(recs);
    deps = { store, registry, city: evidenceCity(), tz: TZ, radiusM: 30, now: T0 + 3 * 86_400_000 };
  });
  afterAll(async () => {
    await store.close();
    registry.close();
  });

  const at = T0 + 9 * 60 * MIN; // 15:00 local, after the shift

  it('the due window is the latest shift that started before the report', () => {
    expect(dueShift({ shiftStart: 6, shiftHours: 8 }, at, TZ)).toEqual({ from: T0, to: T0 + 8 * 60 * MIN });
    expect(dueShift({ shiftStart: 6, shiftHours: 8 }, T0 - MIN, TZ).from).toBe(T0 - 86_400_000);
  });

  it('a street the truck lifted bins on → collected, with the time and the distance', async () => {
    const ev = await computeEvidence(deps, 'missed_collection', [-94.4391, 18.1401], at);
    expect(ev.segment?.segmentId).toBe('s1');
    expect(ev.collection).toMatchObject({ kind: 'collected', reason: 'bin_lift', deviceId: 'truck-01', at: liftTs });
    expect(ev.collection!.distanceM).toBeGreaterThan(10);
    expect(ev.collection!.distanceM).toBeLessThan(20);
    expect(ev.collection!.routes).toEqual([{ routeId: 'route-01', deviceIds: ['truck-01'], from: T0, to: T0 + 8 * 60 * MIN }]);
  });

  it('a street it drove along without stopping → drove by', async () => {
    const ev = await computeEvidence(deps, 'missed_collection', [-94.437, 18.1401], at);
    expect(ev.segment?.segmentId).toBe('s2');
    expect(ev.collection).toMatchObject({ kind: 'drove_by', reason: 'pass', deviceId: 'truck-01' });
    expect(ev.collection!.distanceM).toBeLessThan(15);
    expect(ev.collection!.at).toBeGreaterThan(liftTs);
  });

  it('a street off every route that day → not served (a rejected GPS fix there is no pass)', async () => {
    const ev = await computeEvidence(deps, 'missed_collection', [-94.439, 18.1501], at);
    expect(ev.segment?.segmentId).toBe('s4');
    expect(ev.collection).toMatchObject({ kind: 'not_served', reason: 'no_route', routes: [] });
  });

  it('a serving truck with a telemetry gap → unknown, naming the truck and the gap', async () => {
    const ev = await computeEvidence(deps, 'missed_collection', [-94.439, 18.1441], at);
    expect(ev.segment?.segmentId).toBe('s5');
    expect(ev.collection).toMatchObject({ kind: 'unknown', reason: 'gap', deviceId: 'truck-01' });
    expect(ev.collection!.gap!.to).toBe(T0 + 8 * 60 * MIN);
  });

  it('a truck standing within the radius → stopped; full telemetry and no pass → not served', async () => {
    const day2 = at + 86_400_000;
    const stopped = await computeEvidence(deps, 'missed_collection', [-94.4399, 18.1401], day2);
    expect(stopped.collection).toMatchObject({ kind: 'stopped', reason: 'stop', deviceId: 'truck-01' });
    const none = await computeEvidence(deps, 'missed_collection', [-94.439, 18.1441], day2);
    expect(none.collection).toMatchObject({ kind: 'not_served', reason: 'no_pass' });
    expect(none.passAfterReport).toBeNull();
  });

  it('a pass after the report is recorded for the closing check', async () => {
    const ev = await computeEvidence(deps, 'missed_collection', [-94.4399, 18.1401], at);
    expect(ev.passAfterReport).toMatchObject({ deviceId: 'truck-01' });
    expect(ev.passAfterReport!.at).toBeGreaterThanOrEqual(T0 + 86_400_000);
  });

  it('noise: the nearest station against its NOM-081 limit; air: the Índice AIRE Y SALUD', async () => {
    const t = Date.UTC(2026, 11, 1, 5, 30); // 23:30 local
    const n = await computeEvidence(deps, 'noise', [-94.4301, 18.1455], t);
    expect(n.noise?.[0]).toMatchObject({ deviceId: 'noise-01', zone: 'residential', period: 'night', laeqDb: 62, limitDb: 50, over: true });
    expect(n.noise![0]!.source).toMatch(/NOM-081/);
    const a = await computeEvidence(deps, 'bad_air', [-94.4339, 18.1437], t);
    expect(a.air?.[0]?.deviceId).toBe('air-01');
    expect(a.air![0]!.category).toMatch(/^(mala|muy_mala|extremadamente_mala|aceptable|buena)$/);
    expect(a.air![0]!.responsible.length).toBeGreaterThan(0);
  });

  it('an address with a street name of the network is located on that street', () => {
    expect(geocodeAddress(evidenceCity(), 'calle S2 número 14, Centro')).toMatchObject({ segmentId: 's2' });
    expect(geocodeAddress(evidenceCity(), 'Avenida Inexistente 3')).toBeNull();
    const c = evidenceCity();
    c.streets.features[1]!.properties.name = 'Av. Niño Artillero';
    expect(geocodeAddress(c, 'av nino artillero 210, col. centro')).toMatchObject({ segmentId: 's2', name: 'Av. Niño Artillero' });
  });
});
