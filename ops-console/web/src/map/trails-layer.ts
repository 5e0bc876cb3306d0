/** The live trucks' recent trails (a line-gradient per truck, trail-style.ts). */
import type { Map as MlMap } from 'maplibre-gl';
import { addGeoSource, type MapLayerModule } from './layer';
import { trailCasingPaint, trailPaint } from './trail-style';

export const TRAIL_SOURCE = 'live-trails';
export const TRAIL_LAYERS = ['trails-casing', 'trails'] as const;

export const trailsLayer: MapLayerModule = {
  name: 'trails',
  sources: [TRAIL_SOURCE],
  modes: { live: TRAIL_LAYERS },
  install(map: MlMap) {
    addGeoSource(map, TRAIL_SOURCE, { lineMetrics: true });
    map.addLayer({ id: 'trails-casing', type: 'line', source: TRAIL_SOURCE, layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: trailCasingPaint() });
    map.addLayer({ id: 'trails', type: 'line', source: TRAIL_SOURCE, layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: trailPaint() });
  },
};
