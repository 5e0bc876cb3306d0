/**
 * The console's ONE map (MapLibre GL), driven imperatively — React never re-renders per message.
 * The moving fleet is a custom WebGL layer (fleet-layer.ts) drawn from typed arrays updated in
 * place (fleet-buffer.ts): no GeoJSON round trip per update, animated between fixes, picked on the
 * CPU. Stations, cameras, alerts, trails and replay are GeoJSON sources added once; afterwards only
 * `setData` (throttled, merged per device by LiveModel/LiveFeatures) or `setFeatureState`
 * (coverage) touch them. Live, coverage and replay are layer groups on the same map, switched by
 * visibility.
 */
import { Map as MlMap, Marker, NavigationControl, Popup, ScaleControl, type GeoJSONSource, type StyleSpecification, type MapLayerMouseEvent } from 'maplibre-gl';
import type { FeatureCollection } from 'geojson';
import type { Alert } from '../../../shared/live';
import { TRUCK_COLORS, TRUCK_STATES } from '../colors';
import type { Basemap } from '../basemap/types';
import { BASEMAP_SOURCES, DISTRICT_LABEL_LAYER, districtLabelPoints } from '../basemap/style';
import { LiveFeatures } from '../live/features';
import type { LayerKey, LiveModel } from '../live/model';
import { createThrottle, type Throttle } from '../live/throttle';
import { truckArrow } from './icons';
import { addStationLayers, STATION_LAYERS } from './stations-layer';
import { addCameraLayers, CAMERA_LABEL_SOURCE, CAMERA_LAYERS } from './cameras-layer';
import { addAlertLayer, ALERT_LAYER } from './alerts-layer';
import { FleetBuffer, mercX, mercY } from './fleet-buffer';
import { FleetLayer, type FleetStyle } from './fleet-layer';
import { trailCasingPaint, trailPaint } from './trail-style';
import { GeofenceLayer } from './geofence-layer';
import { FleetSync, type FleetSyncStats } from './fleet-sync';

export type MapMode = 'live' | 'coverage' | 'replay';

export const SRC = {
  truck: 'live-trucks',
  trails: 'live-trails',
  air: 'live-air',
  noise: 'live-noise',
  camera: 'live-cameras',
  alerts: 'live-alerts',
  replayTracks: 'replay-tracks',
  replayMarks: 'replay-marks',
  replayVehicles: 'replay-vehicles',
} as const;

const LAYERS_BY_MODE: Record<MapMode, string[]> = {
  live: ['trails-casing', 'trails', ...STATION_LAYERS, ...CAMERA_LAYERS, ALERT_LAYER, 'trucks'],
  coverage: ['coverage', 'trucks'],
  replay: ['replay-tracks', 'replay-marks', 'replay-vehicles'],
};

/** Trucks are state-coloured dots below this zoom and heading arrows from it on. */
export const TRUCK_ARROW_MINZOOM = 14;
/** Below this zoom, a fleet with more trucks in view than the screen can show is drawn as density. */
export const DENSITY_MAXZOOM = 13;
/**
 * trucks in view per CSS pixel² above which dots stop being readable one by one (one per 20×20 px:
 * 1,200 at 800×600, 4,000 at 1600×1000). Also a cost limit: in software WebGL every 10,000 dots
 * drawn cost tens of ms a frame, the density grid a few.
 */
export const DENSITY_PER_PX2 = 1 / 400;
/** a big fleet draws trails only for trucks in view, at most this many */
export const TRAIL_CAP = 300;
/** truck id labels from this zoom, when at most LABEL_CAP trucks are in view */
export const LABEL_MINZOOM = 16;
export const LABEL_CAP = 40;
/**
 * From this many trucks on: trucks flush at most once a second, and trails are drawn (and sent to
 * their source) only from TRUCK_ARROW_MINZOOM. MapLibre renders a line-gradient texture row per
 * trail per tile on the main thread (256 px × 10,000 trails) each time the trails change.
 */
export const BIG_FLEET = 1000;

