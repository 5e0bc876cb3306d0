/**
 * Geofences on a map (the live map and the admin's editor): a translucent fill coloured by
 * kind, a border (dashed when inactive) and the name from zoom 14. One GeoJSON source, added
 * once; `set` replaces its data. On the live map it loads `/api/geofences` itself (roles that
 * may read them) and again every minute, so MapController only registers it.
 */
import type { Map as MlMap, GeoJSONSource, ExpressionSpecification } from 'maplibre-gl';
import type { FeatureCollection } from 'geojson';
import { geofenceRing, type Geofence, type GeofenceKind, type GeofenceSet } from '../../../../contract/geofences';
import { api, getSession } from '../api/client';

export const GEOFENCE_SOURCE = 'geofences';
export const GEOFENCE_LAYERS = ['geofences-fill', 'geofences-line', 'geofences-label'] as const;

/** colour per kind (the legend of the admin's list uses the same) */
export const GEOFENCE_COLORS: Record<GeofenceKind, string> = {
  depot: '#38bdf8',
  landfill: '#a16207',
  school: '#facc15',
  market: '#fb923c',
  restricted: '#ef4444',
  other: '#a78bfa',
};

export function geofenceFeatures(list: readonly Geofence[], highlight?: string | null): FeatureCollection {
  return {
    type: 'FeatureCollection',
    features: list.map((g) => ({
      type: 'Feature',
      id: g.id,
      geometry: { type: 'Polygon', coordinates: [geofenceRing(g.geometry)] },
      properties: { id: g.id, name: g.name, kind: g.kind, active: g.active, hl: g.id === highlight },
    })),
  };
}

const READERS = new Set(['operator', 'planner', 'admin']);

export class GeofenceLayer {
  private map: MlMap | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private list: Geofence[] = [];
  private highlight: string | null = null;

  /** add the source and layers (below `before` when given); `autoLoad` fetches /api/geofences */
  attach(map: MlMap, opts: { before?: string; autoLoad?: boolean } = {}): void {
    this.map = map;
    if (!map.getSource(GEOFENCE_SOURCE)) map.addSource(GEOFENCE_SOURCE, { type: 'geojson', data: geofenceFeatures(this.list), promoteId: 'id' });
    const color = ['match', ['get', 'kind'], ...Object.entries(GEOFENCE_COLORS).flat(), '#a78bfa'] as unknown as ExpressionSpecification;
    const before = opts.before && map.getLayer(opts.before) ? opts.before : undefined;
    map.addLayer({ id: 'geofences-fill', type: 'fill', source: GEOFENCE_SOURCE, paint: { 'fill-color': color, 'fill-opacity': ['case', ['get', 'hl'], 0.35, ['get', 'active'], 0.14, 0.05] } }, before);
    map.addLayer(
      {
        id: 'geofences-line',
        type: 'line',
        source: GEOFENCE_SOURCE,
        paint: { 'line-color': color, 'line-width': ['case', ['get', 'hl'], 3.5, 2], 'line-dasharray': ['case', ['get', 'active'], ['literal', [1, 0]], ['literal', [2, 2]]] },
      },
      before,
    );
    // names as symbols only where the style has glyphs, in a font the style already uses
    const style = map.getStyle();
    const font = style?.glyphs ? style.layers.map((l) => (l.type === 'symbol' ? l.layout?.['text-font'] : undefined)).find((f) => Array.isArray(f)) : undefined;
    if (font) {
      map.addLayer(
        {
          id: 'geofences-label',
          type: 'symbol',
          source: GEOFENCE_SOURCE,
          minzoom: 14,
          layout: { 'text-field': ['get', 'name'], 'text-font': font as string[], 'text-size': 12, 'symbol-placement': 'point' },
          paint: { 'text-color': '#e2e8f0', 'text-halo-color': '#0b1220', 'text-halo-width': 1.5 },
        },
        before,
      );
    }
    if (opts.autoLoad) {
      void this.load();
      this.timer = setInterval(() => void this.load(), 60_000);
    }
  }

  async load(): Promise<void> {
    const s = getSession();
    if (!s || !READERS.has(s.role)) return;
    try {
      this.set((await api<GeofenceSet>('/api/geofences')).geofences);
    } catch {
      /* the live map keeps the last set; the admin screen shows errors itself */
    }
  }

  set(list: readonly Geofence[], highlight: string | null = this.highlight): void {
    this.list = [...list];
    this.highlight = highlight;
    void (this.map?.getSource(GEOFENCE_SOURCE) as GeoJSONSource | undefined)?.setData(geofenceFeatures(this.list, highlight));
  }

  get geofences(): readonly Geofence[] {
    return this.list;
  }

  setVisible(on: boolean): void {
    for (const id of GEOFENCE_LAYERS) if (this.map?.getLayer(id)) this.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  }

  destroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.map = null;
  }
}
