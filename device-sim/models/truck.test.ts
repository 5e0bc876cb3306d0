import { describe, expect, it } from 'vitest';
import { loadCity, type Position } from '../../city/city';
import { pointLineDistanceM } from '../../contract/geo';
import { localMidnight } from '../clock';
import { TruckModel } from './truck';
import type { Emit } from './types';

const city = loadCity();
const seg = new Map(city.streets.features.map((f) => [f.properties.segmentId, f.geometry.coordinates as Position[]]));

/** Check that fixes follow the route in order: each fix maps to a route segment within tolerance, never going back within a trip. */
export function checkRouteOrder(routeId: string, emits: Emit[], tolM = 10): { fixes: number; maxOffM: number; backwards: number; furthest: number } {
  const route = city.routes.find((r) => r.id === routeId)!;
  let ptr = 0;
  let maxOffM = 0;
  let backwards = 0;
  let fixes = 0;
  let furthest = 0;
  for (const e of emits) {
    if (e.stream === 'event' && e.payload.type === 'unload') ptr = 0; // next trip
    if (e.stream !== 'gps') continue;
    fixes++;
    const p: Position = [e.payload.lon, e.payload.lat];
    const dists = route.segments.map((id) => pointLineDistanceM(p, seg.get(id)!));
    maxOffM = Math.max(maxOffM, Math.min(...dists));
    let next = -1;
    for (let i = ptr; i < dists.length; i++) {
      if (dists[i]! <= tolM) {
        next = i;
        break;
      }
    }
    if (next < 0) backwards++;
    else ptr = next;
    furthest = Math.max(furthest, ptr);
  }
  return { fixes, maxOffM, backwards, furthest };
}

describe('garbage truck model', () => {
  // a day in local time: start at local midnight of 2026-11-23 (America/Mexico_City)
  const day = localMidnight(Date.UTC(2026, 10, 23, 18), 'America/Mexico_City');

  it.each(['route-01', 'route-12', 'route-27', 'route-36'])('%s: stays on its streets and follows its route order through the shift', (routeId) => {
    const route = city.routes.find((r) => r.id === routeId)!;
    const start = day + (route.shiftStart - 1) * 3_600_000;
    const m = new TruckModel({ deviceId: `truck-${routeId.slice(-2)}`, city, routeId, gpsS: 5, start });
    const emits = m.advance(start + (route.shiftHours + 2) * 3_600_000);
    const types = (t: string) => emits.filter((e) => e.stream === 'event' && e.payload.type === t);
    expect(types('ignition_on')).toHaveLength(1);
    // parked at start: it says so when it boots, and again when it parks after the shift
    expect(types('ignition_off')).toHaveLength(2);
    expect(types('ignition_off')[0]!.payload.ts).toBe(start);
    expect(types('unload').length).toBeGreaterThanOrEqual(2);
    expect(types('bin_lift').length).toBeGreaterThan(50);
    // bin lifts happen in the collection part only
    const collect = new Set(route.segments.slice(route.collectFrom, route.collectTo + 1));
    for (const e of types('bin_lift')) expect(collect.has(String((e.payload as { binId: string }).binId).split('-')[1]!)).toBe(true);
    const r = checkRouteOrder(routeId, emits);
    expect(r.fixes).toBeGreaterThan(1000);
    expect(r.maxOffM).toBeLessThan(10);
    expect(r.backwards).toBe(0);
    expect(r.furthest).toBe(route.segments.length - 1);
    // plausible speeds
    const speeds = emits.filter((e) => e.stream === 'gps').map((e) => (e.payload as { speedKmh: number }).speedKmh);
    expect(Math.max(...speeds)).toBeLessThan(65);
    // timestamps strictly inside the window and ordered
    const ts = emits.map((e) => e.payload.ts);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
  });

  it('parks at the depot off shift (heartbeat fixes at speed 0)', () => {
    const route = city.routes.find((r) => r.id === 'route-01')!;
    const start = day + (route.shiftStart - 4) * 3_600_000;
    const m = new TruckModel({ deviceId: 'truck-01', city, routeId: 'route-01', gpsS: 5, start });
    const all = m.advance(start + 2 * 3_600_000);
    const depot = city.depots.find((d) => d.id === route.depotId)!;
    // the ignition state first (off), then only heartbeat fixes
    expect(all[0]).toMatchObject({ stream: 'event', payload: { type: 'ignition_off', ts: start } });
    const emits = all.slice(1);
    expect(emits.every((e) => e.stream === 'gps' && e.payload.speedKmh === 0)).toBe(true);
    expect(emits.length).toBe(24);
    for (const e of emits)
      if (e.stream === 'gps')
        expect(
          pointLineDistanceM(
            [e.payload.lon, e.payload.lat],
            [
              [depot.lon, depot.lat],
              [depot.lon, depot.lat],
            ],
          ),
        ).toBeLessThan(10);
  });

  it('a truck that starts mid-shift reports its engine on at once; one parked at its 300 s heartbeat', () => {
    const route = city.routes.find((r) => r.id === 'route-01')!;
    const start = day + (route.shiftStart + 2) * 3_600_000;
    const m = new TruckModel({ deviceId: 'truck-01', city, routeId: 'route-01', gpsS: 5, start });
    const emits = m.advance(start + 60_000);
    expect(emits[0]).toMatchObject({ stream: 'event', payload: { type: 'ignition_on', ts: start } });
    expect(emits.filter((e) => e.stream === 'event' && e.payload.type === 'ignition_off')).toHaveLength(0);
    const parked = new TruckModel({ deviceId: 'truck-01', city, routeId: 'route-01', gpsS: 5, parkedGpsS: 600, start: day + (route.shiftStart - 4) * 3_600_000 });
    expect(parked.advance(day + (route.shiftStart - 3) * 3_600_000).filter((e) => e.stream === 'gps')).toHaveLength(6);
  });

  it('drift and jumps move fixes off the street', () => {
    const route = city.routes.find((r) => r.id === 'route-01')!;
    const start = day + (route.shiftStart + 1) * 3_600_000;
    const m = new TruckModel({ deviceId: 'truck-01', city, routeId: 'route-01', gpsS: 5, start });
    m.faults.gpsJumps = true;
    const r = checkRouteOrder('route-01', m.advance(start + 600_000));
    expect(r.maxOffM).toBeGreaterThan(500);
  });
});
