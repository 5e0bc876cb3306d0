/** A tiny stand-in basemap (a few streets around the demo city's centre) used only when no city file is available. */
import type { Basemap } from './types';

const C: [number, number] = [-94.45, 18.13];
const d = 0.004;
const line = (id: string, name: string, cls: 'primary' | 'secondary' | 'residential', coords: [number, number][]) => ({
  type: 'Feature' as const,
  geometry: { type: 'LineString' as const, coordinates: coords },
  properties: { segmentId: id, name, class: cls, district: 'Centro' },
});

export const PLACEHOLDER_BASEMAP: Basemap = {
  name: 'Coatzacoalcos (placeholder)',
  placeholder: true,
  center: C,
  bbox: [C[0] - 3 * d, C[1] - 3 * d, C[0] + 3 * d, C[1] + 3 * d],
  streets: {
    type: 'FeatureCollection',
    features: [
      line('p1', 'Av. Principal', 'primary', [
        [C[0] - 3 * d, C[1]],
        [C[0] + 3 * d, C[1]],
      ]),
      line('p2', 'Calle Norte', 'secondary', [
        [C[0], C[1] - 3 * d],
        [C[0], C[1] + 3 * d],
      ]),
      line('p3', 'Calle 1', 'residential', [
        [C[0] - 3 * d, C[1] + d],
        [C[0] + 3 * d, C[1] + d],
      ]),
    ],
  },
  districts: {
    type: 'FeatureCollection',
    features: [
      {
        type: 'Feature',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [C[0] - 3 * d, C[1] - 3 * d],
              [C[0] + 3 * d, C[1] - 3 * d],
              [C[0] + 3 * d, C[1] + 3 * d],
              [C[0] - 3 * d, C[1] + 3 * d],
              [C[0] - 3 * d, C[1] - 3 * d],
            ],
          ],
        },
        properties: { id: 'centro', name: 'Centro' },
      },
    ],
  },
  water: {
    type: 'FeatureCollection',
    features: [
      {
        type: 'Feature',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [C[0] - 3 * d, C[1] + 2 * d],
              [C[0] + 3 * d, C[1] + 2 * d],
              [C[0] + 3 * d, C[1] + 3 * d],
              [C[0] - 3 * d, C[1] + 3 * d],
              [C[0] - 3 * d, C[1] + 2 * d],
            ],
          ],
        },
        properties: { name: 'Golfo de México', kind: 'sea' },
      },
    ],
  },
  depots: [],
  routes: [],
  entrances: [],
};
