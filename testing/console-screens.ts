/**
 * README's screenshots, taken in real headless Chromium from a running console (the first-start
 * test: launcher/first-start.test.ts), with what each screenshot should show read back from the
 * page: street names rendered by MapLibre from the bundled glyphs, the metric scale, the cameras of
 * one entrance at distinct screen positions, an air station's panel with its Índice AIRE Y SALUD
 * and responsible pollutant, the planners' charts, the alarm table. Returns the facts; the test
 * asserts them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium, logIn, waitForLiveMap } from './browser';

export { CHROMIUM };
export const SCREENSHOTS_DIR = path.resolve(import.meta.dirname, '../docs/screenshots');

export interface ScreensFacts {
  files: string[];
  /** street names MapLibre rendered at street zoom (queryRenderedFeatures on the label layers) */
  streetLabels: string[];
  /** entrance names rendered beside the cameras */
  cameraLabels: string[];
  /** the scale control's text (metres) */
  scale: string;
  /** every camera's drawn centre in CSS px (anchor projected + icon offset), and what the map picks there */
  cameras: { id: string; x: number; y: number; picked: string | null }[];
  /** glyph PBFs the page fetched, with their HTTP status */
  glyphRequests: { url: string; status: number }[];
  /** the air station's panel */
  aqi: { station: string; category: string | null; responsible: string | null; text: string; hourly: boolean };
  /** a camera's panel, as an operator sees it */
  camera: { id: string; entrance: string; rate: string; lastRead: string; platesShown: number };
  plannersCharts: number;
  alarmRows: number;
  pageErrors: string[];
  foreignRequests: string[];
}

type W = {
  __cityops: {
    controller: {
      map: {
        getLayer(id: string): unknown;
        loaded(): boolean;
        areTilesLoaded(): boolean;
        jumpTo(o: unknown): void;
        fitBounds(b: unknown, o: unknown): void;
        project(p: [number, number]): { x: number; y: number };
        getContainer(): HTMLElement;
        getZoom(): number;
        queryRenderedFeatures(a?: unknown, b?: unknown): { properties: Record<string, unknown>; layer: { id: string } }[];
        getSource(id: string): { getData(): Promise<{ features: { geometry: { coordinates: [number, number] }; properties: { id: string; offset: [number, number] } }[] }> } | undefined;
      };
      fleet: { size: number };
    };
  };
};

async function newPage(browser: Browser, base: string, facts: ScreensFacts): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'es-MX', timezoneId: 'America/Mexico_City' });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => facts.pageErrors.push(String(e)));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(base) && !u.startsWith('ws://127.0.0.1') && !u.startsWith('blob:') && !u.startsWith('data:')) facts.foreignRequests.push(u);
  });
  page.on('response', (r) => {
    if (r.url().includes('/fonts/')) facts.glyphRequests.push({ url: decodeURIComponent(r.url().slice(base.length - 1)), status: r.status() });
  });
  return page;
}

async function login(page: Page, base: string, username: string, password: string): Promise<void> {
  await logIn(page, base, username, password, { timeoutMs: 30_000 });
  await waitForLiveMap(page, 60_000);
}

/** wait until the map has drawn what it has (tiles and symbols placed), then a little for the fleet canvas */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const m = (window as unknown as W).__cityops.controller.map;
      return m.loaded() && m.areTilesLoaded();
    },
    null,
    { timeout: 60_000, polling: 250 },
  );
  await page.waitForTimeout(700);
}

