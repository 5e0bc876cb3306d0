/**
 * The console's ONE map (MapLibre GL), driven imperatively — React never re-renders per message.
 * The moving fleet is a custom WebGL layer (fleet-layer.ts) drawn from typed arrays updated in
 * place (fleet-buffer.ts): no GeoJSON round trip per update, animated between fixes, picked on the
 * CPU. Stations, cameras, alerts, trails and replay are GeoJSON sources added once; afterwards only
 * `setData` (throttled, merged per device by LiveModel/LiveFeatures) or `setFeatureState`
 * (coverage) touch them. Live, coverage and replay are layer groups on the same map, switched by
 * visibility.
 *
 * Each layer is its own file declaring its sources, layers, modes and click handling (layer.ts:
 * trucks-layer, trails-layer, stations-layer, cameras-layer, alerts-layer, coverage-layer,
 * replay-layer; geofence-layer); this controller keeps map creation, flushing and modes.
 */
import { Map as MlMap, Marker, NavigationControl, Popup, ScaleControl, type GeoJSONSource, type StyleSpecification } from 'maplibre-gl';
import type { FeatureCollection } from 'geojson';
import type { Alert } from '../../../shared/live';
import type { Basemap } from '../basemap/types';
import { DISTRICT_LABEL_LAYER, districtLabelPoints } from '../basemap/style';
import { LiveFeatures } from '../live/features';
import type { LayerKey, LiveModel } from '../live/model';
import { createThrottle, type Throttle } from '../live/throttle';
import { alertsLayer } from './alerts-layer';
import { CAMERA_LABEL_SOURCE, camerasLayer } from './cameras-layer';
import { CoverageLayer } from './coverage-layer';
import { FleetBuffer, mercX, mercY } from './fleet-buffer';
import { DENSITY_SCALE, FleetLayer, type FleetStyle } from './fleet-layer';
import { FleetSync, type FleetSyncStats } from './fleet-sync';
import { GeofenceLayer } from './geofence-layer';
import type { LayerHost, MapLayerModule, MapMode } from './layer';
import { ReplayLayer } from './replay-layer';
import { stationsLayer } from './stations-layer';
import { trailsLayer } from './trails-layer';
import { addTruckImages, trucksLayer } from './trucks-layer';

export type { MapMode } from './layer';

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

/** every layer per mode, from the layer modules' own declarations */
function layersByMode(modules: readonly MapLayerModule[]): Record<MapMode, string[]> {
  const out: Record<MapMode, string[]> = { live: [], coverage: [], replay: [] };
  for (const m of modules) for (const [mode, ids] of Object.entries(m.modes) as [MapMode, readonly string[]][]) out[mode].push(...ids);
  return out;
}

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
/**
 * The share of the screen the trucks in view may cover with their symbols' boxes (count × size²
 * ÷ screen area): arrows up to ARROW_COVER_MAX (an arrow fills ~40 % of its box), then dots, which
 * shrink to hold DOT_COVER_MAX. bench:map --view street: 50,000 trucks, ~4,000 in a 1600×1000 view.
 */
