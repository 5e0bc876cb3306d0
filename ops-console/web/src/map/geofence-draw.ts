/**
 * A small drawing tool for geofences on a MapLibre map: a polygon by clicking its vertices
 * (a click on the first vertex, a double click or `finish()` closes it; `undo()` drops the
 * last vertex), or a circle by clicking its centre (the radius is a number the caller sets, or
 * a second click at the edge). Hand-written (≈150 lines) rather than terra-draw or
 * mapbox-gl-draw: it needs two shapes, no editing handles, and no style of its own.
 */
import type { Map as MlMap, GeoJSONSource, MapMouseEvent } from 'maplibre-gl';
import type { FeatureCollection, Feature } from 'geojson';
import { circleRing, type GeofenceGeometry, type LonLatT } from '../../../../contract/geofences';
import { distanceM } from '../../../../contract/geo';

export type DrawMode = 'polygon' | 'circle';
const SRC = 'geofence-draft';
/** a click this close (px) to the first vertex closes the polygon */
const CLOSE_PX = 12;

export class GeofenceDraw {
  private mode: DrawMode | null = null;
  private vertices: LonLatT[] = [];
  private center: LonLatT | null = null;
  private radiusM = 100;
  private closed = false;
  private listeners = new Set<() => void>();

  constructor(private readonly map: MlMap) {
    map.addSource(SRC, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    map.addLayer({ id: 'draft-fill', type: 'fill', source: SRC, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#22d3ee', 'fill-opacity': 0.2 } });
    map.addLayer({ id: 'draft-line', type: 'line', source: SRC, filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': '#22d3ee', 'line-width': 2.5, 'line-dasharray': [2, 1] } });
    map.addLayer({
      id: 'draft-points',
      type: 'circle',
      source: SRC,
      filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-radius': 5, 'circle-color': '#0b1220', 'circle-stroke-color': '#22d3ee', 'circle-stroke-width': 2 },
    });
    map.on('click', this.onClick);
    map.on('dblclick', this.onDblClick);
  }

  /** start drawing a new shape (drops the current draft) */
  start(mode: DrawMode, radiusM = this.radiusM): void {
    this.mode = mode;
    this.vertices = [];
    this.center = null;
    this.radiusM = radiusM;
    this.closed = false;
    this.map.getCanvas().style.cursor = 'crosshair';
    this.map.doubleClickZoom.disable();
    this.render();
  }

  /** show an existing geometry as the draft (editing: drawing anew replaces it) */
  load(g: GeofenceGeometry): void {
    this.mode = g.type;
    if (g.type === 'circle') {
      this.center = g.center as LonLatT;
      this.radiusM = g.radiusM;
    } else {
      this.vertices = (g.coordinates as LonLatT[]).slice(0, -1);
      this.closed = true;
    }
    this.stopCursor();
    this.render();
  }

  setRadius(m: number): void {
    if (!(m > 0)) return;
    this.radiusM = m;
    this.render();
  }

  undo(): void {
    if (this.mode !== 'polygon' || this.closed) return;
    this.vertices.pop();
    this.render();
  }

  /** close the polygon being drawn (needs three vertices) */
  finish(): boolean {
    if (this.mode !== 'polygon' || this.vertices.length < 3) return false;
    this.closed = true;
    this.stopCursor();
    this.render();
    return true;
  }

  clear(): void {
    this.mode = null;
    this.vertices = [];
    this.center = null;
    this.closed = false;
    this.stopCursor();
    this.render();
  }

  /** the finished shape, or null while drawing / nothing drawn */
  geometry(): GeofenceGeometry | null {
    if (this.mode === 'circle' && this.center) return { type: 'circle', center: this.center, radiusM: Math.round(this.radiusM) };
    if (this.mode === 'polygon' && this.closed && this.vertices.length >= 3) return { type: 'polygon', coordinates: [...this.vertices, this.vertices[0]!] };
    return null;
  }

  get drawing(): DrawMode | null {
    return this.mode && !this.geometry() ? this.mode : null;
  }
  get vertexCount(): number {
    return this.vertices.length;
  }
  get radius(): number {
    return this.radiusM;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  destroy(): void {
    this.map.off('click', this.onClick);
    this.map.off('dblclick', this.onDblClick);
  }

  private stopCursor() {
    this.map.getCanvas().style.cursor = '';
  }

  private readonly onClick = (e: MapMouseEvent) => {
    const p: LonLatT = [Math.round(e.lngLat.lng * 1e6) / 1e6, Math.round(e.lngLat.lat * 1e6) / 1e6];
    if (this.mode === 'polygon' && !this.closed) {
      const first = this.vertices[0];
      if (first && this.vertices.length >= 3) {
        const a = this.map.project(first);
        if (Math.hypot(a.x - e.point.x, a.y - e.point.y) <= CLOSE_PX) {
          this.finish();
          return;
        }
      }
      const last = this.vertices[this.vertices.length - 1];
      if (last) {
        const b = this.map.project(last);
        if (Math.hypot(b.x - e.point.x, b.y - e.point.y) <= 3) return; // the second click of a double click
      }
      this.vertices.push(p);
      this.render();
    } else if (this.mode === 'circle') {
      if (!this.center) {
        this.center = p;
        this.stopCursor();
      } else this.radiusM = Math.max(10, Math.round(distanceM(this.center, p)));
      this.render();
    }
  };

  private readonly onDblClick = (e: MapMouseEvent) => {
    if (this.mode !== 'polygon' || this.closed) return;
    e.preventDefault();
    // the double click's second click added a vertex already
    this.finish();
  };

  private render(): void {
    const features: Feature[] = [];
    if (this.mode === 'circle' && this.center) {
      features.push({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [circleRing(this.center, this.radiusM)] } });
      features.push({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: this.center } });
    } else if (this.mode === 'polygon' && this.vertices.length) {
      if (this.closed) features.push({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[...this.vertices, this.vertices[0]!]] } });
      else if (this.vertices.length > 1) features.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: this.vertices } });
      for (const v of this.vertices) features.push({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: v } });
    }
    void (this.map.getSource(SRC) as GeoJSONSource | undefined)?.setData({ type: 'FeatureCollection', features } as FeatureCollection);
    for (const l of this.listeners) l();
  }
}
