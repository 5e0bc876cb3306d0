/**
 * End-to-end at fleet scale: the console API's real LiveHub fed with 3,000 trucks at 1 Hz (as
 * ingest's svc/state would feed it; MQTT apart, which console.e2e covers), streamed columnar over
 * the real WebSocket to the built console in headless Chromium (worker decode → model → fleet
 * layer). Checks what #16 asks of a big fleet: density at city zoom, dots/arrows zoomed in,
 * trails only zoomed in and capped, labels only for a few trucks, picking and the device panel on
 * the big fleet, a silent truck does not drift, and React does not re-render per delta.
 * Needs `npm run build:web` first (the `pretest` script does it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, openPage, logIn, hasChromium } from '../../testing/browser';
import type { LiveState } from '../../contract';
import { loadConfig } from '../../lib/config';
import { loadCity } from '../../city/city';
import { RegistryView } from '../../registry/registry';
import { openDuckDbStore } from '../../store/duckdb/index';
import { startApi, WEB_DIST } from '../api/index';
import { tempDir } from '../../testing/net';
import { writeTestRegistry } from '../../testing/registry-fixture';
import { basemapFromCity } from './src/basemap/types';
import { ARROW_COVER_MAX, LABEL_CAP, TRAIL_CAP, TRUCK_ARROW_MINZOOM } from './src/map/MapController';
import type { LiveHub } from '../api/plugins/app/live-hub';
import type { TelemetryStore } from '../../store/types';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const hasWeb = fs.existsSync(path.join(WEB_DIST, 'index.html'));
const FLEET = 3000;
/** trucks 0..CLUSTER-1 stand within ~400 m of the cluster's centre, the rest spread over the city */
const CLUSTER = 100;
/** trucks CLUSTER..CROWD_END-1 stand within ~300 m of a second centre (north-west): a crowded street view */
const CROWD_END = 800;
const SILENT = 'bulk-02999';

type Stop = () => unknown; // sync or async

/** Console-side handles the test reads (window.__cityops, window.__cityopsRenders). */
interface C {
  controller: {
    fleet: { size: number; position(id: string): [number, number] | null };
    fleetStyleNow: string;
    fleetSymbolNow: { style: string; sizePx: number };
    fleetStats: { applied: number };
    fleetLayer: { densityCells: number; scale: number; drawnVertices: number; stats: { draws: number } };
    labelCount: number;
    selected: string | null;
    trucksInView(limit: number): string[];
    map: {
      jumpTo(o: unknown): void;
      getZoom(): number;
      getLayer(id: string): { minzoom: number } | undefined;
      project(p: [number, number]): { x: number; y: number };
      getContainer(): HTMLElement;
      queryRenderedFeatures(o: unknown): { properties: Record<string, unknown> }[];
      once(ev: string, f: () => void): void;
    };
  };
}

