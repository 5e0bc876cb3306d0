/** Helpers for the rule tests: a real registry file, records as ingest produces them, a small city. */
import type { AlertEvent, AnyTelemetryRecord, DeviceKind, StreamPayload, TelemetryStream } from '../../contract';
import type { City, Position } from '../../city/city';
import { RegistryView } from '../../registry/registry';
import type { RegistryDevice } from '../../registry/schema';
import { tempDir } from '../../testing/net';
import { writeTestRegistry } from '../../testing/registry-fixture';

export const EXTRA_DEVICES: Omit<RegistryDevice, 'passwordHash'>[] = [
  {
    id: 'truck-09',
    kind: 'truck',
    model: 'sim-gps',
    district: 'Centro',
    status: 'active',
    truck: { depotId: 'depot-t', routeId: 'route-t' },
    intervals: { dataS: 10, statusS: 60, parkedS: 300 },
    thresholds: { speedLimitKmh: 50 },
  },
  {
    id: 'noise-02',
    kind: 'noise',
    model: 'sim-sl',
    district: 'Puerto',
    status: 'active',
    location: { lat: 18.14, lon: -94.42 },
    noiseZone: 'industrial_commercial',
    intervals: { dataS: 60, statusS: 300 },
    thresholds: { noiseSustainMinutes: 5 },
  },
];

export function testRegistry(): RegistryView {
  return new RegistryView(writeTestRegistry(tempDir('rules-'), EXTRA_DEVICES));
}

export function record<S extends TelemetryStream>(reg: RegistryView, deviceId: string, stream: S, payload: StreamPayload[S], opts: { receivedAt?: number; late?: boolean } = {}): AnyTelemetryRecord {
  const dev = reg.device(deviceId)!;
  const ts = (payload as { ts: number }).ts;
  return { deviceId, kind: dev.kind as DeviceKind, stream, ts, receivedAt: opts.receivedAt ?? ts + 200, late: opts.late ?? false, district: dev.district, payload } as AnyTelemetryRecord;
}

/** Collects published alerts. */
export function sink() {
  const events: AlertEvent[] = [];
  return {
    events,
    publish: (e: AlertEvent) => void events.push(e),
    of: (rule: string, deviceId?: string) => events.filter((e) => e.rule === rule && (!deviceId || e.deviceId === deviceId)),
    clear: () => void (events.length = 0),
  };
}

/**
 * A straight east–west street chain at 18.13 N: x_i = −94.5 + 0.003·i (≈ 317 m per block),
 * segments s1 … s7 (s_i from x_{i−1} to x_i), a parallel street 400 m north, depot at x0.
 * route-t: s1 (transit), s2 … s6 collected, s7 (transit); shift 06:00 for 7 h.
 */
export const LAT = 18.13;
export const X = (i: number) => -94.5 + 0.003 * i;
export function testCity(): City {
  const street = (id: string, a: Position, b: Position, name: string) => ({
    type: 'Feature' as const,
    geometry: { type: 'LineString' as const, coordinates: [a, b] },
    properties: { segmentId: id, name, class: 'residential' as const, district: 'Centro' },
  });
  const features = [];
  for (let i = 1; i <= 7; i++) features.push(street(`s${i}`, [X(i - 1), LAT], [X(i), LAT], `Calle ${i}`));
  features.push(street('n1', [X(0), LAT + 0.0036], [X(7), LAT + 0.0036], 'Calle Norte'));
  return {
    type: 'City',
    version: 1,
    name: 'Test city',
    timezone: 'America/Mexico_City',
    generated: true,
    note: 'test',
    center: [X(3), LAT],
    bbox: [X(0), LAT, X(7), LAT + 0.004],
    streets: { type: 'FeatureCollection', features },
    districts: { type: 'FeatureCollection', features: [] },
    water: { type: 'FeatureCollection', features: [] },
    depots: [{ id: 'depot-t', name: 'Depot T', lat: LAT, lon: X(0), district: 'Centro', unload: true }],
    routes: [{ id: 'route-t', depotId: 'depot-t', district: 'Centro', segments: ['s1', 's2', 's3', 's4', 's5', 's6', 's7'], collectFrom: 1, collectTo: 5, shiftStart: 6, shiftHours: 7 }],
    entrances: [],
  };
}
