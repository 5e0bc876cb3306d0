/**
 * Map bench page (runs in headless Chromium, driven by bench/map.ts).
 *
 * mode 'naive': the baseline of baselines.md — one GeoJSON circle source holding every device,
 *   all of them moved (positions computed in the page) and replaced with setData once a second.
 * mode 'console': today's console before #16 — a main-thread WebSocket receiving the API hub's
 *   JSON deltas (bench/map.ts runs the real LiveHub), JSON.parse + LiveModel.apply per message (as
 *   the old socket.ts did), and the frozen pre-#16 MapController (legacy-controller.ts: GeoJSON
 *   truck source, throttled setData).
 * mode 'fleet': the console now — connectLive (WebSocket in a Web Worker, columnar position
 *   frames decoded there) → LiveModel.applyPositions → MapController's fleet layer (typed
 *   arrays, one GL buffer updated in place, animated between fixes when `interp`).
 * mode 'deckgl': the same stream and model; the fleet drawn by @deck.gl/maplibre 9.4 (interleaved
 *   MapLibreOverlay, ScatterplotLayer with binary attributes from the same FleetBuffer); with
 *   `interp` positions are interpolated on the CPU each frame and re-uploaded.
 *
 * Each measures requestAnimationFrame intervals, 'longtask' entries and MapLibre 'render' events
 * (repaints) for `seconds`, and the main-thread time per update.
 */
import { Map as MlMap, setWorkerUrl, type GeoJSONSource } from 'maplibre-gl';
import type { FeatureCollection, Point } from 'geojson';
import { MapLibreOverlay } from '@deck.gl/maplibre';
import { ScatterplotLayer } from '@deck.gl/layers';
import { MapController } from '../../ops-console/web/src/map/MapController';
import { LegacyMapController } from './legacy-controller';
import { LiveModel } from '../../ops-console/web/src/live/model';
import { connectLive } from '../../ops-console/web/src/live/socket';
import { buildOfflineStyle } from '../../ops-console/web/src/basemap/style';
import type { Basemap } from '../../ops-console/web/src/basemap/types';
import type { LiveMessage } from '../../ops-console/shared/live';
import { FleetBuffer, FLEET_STRIDE, A, latOf, lonOf } from '../../ops-console/web/src/map/fleet-buffer';
import { TRUCK_COLORS, TRUCK_STATES, truckState } from '../../ops-console/web/src/colors';
import type { GpsFix } from '../../contract';
import { Spans, __benchSync, type Cat, type LongTask } from './spans';

setWorkerUrl(new URL('./assets/maplibre-gl-worker.mjs', document.baseURI).href);

export type Mode = 'naive' | 'console' | 'fleet' | 'deckgl';

/** What the page reports to bench/map.ts. */
export interface Result {
  frames: number[];
  longTasks: number[];
  /** MapLibre 'render' events in the window (basemap repaints) */
  repaints: number;
  /** fleet: redraws of the fleet's own canvas; deckgl: deck redraws (both without a basemap repaint) */
  fleetDraws: number;
  /** updates applied in the window (messages / frames / setData calls) */
  updates: number;
  /** main-thread ms per update: decode (JSON.parse on the main thread; 0 when in the worker), apply (model + layer data), upload (GL buffer) */
  decodeMs: number[];
  workerDecodeMs: number[];
  applyMs: number[];
  uploadMs: number[];
  /** trucks the page had when measuring started */
  trucks: number;
  /** every long task of the window split by what ran in it (spans.ts) */
  longTaskDetail: LongTask[];
  /** main-thread self ms per category over the window */
  spanTotals: Partial<Record<Cat, number>>;
  /** performance.now() of the profile-alignment busy loop (spans.ts __benchSync), and of the window */
  syncAt: number;
  windowStart: number;
  windowEnd: number;
  error?: string;
}

/** Deterministic positions for the naive baseline (same formula as bench/map.ts's feed). */
function position(basemap: Basemap, i: number, t: number): [number, number] {
  const [w, s, e, n] = basemap.bbox;
  const cx = w + (((i * 7919) % 1000) / 1000) * (e - w);
  const cy = s + (((i * 104729) % 1000) / 1000) * (n - s);
  const a = t / 60_000 + i;
  return [cx + 0.002 * Math.cos(a), cy + 0.002 * Math.sin(a)];
}