describe.skipIf(!hasWeb || !hasChromium())('the live map at fleet scale (real LiveHub stream, headless Chromium)', () => {
  const stops: Stop[] = [];
  const extra = [
    { id: 'bulk-01234', kind: 'truck' as const, model: 'e2e', district: 'Centro', status: 'active' as const, truck: { depotId: 'depot-1', routeId: 'route-01' }, intervals: { dataS: 1, statusS: 60 } },
  ];
  let base = '';
  let browser: Browser;
  let store: TelemetryStore;
  let page: Page;
  let timer: ReturnType<typeof setInterval> | null = null;
  let silentFix: { lon: number; lat: number } | null = null;
  let clusterCentre: [number, number] = [0, 0];
  let crowdCentre: [number, number] = [0, 0];

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const dir = tempDir('fleet-e2e-');
    const registry = new RegistryView(writeTestRegistry(dir, extra));
    store = await openDuckDbStore({ file: ':memory:' });
    stops.push(() => store.close());
    const city = loadCity();
    const api = await startApi({
      cfg: loadConfig({}, { DATA_DIR: dir }),
      store,
      registry,
      city,
      mqtt: null,
      opsDbFile: ':memory:',
      jwtSecret: 'fleet-e2e-secret-fleet-e2e-secret',
      users: [{ username: 'operador', password: 'op-pass-1', role: 'operator' }],
      port: 0,
    });
    stops.push(() => api.stop());
    base = `http://127.0.0.1:${api.port}/`;
    const hub = (api.app as unknown as { live: LiveHub }).live;

    const [w, s, e, n] = basemapFromCity(city).bbox;
    const cx = (w + e) / 2;
    const cy = (s + n) / 2;
    clusterCentre = [cx, cy];
    crowdCentre = [w + 0.2 * (e - w), s + 0.8 * (n - s)];
    const state = (i: number, now: number): LiveState => {
      const clustered = i < CLUSTER;
      const crowded = !clustered && i < CROWD_END;
      const px = clustered ? cx + 0.004 * (((i * 37) % 100) / 100 - 0.5) : crowded ? crowdCentre[0] + 0.003 * (((i * 37) % 700) / 700 - 0.5) : w + (((i * 7919) % 1000) / 1000) * (e - w);
      const py = clustered ? cy + 0.004 * (((i * 61) % 100) / 100 - 0.5) : crowded ? crowdCentre[1] + 0.003 * (((i * 61) % 700) / 700 - 0.5) : s + (((i * 104729) % 1000) / 1000) * (n - s);
      const a = now / 60_000 + i;
      const lon = px + 0.0005 * Math.cos(a);
      const lat = py + 0.0005 * Math.sin(a);
      return {
        deviceId: `bulk-${String(i).padStart(5, '0')}`,
        kind: 'truck',
        district: 'Centro',
        latest: { gps: { ts: now, late: false, data: { ts: now, lat, lon, speedKmh: 25, heading: 90 } } },
        online: true,
        lastSeen: now,
      };
    };
    const feed = (now: number, silent: boolean) => {
      for (let i = 0; i < FLEET; i++) {
        const st = state(i, now);
        if (st.deviceId === SILENT) {
          if (silent) continue;
          silentFix = st.latest.gps!.data as { lon: number; lat: number };
        }
        hub.updateState(st);
      }
    };
    feed(Date.now(), false);
    const started = Date.now();
    // every truck once a second; the SILENT truck stops reporting after 8 s
    timer = setInterval(() => feed(Date.now(), Date.now() - started > 8000), 1000);

    browser = await launchChromium();
    stops.push(() => browser.close());
    // the city view holds more trucks than one per 20×20 px
    page = await openPage(browser, { viewport: { width: 1280, height: 800 } });
    await logIn(page, base, 'operador', 'op-pass-1', { timeoutMs: 30_000 });
    await page.waitForFunction((n) => ((window as unknown as { __cityops?: C }).__cityops?.controller.fleet.size ?? 0) >= n, FLEET, { timeout: 60_000 });
  }, 180_000);

  afterAll(async () => {
    if (timer) clearInterval(timer);
    for (const stop of stops.reverse()) await stop();
  });

  const ev = <T>(f: (c: C['controller']) => T): Promise<T> => page.evaluate(`(${f.toString()})(window.__cityops.controller)`) as Promise<T>;
  const jump = async (center: [number, number], zoom: number) => {
    await page.evaluate(
      ([center, zoom]) =>
        new Promise<void>((r) => {
          const m = (window as unknown as { __cityops: C }).__cityops.controller.map;
          m.once('moveend', () => r());
          m.jumpTo({ center, zoom });
        }),
      [center, zoom] as const,
    );
  };

  /** click where a truck is drawn now, as a user does */
  const clickTruck = async (id: string) => {
    const box = (await page.getByTestId('map').boundingBox())!;
    const pt = await page.evaluate((id) => {
      const c = (window as unknown as { __cityops: C }).__cityops.controller;
      const q = c.map.project(c.fleet.position(id)!);
      return { x: q.x, y: q.y };
    }, id);
    await page.mouse.click(box.x + pt.x, box.y + pt.y);
  };

  it('city zoom: a density grid instead of 3,000 dots (half-resolution fleet canvas); zoomed in: dots, then heading arrows', async () => {
    await expect.poll(() => ev((c) => c.fleetStyleNow), { timeout: 15_000 }).toBe('density');
    await expect.poll(() => ev((c) => c.fleetLayer.densityCells), { timeout: 15_000 }).toBeGreaterThan(0);
    const cells = await ev((c) => c.fleetLayer.densityCells);
    expect(cells).toBeLessThan(FLEET); // binned: fewer primitives than trucks
    expect(await ev((c) => c.fleetLayer.scale)).toBe(0.5);
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-fleet-density.png') });

    const p = (await ev((c) => c.fleet.position('bulk-01500')))!;
    await jump(p, 13.5);
    await expect.poll(() => ev((c) => c.fleetStyleNow), { timeout: 10_000 }).toBe('dots');
    await jump(p, 15);
    await expect.poll(() => ev((c) => c.fleetStyleNow), { timeout: 10_000 }).toBe('arrows');
    expect(await ev((c) => c.fleetLayer.scale)).toBe(1);
  });

  it('trails only from arrow zoom on, for at most TRAIL_CAP trucks in view; labels only when few trucks are in view', async () => {
    expect(await ev((c) => c.map.getLayer('trails')!.minzoom)).toBe(TRUCK_ARROW_MINZOOM);
    const centre = clusterCentre;
    // the cluster at zoom 16: more than LABEL_CAP trucks in view → no labels
    await jump(centre, 16);
    expect((await ev((c) => c.trucksInView(1000))).length).toBeGreaterThan(LABEL_CAP);
    expect(await ev((c) => c.labelCount)).toBe(0);
    // trails drawn for the trucks in view, capped
    await expect.poll(() => ev((c) => new Set(c.map.queryRenderedFeatures({ layers: ['trails'] }).map((f) => f.properties.id)).size), { timeout: 15_000 }).toBeGreaterThan(0);
    const trails = await ev((c) => new Set(c.map.queryRenderedFeatures({ layers: ['trails'] }).map((f) => f.properties.id)).size);
    expect(trails).toBeLessThanOrEqual(TRAIL_CAP);
    // zoomed right in on the cluster: a few trucks, each labelled
    await jump(centre, 19.5);
    const inView = (await ev((c) => c.trucksInView(1000))).length;
    expect(inView).toBeGreaterThan(0);
    expect(inView).toBeLessThanOrEqual(LABEL_CAP);
    await expect.poll(() => ev((c) => c.labelCount), { timeout: 5_000 }).toBe(inView);
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-fleet-labels.png') });
  });

  it('a crowded street view: dots instead of overlapping arrows, only the trucks near the view drawn, no trails but the picked truck’s', async () => {
    await jump(crowdCentre, 15);
    const inView = (await ev((c) => c.trucksInView(5000))).length;
    const area = await page.evaluate(() => {
      const el = (window as unknown as { __cityops: C }).__cityops.controller.map.getContainer();
      return el.clientWidth * el.clientHeight;
    });
    // precondition: more trucks in view than trails are drawn for, and arrows would cover more than ARROW_COVER_MAX
    expect(inView).toBeGreaterThan(TRAIL_CAP);
    expect((inView * 24.7 * 24.7) / area).toBeGreaterThan(ARROW_COVER_MAX);
    await expect.poll(() => ev((c) => c.fleetSymbolNow.style), { timeout: 10_000 }).toBe('dots');
    expect(await ev((c) => c.fleetSymbolNow.sizePx)).toBeLessThanOrEqual(11);
    // view culling: the GPU gets the trucks near the view, not the whole fleet
    await expect.poll(() => ev((c) => c.fleetLayer.drawnVertices), { timeout: 10_000 }).toBeLessThan(FLEET);
    expect(await ev((c) => c.fleetLayer.drawnVertices)).toBeGreaterThanOrEqual(inView);
    // no trails while so many trucks are in view (they would cross unreadably, and each change repaints the map)
    await new Promise((r) => setTimeout(r, 3000));
    expect(await ev((c) => c.map.queryRenderedFeatures({ layers: ['trails'] }).length)).toBe(0);
    // pick one: its trail alone is drawn
    await clickTruck(`bulk-${String(CLUSTER + 3).padStart(5, '0')}`);
    await expect.poll(() => ev((c) => c.selected), { timeout: 5_000 }).toMatch(/^bulk-/);
    const picked = (await ev((c) => c.selected))!;
    await expect.poll(() => ev((c) => [...new Set(c.map.queryRenderedFeatures({ layers: ['trails'] }).map((f) => f.properties.id))]), { timeout: 15_000 }).toEqual([picked]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-fleet-crowded.png') });
    await page.keyboard.press('Escape');
  });

  it('picking among 3,000 trucks: clicking one opens its device panel', async () => {
    const id = 'bulk-01234';
    await jump((await ev((c) => c.fleet.position('bulk-01234')))!, 16);
    await clickTruck(id);
    await expect.poll(() => ev((c) => c.selected), { timeout: 5_000 }).toBe(id);
    await expect.poll(() => page.textContent('body'), { timeout: 10_000 }).toContain(id);
    await expect.poll(() => page.textContent('body'), { timeout: 10_000 }).toMatch(/Velocidad.*km\/h/);
  });

  it('a truck that went silent stops at its last fix (no drift)', async () => {
    // the SILENT truck stopped reporting 8 s after the feed started; wait past its last move
    await expect
      .poll(
        async () => {
          const p = await page.evaluate((id) => (window as unknown as { __cityops: C }).__cityops.controller.fleet.position(id), SILENT);
          return p && silentFix ? Math.hypot(p[0] - silentFix.lon, p[1] - silentFix.lat) * 111_000 : Infinity;
        },
        { timeout: 20_000 },
      )
      .toBeLessThan(0.5);
    const a = await page.evaluate((id) => (window as unknown as { __cityops: C }).__cityops.controller.fleet.position(id), SILENT);
    await page.waitForTimeout(2500);
    const b = await page.evaluate((id) => (window as unknown as { __cityops: C }).__cityops.controller.fleet.position(id), SILENT);
    expect(b).toEqual(a);
  });

  it('React does not re-render per delta: 3,000 fixes a second reach the map, the console root renders not once', async () => {
    const renders = () => page.evaluate(() => (window as unknown as { __cityopsRenders?: Record<string, number> }).__cityopsRenders?.Console ?? -1);
    const r0 = await renders();
    expect(r0).toBeGreaterThan(0);
    const a0 = await ev((c) => c.fleetStats.applied);
    await page.waitForTimeout(5000);
    const a1 = await ev((c) => c.fleetStats.applied);
    expect(a1 - a0).toBeGreaterThanOrEqual(FLEET * 3); // ≥ 3 updates of every truck drawn meanwhile
    expect(await renders()).toBe(r0);
  });
});
