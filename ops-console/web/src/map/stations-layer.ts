/**
 * The live map's station layers: air-quality stations as dots in their Índice AIRE Y SALUD colour
 * (colors.ts, from the rules' NOM-172 tables), noise stations as a ring in their NOM-081 level's
 * colour around a small dot. GeoJSON sources from LiveFeatures (promoteId 'id').
 */
import type { ExpressionSpecification, Map as MlMap } from 'maplibre-gl';
import { AIR_COLORS, NOISE_COLORS, NO_DATA_COLOR } from '../colors';
import { addGeoSource, bindDeviceClick, type MapLayerModule } from './layer';

export const STATION_SOURCES = { air: 'live-air', noise: 'live-noise' } as const;
export const STATION_LAYERS = ['air', 'noise-ring', 'noise'] as const;

const match = (prop: string, colors: Record<string, string>, fallback = NO_DATA_COLOR) => ['match', ['get', prop], ...Object.entries(colors).flat(), fallback] as unknown as ExpressionSpecification;

export function addStationLayers(map: MlMap): void {
  map.addLayer({
    id: 'air',
    type: 'circle',
    source: STATION_SOURCES.air,
    paint: {
      'circle-color': match('cat', AIR_COLORS),
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 7, 16, 14],
      'circle-stroke-color': '#0b1220',
      'circle-stroke-width': 2.5,
    },
  });
  map.addLayer({
    id: 'noise-ring',
    type: 'circle',
    source: STATION_SOURCES.noise,
    paint: {
      'circle-color': '#0b1220',
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 7, 16, 14],
      'circle-stroke-color': match('level', NOISE_COLORS),
      'circle-stroke-width': 4,
    },
  });
  map.addLayer({
    id: 'noise',
    type: 'circle',
    source: STATION_SOURCES.noise,
    paint: { 'circle-color': match('level', NOISE_COLORS), 'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 2.5, 16, 5] },
  });
}

/** The stations as a map layer module (layer.ts): sources, layers, live mode, click to select. */
export const stationsLayer: MapLayerModule = {
  name: 'stations',
  sources: Object.values(STATION_SOURCES),
  modes: { live: STATION_LAYERS },
  install(map) {
    addGeoSource(map, STATION_SOURCES.air, { promoteId: 'id' });
    addGeoSource(map, STATION_SOURCES.noise, { promoteId: 'id' });
    addStationLayers(map);
  },
  bind(map, host) {
    bindDeviceClick(map, host, 'air', 'air');
    bindDeviceClick(map, host, 'noise-ring', 'noise');
    bindDeviceClick(map, host, 'noise', 'noise');
  },
};
