/** Replay: a past day's tracks, their marks (bin lifts, stops, unloads) and the vehicles at the replay's time. */
import type { FeatureCollection } from 'geojson';
import type { GeoJSONSource, Map as MlMap } from 'maplibre-gl';
import { addGeoSource, type MapLayerModule } from './layer';

export const REPLAY_SOURCES = { tracks: 'replay-tracks', marks: 'replay-marks', vehicles: 'replay-vehicles' } as const;
export const REPLAY_LAYERS = ['replay-tracks', 'replay-marks', 'replay-vehicles'] as const;

export class ReplayLayer implements MapLayerModule {
  readonly name = 'replay';
  readonly sources = Object.values(REPLAY_SOURCES);
  readonly modes = { replay: REPLAY_LAYERS };
  private map: MlMap | null = null;

  install(map: MlMap): void {
    this.map = map;
    addGeoSource(map, REPLAY_SOURCES.tracks, { lineMetrics: true });
    addGeoSource(map, REPLAY_SOURCES.marks);
    addGeoSource(map, REPLAY_SOURCES.vehicles, { promoteId: 'id' });
    map.addLayer({
      id: 'replay-tracks',
      type: 'line',
      source: REPLAY_SOURCES.tracks,
      layout: { 'line-cap': 'round', 'line-join': 'round', visibility: 'none' },
      paint: { 'line-color': ['coalesce', ['get', 'color'], '#7dd3fc'], 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 2, 16, 6], 'line-opacity': 0.8 },
    });
    map.addLayer({
      id: 'replay-marks',
      type: 'circle',
      source: REPLAY_SOURCES.marks,
      layout: { visibility: 'none' },
      paint: {
        'circle-color': ['match', ['get', 'type'], 'bin_lift', '#22d3ee', 'stop', '#fbbf24', 'unload', '#a78bfa', '#94a3b8'],
        'circle-radius': ['match', ['get', 'type'], 'stop', 6, 4],
        'circle-stroke-color': '#0b1220',
        'circle-stroke-width': 1.5,
      },
    });
    map.addLayer({
      id: 'replay-vehicles',
      type: 'symbol',
      source: REPLAY_SOURCES.vehicles,
      layout: {
        visibility: 'none',
        'icon-image': 'truck-driving',
        'icon-rotate': ['get', 'heading'],
        'icon-rotation-alignment': 'map',
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
        'icon-size': 1.2,
      },
    });
  }

  setData(tracks: FeatureCollection, marks: FeatureCollection): void {
    void this.map?.getSource<GeoJSONSource>(REPLAY_SOURCES.tracks)?.setData(tracks);
    void this.map?.getSource<GeoJSONSource>(REPLAY_SOURCES.marks)?.setData(marks);
  }

  setVehicles(v: FeatureCollection): void {
    void this.map?.getSource<GeoJSONSource>(REPLAY_SOURCES.vehicles)?.setData(v);
  }
}
