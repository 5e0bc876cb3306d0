/**
 * Coverage: the city's street segments coloured served / missed by feature-state on the streets
 * source (no new data per change). The streets source is added when the style lacks it (an
 * external MAP_STYLE_URL style): coverage needs it.
 */
import type { FeatureCollection } from 'geojson';
import type { Map as MlMap } from 'maplibre-gl';
import type { Basemap } from '../basemap/types';
import { BASEMAP_SOURCES } from '../basemap/style';
import type { MapLayerModule } from './layer';

export const COVERAGE_LAYER = 'coverage';

export class CoverageLayer implements MapLayerModule {
  readonly name = 'coverage';
  readonly sources = [BASEMAP_SOURCES.streets];
  readonly modes = { coverage: [COVERAGE_LAYER] } as const;
  private ids: string[] = [];
  private map: MlMap | null = null;

  constructor(private readonly basemap: Basemap) {}

  install(map: MlMap): void {
    this.map = map;
    if (!map.getSource(BASEMAP_SOURCES.streets)) {
      map.addSource(BASEMAP_SOURCES.streets, { type: 'geojson', data: this.basemap.streets as FeatureCollection, promoteId: 'segmentId' });
    }
    map.addLayer({
      id: COVERAGE_LAYER,
      type: 'line',
      source: BASEMAP_SOURCES.streets,
      layout: { 'line-cap': 'round', visibility: 'none' },
      paint: {
        'line-color': ['case', ['==', ['feature-state', 'cov'], 'served'], '#22c55e', ['==', ['feature-state', 'cov'], 'missed'], '#ef4444', '#000000'],
        'line-opacity': ['case', ['==', ['feature-state', 'cov'], 'served'], 0.9, ['==', ['feature-state', 'cov'], 'missed'], 1, 0],
        'line-width': ['interpolate', ['linear'], ['zoom'], 11, 2.5, 16, 10],
      },
    });
  }

  /** Colour street segments served / missed (the previous colouring is removed). */
  set(served: string[], missed: string[]): void {
    const map = this.map;
    if (!map) return;
    for (const id of this.ids) map.removeFeatureState({ source: BASEMAP_SOURCES.streets, id });
    for (const id of served) map.setFeatureState({ source: BASEMAP_SOURCES.streets, id }, { cov: 'served' });
    for (const id of missed) map.setFeatureState({ source: BASEMAP_SOURCES.streets, id }, { cov: 'missed' });
    this.ids = [...served, ...missed];
  }
}
