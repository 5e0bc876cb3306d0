/**
 * End-to-end: the real stack (Aedes broker, ingest, DuckDB, console API serving the built web
 * console) with simulated devices publishing over MQTT, driven in headless Chromium.
 * Needs `npm run build:web` first (the `pretest` script does it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, openPage, logIn, waitForLiveMap, hasChromium } from '../../testing/browser';
import along from '@turf/along';
import length from '@turf/length';
import { lineString } from '@turf/helpers';
import { deviceTopic, svcTopics, type AlertEvent } from '../../contract';
import { loadConfig } from '../../lib/config';
import { loadCity, segmentIndex } from '../../city/city';
import { RegistryView } from '../../registry/registry';
import { startBroker } from '../../broker/index';
import { openDuckDbStore } from '../../store/duckdb/index';
import { startIngest } from '../../ingest/index';
import { startApi, WEB_DIST } from '../api/index';
import { tempDir, waitFor } from '../../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../../testing/registry-fixture';
import type { TelemetryStore } from '../../store/types';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const hasWeb = fs.existsSync(path.join(WEB_DIST, 'index.html'));

type Stop = () => unknown; // sync or async

describe.skipIf(!hasWeb || !hasChromium())('web console end to end (real stack, headless Chromium)', () => {
  const stops: Stop[] = [];
  let base = '';
  let browser: Browser;
  let store: TelemetryStore;
  let admin: MqttClient;
  const timers: ReturnType<typeof setInterval>[] = [];

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const dir = tempDir('web-e2e-');
    const registry = new RegistryView(writeTestRegistry(dir));
    const broker = await startBroker({ registry, port: 0 });
    stops.push(() => broker.stop());
    const mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
    store = await openDuckDbStore({ file: ':memory:' });
    stops.push(() => store.close());
    const ingest = await startIngest({ registry, store, mqttUrl, username: 'ingest', password: TEST_PASSWORD('ingest'), flushMs: 50 });
    stops.push(() => ingest.stop());
    const city = loadCity();
    const api = await startApi({
      cfg: loadConfig({}, { DATA_DIR: dir }),
      store,
      registry,
      city,
      mqtt: { url: mqttUrl, username: 'console', password: TEST_PASSWORD('console') },
      opsDbFile: ':memory:',
      jwtSecret: 'e2e-secret-e2e-secret-e2e-secret',
      users: [
        { username: 'operador', password: 'op-pass-1', role: 'operator' },
        { username: 'planeador', password: 'pl-pass-1', role: 'planner' },
      ],
      port: 0,
    });
    stops.push(() => api.stop());
    base = `http://127.0.0.1:${api.port}/`;

    // simulated devices: two trucks driving their routes at 1 Hz (with 10 minutes of backfilled
    // history for the replay), an air station, a noise station
    const connect = (id: string) =>
      new Promise<MqttClient>((resolve, reject) => {
        const c = mqtt.connect(mqttUrl, { username: id, password: TEST_PASSWORD(id), clientId: id, reconnectPeriod: 0 });
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      });
    const segs = segmentIndex(city);
    const now = Date.now();
    for (const [i, id] of ['truck-01', 'truck-02'].entries()) {
      const route = city.routes[i]!;
      const coords = route.segments.flatMap((s) => segs.get(s)!.geometry.coordinates);
      const line = lineString(coords);
      const km = length(line);
      const kmh = 30;
      const at = (ts: number) => {
        const d = (((ts - now + 600_000) / 3_600_000) * kmh) % km;
        const p = along(line, d).geometry.coordinates as [number, number];
        const q = along(line, Math.min(km, d + 0.01)).geometry.coordinates as [number, number];
        const heading = ((Math.atan2((q[0] - p[0]) * Math.cos((p[1] * Math.PI) / 180), q[1] - p[1]) * 180) / Math.PI + 360) % 360;
        return { ts, lat: p[1], lon: p[0], speedKmh: kmh, heading };
      };
      const c = await connect(id);
      stops.push(() => c.endAsync());
      c.publish(deviceTopic('truck', id, 'presence'), JSON.stringify({ state: 'online', ts: now }), { qos: 1, retain: true });
      for (let k = 0, ts = now - 600_000; ts < now; ts += 2000, k++) {
        c.publish(deviceTopic('truck', id, 'gps'), JSON.stringify(at(ts)), { qos: 1 });
        if (k % 30 === 0) {
          const f = at(ts);
          c.publish(deviceTopic('truck', id, 'event'), JSON.stringify({ ts: ts + 1, type: 'bin_lift', lat: f.lat, lon: f.lon, binId: `b${ts % 1000}` }), { qos: 1 });
        }
      }
      timers.push(setInterval(() => c.publish(deviceTopic('truck', id, 'gps'), JSON.stringify(at(Date.now())), { qos: 1 }), 1000));
    }
    const air = await connect('air-01');
    stops.push(() => air.endAsync());
    const noise = await connect('noise-01');
    stops.push(() => noise.endAsync());
    const stations = () => {
      const ts = Date.now();
      air.publish(deviceTopic('air', 'air-01', 'air'), JSON.stringify({ ts, windowS: 60, pm25: 38, pm10: 70, o3: 0.07, no2: 0.03 }), { qos: 1 });
      noise.publish(deviceTopic('noise', 'noise-01', 'noise'), JSON.stringify({ ts, windowS: 60, laeq: 58.5, lamax: 71, lamin: 44 }), { qos: 1 });
    };
    for (let k = 1; k <= 30; k++) {
      const ts = now - k * 120_000;
      air.publish(deviceTopic('air', 'air-01', 'air'), JSON.stringify({ ts, windowS: 60, pm25: 20 + (k % 7), pm10: 50, o3: 0.04 + (k % 5) * 0.01 }), { qos: 1 });
      noise.publish(deviceTopic('noise', 'noise-01', 'noise'), JSON.stringify({ ts, windowS: 60, laeq: 50 + (k % 9), lamax: 70, lamin: 40 }), { qos: 1 });
    }
    stations();
    timers.push(setInterval(stations, 2000));
    admin = await connect('admin');
    stops.push(() => admin.endAsync());

    await waitFor(async () => (await store.count({ stream: 'gps', deviceId: 'truck-01' })) >= 300, 30_000, 200, 'backfilled track stored');

    browser = await launchChromium();
    stops.push(() => browser.close());
  }, 120_000);

  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    for (const stop of stops.reverse()) await stop();
  });

  async function loginAs(username: string, password: string): Promise<Page> {
    const page = await openPage(browser, { viewport: { width: 1600, height: 1000 }, acceptDownloads: true });
    // offline: nothing but the console's own origin may be requested
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('ws://127.0.0.1') && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    await logIn(page, base, username, password);
    await waitForLiveMap(page);
    (page as unknown as { foreign: string[] }).foreign = foreign;
    return page;
  }

  // trucks are drawn by the fleet layer from typed arrays (map/fleet-buffer.ts): read where one is drawn
  const truckCoords = (page: Page, id: string) =>
    page.evaluate((id) => (window as unknown as { __cityops: { controller: { fleet: { position(id: string): number[] | null } } } }).__cityops.controller.fleet.position(id), id);

  let operator: Page;

  it('an operator logs in and sees the trucks move on the offline map', async () => {
    operator = await loginAs('operador', 'op-pass-1');
    await expect.poll(() => truckCoords(operator, 'truck-01'), { timeout: 20_000 }).not.toBeNull();
    const first = await truckCoords(operator, 'truck-01');
    await expect.poll(async () => JSON.stringify(await truckCoords(operator, 'truck-01')), { timeout: 15_000, interval: 500 }).not.toBe(JSON.stringify(first));
    // the fixes came as binary position frames, decoded in the stream worker
    expect(await operator.evaluate(() => (window as unknown as { __cityops: { model: { positionFrames: number } } }).__cityops.model.positionFrames)).toBeGreaterThan(0);
    // rendered, not just in the source
    const rendered = () =>
      operator.evaluate(() => {
        const c = (window as unknown as { __cityops: { controller: { fleetLayer: { stats: { draws: number } }; fleet: { size: number }; map: { queryRenderedFeatures(o: unknown): unknown[] } } } })
          .__cityops.controller;
        return c.fleetLayer.stats.draws > 0 ? c.fleet.size + c.map.queryRenderedFeatures({ layers: ['air', 'noise'] }).length : 0;
      });
    await expect.poll(rendered, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    await operator.waitForTimeout(2500); // trails
    const shot = path.join(ARTIFACTS, 'e2e-live-map.png');
    await operator.screenshot({ path: shot });
    fs.mkdirSync(path.resolve(import.meta.dirname, '../../docs'), { recursive: true });
    fs.copyFileSync(shot, path.resolve(import.meta.dirname, '../../docs/screenshot-live-map.png'));
    const p = operator as unknown as { errors: string[]; foreign: string[] };
    expect(p.errors).toEqual([]);
    expect(p.foreign).toEqual([]);
  });

  it('picking on the fleet layer: hovering a truck shows the pointer, clicking it opens its device panel', async () => {
    type C = {
      controller: {
        fleet: { position(id: string): [number, number] | null };
        hovered: string | null;
        selected: string | null;
        fleetLayer: { stats: { draws: number } };
        map: { project(p: [number, number]): { x: number; y: number }; getCanvas(): HTMLCanvasElement; getContainer(): HTMLElement; jumpTo(o: unknown): void };
      };
    };
    await operator.evaluate(() => {
      const { controller } = (window as unknown as { __cityops: C }).__cityops;
      controller.map.jumpTo({ center: controller.fleet.position('truck-01')!, zoom: 15 });
    });
    // where truck-01 is drawn now, in page pixels
    const at = () =>
      operator.evaluate(() => {
        const { controller } = (window as unknown as { __cityops: C }).__cityops;
        const p = controller.map.project(controller.fleet.position('truck-01')!);
        const r = controller.map.getContainer().getBoundingClientRect();
        return { x: r.left + p.x, y: r.top + p.y };
      });
    await expect
      .poll(
        async () => {
          const p = await at();
          await operator.mouse.move(p.x, p.y);
          return operator.evaluate(() => {
            const { controller } = (window as unknown as { __cityops: C }).__cityops;
            return [controller.hovered, controller.map.getCanvas().style.cursor];
          });
        },
        { timeout: 10_000 },
      )
      .toEqual(['truck-01', 'pointer']);
    await operator.screenshot({ path: path.join(ARTIFACTS, 'e2e-fleet-hover.png') });
    const p = await at();
    await operator.mouse.click(p.x, p.y);
    const panel = operator.locator('.device-panel[data-device-id="truck-01"]');
    await panel.waitFor({ timeout: 10_000 });
    expect(await operator.evaluate(() => (window as unknown as { __cityops: C }).__cityops.controller.selected)).toBe('truck-01');
    // the panel shows the registry data and the live state of the picked truck
    await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toMatch(/Velocidad.*km\/h/); // the live fix, labelled in Spanish with its unit
    await operator.screenshot({ path: path.join(ARTIFACTS, 'e2e-fleet-picked.png') });
    // clicking empty map does not select another truck; closing the panel clears the selection
    await panel.locator('.btn-close').click();
    await panel.waitFor({ state: 'detached', timeout: 10_000 });
    expect(await operator.evaluate(() => (window as unknown as { __cityops: C }).__cityops.controller.selected)).toBeNull();
  });

  it('a new critical alert flashes a banner; the operator acknowledges it from the panel', async () => {
    const id = `e2e-air-${Date.now()}`;
    const ev: AlertEvent = {
      alertId: id,
      event: 'open',
      at: Date.now(),
      rule: 'air_quality',
      severity: 'critical',
      deviceId: 'air-01',
      kind: 'air',
      district: 'Centro',
      title: 'Calidad del aire muy mala (PM2.5)',
    };
    await admin.publishAsync(svcTopics.alert(id), JSON.stringify(ev), { qos: 1 });
    const banner = operator.locator(`.critical-banner[data-alert-id="${id}"]`);
    await banner.waitFor({ timeout: 15_000 });
    await operator.screenshot({ path: path.join(ARTIFACTS, 'e2e-critical-alert.png') });
    const item = operator.locator(`.alert-item[data-alert-id="${id}"]`);
    await item.locator('[data-action="ack"]').click();
    await expect.poll(() => item.getAttribute('class'), { timeout: 10_000 }).toContain('state-acknowledged');
    await banner.waitFor({ state: 'detached', timeout: 10_000 });
    const token = await operator.evaluate(() => JSON.parse(sessionStorage.getItem('cityops.session')!).token as string);
    const res = await fetch(`${base}api/alerts/${id}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { state: string; history: { event: string; by?: string }[] };
    expect(body.state).toBe('acknowledged');
    expect(body.history.some((h) => h.event === 'acknowledge' && h.by === 'operador')).toBe(true);
    await operator.screenshot({ path: path.join(ARTIFACTS, 'e2e-alert-acknowledged.png') });
  });

  it('the replay loads a truck track and plays it on the shared timeline', async () => {
    await operator.locator('[data-view="replay"]').click();
    await operator.locator('input[type="checkbox"][value="truck-01"]').check();
    await operator.locator('[data-testid="replay-load"]').click();
    await operator.locator('[data-testid="player"]').waitFor({ timeout: 15_000 });
    const t0 = await operator.locator('[data-testid="replay-time"]').textContent();
    await operator.locator('[data-testid="replay-speed"]').selectOption('30');
    await operator.locator('[data-testid="replay-play"]').click();
    await expect.poll(() => operator.locator('[data-testid="replay-time"]').textContent(), { timeout: 10_000 }).not.toBe(t0);
    // the map's worker applies setData asynchronously (and coalesces under load): poll its data
    const sources = () =>
      operator.evaluate(async () => {
        const m = (window as unknown as { __cityops: { controller: { map: { getSource(id: string): { getData(): Promise<{ features: unknown[] }> } } } } }).__cityops.controller.map;
        return [
          (await m.getSource('replay-vehicles').getData()).features.length,
          (await m.getSource('replay-tracks').getData()).features.length,
          (await m.getSource('replay-marks').getData()).features.length,
        ];
      });
    await expect.poll(sources, { timeout: 15_000, message: 'vehicles, tracks, marks in the replay sources' }).toEqual([1, 1, expect.any(Number)]);
    expect((await sources())[2]).toBeGreaterThan(0); // stops / pickups marked
    await operator.screenshot({ path: path.join(ARTIFACTS, 'e2e-replay.png') });
  });

  it("a planner opens the planners' view and exports a CSV", async () => {
    const planner = await loginAs('planeador', 'pl-pass-1');
    expect(await planner.locator('[data-view="planners"]').count()).toBe(1);
    expect(await operator.locator('[data-view="planners"]').count()).toBe(0); // operators do not see it
    await planner.locator('[data-view="planners"]').click();
    await planner.locator('[data-testid="card-air"] .uchart, [data-testid="card-air"] .error, [data-testid="card-air"] p.muted').first().waitFor({ timeout: 30_000 });
    expect(await planner.locator('[data-testid="card-air"] .error').count()).toBe(0);
    await planner.locator('[data-testid="card-air"] .uchart').waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([planner.waitForEvent('download'), planner.locator('[data-testid="export-air-csv"]').click()]);
    const file = path.join(ARTIFACTS, download.suggestedFilename());
    await download.saveAs(file);
    const csv = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    const lines = csv.trim().split(/\r\n/);
    expect(lines[0]).toBe('station,hour,category,label');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.startsWith('air-01,'))).toBe(true);
    await planner.screenshot({ path: path.join(ARTIFACTS, 'e2e-planners.png') });
    expect((planner as unknown as { errors: string[] }).errors).toEqual([]);
  }, 120_000);
});