/** Wrap MapLibre's own repaint (map._render) as the 'maplibre' category. */
function wrapMap(spans: Spans, map: MlMap): void {
  spans.wrap(map, '_render', 'maplibre');
}

function measure(seconds: number, res: Result, map: MlMap, spans: Spans): Promise<void> {
  document.title = 'measuring'; // bench/map.ts --shots waits for it
  res.syncAt = __benchSync();
  const entries: { startTime: number; duration: number }[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      res.longTasks.push(e.duration);
      entries.push({ startTime: e.startTime, duration: e.duration });
    }
  });
  obs.observe({ type: 'longtask', buffered: false });
  const onRender = () => res.repaints++;
  map.on('render', onRender);
  spans.on = true;
  return new Promise((resolve) => {
    const t0 = performance.now();
    res.windowStart = t0;
    let last = t0;
    const frame = (t: number) => {
      res.frames.push(t - last);
      last = t;
      if (t - t0 < seconds * 1000) requestAnimationFrame(frame);
      else {
        obs.disconnect();
        map.off('render', onRender);
        spans.on = false;
        res.windowEnd = performance.now();
        res.longTaskDetail = spans.attribute(entries);
        res.spanTotals = spans.totals(t0, res.windowEnd);
        resolve();
      }
    };
    requestAnimationFrame((t) => {
      last = t;
      requestAnimationFrame(frame);
    });
  });
}

const newResult = (): Result => ({
  frames: [],
  longTasks: [],
  repaints: 0,
  fleetDraws: 0,
  updates: 0,
  decodeMs: [],
  workerDecodeMs: [],
  applyMs: [],
  uploadMs: [],
  trucks: 0,
  longTaskDetail: [],
  spanTotals: {},
  syncAt: 0,
  windowStart: 0,
  windowEnd: 0,
});

/** The model's entry points, as the stream calls them. */
function wrapModel(spans: Spans, model: LiveModel): void {
  for (const m of ['apply', 'applyPositions', 'applySnapshotPart']) spans.wrap(model, m, 'apply');
}

/**
 * The view measured: `city` (the whole city, the default: at 50,000 trucks the fleet shows as a density grid) or
 * `street` (zoom STREET_ZOOM at the city centre: dots or arrows, each one animated between fixes every frame).
 */
const VIEW = new URLSearchParams(location.search).get('view') === 'street' ? 'street' : 'city';
const STREET_ZOOM = 15;
async function applyView(map: MlMap): Promise<void> {
  if (VIEW !== 'street') return;
  const c = map.getBounds().getCenter();
  map.jumpTo({ center: c, zoom: STREET_ZOOM });
  await new Promise<void>((r) => (map.loaded() ? r() : map.once('idle', () => r())));
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runNaive(basemap: Basemap, devices: number, seconds: number): Promise<Result> {
  const map = new MlMap({
    container: document.getElementById('map')!,
    style: buildOfflineStyle(basemap),
    bounds: [
      [basemap.bbox[0], basemap.bbox[1]],
      [basemap.bbox[2], basemap.bbox[3]],
    ],
    attributionControl: false,
    fadeDuration: 0,
  });
  await new Promise<void>((r) => map.once('load', () => r()));
  await applyView(map);
  const fc = (now: number): FeatureCollection<Point> => ({
    type: 'FeatureCollection',
    features: Array.from({ length: devices }, (_, i) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: position(basemap, i, now) }, properties: { id: i } })),
  });
  map.addSource('all', { type: 'geojson', data: fc(Date.now()) });
  map.addLayer({ id: 'all', type: 'circle', source: 'all', paint: { 'circle-radius': 3, 'circle-color': '#60a5fa' } });
  const spans = new Spans();
  wrapMap(spans, map);
  spans.wrap(map.getSource<GeoJSONSource>('all')!, 'setData', 'apply');
  await new Promise((r) => setTimeout(r, 2000));
  const res = newResult();
  res.trucks = devices;
  const timer = setInterval(() => {
    const t0 = performance.now();
    void map.getSource<GeoJSONSource>('all')!.setData(fc(Date.now())); // timed: the synchronous part of setData
    res.applyMs.push(performance.now() - t0);
    res.updates++;
  }, 1000);
  await measure(seconds, res, map, spans);
  clearInterval(timer);
  map.remove();
  return res;
}