export async function shootConsole(opts: {
  base: string;
  operator: [string, string];
  planner: [string, string];
  airStation: string;
  /** where the street-zoom screenshot looks (the city's centre) */
  streetView: { center: [number, number]; zoom: number };
  /** the city's bounds [[w, s], [e, n]] (the alarm table's map) */
  bounds: [[number, number], [number, number]];
  outDir?: string;
}): Promise<ScreensFacts> {
  const base = opts.base.endsWith('/') ? opts.base : `${opts.base}/`;
  const out = opts.outDir ?? SCREENSHOTS_DIR;
  fs.mkdirSync(out, { recursive: true });
  const facts: ScreensFacts = {
    files: [],
    streetLabels: [],
    cameraLabels: [],
    scale: '',
    cameras: [],
    glyphRequests: [],
    aqi: { station: opts.airStation, category: null, responsible: null, text: '', hourly: false },
    camera: { id: '', entrance: '', rate: '', lastRead: '', platesShown: -1 },
    plannersCharts: 0,
    alarmRows: 0,
    pageErrors: [],
    foreignRequests: [],
  };
  const shot = async (page: Page, name: string) => {
    const file = path.join(out, name);
    await page.screenshot({ path: file });
    facts.files.push(file);
  };
  // --lang: the browser's own widgets (date inputs) in Mexican Spanish, as a city's operator sees them
  const browser = await launchChromium(['--lang=es-MX']);
  try {
    // 1. the live map as an operator sees it at first: the whole city, every truck, stations, cameras
    const op = await newPage(browser, base, facts);
    await login(op, base, ...opts.operator);
    await op.waitForFunction(() => (window as unknown as W).__cityops.controller.fleet.size > 0, null, { timeout: 60_000 });
    await settled(op);
    facts.scale = (await op.locator('.maplibregl-ctrl-scale').first().textContent({ timeout: 10_000 })) ?? '';
    // the cameras' drawn centres: their anchor projected plus the icon's offset; what the map picks there
    await op.waitForFunction(async () => ((await (window as unknown as W).__cityops.controller.map.getSource('live-cameras')?.getData())?.features.length ?? 0) > 0, null, {
      timeout: 30_000,
      polling: 500,
    });
    facts.cameras = await op.evaluate(async () => {
      const m = (window as unknown as W).__cityops.controller.map;
      const data = await m.getSource('live-cameras')!.getData();
      return data.features.map((f) => {
        const p = m.project(f.geometry.coordinates);
        const [dx, dy] = f.properties.offset ?? [0, 0];
        const x = p.x + dx;
        const y = p.y + dy;
        const hit = m.queryRenderedFeatures([x, y], { layers: ['cameras'] });
        return { id: f.properties.id, x, y, picked: (hit[0]?.properties.id as string | undefined) ?? null };
      });
    });
    facts.cameraLabels = await op.evaluate(() => [
      ...new Set((window as unknown as W).__cityops.controller.map.queryRenderedFeatures(undefined, { layers: ['camera-labels'] }).map((f) => String(f.properties.name))),
    ]);
    await shot(op, 'live-map.png');

    // 2. street zoom: names along the streets, from the bundled glyphs
    await op.evaluate((v) => (window as unknown as W).__cityops.controller.map.jumpTo(v), opts.streetView);
    await settled(op);
    await op
      .waitForFunction(() => (window as unknown as W).__cityops.controller.map.queryRenderedFeatures(undefined, { layers: ['streets-label', 'streets-label-primary'] }).length > 0, null, {
        timeout: 30_000,
        polling: 500,
      })
      .catch(() => undefined);
    facts.streetLabels = await op.evaluate(() => [
      ...new Set((window as unknown as W).__cityops.controller.map.queryRenderedFeatures(undefined, { layers: ['streets-label', 'streets-label-primary'] }).map((f) => String(f.properties.name))),
    ]);
    await shot(op, 'live-map-streets.png');

    // 3. an air station's device panel: clicked on the map, as an operator does
    await op.evaluate((id) => {
      const c = (window as unknown as W & { __cityops: { model: { meta: Map<string, { location?: { lat: number; lon: number } }> } } }).__cityops;
      const loc = c.model.meta.get(id)!.location!;
      c.controller.map.jumpTo({ center: [loc.lon, loc.lat], zoom: 15 });
    }, opts.airStation);
    await settled(op);
    const at = await op.evaluate((id) => {
      const c = (window as unknown as W & { __cityops: { model: { meta: Map<string, { location?: { lat: number; lon: number } }> } } }).__cityops;
      const loc = c.model.meta.get(id)!.location!;
      const p = c.controller.map.project([loc.lon, loc.lat]);
      const r = c.controller.map.getContainer().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    }, opts.airStation);
    await op.mouse.click(at.x, at.y);
    const panel = op.locator(`.device-panel[data-device-id="${opts.airStation}"]`);
    await panel.waitFor({ timeout: 20_000 });
    const aqi = panel.locator('[data-testid="aqi"]');
    await aqi.waitFor({ timeout: 20_000 });
    // the hourly index (from the history) replaces the indicative one when the API answers
    await op
      .waitForFunction((sel) => !!document.querySelector(sel)?.textContent?.includes('Hora'), `.device-panel[data-device-id="${opts.airStation}"] [data-testid="aqi"]`, { timeout: 20_000 })
      .catch(() => undefined);
    await panel
      .locator('[data-testid="device-chart"]')
      .waitFor({ timeout: 20_000 })
      .catch(() => undefined);
    facts.aqi = {
      station: opts.airStation,
      category: await aqi.getAttribute('data-category'),
      responsible: await aqi.getAttribute('data-responsible'),
      text: (await panel.textContent()) ?? '',
      hourly: ((await aqi.textContent()) ?? '').includes('Hora'),
    };
    await settled(op);
    await shot(op, 'device-panel-air.png');

    // 4. a camera's panel: clicked where its icon is drawn (beside the other camera of its entrance)
    await op.locator(`.device-panel[data-device-id="${opts.airStation}"] .btn-close`).click();
    const cam = facts.cameras[0]!;
    const camAt = await op.evaluate(async (id) => {
      const m = (window as unknown as W).__cityops.controller.map;
      const f = (await m.getSource('live-cameras')!.getData()).features.find((x) => x.properties.id === id)!;
      m.jumpTo({ center: f.geometry.coordinates, zoom: 15 });
      return { coords: f.geometry.coordinates, offset: f.properties.offset };
    }, cam.id);
    await settled(op);
    const camPx = await op.evaluate((c) => {
      const m = (window as unknown as W).__cityops.controller.map;
      const p = m.project(c.coords);
      const r = m.getContainer().getBoundingClientRect();
      return { x: r.left + p.x + c.offset[0], y: r.top + p.y + c.offset[1] };
    }, camAt);
    await op.mouse.click(camPx.x, camPx.y);
    const camPanel = op.locator(`.device-panel[data-device-id="${cam.id}"]`);
    await camPanel.locator('[data-testid="camera-reads"]').waitFor({ timeout: 20_000 });
    await op
      .waitForFunction((sel) => !document.querySelector(sel)?.textContent?.includes('—'), `.device-panel[data-device-id="${cam.id}"] [data-testid="camera-rate"]`, { timeout: 20_000 })
      .catch(() => undefined);
    facts.camera = {
      id: cam.id,
      entrance: (await camPanel.locator('[data-testid="camera-entrance"]').textContent()) ?? '',
      rate: (await camPanel.locator('[data-testid="camera-rate"]').textContent()) ?? '',
      lastRead: (await camPanel.locator('[data-testid="camera-last-read"]').textContent()) ?? '',
      platesShown: await camPanel.locator('ul.plates li').count(),
    };
    await shot(op, 'device-panel-camera.png');
    await camPanel.locator('.btn-close').click();

    // 5. the alarm table beside the whole city (alerts marked on the map)
    await op.locator('[data-view="alerts"]').click();
    await op.locator('[data-testid="alarm-table"]').waitFor({ timeout: 20_000 });
    await op.evaluate((b) => (window as unknown as W).__cityops.controller.map.fitBounds(b, { padding: 20, duration: 0 }), opts.bounds);
    await settled(op);
    facts.alarmRows = Number((await op.locator('[data-testid="alarm-count"]').textContent()) ?? 'NaN');
    await shot(op, 'alarm-table.png');

    // 6. the planners' charts over the last 7 days
    const pl = await newPage(browser, base, facts);
    await login(pl, base, ...opts.planner);
    await pl.locator('[data-view="planners"]').click();
    await pl.locator('[data-testid="card-air"] .uchart').waitFor({ timeout: 60_000 });
    await pl.waitForTimeout(1500);
    facts.plannersCharts = await pl.locator('[data-testid="planners"] .uchart').count();
    await shot(pl, 'planners.png');
  } finally {
    await browser.close();
  }
  return facts;
}
