/**
 * One file per map layer (traccar-web's layout): each declares the GeoJSON sources it adds, its
 * layers with the modes they are shown in, and its click handling. MapController creates the
 * map, installs the layers in drawing order, flushes the live data and switches modes.
 */
import type { Map as MlMap } from 'maplibre-gl';
import type { LayerKey } from '../live/model';

export type MapMode = 'live' | 'coverage' | 'replay';

/** what a layer's click handling may do on the controller */
export interface LayerHost {
  /** a device was clicked: select it and tell the console */
  choose(id: string, kind: LayerKey): void;
  /** an alert was clicked at a point */
  alertClicked(alertId: string, lngLat: [number, number]): void;
  /** the truck drawn nearest to a screen point (the fleet is picked on the CPU) */
  pickTruck(px: number, py: number): string | null;
  hover(id: string | null): void;
}

export interface MapLayerModule {
  readonly name: string;
  /** the sources it adds */
  readonly sources: readonly string[];
  /** per mode, its layers shown in it (hidden in the others); a layer in no mode is always shown */
  readonly modes: Partial<Record<MapMode, readonly string[]>>;
  /** add its sources and layers (called once, in drawing order) */
  install(map: MlMap): void;
  /** its click and hover handling (called after every layer is installed) */
  bind?(map: MlMap, host: LayerHost): void;
}

export const emptyCollection = () => ({ type: 'FeatureCollection' as const, features: [] });

/** Add an empty GeoJSON source. */
export function addGeoSource(map: MlMap, id: string, extra: Record<string, unknown> = {}): void {
  map.addSource(id, { type: 'geojson', data: emptyCollection(), ...extra });
}

/** Click a layer's feature to select its device; a pointer cursor over it. */
export function bindDeviceClick(map: MlMap, host: LayerHost, layer: string, kind: LayerKey): void {
  map.on('click', layer, (e) => {
    const id = e.features?.[0]?.properties?.id as string | undefined;
    if (!id) return;
    host.choose(id, kind);
  });
  map.on('mouseenter', layer, () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', layer, () => (map.getCanvas().style.cursor = ''));
}
