/**
 * Map bench page (runs in headless Chromium, driven by bench/map.ts).
 *
 * mode 'console': the console's real data path after the socket — the same text a WebSocket
 *   delta would carry is JSON.parse'd and applied to the real LiveModel, and the real
 *   MapController (ops-console/web/src/map) renders it (its throttled per-device merge, truck
 *   symbols with heading, trails). Deltas arrive every 250 ms, like the API's live hub (tickMs),
 *   each carrying a quarter of the devices, so every device moves once a second.
 * mode 'naive': the baseline of baselines.md — one GeoJSON circle source holding every device,
 *   all of them moved and replaced with setData once a second.
 *
 * Both measure requestAnimationFrame intervals and 'longtask' entries for `seconds`.
 */
import { Map as MlMap, setWorkerUrl } from 'maplibre-gl';
import type { FeatureCollection, Point } from 'geojson';
import { MapController } from '../../ops-console/web/src/map/MapController';
import { LiveModel } from '../../ops-console/web/src/live/model';
import { buildOfflineStyle } from '../../ops-console/web/src/basemap/style';
import type { Basemap } from '../../ops-console/web/src/basemap/types';
import type { LiveDelta, LiveSnapshot } from '../../ops-console/shared/live';
import type { LiveState } from '../../contract';

setWorkerUrl(new URL('./assets/maplibre-gl-worker.mjs', document.baseURI).href);

/** What the page reports to bench/map.ts. */
export interface Result {
  frames: number[];
  longTasks: number[];
  messages: number;
  setDataCalls: number;
  applyMs: number[];
  /** console: MapController's last flush (features rebuilt + setData calls), sampled per delta */
  flushMs: number[];
}

/** Deterministic positions: device i moves on a small loop inside the city's bbox. */
function position(basemap: Basemap, i: number, t: number): [number, number, number] {
  const [w, s, e, n] = basemap.bbox;
  const cx = w + ((i * 7919) % 1000) / 1000 * (e - w);
  const cy = s + ((i * 104729) % 1000) / 1000 * (n - s);
  const a = t / 60_000 + i;
  return [cx + 0.002 * Math.cos(a), cy + 0.002 * Math.sin(a), Math.round(((a * 180) / Math.PI + 90) % 360)];
}

function truckState(basemap: Basemap, i: number, now: number): LiveState {
  const [lon, lat, heading] = position(basemap, i, now);
  return {
    deviceId: `truck-${String(i).padStart(5, '0')}`,
    kind: 'truck',
    district: 'Centro',
    latest: { gps: { ts: now, late: false, data: { ts: now, lat, lon, speedKmh: 25, heading } } },
    online: true,
    lastSeen: now,
  };
}

function measure(seconds: number, res: Result): Promise<void> {
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) res.longTasks.push(e.duration);
  });
  obs.observe({ type: 'longtask', buffered: false });
  return new Promise((resolve) => {
    const t0 = performance.now();
    let last = t0;
    const frame = (t: number) => {
      res.frames.push(t - last);
      last = t;
      if (t - t0 < seconds * 1000) requestAnimationFrame(frame);
      else {
        obs.disconnect();
        resolve();
      }
    };
    requestAnimationFrame((t) => {
      last = t;
      requestAnimationFrame(frame);
    });
  });
}

async function runConsole(basemap: Basemap, devices: number, seconds: number, hide: string[] = []): Promise<Result> {
  const model = new LiveModel();
  const c = new MapController({ container: document.getElementById('map')!, style: buildOfflineStyle(basemap), basemap, model });
  await c.ready;
  // diagnostic variants only: the same controller with some of its layers hidden
  for (const id of hide) c.map.setLayoutProperty(id, 'visibility', 'none');
  const now0 = Date.now();
  const snapshot: LiveSnapshot = { type: 'snapshot', at: now0, devices: Array.from({ length: devices }, (_, i) => truckState(basemap, i, now0)), alerts: [] };
  model.apply(JSON.parse(JSON.stringify(snapshot)));
  await new Promise((r) => setTimeout(r, 2000));
  const res: Result = { frames: [], longTasks: [], messages: 0, setDataCalls: 0, applyMs: [], flushMs: [] };
  const calls0 = c.setDataCalls;
  let part = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    const q = part++ % 4;
    const states: LiveState[] = [];
    for (let i = q; i < devices; i += 4) states.push(truckState(basemap, i, now));
    const text = JSON.stringify({ type: 'delta', at: now, devices: states, plates: [], alerts: [] } satisfies LiveDelta);
    // what socket.ts does with each message: parse, apply to the model
    const t0 = performance.now();
    model.apply(JSON.parse(text));
    res.applyMs.push(performance.now() - t0);
    res.flushMs.push(c.lastFlushMs);
    res.messages++;
  }, 250);
  await measure(seconds, res);
  clearInterval(timer);
  res.setDataCalls = c.setDataCalls - calls0;
  c.destroy();
  return res;
}

async function runNaive(basemap: Basemap, devices: number, seconds: number): Promise<Result> {
  const map = new MlMap({ container: document.getElementById('map')!, style: buildOfflineStyle(basemap), bounds: [[basemap.bbox[0], basemap.bbox[1]], [basemap.bbox[2], basemap.bbox[3]]], attributionControl: false, fadeDuration: 0 });
  await new Promise<void>((r) => map.once('load', () => r()));
  const fc = (now: number): FeatureCollection<Point> => ({
    type: 'FeatureCollection',
    features: Array.from({ length: devices }, (_, i) => {
      const [lon, lat] = position(basemap, i, now);
      return { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { id: i } };
    }),
  });
  map.addSource('all', { type: 'geojson', data: fc(Date.now()) });
  map.addLayer({ id: 'all', type: 'circle', source: 'all', paint: { 'circle-radius': 3, 'circle-color': '#60a5fa' } });
  await new Promise((r) => setTimeout(r, 2000));
  const res: Result = { frames: [], longTasks: [], messages: 0, setDataCalls: 0, applyMs: [], flushMs: [] };
  const timer = setInterval(() => {
    const t0 = performance.now();
    (map.getSource('all') as import('maplibre-gl').GeoJSONSource).setData(fc(Date.now()));
    res.applyMs.push(performance.now() - t0);
    res.setDataCalls++;
    res.messages++;
  }, 1000);
  await measure(seconds, res);
  clearInterval(timer);
  map.remove();
  return res;
}

/** console-no-trails / console-no-trucks: diagnostics (which layer costs the frame time), not the console as shipped */
export type Mode = 'console' | 'naive' | 'console-no-trails' | 'console-no-trucks';

declare global {
  interface Window {
    runBench(mode: Mode, devices: number, seconds: number): Promise<Result>;
    benchError?: string;
  }
}

window.runBench = async (mode, devices, seconds) => {
  const basemap = (await (await fetch(new URL('./basemap.json', document.baseURI))).json()) as Basemap;
  if (mode === 'naive') return runNaive(basemap, devices, seconds);
  return runConsole(basemap, devices, seconds, mode === 'console-no-trails' ? ['trails'] : mode === 'console-no-trucks' ? ['trucks'] : []);
};
