import { describe, expect, it } from 'vitest';
import type { AnyTelemetryRecord } from '../contract';
import { LiveStateBook, plateLiveState } from './live-state';

const rec = (ts: number, receivedAt: number, speedKmh = 10): AnyTelemetryRecord => ({
  deviceId: 'truck-01',
  kind: 'truck',
  stream: 'gps',
  ts,
  receivedAt,
  late: receivedAt - ts > 60_000,
  district: 'Centro',
  payload: { ts, lat: 18.1, lon: -94.4, speedKmh, heading: 0 },
});

describe('LiveStateBook', () => {
  it('keeps the latest reading per stream by event time, never by arrival order', () => {
    const book = new LiveStateBook(1000);
    book.applyRecord(rec(5000, 10_000, 50));
    book.applyRecord(rec(1000, 11_000, 10)); // older reading arriving later
    const s = book.get('truck-01')!;
    expect(s.latest.gps!.ts).toBe(5000);
    expect((s.latest.gps!.data as { speedKmh: number }).speedKmh).toBe(50);
    expect(s.lastSeen).toBe(11_000);
  });

  it('coalesces publication to at most once per interval per device', () => {
    const book = new LiveStateBook(1000);
    book.applyRecord(rec(1, 100));
    expect(book.due(100).map((s) => s.deviceId)).toEqual(['truck-01']);
    book.applyRecord(rec(2, 200));
    book.applyRecord(rec(3, 300));
    expect(book.due(500)).toEqual([]); // changed, but published 400 ms ago
    const later = book.due(1100);
    expect(later).toHaveLength(1);
    expect(later[0]!.latest.gps!.ts).toBe(3);
    expect(book.due(5000)).toEqual([]); // nothing changed since
  });

  it('records presence and marks the state for publication', () => {
    const book = new LiveStateBook(1000);
    book.applyPresence('air-01', 'air', 'Centro', true, 50);
    expect(book.due(60)[0]).toMatchObject({ deviceId: 'air-01', kind: 'air', online: true, lastSeen: 50 });
  });

  it('builds the svc/plate payload as a LiveState with the plate read', () => {
    const p = plateLiveState({
      deviceId: 'cam-01',
      kind: 'camera',
      stream: 'plate',
      ts: 10,
      receivedAt: 20,
      late: false,
      district: 'Entrada Sur',
      payload: { ts: 10, plate: 'ABC123', region: 'VER', confidence: 0.9, direction: 'entering', lane: 1 },
    });
    expect(p).toMatchObject({ deviceId: 'cam-01', latest: { plate: { ts: 10, data: { plate: 'ABC123' } } } });
  });
});
