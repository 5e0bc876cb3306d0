/**
 * The geofences a city starts with (first start only; an admin edits them in the console):
 * every depot of the city data as a circle, and — for the demo city — its landfill (relleno
 * sanitario, an invented site south of Santa Isabel: the generated city has none in its data).
 */
import type { Geofence } from '../contract';
import type { City } from '../city/city';
import { offsetM } from '../contract/geo';

/** radius of a depot's geofence, m (the yard and its gate) */
export const DEPOT_GEOFENCE_RADIUS_M = 150;

const DEMO_LANDFILL_CENTRE: [number, number] = [-94.455, 18.09];

const slug = (s: string) =>
  s
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');

export function demoGeofences(city: City, isDemoCity: boolean): Geofence[] {
  const out: Geofence[] = city.depots.map((d) => ({
    id: slug(d.id).length >= 3 ? slug(d.id) : `depot-${slug(d.id)}`,
    name: d.name,
    kind: 'depot',
    geometry: { type: 'circle', center: [d.lon, d.lat], radiusM: DEPOT_GEOFENCE_RADIUS_M },
    active: true,
  }));
  if (isDemoCity) {
    const c = DEMO_LANDFILL_CENTRE;
    const ring = [offsetM(c, -250, -200), offsetM(c, 250, -200), offsetM(c, 300, 150), offsetM(c, -200, 220)].map(
      (p) => [Math.round(p[0] * 1e6) / 1e6, Math.round(p[1] * 1e6) / 1e6] as [number, number],
    );
    out.push({ id: 'relleno-sanitario', name: 'Relleno sanitario municipal', kind: 'landfill', geometry: { type: 'polygon', coordinates: [...ring, ring[0]!] }, dwellLimitMin: 90, active: true });
  }
  return out;
}
