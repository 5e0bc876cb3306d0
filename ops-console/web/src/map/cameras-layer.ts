/**
 * Plate cameras on the live map. The cameras of one entrance (one per direction, metres apart)
 * would be drawn on one point at city zoom; here they are spread side by side above a small
 * anchor dot at the entrance (a fixed offset in screen pixels, so they stay apart at every zoom),
 * and each entrance is labelled with its road's name (bundled glyphs; under MAP_STYLE_URL the
 * style's own font). A camera with a recent read is drawn lighter.
 */
import type { FeatureCollection, Point } from 'geojson';
import type { Map as MlMap } from 'maplibre-gl';
import type { DeviceMeta } from '../live/model';
import { LABEL_FONT } from '../basemap/glyphs';
import { cameraSquare } from './icons';
import { addGeoSource, bindDeviceClick, type MapLayerModule } from './layer';

export const CAMERA_SOURCE = 'live-cameras';
export const CAMERA_LABEL_SOURCE = 'live-camera-labels';
export const CAMERA_LAYERS = ['camera-anchors', 'cameras', 'camera-labels'] as const;
/** cameras closer than this (and on the same road) are one entrance */
export const CAMERA_GROUP_M = 150;
/** screen distance between two cameras of one entrance, and their height above the anchor (CSS px) */
export const CAMERA_SPREAD_PX = 26;
export const CAMERA_LIFT_PX = 20;
export const CAMERA_COLOR = '#e879f9';

export interface CameraLayout {
  /** per camera: its icon's offset from its entrance's anchor, CSS px ([0, 0] for a camera alone) */
  offsets: Map<string, [number, number]>;
  /** per camera: the anchor its icon is drawn from (the entrance: mean of its cameras) */
  anchors: Map<string, [number, number]>;
  /** one point per entrance, named after its road */
  labels: FeatureCollection<Point, { name: string; cameras: number }>;
}

const metres = (a: [number, number], b: [number, number]) => {
  const k = Math.cos(((a[1] + b[1]) / 2) * (Math.PI / 180));
  return Math.hypot((a[0] - b[0]) * k, a[1] - b[1]) * 111_320;
};

/** Groups cameras into entrances (same road, within CAMERA_GROUP_M) and spreads each group. */
export function layoutCameras(metas: Iterable<DeviceMeta>): CameraLayout {
  const groups: { road: string; at: [number, number]; members: DeviceMeta[] }[] = [];
  for (const m of metas) {
    if (m.kind !== 'camera' || !m.location) continue;
    const p: [number, number] = [m.location.lon, m.location.lat];
    const road = m.camera?.road ?? '';
    const g = groups.find((x) => x.road === road && metres(x.at, p) <= CAMERA_GROUP_M);
    if (g) g.members.push(m);
    else groups.push({ road, at: p, members: [m] });
  }
  const offsets = new Map<string, [number, number]>();
  const anchors = new Map<string, [number, number]>();
  const labels: CameraLayout['labels'] = { type: 'FeatureCollection', features: [] };
  const order = (d?: string) => (d === 'entering' ? 0 : d === 'leaving' ? 1 : 2);
  for (const g of groups) {
    g.members.sort((a, b) => order(a.camera?.direction) - order(b.camera?.direction) || a.id.localeCompare(b.id));
    const n = g.members.length;
    const at: [number, number] = [g.members.reduce((s, m) => s + m.location!.lon, 0) / n, g.members.reduce((s, m) => s + m.location!.lat, 0) / n];
    g.members.forEach((m, i) => {
      offsets.set(m.id, n === 1 ? [0, 0] : [(i - (n - 1) / 2) * CAMERA_SPREAD_PX, -CAMERA_LIFT_PX]);
      anchors.set(m.id, n === 1 ? [m.location!.lon, m.location!.lat] : at);
    });
    if (g.road) labels.features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: at }, properties: { name: g.road, cameras: n } });
  }
  return { offsets, anchors, labels };
}

/** The font of the style's own labels (an external MAP_STYLE_URL), else the bundled one. */
function labelFont(map: MlMap): string[] {
  for (const l of map.getStyle().layers ?? []) {
    const f = (l as { layout?: Record<string, unknown> }).layout?.['text-font'];
    if (Array.isArray(f) && f.every((x) => typeof x === 'string')) return f as string[];
  }
  return LABEL_FONT;
}

export function addCameraLayers(map: MlMap): void {
  map.addImage('camera', cameraSquare(CAMERA_COLOR), { pixelRatio: 2 });
  map.addImage('camera-read', cameraSquare('#f0abfc'), { pixelRatio: 2 });
  if (!map.getSource(CAMERA_LABEL_SOURCE)) map.addSource(CAMERA_LABEL_SOURCE, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({
    id: 'camera-anchors',
    type: 'circle',
    source: CAMERA_SOURCE,
    paint: { 'circle-color': CAMERA_COLOR, 'circle-radius': 3, 'circle-stroke-color': '#05080f', 'circle-stroke-width': 1.5 },
  });
  map.addLayer({
    id: 'cameras',
    type: 'symbol',
    source: CAMERA_SOURCE,
    layout: {
      'icon-image': ['case', ['>', ['get', 'reads'], 0], 'camera-read', 'camera'],
      'icon-offset': ['get', 'offset'],
      'icon-allow-overlap': true,
      'icon-ignore-placement': true,
    },
  });
  // a style without glyphs (the map benchmark) has no labels
  if (map.getStyle().glyphs) {
    map.addLayer({
      id: 'camera-labels',
      type: 'symbol',
      source: CAMERA_LABEL_SOURCE,
      minzoom: 11,
      layout: {
        'text-field': ['get', 'name'],
        'text-font': labelFont(map),
        'text-size': ['interpolate', ['linear'], ['zoom'], 11, 11, 16, 14],
        'text-anchor': 'top',
        'text-offset': [0, 0.7],
        'text-max-width': 12,
        'text-optional': true,
      },
      paint: { 'text-color': '#f5d0fe', 'text-halo-color': '#05080f', 'text-halo-width': 1.6 },
    });
  }
}

/** The cameras as a map layer module (layer.ts): sources, layers, live mode, click to select. */
export const camerasLayer: MapLayerModule = {
  name: 'cameras',
  sources: [CAMERA_SOURCE, CAMERA_LABEL_SOURCE],
  modes: { live: CAMERA_LAYERS },
  install(map) {
    addGeoSource(map, CAMERA_SOURCE, { promoteId: 'id' });
    addCameraLayers(map);
  },
  bind(map, host) {
    bindDeviceClick(map, host, 'cameras', 'camera');
  },
};
