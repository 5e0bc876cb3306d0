/**
 * FROZEN COPY, for bench/map only: ops-console/web/src/map/MapController.ts as it was before the
 * fleet layer (issue #16, commit 0c09872) — "today's console" mode of `npm run bench:map`, so the
 * old GeoJSON truck path is measured in the same run as the new one. Not used by the console.
 *
 * The console's ONE map (MapLibre GL), driven imperatively — React never re-renders per message.
 * Each layer adds its GeoJSON source once; afterwards only `setData` (throttled, merged per device
 * by LiveModel/LiveFeatures) or `setFeatureState` (coverage) touch it. Live, coverage and replay
 * are layer groups on the same map, switched by visibility.
 */
import { Map as MlMap, Marker, NavigationControl, Popup, ScaleControl, type ExpressionSpecification, type GeoJSONSource, type StyleSpecification, type MapLayerMouseEvent } from 'maplibre-gl';
import type { FeatureCollection } from 'geojson';
import type { Alert } from '../../ops-console/shared/live';
import { AIR_COLORS, NOISE_COLORS, NO_DATA_COLOR, SEVERITY_COLORS, TRUCK_COLORS, TRUCK_STATES } from '../../ops-console/web/src/colors';
import type { Basemap } from '../../ops-console/web/src/basemap/types';
import { BASEMAP_SOURCES, districtLabelPoints } from '../../ops-console/web/src/basemap/style';
import { LiveFeatures } from '../../ops-console/web/src/live/features';
import type { LayerKey, LiveModel } from '../../ops-console/web/src/live/model';
import { createThrottle, type Throttle } from '../../ops-console/web/src/live/throttle';
import { cameraSquare, truckArrow } from '../../ops-console/web/src/map/icons';
import { trailCasingPaint, trailPaint } from '../../ops-console/web/src/map/trail-style';

type MapMode = 'live' | 'coverage' | 'replay';

const SRC = {
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
  live: ['trails-casing', 'trails', 'air', 'noise-ring', 'noise', 'cameras', 'alerts-halo', 'trucks', 'truck-arrows', 'selected'],
  coverage: ['coverage', 'trucks', 'truck-arrows', 'selected'],
  replay: ['replay-tracks', 'replay-marks', 'replay-vehicles'],
};

/**
 * Trucks are small state-coloured dots below this zoom and heading arrows from it on. Thousands of
 * rotated icon quads cost every frame (symbol placement with fadeDuration 0, and fill in software
 * WebGL) — at city zoom a fleet of 10,000 made each frame ~170 ms; dots cost what the naive baseline does.
 */
const TRUCK_ARROW_MINZOOM = 14;
/**
 * From this many trucks on: trucks flush at most once a second, and trails are drawn (and sent to
 * their source) only from TRUCK_ARROW_MINZOOM. MapLibre renders a line-gradient texture row per
 * trail per tile on the main thread (256 px × 10,000 trails) each time the trails change.
 */
const BIG_FLEET = 1000;

const empty = (): FeatureCollection => ({ type: 'FeatureCollection', features: [] });

interface MapControllerOptions {
  container: HTMLElement;
  style: StyleSpecification | string;
  basemap: Basemap;
  model: LiveModel;
  timeZone?: string;
  /** minimum ms between two setData calls of a layer (merged per device in between) */
  flushMs?: number;
  trailFlushMs?: number;
  onSelect?: (sel: { id: string; kind: LayerKey } | null) => void;
  onAlertClick?: (alertId: string, lngLat: [number, number]) => void;
}

export class LegacyMapController {
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
    this.throttle = createThrottle(
      () => this.flush(),
      () => opts.flushMs ?? (this.features.truck.size >= BIG_FLEET ? 1000 : 500),
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
    for (const st of TRUCK_STATES) {
      const img = truckArrow(TRUCK_COLORS[st]);
      map.addImage(`truck-${st}`, img, { pixelRatio: 2 });
    }
    map.addImage('camera', cameraSquare('#e879f9'), { pixelRatio: 2 });
    map.addImage('camera-read', cameraSquare('#f0abfc'), { pixelRatio: 2 });

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
    geo(SRC.truck, { promoteId: 'id' });
    geo(SRC.replayTracks, { lineMetrics: true });
    geo(SRC.replayMarks);
    geo(SRC.replayVehicles, { promoteId: 'id' });

    const match = (prop: string, colors: Record<string, string>, fallback = NO_DATA_COLOR) =>
      ['match', ['get', prop], ...Object.entries(colors).flat(), fallback] as unknown as ExpressionSpecification;

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
    map.addLayer({ id: 'trails-casing', type: 'line', source: SRC.trails, layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: trailCasingPaint() });
    map.addLayer({ id: 'trails', type: 'line', source: SRC.trails, layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: trailPaint() });
    map.addLayer({
      id: 'air',
      type: 'circle',
      source: SRC.air,
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
      source: SRC.noise,
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
      source: SRC.noise,
      paint: { 'circle-color': match('level', NOISE_COLORS), 'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 2.5, 16, 5] },
    });
    map.addLayer({
      id: 'cameras',
      type: 'symbol',
      source: SRC.camera,
      layout: { 'icon-image': ['case', ['>', ['get', 'reads'], 0], 'camera-read', 'camera'], 'icon-allow-overlap': true, 'icon-ignore-placement': true },
    });
    map.addLayer({
      id: 'alerts-halo',
      type: 'circle',
      source: SRC.alerts,
      paint: {
        'circle-color': 'rgba(0,0,0,0)',
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 14, 16, 26],
        'circle-stroke-color': match('severity', SEVERITY_COLORS),
        'circle-stroke-width': ['case', ['==', ['get', 'state'], 'open'], 4, 2],
        'circle-stroke-opacity': ['case', ['==', ['get', 'state'], 'open'], 1, 0.5],
      },
    });
    map.addLayer({
      id: 'trucks',
      type: 'circle',
      source: SRC.truck,
      maxzoom: TRUCK_ARROW_MINZOOM,
      paint: {
        'circle-color': match('state', TRUCK_COLORS),
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 2.5, 13, 4, TRUCK_ARROW_MINZOOM, 5],
        'circle-stroke-color': '#05080f',
        'circle-stroke-width': 1,
      },
    });
    map.addLayer({
      id: 'truck-arrows',
      type: 'symbol',
      source: SRC.truck,
      minzoom: TRUCK_ARROW_MINZOOM,
      layout: {
        'icon-image': ['concat', 'truck-', ['get', 'state']],
        'icon-rotate': ['get', 'heading'],
        'icon-rotation-alignment': 'map',
        'icon-allow-overlap': true,
        'icon-ignore-placement': true,
        'icon-size': ['interpolate', ['linear'], ['zoom'], 10, 0.9, 14, 1.4, 17, 1.8],
      },
    });
    map.addLayer({
      id: 'selected',
      type: 'circle',
      source: SRC.truck,
      filter: ['==', ['get', 'id'], ''],
      paint: { 'circle-color': 'rgba(0,0,0,0)', 'circle-radius': 20, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 3 },
    });
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