export const ARROW_COVER_MAX = 0.3;
export const DOT_COVER_MAX = 0.1;
/** the smallest dot (CSS px) a crowded view shrinks to */
export const CROWDED_DOT_PX = 3;
/** a big fleet draws trails only for trucks in view, when at most this many are (else only the picked truck's) */
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
  readonly coverage: CoverageLayer;
  readonly replay = new ReplayLayer();
  /** the layer modules in drawing order (geofences sit under the live layers, after coverage) */
  private readonly modules: MapLayerModule[];
  private readonly layersByMode: Record<MapMode, string[]>;
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
    this.coverage = new CoverageLayer(opts.basemap);
    this.modules = [this.coverage, trailsLayer, stationsLayer, camerasLayer, alertsLayer, trucksLayer(this.fleetLayer), this.replay];
    this.layersByMode = layersByMode(this.modules);
    this.throttle = createThrottle(
      () => this.flush(),
      () => opts.flushMs ?? (this.fleet.size >= BIG_FLEET ? 1000 : 500),
    );
    this.ready = new Promise((resolve) => {
      this.map.once('load', () => {
        this.install();
        resolve();
      });
    });
  }

  private install(): void {
    const map = this.map;
    addTruckImages(map);
    for (const m of this.modules) {
      m.install(map);
      if (m === this.coverage) this.geofences.attach(map, { autoLoad: true });
    }

    // district names: the offline style's own symbol layer; HTML labels under a style without it (no glyphs needed)
    if (!map.getLayer(DISTRICT_LABEL_LAYER))
      for (const d of districtLabelPoints(this.opts.basemap)) {
        const el = document.createElement('div');
        el.className = 'district-label';
        el.textContent = d.name;
        this.labels.push(new Marker({ element: el }).setLngLat(d.lngLat).addTo(map));
      }

    const host: LayerHost = {
      choose: (id, kind) => {
        this.select(id);
        this.opts.onSelect?.({ id, kind });
      },
      alertClicked: (id, lngLat) => this.opts.onAlertClick?.(id, lngLat),
      pickTruck: (x, y) => this.pickTruck(x, y),
      hover: (id) => this.hover(id),
    };
    // click handling: the trucks (picked anywhere) first, then the devices' layers
    for (const name of ['trucks', 'stations', 'cameras', 'alerts']) this.modules.find((m) => m.name === name)?.bind?.(map, host);

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
    if (!this.map.getSource(SRC.air)) return; // not installed yet
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
        const trails = this.features.trails(big ? this.trailIds() : undefined);
        // an unchanged empty set is not sent again: each setData repaints the whole map
        if (trails.features.length > 0 || this.trailsShown > 0) this.setData(SRC.trails, trails);
        this.trailsShown = trails.features.length;
      } else if (!this.trailTimer) {
        this.trailTimer = setTimeout(
          () => {
            this.trailTimer = null;
            this.throttle.schedule();
          },
          trailEvery - (now - this.lastTrails),
        );
      }
    }
    this.setData(SRC.alerts, this.alertFeatures());
    this.lastFlushMs = performance.now() - t0;
  }
  private trailTimer: ReturnType<typeof setTimeout> | null = null;
  private trailsShown = 0;
  /**
   * A big fleet's trails: of the trucks in view, at most TRAIL_CAP. A view holding more than that
   * trails only the picked truck: hundreds of crossing trails cannot be read, and every trail change
   * repaints the whole map (hundreds of ms at 1600×1000 in software WebGL).
   */
  private trailIds(): string[] {
    const ids = this.trucksInView(TRAIL_CAP + 1);
    if (ids.length <= TRAIL_CAP) return ids;
    return this.selectedId ? [this.selectedId] : [];
  }
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
      features.push({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: pos },
        properties: { id: a.id, severity: a.severity, state: a.state, deviceId: a.deviceId, offset: cam?.properties.offset ?? [0, 0] },
      });
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
  private fleetStyle(zoom: number): { style: FleetStyle; sizePx: number; scale?: number } {
    const c = this.map.getCanvas();
    const area = (c.clientWidth || 800) * (c.clientHeight || 600);
    if (zoom < DENSITY_MAXZOOM && this.inView > area * DENSITY_PER_PX2) return { style: 'density', sizePx: 3 };
    // symbols that would cover more than a share of the screen cannot be read one by one, and in
    // software WebGL the cost of a frame is the pixels the fleet covers: arrows give way to dots
    // (past ARROW_COVER_MAX) and dots shrink (to hold DOT_COVER_MAX, down to CROWDED_DOT_PX)
    const covers = (px: number) => (this.inView * px * px) / area;
    const arrow = zoom >= 17 ? 30 : 22 + (zoom - TRUCK_ARROW_MINZOOM) * 2.7;
    if (zoom >= TRUCK_ARROW_MINZOOM && covers(arrow) <= ARROW_COVER_MAX) return { style: 'arrows', sizePx: arrow };
    const dot = zoom <= 10 ? 6 : Math.min(11, 6 + (zoom - 10) * 1.5);
    if (covers(dot) <= DOT_COVER_MAX) return { style: 'dots', sizePx: dot };
    // crowded: small dots at half resolution (as the density grid): under software compositing every
    // fleet frame is read back from the GPU, and a quarter of the pixels is a quarter of that
    return { style: 'dots', sizePx: Math.max(CROWDED_DOT_PX, Math.sqrt((area * DOT_COVER_MAX) / Math.max(1, this.inView))), scale: DENSITY_SCALE };
  }

  /** The current style and symbol size of the fleet (tests, diagnostics). */
  get fleetSymbolNow(): { style: FleetStyle; sizePx: number; scale?: number } {
    return this.fleetStyle(this.map.getZoom());
  }

  /** The current style of the fleet (tests, diagnostics). */
  get fleetStyleNow(): FleetStyle {
    return this.fleetSymbolNow.style;
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
    this.replay.setData(tracks, marks);
  }
  setReplayVehicles(v: FeatureCollection): void {
    this.replay.setVehicles(v);
  }

  /** Colour street segments served / missed (feature-state on the streets source: no new data). */
  setCoverage(served: string[], missed: string[]): void {
    this.coverage.set(served, missed);
  }

  setMode(mode: MapMode): void {
    this.mode = mode;
    if (!this.map.getLayer('trucks')) return;
    const all = new Set(Object.values(this.layersByMode).flat());
    const on = new Set(this.layersByMode[mode]);
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
