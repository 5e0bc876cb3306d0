/** The sensor-level faults the alert-quality scenario injects, on the real models. */
import { describe, expect, it } from 'vitest';
import { loadCity } from '../../city/city';
import { distanceM } from '../../contract/geo';
import { localMidnight } from '../clock';
import { AirModel } from './air';
import { CameraModel } from './camera';
import { NoiseModel } from './noise';
import { TruckModel } from './truck';

const city = loadCity();
const day = localMidnight(Date.UTC(2026, 10, 23, 18), 'America/Mexico_City');

describe('injected model faults', () => {
  it('pollution multiplies the air readings; loud raises the noise level', () => {
    const t = day + 12 * 3_600_000;
    const a = new AirModel({ deviceId: 'air-01', dataS: 60, start: t });
    const b = new AirModel({ deviceId: 'air-01', dataS: 60, start: t });
    b.faults.pollution = 4;
    const ra = a.advance(t + 60_000)[0]!.payload as { pm25: number };
    const rb = b.advance(t + 60_000)[0]!.payload as { pm25: number };
    expect(rb.pm25).toBeCloseTo(ra.pm25 * 4, 0);
    const n1 = new NoiseModel({ deviceId: 'noise-01', zone: 'residential', dataS: 60, start: t });
    const n2 = new NoiseModel({ deviceId: 'noise-01', zone: 'residential', dataS: 60, start: t });
    n2.faults.loudDb = 15;
    expect((n2.advance(t + 60_000)[0]!.payload as { laeq: number }).laeq - (n1.advance(t + 60_000)[0]!.payload as { laeq: number }).laeq).toBeCloseTo(15, 0);
  });

  it('idle stops a collecting truck with the engine on; skip moves its fixes beside the route; hotlist reads a listed plate once', () => {
    const route = city.routes.find((r) => r.id === 'route-01')!;
    const start = day + (route.shiftStart + 2) * 3_600_000;
    const idle = new TruckModel({ deviceId: 'truck-01', city, routeId: 'route-01', gpsS: 5, start, natural: false });
    idle.advance(start + 1000);
    idle.faults.idleMin = 15;
    const fixes = idle
      .advance(start + 20 * 60_000)
      .filter((e) => e.stream === 'gps')
      .map((e) => e.payload as { speedKmh: number });
    expect(fixes.filter((f) => f.speedKmh === 0).length).toBeGreaterThan(150); // ≥ 12.5 min standing
    expect(idle.advance(start + 21 * 60_000).some((e) => e.stream === 'event' && e.payload.type === 'ignition_off')).toBe(false);
    const a = new TruckModel({ deviceId: 'truck-01', city, routeId: 'route-01', gpsS: 5, start, natural: false });
    const b = new TruckModel({ deviceId: 'truck-01', city, routeId: 'route-01', gpsS: 5, start, natural: false });
    b.faults.skipM = 100;
    const fa = a
      .advance(start + 60_000)
      .filter((e) => e.stream === 'gps')
      .map((e) => e.payload as { lat: number; lon: number });
    const fb = b
      .advance(start + 60_000)
      .filter((e) => e.stream === 'gps')
      .map((e) => e.payload as { lat: number; lon: number });
    const d = distanceM([fa[3]!.lon, fa[3]!.lat], [fb[3]!.lon, fb[3]!.lat]);
    expect(d).toBeGreaterThan(90);
    expect(d).toBeLessThan(110);
    const cam = new CameraModel({ deviceId: 'cam-01', direction: 'both', lanes: 4, start, hotlist: ['YKR-482-C'], hotlistRate: 0 });
    cam.faults.hotlistRead = true;
    const reads = cam
      .advance(start + 10 * 60_000)
      .filter((e) => e.stream === 'plate')
      .map((e) => (e.payload as { plate: string }).plate);
    expect(reads.filter((p) => p === 'YKR-482-C')).toHaveLength(1);
  });
});