    // district names as HTML labels: no glyphs needed
    for (const d of districtLabelPoints(this.opts.basemap)) {
      const el = document.createElement('div');
      el.className = 'district-label';
      el.textContent = d.name;
      this.labels.push(new Marker({ element: el }).setLngLat(d.lngLat).addTo(map));
    }

    for (const layer of ['trucks', 'truck-arrows', 'air', 'noise-ring', 'noise', 'cameras']) {
      map.on('click', layer, (e: MapLayerMouseEvent) => {
        const f = e.features?.[0];
        const id = f?.properties?.id as string | undefined;
        if (!id) return;
        const kind: LayerKey = layer === 'trucks' || layer === 'truck-arrows' ? 'truck' : layer === 'air' ? 'air' : layer === 'cameras' ? 'camera' : 'noise';
        this.select(id);
        this.opts.onSelect?.({ id, kind });
      });
      map.on('mouseenter', layer, () => (map.getCanvas().style.cursor = 'pointer'));
      map.on('mouseleave', layer, () => (map.getCanvas().style.cursor = ''));
    }
    map.on('click', 'alerts-halo', (e: MapLayerMouseEvent) => {
      const f = e.features?.[0];
      if (f?.properties?.id) this.opts.onAlertClick?.(String(f.properties.id), [e.lngLat.lng, e.lngLat.lat]);
    });

    this.unsub.push(this.opts.model.onChange(() => this.throttle.schedule()));
    this.unsub.push(this.opts.model.onAlerts(() => this.throttle.schedule()));
    // trucks age into 'offline' without messages; alerts follow devices
    this.agingTimer = setInterval(() => this.throttle.schedule(), 5_000);
    // a big fleet's trails are only sent when zoomed in
    map.on('zoomend', () => {
      if (this.opts.model.trailsPending) this.throttle.schedule();
    });
    this.throttle.flushNow();
    this.flush();
    this.setMode(this.mode);
  }

  /** Apply merged changes: one setData per changed layer. */
  flush(): void {
    if (!this.map.getSource(SRC.truck)) return;
    const t0 = performance.now();
    const now = Date.now();
    for (const kind of ['truck', 'air', 'noise', 'camera'] as const) {
      if (this.features.update(kind, now)) this.setData(SRC[kind], this.features[kind].collection());
    }
    const trailEvery = this.opts.trailFlushMs ?? 2000;
    const big = this.features.truck.size >= BIG_FLEET;
    if (big !== this.bigFleet) {
      this.bigFleet = big;
      for (const id of ['trails-casing', 'trails']) if (this.map.getLayer(id)) this.map.setLayerZoomRange(id, big ? TRUCK_ARROW_MINZOOM : 0, 24);
    }
    if (this.opts.model.trailsPending && (!big || this.map.getZoom() >= TRUCK_ARROW_MINZOOM)) {
      if (now - this.lastTrails >= trailEvery) {
        this.opts.model.takeTrailsDirty();
        this.lastTrails = now;
        this.setData(SRC.trails, this.features.trails());
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

  private alertsKey = '';
  private alertFeatures(): FeatureCollection {
    const features: FeatureCollection['features'] = [];
    const model = this.opts.model;
    for (const a of model.alerts.values()) {
      if (a.state !== 'open' && a.state !== 'acknowledged') continue;
      const pos = this.devicePosition(a.deviceId);
      if (!pos) continue;
      features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: pos }, properties: { id: a.id, severity: a.severity, state: a.state, deviceId: a.deviceId } });
    }
    return { type: 'FeatureCollection', features };
  }

  devicePosition(id: string): [number, number] | null {
    const t = this.features.truck.get(id);
    if (t) return t.geometry.coordinates as [number, number];
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
    void src.setData(data);
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
    for (const id of all) this.map.setLayoutProperty(id, 'visibility', on.has(id) ? 'visible' : 'none');
  }

  select(id: string | null): void {
    if (this.map.getLayer('selected')) this.map.setFilter('selected', ['==', ['get', 'id'], id ?? '']);
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
    if (this.trailTimer) clearTimeout(this.trailTimer);
    for (const u of this.unsub) u();
    for (const l of this.labels) l.remove();
    this.map.remove();
  }
}