const empty = (): FeatureCollection => ({ type: 'FeatureCollection', features: [] });

export interface MapControllerOptions {
  container: HTMLElement;
  style: StyleSpecification | string;
  basemap: Basemap;
  model: LiveModel;
  timeZone?: string;
  /** minimum ms between two setData calls of a layer (merged per device in between) */
  flushMs?: number;
  trailFlushMs?: number;
  /** animate trucks between fixes (default true) */
  interpolate?: boolean;
  /** longest move between two fixes, ms (default 2000; see fleet-buffer.ts) */
  maxAnimMs?: number;
  onSelect?: (sel: { id: string; kind: LayerKey } | null) => void;
  onAlertClick?: (alertId: string, lngLat: [number, number]) => void;
}

export class MapController {
  readonly map: MlMap;
  readonly features: LiveFeatures;
  readonly ready: Promise<void>;
  private readonly throttle: Throttle;
  private readonly unsub: (() => void)[] = [];
  private lastTrails = 0;
  private bigFleet = false;
  private mode: MapMode = 'live';
  private labels: Marker[] = [];
  private agingTimer: ReturnType<typeof setInterval> | null = null;
  setDataCalls = 0;
  lastFlushMs = 0;
  readonly fleet: FleetBuffer;
  /** geofences (geofence-layer.ts), under the live layers */
  readonly geofences = new GeofenceLayer();
  readonly fleetLayer: FleetLayer;
  readonly fleetSync: FleetSync;
  /** main-thread time applying truck changes to the fleet buffer (ms, summed) and how often */
  get fleetStats(): FleetSyncStats {
    return this.fleetSync.stats;
  }
  private selectedId: string | null = null;
  private hoverId: string | null = null;
  private inView = 0;
  private truckLabels = new Map<string, Marker>();

  constructor(private readonly opts: MapControllerOptions) {
    const b = opts.basemap.bbox;
    this.map = new MlMap({
      container: opts.container,
      style: opts.style,
      bounds: [
        [b[0], b[1]],
        [b[2], b[3]],
      ],
      fitBoundsOptions: { padding: 20 },
      attributionControl: false,
      fadeDuration: 0,
    });
    this.map.addControl(new NavigationControl({ showCompass: true }), 'bottom-right');
    this.map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-left');
    this.features = new LiveFeatures(opts.model, opts.timeZone);
    this.fleet = new FleetBuffer({ origin: [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], interpolate: opts.interpolate ?? true, maxAnimMs: opts.maxAnimMs });
    this.fleetSync = new FleetSync(opts.model, this.fleet);
    this.fleetLayer = new FleetLayer({ id: 'trucks', buffer: this.fleet, beforeFrame: () => this.beforeFrame(), style: (z) => this.fleetStyle(z) });
    this.throttle = createThrottle(() => this.flush(), () => opts.flushMs ?? (this.fleet.size >= BIG_FLEET ? 1000 : 500));
    this.ready = new Promise((resolve) => {
      this.map.once('load', () => {
        this.install();
        resolve();
      });
    });
  }

