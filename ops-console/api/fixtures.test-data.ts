/** Telemetry written through store.writeBatch for the API tests (real DuckDB store). */
import type { AnyTelemetryRecord, DeadLetter } from '../../contract';

export const HOUR = 3_600_000;

export interface Fixture {
  records: AnyTelemetryRecord[];
  letters: DeadLetter[];
  /** start of the data (hour aligned) */
  t0: number;
  /** end of the data */
  t1: number;
}

export function fixture(now = Date.now()): Fixture {
  const t0 = Math.floor((now - 2 * 86_400_000) / HOUR) * HOUR;
  const recs: AnyTelemetryRecord[] = [];
  const base = { late: false, district: 'Centro' };
  // air-01: one reading a minute for 3 hours
  for (let i = 1; i <= 180; i++) {
    const ts = t0 + i * 60_000;
    recs.push({ ...base, deviceId: 'air-01', kind: 'air', stream: 'air', ts, receivedAt: ts + 500, payload: { ts, windowS: 60, pm25: i < 60 ? 10 : 80, pm10: 30, o3: 0.02, tempC: 28, rhPct: 70 } });
  }
  // noise-01: 3 hours at 60 dB(A) (over the residential limit day and night)
  for (let i = 1; i <= 180; i++) {
    const ts = t0 + i * 60_000;
    recs.push({ ...base, deviceId: 'noise-01', kind: 'noise', stream: 'noise', ts, receivedAt: ts + 500, payload: { ts, windowS: 60, laeq: 60, lamax: 72, lamin: 48 } });
  }
  // truck-01 drives most of street s1 (lon -94.44 → -94.4385, ~53 m short of s2), a fix every 5 s
  for (let i = 0; i <= 20; i++) {
    const ts = t0 + 10 * 60_000 + i * 5000;
    recs.push({
      ...base,
      deviceId: 'truck-01',
      kind: 'truck',
      stream: 'gps',
      ts,
      receivedAt: ts + 200,
      payload: { ts, lat: 18.14 + 0.00005, lon: -94.44 + (0.0015 * i) / 20, speedKmh: 20, heading: 90 },
    });
  }
  recs.push({
    ...base,
    deviceId: 'truck-01',
    kind: 'truck',
    stream: 'event',
    ts: t0 + 11 * 60_000,
    receivedAt: t0 + 11 * 60_000,
    payload: { ts: t0 + 11 * 60_000, type: 'bin_lift', binId: 'B-1', lat: 18.14, lon: -94.439 },
  });
  // cam-01: ABC123 entering three times, XYZ999 leaving once
  const plate = (ts: number, plateText: string, direction: 'entering' | 'leaving'): AnyTelemetryRecord => ({
    deviceId: 'cam-01',
    kind: 'camera',
    stream: 'plate',
    ts,
    receivedAt: ts + 100,
    late: false,
    district: 'Entrada Sur',
    payload: { ts, plate: plateText, region: 'VER', confidence: 0.93, direction, lane: 1 },
  });
  recs.push(plate(t0 + 5 * 60_000, 'ABC123', 'entering'), plate(t0 + 65 * 60_000, 'ABC123', 'entering'), plate(t0 + 70 * 60_000, 'ABC123', 'entering'), plate(t0 + 80 * 60_000, 'XYZ999', 'leaving'));
  // status with firmware
  for (const [id, kind, district] of [
    ['air-01', 'air', 'Centro'],
    ['cam-01', 'camera', 'Entrada Sur'],
  ] as const) {
    const ts = t0 + 60 * 60_000;
    recs.push({ deviceId: id, kind, stream: 'status', ts, receivedAt: ts, late: false, district, payload: { ts, fw: '1.4.2', uptimeS: 3600 } });
  }
  const letters: DeadLetter[] = [
    { id: 'dl-1', receivedAt: t0 + 1000, topic: 'city/v1/air/air-01/air', deviceId: 'air-01', reason: 'schema', detail: 'pm25: must be >= 0', payload: '{"ts":1,"pm25":-1}' },
    {
      id: 'dl-2',
      receivedAt: t0 + 2000,
      topic: 'city/v1/camera/cam-01/plate',
      deviceId: 'cam-01',
      reason: 'schema',
      detail: 'confidence: must be <= 1',
      payload: '{"plate":"SECRET1","confidence":7}',
    },
    { id: 'dl-3', receivedAt: t0 + 3000, topic: 'city/v1/air/ghost-01/air', deviceId: 'ghost-01', reason: 'unknown_device', detail: 'not in the registry', payload: '{}' },
  ];
  return { records: recs, letters, t0, t1: t0 + 3 * HOUR + 1 };
}