async function runConsole(basemap: Basemap, devices: number, seconds: number, wsUrl: string): Promise<Result> {
  const model = new LiveModel();
  const c = new LegacyMapController({ container: document.getElementById('map')!, style: buildOfflineStyle(basemap), basemap, model });
  await c.ready;
  await applyView(c.map);
  const spans = new Spans();
  wrapMap(spans, c.map);
  wrapModel(spans, model);
  spans.wrap(c, 'flush', 'controller');
  const res = newResult();
  let measuring = false;
  // the old socket.ts: JSON.parse and apply on the main thread
  const ws = new WebSocket(wsUrl);
  ws.onmessage = (ev) => {
    const t0 = performance.now();
    const msg = JSON.parse(ev.data as string) as LiveMessage;
    const t1 = performance.now();
    model.apply(msg);
    const t2 = performance.now();
    if (!measuring) return;
    res.decodeMs.push(t1 - t0);
    res.applyMs.push(t2 - t1);
    res.updates++;
  };
  await until(() => model.devices.size >= devices, 120_000, 'snapshot');
  await new Promise((r) => setTimeout(r, 2000));
  res.trucks = model.devices.size;
  measuring = true;
  await measure(seconds, res, c.map, spans);
  ws.close();
  c.destroy();
  return res;
}

async function runFleet(basemap: Basemap, devices: number, seconds: number, wsUrl: string, interp: boolean): Promise<Result> {
  const model = new LiveModel();
  const c = new MapController({ container: document.getElementById('map')!, style: buildOfflineStyle(basemap), basemap, model, interpolate: interp });
  await c.ready;
  await applyView(c.map);
  const spans = new Spans();
  wrapMap(spans, c.map);
  wrapModel(spans, model);
  spans.wrap(c, 'beforeFrame', 'fleetApply');
  for (const m of ['flush', 'ageTrucks', 'countInView', 'updateLabels']) spans.wrap(c, m, 'controller');
  for (const m of ['draw', 'drawDensity']) spans.wrap(c.fleetLayer, m, 'fleetDraw');
  spans.wrap(c.fleetLayer, 'upload', 'upload');
  const sock = connectLive(model, 'bench', { path: wsUrl, keepTimings: true, ticket: false, onError: (m) => console.error(m) });
  await until(() => c.fleet.size >= devices, 120_000, 'fleet loaded');
  await new Promise((r) => setTimeout(r, 2000));
  const res = newResult();
  res.trucks = c.fleet.size;
  const s0 = { frames: sock.stats.frames, apply: sock.stats.applyMs.length, decode: sock.stats.decodeMs.length };
  const f0 = { applies: c.fleetStats.applies, applyMs: c.fleetStats.applyMs, uploads: c.fleetLayer.stats.uploads, uploadMs: c.fleetLayer.stats.uploadMs, draws: c.fleetLayer.stats.draws };
  await measure(seconds, res, c.map, spans);
  res.fleetDraws = c.fleetLayer.stats.draws - f0.draws;
  res.updates = sock.stats.frames - s0.frames;
  res.applyMs = sock.stats.applyMs.slice(s0.apply);
  res.workerDecodeMs = sock.stats.decodeMs.slice(s0.decode);
  // the layer applies and uploads per frame, not per message: spread its totals over the updates
  const applies = c.fleetStats.applies - f0.applies;
  const bufferApplyMs = c.fleetStats.applyMs - f0.applyMs;
  const uploads = c.fleetLayer.stats.uploads - f0.uploads;
  const uploadMs = c.fleetLayer.stats.uploadMs - f0.uploadMs;
  const per = Math.max(1, res.updates);
  res.applyMs = res.applyMs.map((x) => x + bufferApplyMs / per);
  res.uploadMs = res.applyMs.map(() => uploadMs / per);
  (res as Result & { layer: unknown }).layer = { applies, bufferApplyMs, uploads, uploadMs };
  sock.close();
  c.destroy();
  return res;
}

