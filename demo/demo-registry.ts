/**
 * The demo city's devices, placed on the demo street network: 40 garbage trucks (one per route),
 * 6 air-quality stations, 7 noise stations (NOM-081 zone types) and 8 plate cameras (one per
 * direction on each of the four roads into the city).
 */
import type { City, Position } from '../city/city';
import { offsetM } from '../contract/geo';
import { seededRng, pick, intBetween } from '../lib/rng';
import type { NoiseZone, RegistryDevice } from '../registry/schema';
import { StreetGraph } from '../city/street-graph';

export type DeviceSpec = Omit<RegistryDevice, 'passwordHash'>;

const pad = (n: number) => String(n).padStart(2, '0');

/** A Veracruz-style plate: three letters (first Y–Z? no: the state's series), three digits, a letter. */
export function veracruzPlate(rng: () => number): string {
  const L = 'ABCDEFGHJKLMNPRSTUVWXYZ';
  const l = () => L[Math.floor(rng() * L.length)]!;
  return `Y${l()}${l()}-${intBetween(rng, 100, 999)}-${l()}`;
}

/** A point near the centre of a district, on the network, moved `offM` metres off the street. */
function siteIn(city: City, g: StreetGraph, district: string, rng: () => number, offM = 15): Position {
  const segs = city.streets.features.filter((f) => f.properties.district === district && f.properties.class !== 'primary');
  // the district's centroid of segment midpoints, then the nearest street node to it, jittered
  let x = 0,
    y = 0;
  for (const f of segs) {
    const c = f.geometry.coordinates;
    x += (c[0]![0] + c[c.length - 1]![0]) / 2;
    y += (c[0]![1] + c[c.length - 1]![1]) / 2;
  }
  const centre: Position = [x / segs.length, y / segs.length];
  const target = offsetM(centre, (rng() - 0.5) * 800, (rng() - 0.5) * 800);
  const node = g.nodes.get(g.nearestNode(target))!;
  const p = offsetM(node, offM, offM);
  return [Math.round(p[0] * 1e6) / 1e6, Math.round(p[1] * 1e6) / 1e6];
}

const NOISE_ZONE_BY_DISTRICT: Record<string, NoiseZone> = {
  Centro: 'industrial_commercial',
  Petrolera: 'industrial_commercial',
  'Santa Isabel': 'school',
  'Puerto Esmeralda': 'residential',
  'María de la Piedad': 'residential',
  'Lomas de Barrillas': 'residential',
};

export function demoDevices(city: City, seed = 7): DeviceSpec[] {
  const rng = seededRng(seed);
  const g = StreetGraph.of(city);
  const devices: DeviceSpec[] = [];
  city.routes.forEach((r, i) => {
    devices.push({
      id: `truck-${pad(i + 1)}`,
      kind: 'truck',
      model: pick(rng, ['Teltonika FMC130 (sim)', 'Queclink GV300 (sim)']),
      district: r.district,
      status: 'active',
      truck: { depotId: r.depotId, routeId: r.id, plate: veracruzPlate(rng) },
      intervals: { dataS: 5, statusS: 60, parkedS: 300 },
      thresholds: { speedLimitKmh: 50, idleMinutes: 20, offRouteMeters: 150, maxClockSkewS: 120 },
    });
  });
  const districts = city.districts.features.map((d) => d.properties.name);
  districts.forEach((d, i) => {
    devices.push({
      id: `air-${pad(i + 1)}`,
      kind: 'air',
      model: 'AQ-Sentinel 6 (sim)',
      district: d,
      status: 'active',
      location: (() => {
        const [lon, lat] = siteIn(city, g, d, rng, 20);
        return { lat, lon };
      })(),
      intervals: { dataS: 60, statusS: 300 },
      thresholds: { stuckMinutes: 60, batteryLowPct: 20, maxClockSkewS: 120 },
    });
  });
  districts.forEach((d, i) => {
    const [lon, lat] = siteIn(city, g, d, rng, 12);
    devices.push({
      id: `noise-${pad(i + 1)}`,
      kind: 'noise',
      model: 'SLM-Class1 (sim)',
      district: d,
      status: 'active',
      location: { lat, lon },
      noiseZone: NOISE_ZONE_BY_DISTRICT[d] ?? 'residential',
      intervals: { dataS: 60, statusS: 300 },
      thresholds: { noiseSustainMinutes: 10, stuckMinutes: 60, batteryLowPct: 20, maxClockSkewS: 120 },
    });
  });
  // the malecón: festivals and bars at night
  const malecon = city.streets.features.find((f) => f.properties.name === 'Av. Malecón Costero');
  if (malecon) {
    const c = malecon.geometry.coordinates[0]!;
    const p = offsetM([c[0], c[1]], 10, -12);
    devices.push({
      id: `noise-${pad(districts.length + 1)}`,
      kind: 'noise',
      model: 'SLM-Class1 (sim)',
      district: malecon.properties.district,
      status: 'active',
      location: { lat: Math.round(p[1] * 1e6) / 1e6, lon: Math.round(p[0] * 1e6) / 1e6 },
      noiseZone: 'entertainment',
      intervals: { dataS: 60, statusS: 300 },
      thresholds: { noiseSustainMinutes: 10, maxClockSkewS: 120 },
    });
  }
  let cam = 0;
  for (const e of city.entrances) {
    for (const direction of ['entering', 'leaving'] as const) {
      cam++;
      const p = offsetM([e.lon, e.lat], direction === 'entering' ? 8 : -8, direction === 'entering' ? 8 : -8);
      devices.push({
        id: `cam-${pad(cam)}`,
        kind: 'camera',
        model: 'LPR-2000 (sim)',
        district: e.district,
        status: 'active',
        location: { lat: Math.round(p[1] * 1e6) / 1e6, lon: Math.round(p[0] * 1e6) / 1e6 },
        camera: { road: e.road, direction, lanes: e.lanes },
        intervals: { dataS: 1, statusS: 300 },
        thresholds: { maxClockSkewS: 120 },
      });
    }
  }
  return devices;
}

/** Plates the demo hotlist contains (the console seeds its hotlist with these); the cameras read them now and then. */
export const DEMO_HOTLIST = [
  { plate: 'YKR-482-C', reason: 'Reporte de robo (demo)' },
  { plate: 'WTB-318-A', reason: 'Vehículo buscado por la fiscalía (demo)' },
  { plate: '482-XKD', reason: 'Placa sobrepuesta (demo)' },
  { plate: 'DPL-905-B', reason: 'Reporte de robo (demo)' },
] as const;