  private install(): void {
    const map = this.map;
    for (const st of TRUCK_STATES) {
      const img = truckArrow(TRUCK_COLORS[st]);
      map.addImage(`truck-${st}`, img, { pixelRatio: 2 });
    }

    // The city's streets are needed for coverage even under an external style.
    if (!map.getSource(BASEMAP_SOURCES.streets)) {
      map.addSource(BASEMAP_SOURCES.streets, { type: 'geojson', data: this.opts.basemap.streets as FeatureCollection, promoteId: 'segmentId' });
    }
    const geo = (id: string, extra: Record<string, unknown> = {}) => map.addSource(id, { type: 'geojson', data: empty(), ...extra });
    geo(SRC.trails, { lineMetrics: true });
    geo(SRC.air, { promoteId: 'id' });
    geo(SRC.noise, { promoteId: 'id' });
    geo(SRC.camera, { promoteId: 'id' });
    geo(SRC.alerts, { promoteId: 'id' });
    geo(SRC.replayTracks, { lineMetrics: true });
    geo(SRC.replayMarks);
    geo(SRC.replayVehicles, { promoteId: 'id' });

    map.addLayer({
      id: 'coverage',
      type: 'line',
      source: BASEMAP_SOURCES.streets,
      layout: { 'line-cap': 'round', visibility: 'none' },
      paint: {
        'line-color': ['case', ['==', ['feature-state', 'cov'], 'served'], '#22c55e', ['==', ['feature-state', 'cov'], 'missed'], '#ef4444', '#000000'],
        'line-opacity': ['case', ['==', ['feature-state', 'cov'], 'served'], 0.9, ['==', ['feature-state', 'cov'], 'missed'], 1, 0],
        'line-width': ['interpolate', ['linear'], ['zoom'], 11, 2.5, 16, 10],
      },
    });
    this.geofences.attach(map, { autoLoad: true });
    map.addLayer({ id: 'trails-casing', type: 'line', source: SRC.trails, layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: trailCasingPaint() });
    map.addLayer({ id: 'trails', type: 'line', source: SRC.trails, layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: trailPaint() });
    addStationLayers(map);
    addCameraLayers(map);
    addAlertLayer(map);
    map.addLayer(this.fleetLayer);
    map.addLayer({
      id: 'replay-tracks',
      type: 'line',
      source: SRC.replayTracks,
      layout: { 'line-cap': 'round', 'line-join': 'round', visibility: 'none' },
      paint: { 'line-color': ['coalesce', ['get', 'color'], '#7dd3fc'], 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 2, 16, 6], 'line-opacity': 0.8 },
    });
    map.addLayer({
      id: 'replay-marks',
      type: 'circle',
      source: SRC.replayMarks,
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
      source: SRC.replayVehicles,
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

    // district names: the offline style's own symbol layer; HTML labels under a style without it (no glyphs needed)
    if (!map.getLayer(DISTRICT_LABEL_LAYER)) for (const d of districtLabelPoints(this.opts.basemap)) {
      const el = document.createElement('div');
      el.className = 'district-label';
      el.textContent = d.name;
      this.labels.push(new Marker({ element: el }).setLngLat(d.lngLat).addTo(map));
    }

    // trucks: picked on the CPU from the fleet buffer (nearest drawn truck within a few pixels)
    map.on('click', (e) => {
      const id = this.pickTruck(e.point.x, e.point.y);
      if (!id) return;
      this.select(id);
      this.opts.onSelect?.({ id, kind: 'truck' });
    });
    let hoverQueued = false;
    let hoverAt: [number, number] = [0, 0];
    map.on('mousemove', (e) => {
      hoverAt = [e.point.x, e.point.y];
      if (hoverQueued) return;
      hoverQueued = true;
      requestAnimationFrame(() => {
        hoverQueued = false;
        this.hover(this.pickTruck(hoverAt[0], hoverAt[1]));
      });
    });
    map.on('mouseout', () => this.hover(null));
    for (const layer of ['air', 'noise-ring', 'noise', 'cameras']) {
      map.on('click', layer, (e: MapLayerMouseEvent) => {
        const f = e.features?.[0];
        const id = f?.properties?.id as string | undefined;
        if (!id) return;
        const kind: LayerKey = layer === 'air' ? 'air' : layer === 'cameras' ? 'camera' : 'noise';
        this.select(id);
        this.opts.onSelect?.({ id, kind });
      });
      map.on('mouseenter', layer, () => (map.getCanvas().style.cursor = 'pointer'));
      map.on('mouseleave', layer, () => (map.getCanvas().style.cursor = ''));
    }
    map.on('click', 'alerts-halo', (e: MapLayerMouseEvent) => {
      const f = e.features?.[0];
      // a click on the camera beside an alerted one (same entrance) is that camera's, not the alert's
      const cam = map.queryRenderedFeatures(e.point, { layers: ['cameras'] })[0];
      if (cam && cam.properties?.id !== f?.properties?.deviceId) return;
      if (f?.properties?.id) this.opts.onAlertClick?.(String(f.properties.id), [e.lngLat.lng, e.lngLat.lat]);
    });

    this.unsub.push(
      this.opts.model.onChange(() => {
        // trucks are applied on the fleet's next frame (beforeFrame, its own canvas); the other layers on the throttle
        this.fleetLayer.requestDraw();
        this.throttle.schedule();
      }),
    );
    this.unsub.push(this.opts.model.onAlerts(() => this.throttle.schedule()));
    // trucks age into 'offline' without messages; alerts follow devices
    this.agingTimer = setInterval(() => {
      this.ageTrucks();
      this.throttle.schedule();
    }, 5_000);
    // a big fleet's trails are only sent when zoomed in, for the trucks in view
    map.on('moveend', () => {
      this.countInView();
      this.updateLabels();
      if (this.opts.model.trailsPending || this.fleet.size >= BIG_FLEET) this.throttle.schedule();
    });
    this.throttle.flushNow();
    this.flush();
    this.setMode(this.mode);
  }

  /** Apply merged changes: one setData per changed layer. */
  flush(): void {
    if (!this.map.getSource(SRC.air)) return;
    const t0 = performance.now();
    const now = Date.now();
    for (const kind of ['air', 'noise', 'camera'] as const) {
      if (this.features.update(kind, now)) {
        this.setData(SRC[kind], this.features[kind].collection());
        const labels = kind === 'camera' ? this.features.cameraLabels() : null;
        if (labels && labels !== this.cameraLabels) this.setData(CAMERA_LABEL_SOURCE, (this.cameraLabels = labels));
      }
    }
    const trailEvery = this.opts.trailFlushMs ?? 2000;
    const big = this.fleet.size >= BIG_FLEET;
    if (big !== this.bigFleet) {
      this.bigFleet = big;
      for (const id of ['trails-casing', 'trails']) if (this.map.getLayer(id)) this.map.setLayerZoomRange(id, big ? TRUCK_ARROW_MINZOOM : 0, 24);
    }
    if (this.opts.model.trailsPending && (!big || this.map.getZoom() >= TRUCK_ARROW_MINZOOM)) {
      if (now - this.lastTrails >= trailEvery) {
        this.opts.model.takeTrailsDirty();
        this.lastTrails = now;
        this.setData(SRC.trails, this.features.trails(big ? this.trucksInView(TRAIL_CAP) : undefined));
      } else if (!this.trailTimer) {
        this.trailTimer = setTimeout(() => {
          this.trailTimer = null;
          this.throttle.schedule();
        }, trailEvery - (now - this.lastTrails));
      }
    }
    this.setData(SRC.alerts, this.alertFeatures());
    this.lastFlushMs = performance.now() - t0;
  }
  private trailTimer: ReturnType<typeof setTimeout> | null = null;
  private cameraLabels: FeatureCollection | null = null;

  private alertsKey = '';
  private alertFeatures(): FeatureCollection {
    const features: FeatureCollection['features'] = [];
    const model = this.opts.model;
    for (const a of model.alerts.values()) {
      if (a.state !== 'open' && a.state !== 'acknowledged') continue;
      // a camera's alert is drawn around its icon (spread beside the other cameras of its entrance)
      const cam = this.features.camera.get(a.deviceId);
      const pos = cam ? cam.geometry.coordinates : this.devicePosition(a.deviceId);
      if (!pos) continue;
      features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: pos }, properties: { id: a.id, severity: a.severity, state: a.state, deviceId: a.deviceId, offset: cam?.properties.offset ?? [0, 0] } });
    }
    return { type: 'FeatureCollection', features };
  }

  /** Apply the model's changed trucks to the fleet buffer (before each frame is drawn, a time budget per frame: fleet-sync.ts). True: trucks left for the next frame. */
  private beforeFrame(): boolean {
    const layout = this.fleet.layoutVersion;
    const more = this.fleetSync.step();
    // trucks added or removed (e.g. a snapshot applied in parts): recount what is in view
    if (this.fleet.layoutVersion !== layout && this.fleet.layoutVersion !== this.countedLayout) this.countInView();
    this.fleetLayer.selectedSlot = this.selectedId ? (this.fleet.slot(this.selectedId) ?? -1) : -1;
    this.fleetLayer.hoverSlot = this.hoverId ? (this.fleet.slot(this.hoverId) ?? -1) : -1;
    for (const [id, m] of this.truckLabels) {
      const p = this.fleet.position(id);
      if (p) m.setLngLat(p);
    }
    return more;
  }

  /** trucks age into 'offline' without any message (recomputed over the next frames, fleet-sync.ts) */
  private ageTrucks(): void {
    this.countInView(); // trucks drive into and out of the view
    this.fleetSync.startAging();
    this.fleetLayer.requestDraw();
  }

  /** How trucks are drawn at a zoom: arrows zoomed in, density when the view holds more than it can show. */
  private fleetStyle(zoom: number): { style: FleetStyle; sizePx: number } {
    if (zoom >= TRUCK_ARROW_MINZOOM) return { style: 'arrows', sizePx: zoom >= 17 ? 30 : 22 + (zoom - TRUCK_ARROW_MINZOOM) * 2.7 };
    const c = this.map.getCanvas();
    const area = (c.clientWidth || 800) * (c.clientHeight || 600);
    if (zoom < DENSITY_MAXZOOM && this.inView > area * DENSITY_PER_PX2) return { style: 'density', sizePx: 3 };
    return { style: 'dots', sizePx: zoom <= 10 ? 6 : Math.min(11, 6 + (zoom - 10) * 1.5) };
  }

  /** The current style of the fleet (tests, diagnostics). */
  get fleetStyleNow(): FleetStyle {
    return this.fleetStyle(this.map.getZoom()).style;
  }

  private viewBox(): [number, number, number, number] {
    const b = this.map.getBounds();
    return [mercX(b.getWest()), mercY(b.getNorth()), mercX(b.getEast()), mercY(b.getSouth())];
  }
  private countedLayout = -1;
  private countInView(): void {
    this.countedLayout = this.fleet.layoutVersion;
    const [x0, y0, x1, y1] = this.viewBox();
    this.inView = this.fleet.countWithin(x0, y0, x1, y1);
  }
  trucksInView(limit: number): string[] {
    const [x0, y0, x1, y1] = this.viewBox();
    return this.fleet.within(x0, y0, x1, y1, limit);
  }

  /** truck id labels (HTML, no glyphs needed) when zoomed in on few trucks; none otherwise */
  private updateLabels(): void {
    const want = new Set<string>();
    if (this.map.getZoom() >= LABEL_MINZOOM && this.mode !== 'replay') {
      const ids = this.trucksInView(LABEL_CAP + 1);
      if (ids.length <= LABEL_CAP) for (const id of ids) want.add(id);
    }
    for (const [id, m] of this.truckLabels) {
      if (want.has(id)) continue;
      m.remove();
      this.truckLabels.delete(id);
    }
    for (const id of want) {
      if (this.truckLabels.has(id)) continue;
      const el = document.createElement('div');
      el.className = 'truck-label';
      el.textContent = id;
      el.style.cssText = 'font: 600 11px system-ui, sans-serif; color: #e5e7eb; text-shadow: 0 0 3px #000, 0 0 2px #000; pointer-events: none; white-space: nowrap';
      this.truckLabels.set(id, new Marker({ element: el, anchor: 'top', offset: [0, 14] }).setLngLat(this.fleet.position(id)!).addTo(this.map));
    }
  }
  get labelCount(): number {
    return this.truckLabels.size;
  }

  /** The truck drawn nearest to a screen point, within 10 px (or its marker's radius). */
  pickTruck(px: number, py: number): string | null {
    if (!this.fleetLayer.visible || this.mode === 'replay') return null;
    const ll = this.map.unproject([px, py]);
    const ll2 = this.map.unproject([px + 1, py]);
    const perPx = Math.abs(mercX(ll2.lng) - mercX(ll.lng));
    const radiusPx = Math.max(10, this.fleetStyle(this.map.getZoom()).sizePx / 2 + 3);
    return this.fleet.pick(mercX(ll.lng), mercY(ll.lat), radiusPx * perPx);
  }

  private hover(id: string | null): void {
    if (id === this.hoverId) return;
    this.hoverId = id;
    this.map.getCanvas().style.cursor = id ? 'pointer' : '';
    this.fleetLayer.requestDraw();
  }
  get hovered(): string | null {
    return this.hoverId;
  }

  devicePosition(id: string): [number, number] | null {
    const t = this.fleet.position(id);
    if (t) return t;
    const loc = this.opts.model.meta.get(id)?.location;
    return loc ? [loc.lon, loc.lat] : null;
  }

  private setData(id: string, data: FeatureCollection) {
    const src = this.map.getSource<GeoJSONSource>(id);
    if (!src) return;
    if (id === SRC.alerts) {
      const key = JSON.stringify(data);
      if (key === this.alertsKey) return;
      this.alertsKey = key;
    }
    void src.setData(data); // MapLibre applies it in its worker; nothing waits for it
    this.setDataCalls++;
  }

  setReplayData(tracks: FeatureCollection, marks: FeatureCollection): void {
    void this.map.getSource<GeoJSONSource>(SRC.replayTracks)?.setData(tracks);
    void this.map.getSource<GeoJSONSource>(SRC.replayMarks)?.setData(marks);
  }
  setReplayVehicles(v: FeatureCollection): void {
    void this.map.getSource<GeoJSONSource>(SRC.replayVehicles)?.setData(v);
  }

  /** Colour street segments served / missed (feature-state on the streets source: no new data). */
  private coverageIds: string[] = [];
  setCoverage(served: string[], missed: string[]): void {
    for (const id of this.coverageIds) this.map.removeFeatureState({ source: BASEMAP_SOURCES.streets, id });
    for (const id of served) this.map.setFeatureState({ source: BASEMAP_SOURCES.streets, id }, { cov: 'served' });
    for (const id of missed) this.map.setFeatureState({ source: BASEMAP_SOURCES.streets, id }, { cov: 'missed' });
    this.coverageIds = [...served, ...missed];
  }

  setMode(mode: MapMode): void {
    this.mode = mode;
    if (!this.map.getLayer('trucks')) return;
    const all = new Set(Object.values(LAYERS_BY_MODE).flat());
    const on = new Set(LAYERS_BY_MODE[mode]);
    for (const id of all) {
      if (id === 'trucks') this.fleetLayer.visible = on.has(id);
      // a style without glyphs (the map benchmark's) has no label layers
      else if (this.map.getLayer(id)) this.map.setLayoutProperty(id, 'visibility', on.has(id) ? 'visible' : 'none');
    }
    this.updateLabels();
    this.map.triggerRepaint();
  }

  select(id: string | null): void {
    this.selectedId = id;
    this.fleetLayer.requestDraw();
  }
  get selected(): string | null {
    return this.selectedId;
  }

  flyTo(lngLat: [number, number], zoom?: number): void {
    this.map.easeTo({ center: lngLat, zoom: zoom ?? Math.max(this.map.getZoom(), 15), duration: 600 });
  }

  alertPopup(a: Alert, lngLat: [number, number], content: HTMLElement): Popup {
    return new Popup({ closeButton: true, maxWidth: '360px', className: `alert-popup sev-${a.severity}` }).setLngLat(lngLat).setDOMContent(content).addTo(this.map);
  }

  destroy(): void {
    this.throttle.cancel();
    if (this.agingTimer) clearInterval(this.agingTimer);
    this.geofences.destroy();
    if (this.trailTimer) clearTimeout(this.trailTimer);
    for (const u of this.unsub) u();
    for (const l of this.labels) l.remove();
    for (const l of this.truckLabels.values()) l.remove();
    this.map.remove();
  }
}