async function runDeck(basemap: Basemap, devices: number, seconds: number, wsUrl: string, interp: boolean): Promise<Result> {
  const map = new MlMap({
    container: document.getElementById('map')!,
    style: buildOfflineStyle(basemap),
    bounds: [
      [basemap.bbox[0], basemap.bbox[1]],
      [basemap.bbox[2], basemap.bbox[3]],
    ],
    attributionControl: false,
    fadeDuration: 0,
  });
  await new Promise<void>((r) => map.once('load', () => r()));
  await applyView(map);
  const model = new LiveModel();
  const b = basemap.bbox;
  const fleet = new FleetBuffer({ origin: [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], interpolate: interp });
  const colors = TRUCK_STATES.map((s) => {
    const n = parseInt(TRUCK_COLORS[s].slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255, 255];
  });
  let pos = new Float32Array(0);
  let col = new Uint8Array(0);
  // overlaid (its own canvas, like the fleet layer): interleaved would repaint the basemap every frame
  const overlay = new MapLibreOverlay({ interleaved: false, layers: [], onAfterRender: () => measuring && res.fleetDraws++ });
  map.addControl(overlay);
  const res = newResult();
  let measuring = false;
  let version = 0;
  const spans = new Spans();
  wrapMap(spans, map);
  wrapModel(spans, model);
  const rebuild = () => {
    const n = fleet.size;
    if (pos.length < n * 2) {
      pos = new Float32Array((fleet.attrs.length / FLEET_STRIDE) * 2);
      col = new Uint8Array((fleet.attrs.length / FLEET_STRIDE) * 4);
    }
    const t = fleet.clock();
    const p: [number, number] = [0, 0];
    for (let i = 0; i < n; i++) {
      fleet.drawnAt(i, t, p);
      pos[i * 2] = lonOf(p[0] + fleet.originX);
      pos[i * 2 + 1] = latOf(p[1] + fleet.originY);
      const c = colors[fleet.attrs[i * FLEET_STRIDE + A.state]!]!;
      col.set(c, i * 4);
    }
    version++;
    overlay.setProps({
      layers: [
        new ScatterplotLayer({
          id: 'fleet',
          data: { length: n, attributes: { getPosition: { value: pos, size: 2 }, getFillColor: { value: col, size: 4, normalized: true } } },
          radiusUnits: 'pixels',
          getRadius: 3,
          updateTriggers: { getPosition: version, getFillColor: version },
        }),
      ],
    });
  };
  const work = { rebuild };
  spans.wrap(work, 'rebuild', 'upload');
  // the model's changed trucks → the buffer, once per frame; interpolated positions every frame when moving
  let raf = 0;
  const frame = () => {
    raf = requestAnimationFrame(frame);
    const dirty = model.takeDirty('truck');
    const t0 = performance.now();
    if (dirty.size) {
      const now = Date.now();
      for (const id of dirty) {
        const s = model.devices.get(id);
        const g = s?.latest.gps?.data as GpsFix | undefined;
        if (s && g) fleet.set(id, g.lon, g.lat, g.ts, g.heading, truckState({ online: s.online, gps: g, lastSeen: s.lastSeen }, now));
      }
    }
    if (dirty.size || fleet.animating()) {
      work.rebuild();
      if (measuring) res.uploadMs.push(performance.now() - t0);
    }
  };
  raf = requestAnimationFrame(frame);
  const sock = connectLive(model, 'bench', { path: wsUrl, keepTimings: true, ticket: false, onError: (m) => console.error(m) });
  await until(() => fleet.size >= devices, 120_000, 'fleet loaded');
  await new Promise((r) => setTimeout(r, 2000));
  res.trucks = fleet.size;
  const s0 = { frames: sock.stats.frames, apply: sock.stats.applyMs.length, decode: sock.stats.decodeMs.length };
  measuring = true;
  await measure(seconds, res, map, spans);
  res.updates = sock.stats.frames - s0.frames;
  res.applyMs = sock.stats.applyMs.slice(s0.apply);
  res.workerDecodeMs = sock.stats.decodeMs.slice(s0.decode);
  cancelAnimationFrame(raf);
  sock.close();
  map.remove();
  return res;
}

declare global {
  interface Window {
    runBench(mode: Mode, devices: number, seconds: number, wsUrl: string, interp: boolean): Promise<Result>;
  }
}

window.runBench = async (mode, devices, seconds, wsUrl, interp) => {
  const basemap = (await (await fetch(new URL('./basemap.json', document.baseURI))).json()) as Basemap;
  if (mode === 'naive') return runNaive(basemap, devices, seconds);
  if (mode === 'console') return runConsole(basemap, devices, seconds, wsUrl);
  if (mode === 'deckgl') return runDeck(basemap, devices, seconds, wsUrl, interp);
  return runFleet(basemap, devices, seconds, wsUrl, interp);
};
