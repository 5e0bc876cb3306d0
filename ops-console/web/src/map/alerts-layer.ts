/**
 * Open and acknowledged alerts on the live map: a black-and-white dashed ring around the device
 * with a warning triangle in the severity's colour (icons.ts alertBadge) — a shape and a pattern
 * no station legend uses, so an alert is never read as a noise level (solid colour rings) or an
 * air category (solid dots). Acknowledged alerts are drawn faded; a camera's alert sits on its
 * icon, beside the other cameras of its entrance.
 */
import type { MapLayerMouseEvent, Map as MlMap } from 'maplibre-gl';
import { SEVERITY_COLORS } from '../colors';
import { alertBadge } from './icons';
import { addGeoSource, type MapLayerModule } from './layer';

export const ALERT_SOURCE = 'live-alerts';
export const ALERT_LAYER = 'alerts-halo';
export const alertIcon = (severity: keyof typeof SEVERITY_COLORS) => `alert-${severity}`;

export function addAlertLayer(map: MlMap): void {
  for (const [sev, color] of Object.entries(SEVERITY_COLORS)) map.addImage(alertIcon(sev as keyof typeof SEVERITY_COLORS), alertBadge(color), { pixelRatio: 2 });
  map.addLayer({
    id: ALERT_LAYER,
    type: 'symbol',
    source: ALERT_SOURCE,
    layout: {
      'icon-image': ['concat', 'alert-', ['get', 'severity']],
      // size 1 at every zoom: the offset of a camera's alert is the camera icon's own (CSS px)
      'icon-offset': ['get', 'offset'],
      'icon-allow-overlap': true,
      'icon-ignore-placement': true,
    },
    paint: { 'icon-opacity': ['case', ['==', ['get', 'state'], 'open'], 1, 0.55] },
  });
}

/** The alerts as a map layer module (layer.ts): source, layer, live mode, click to open the alert. */
export const alertsLayer: MapLayerModule = {
  name: 'alerts',
  sources: [ALERT_SOURCE],
  modes: { live: [ALERT_LAYER] },
  install(map) {
    addGeoSource(map, ALERT_SOURCE, { promoteId: 'id' });
    addAlertLayer(map);
  },
  bind(map, host) {
    map.on('click', ALERT_LAYER, (e: MapLayerMouseEvent) => {
      const f = e.features?.[0];
      // a click on the camera beside an alerted one (same entrance) is that camera's, not the alert's
      const cam = map.queryRenderedFeatures(e.point, { layers: ['cameras'] })[0];
      if (cam && cam.properties?.id !== f?.properties?.deviceId) return;
      if (f?.properties?.id) host.alertClicked(String(f.properties.id), [e.lngLat.lng, e.lngLat.lat]);
    });
  },
};
