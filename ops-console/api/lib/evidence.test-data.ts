/** Test data for the report-evidence tests (not a test file itself). */
import type { City } from '../../../city/city';
import { testCity } from '../test-support';

/** The test city plus s4 (off every route) and s5 (collected by route-01, never driven). */
export function evidenceCity(): City {
  const c = testCity();
  const street = (id: string, lat: number, lon0: number, lon1: number) => ({
    type: 'Feature' as const,
    geometry: {
      type: 'LineString' as const,
      coordinates: [
        [lon0, lat],
        [lon1, lat],
      ] as [number, number][],
    },
    properties: { segmentId: id, name: `Calle ${id}`, class: 'residential' as const, district: 'Centro' },
  });
  c.streets.features.push(street('s4', 18.15, -94.44, -94.438), street('s5', 18.144, -94.44, -94.438));
  c.routes[0]!.segments = ['s1', 's2', 's5', 's3'];
  c.routes[0]!.collectTo = 2;
  return c;
}
