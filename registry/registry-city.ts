/**
 * Registry validation against the city it belongs to: a device must be somewhere the city has.
 * Every problem names the registry file, the device and the field, like `registryProblems`.
 *
 *   district            one of the city's districts (name or id)
 *   location            inside the city's bounds (+ CITY_LIMITS.boundsMarginM)
 *   air / noise         within CITY_LIMITS.stationMaxFromStreetM of the street network
 *   camera              camera.road is one of the city's entrances, location within
 *                       CITY_LIMITS.cameraMaxFromEntranceM of it
 *   truck               truck.depotId and truck.routeId exist, the route starts at that depot, and
 *                       the depot is on the street network (within CITY_LIMITS.depotMaxFromStreetM)
 */
import type { City, Position } from '../city/city';
import { distanceM, pointLineDistanceM } from '../contract/geo';
import type { Registry, RegistryDevice } from './schema';

export const CITY_LIMITS = {
  /** how far outside the city's bbox a device may stand (m) */
  boundsMarginM: 1000,
  /** air and noise stations: largest distance from the nearest street (m) */
  stationMaxFromStreetM: 300,
  /** truck depots: largest distance from the nearest street (m) */
  depotMaxFromStreetM: 50,
  /** plate cameras: largest distance from the entrance they watch (m) */
  cameraMaxFromEntranceM: 500,
} as const;

const fmtM = (m: number) => (m >= 10_000 ? `${(m / 1000).toFixed(0)} km` : `${Math.round(m)} m`);

/** Distance (m) from p to the city's bbox; 0 inside. */
export function distanceFromBoundsM(city: City, p: Position): number {
  const [w, s, e, n] = city.bbox;
  const q: Position = [Math.min(e, Math.max(w, p[0])), Math.min(n, Math.max(s, p[1]))];
  return q[0] === p[0] && q[1] === p[1] ? 0 : distanceM(p, q);
}

/** Distance (m) from p to the nearest street of the city. */
export function distanceToStreetsM(city: City, p: Position): number {
  let best = Infinity;
  for (const f of city.streets.features) best = Math.min(best, pointLineDistanceM(p, f.geometry.coordinates as Position[]));
  return best;
}

/** Problems of one device against the city (empty = fits). */
export function deviceCityProblems(d: Omit<RegistryDevice, 'passwordHash'>, city: City, file: string): string[] {
  const out: string[] = [];
  const at = (field: string, msg: string) => out.push(`${file}: device ${d.id}: field ${field}: ${msg}`);
  const districts = city.districts.features.map((f) => f.properties);
  if (districts.length && !districts.some((x) => x.name === d.district || x.id === d.district)) {
    at('district', `"${d.district}" is not a district of ${city.name} (one of: ${districts.map((x) => x.name).join(', ')})`);
  }
  if (d.location) {
    const p: Position = [d.location.lon, d.location.lat];
    const off = distanceFromBoundsM(city, p);
    if (off > CITY_LIMITS.boundsMarginM) {
      at('location', `${d.location.lat}, ${d.location.lon} is outside ${city.name} (${fmtM(off)} beyond its bounds; at most ${fmtM(CITY_LIMITS.boundsMarginM)})`);
    } else if ((d.kind === 'air' || d.kind === 'noise') && city.streets.features.length) {
      const m = distanceToStreetsM(city, p);
      if (m > CITY_LIMITS.stationMaxFromStreetM) at('location', `${fmtM(m)} from the nearest street (a station stands within ${CITY_LIMITS.stationMaxFromStreetM} m of the street network)`);
    }
  }
  if (d.kind === 'camera' && d.camera) {
    const entrances = city.entrances ?? [];
    const e = entrances.find((x) => x.road === d.camera!.road);
    if (!e) at('camera.road', `"${d.camera.road}" is not an entrance of ${city.name} (one of: ${entrances.map((x) => x.road).join('; ') || 'none'})`);
    else if (d.location) {
      const m = distanceM([d.location.lon, d.location.lat], [e.lon, e.lat]);
      if (m > CITY_LIMITS.cameraMaxFromEntranceM) at('location', `${fmtM(m)} from entrance ${e.id} on ${e.road} (at most ${CITY_LIMITS.cameraMaxFromEntranceM} m)`);
    }
  }
  if (d.kind === 'truck' && d.truck) {
    const depot = city.depots.find((x) => x.id === d.truck!.depotId);
    const route = city.routes.find((x) => x.id === d.truck!.routeId);
    if (!depot) at('truck.depotId', `"${d.truck.depotId}" is not a depot of ${city.name} (one of: ${city.depots.map((x) => x.id).join(', ')})`);
    else if (city.streets.features.length) {
      const m = distanceToStreetsM(city, [depot.lon, depot.lat]);
      if (m > CITY_LIMITS.depotMaxFromStreetM) at('truck.depotId', `depot ${depot.id} is ${fmtM(m)} from the street network (at most ${CITY_LIMITS.depotMaxFromStreetM} m)`);
    }
    if (!route)
      at(
        'truck.routeId',
        `"${d.truck.routeId}" is not a route of ${city.name} (${city.routes.length} routes, e.g. ${city.routes
          .slice(0, 3)
          .map((x) => x.id)
          .join(', ')})`,
      );
    else if (depot && route.depotId !== depot.id) at('truck.routeId', `route ${route.id} starts at ${route.depotId}, not at ${depot.id}`);
  }
  return out;
}

/** Every non-retired device of the registry against the city. */
export function registryCityProblems(reg: Registry, city: City, file: string): string[] {
  return reg.devices.filter((d) => d.status !== 'retired').flatMap((d) => deviceCityProblems(d, city, file));
}
