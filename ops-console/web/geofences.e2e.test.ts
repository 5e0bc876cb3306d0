/**
 * End to end, the geofence journey in headless Chromium against the real stack (Aedes broker,
 * ingest with the city's rules, DuckDB, console API serving the built console): an admin draws a
 * restricted zone on the Geocercas map by clicking its vertices, names it and saves it; a truck
 * publishing its own GPS over MQTT (its registry credentials) drives into it; the enter event is
 * listed as a visit and the restricted-zone alert is raised — through the API and in the
 * console (visits table, alarm table, the zone on the live map). Screenshots in test-artifacts/
 * (and docs/screenshot-geofences.png for the README).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, openPage, logIn, hasChromium } from '../../testing/browser';
import { deviceTopic, type GeofenceSet } from '../../contract';
import { loadConfig } from '../../lib/config';
import { loadCity } from '../../city/city';
import { offsetM } from '../../contract/geo';
import { RegistryView } from '../../registry/registry';
import { startBroker } from '../../broker/index';
import { openDuckDbStore } from '../../store/duckdb/index';
import { startIngest } from '../../ingest/index';
import { createRuleEngine } from '../../ingest/rules/index';
import { startApi, WEB_DIST } from '../api/index';
import { tempDir, waitFor } from '../../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../../testing/registry-fixture';
import type { GeofenceVisit } from '../shared/geofences';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const hasWeb = fs.existsSync(path.join(WEB_DIST, 'index.html'));
type Stop = () => unknown;

describe.skipIf(!hasWeb || !hasChromium())('geofences end to end (real stack, headless Chromium)', () => {
  const stops: Stop[] = [];
  let base = '';
  let browser: Browser;
  let registry: RegistryView;
  let truck: mqtt.MqttClient;
  let page: Page & { errors: string[] };
  const city = loadCity();
  const C = city.center as [number, number];
  const at = (e: number, n = 0) => offsetM(C, e, n) as [number, number];

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const dir = tempDir('geofences-e2e-');
    registry = new RegistryView(writeTestRegistry(dir));
    const broker = await startBroker({ registry, port: 0 });
    stops.push(() => broker.stop());
    const mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
    const store = await openDuckDbStore({ file: ':memory:' });
    stops.push(() => store.close());
    const ingest = await startIngest({
      registry,
      store,
      mqttUrl,
      username: 'ingest',
      password: TEST_PASSWORD('ingest'),
      flushMs: 50,
      rules: ({ publish, publishGeofence }) => createRuleEngine({ registry, publish, publishGeofence }),
    });
    stops.push(() => ingest.stop());
    const api = await startApi({
      cfg: loadConfig({}, { DATA_DIR: dir }),
      store,
      registry,
      city,
      mqtt: { url: mqttUrl, username: 'console', password: TEST_PASSWORD('console') },
      opsDbFile: ':memory:',
      jwtSecret: 'geofences-e2e-secret-geofences-e2e',
      users: [{ username: 'admin', password: 'admin-pass-1', role: 'admin' }],
      loginRateLimit: 100,
      port: 0,
    });
    stops.push(() => api.stop());
    base = `http://127.0.0.1:${api.port}/`;
    truck = await mqtt.connectAsync(mqttUrl, { username: 'truck-01', password: TEST_PASSWORD('truck-01'), clientId: 'truck-01', reconnectPeriod: 0 });
    stops.push(() => truck.endAsync());
    browser = await launchChromium();
    stops.push(() => browser.close());
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    registry?.close();
  });

  const token = () => page.evaluate(() => JSON.parse(sessionStorage.getItem('cityops.session')!).token as string);
  const get = async <T>(p: string): Promise<T> => (await (await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${await token()}` } })).json()) as T;

  /** click on the Geocercas map at a geographic position, as a user does */
  async function clickAt(p: [number, number], opts: { double?: boolean } = {}) {
    const box = (await page.locator('[data-testid="geofence-map"]').boundingBox())!;
    const px = await page.evaluate((ll) => {
      const m = (window as unknown as { __geofenceMap: { project(ll: [number, number]): { x: number; y: number } } }).__geofenceMap;
      const q = m.project(ll);
      return { x: q.x, y: q.y };
    }, p);
    if (opts.double) await page.mouse.dblclick(box.x + px.x, box.y + px.y);
    else await page.mouse.click(box.x + px.x, box.y + px.y);
  }

  it('an admin draws a restricted zone on the map by clicking its vertices and saves it', async () => {
    page = await openPage(browser, { viewport: { width: 1600, height: 1100 }, locale: 'es-MX', timezoneId: 'America/Mexico_City' });
    page.on('dialog', (d) => void d.accept());
    await logIn(page, base, 'admin', 'admin-pass-1');
    await page.locator('[data-view="admin"]').click();
    await page.locator('[data-section="geofences"]').click();
    expect(await page.locator('[data-section="geofences"]').textContent()).toBe('Geocercas');
    await page.locator('[data-testid="admin-geofences"]').waitFor();
    await expect.poll(() => page.locator('[data-testid="geofence-new"]').isEnabled(), { timeout: 20_000 }).toBe(true);
    // zoom to the city centre, as a user would with the wheel
    await page.evaluate((c) => (window as unknown as { __geofenceMap: { jumpTo(o: unknown): void } }).__geofenceMap.jumpTo({ center: c, zoom: 16 }), C);
    await page.waitForTimeout(300);

    await page.locator('[data-testid="geofence-new"]').click();
    const form = page.locator('[data-testid="geofence-form"]');
    await form.locator('[data-testid="draw-polygon"]').click();
    const ring = [at(-120, -100), at(130, -110), at(140, 120), at(-110, 110)];
    for (const p of ring) await clickAt(p);
    expect(await form.locator('[data-testid="draw-hint"]').textContent()).toContain('Vértices: 4');
    await clickAt(ring[0]!); // a click on the first vertex closes the polygon
    await expect.poll(() => form.locator('[data-testid="draw-hint"]').textContent()).toContain('Forma lista');
    await form.locator('input[name="gf-name"]').fill('Zona restringida Malecón');
    await form.locator('select[name="gf-kind"]').selectOption('restricted');
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-geofence-drawn.png') });
    await form.locator('[data-testid="geofence-save"]').click();
    await expect.poll(() => page.locator('[data-testid="geofences-msg"]').textContent(), { timeout: 10_000 }).toBe('Guardado');
    const row = page.locator('[data-testid="geofence-list"] tbody tr').filter({ hasText: 'Zona restringida Malecón' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/Zona restringida Malecón.*Zona restringida.*Polígono · 4/);

    const s = await get<GeofenceSet>('api/geofences');
    const g = s.geofences.find((x) => x.name === 'Zona restringida Malecón')!;
    expect(g).toMatchObject({ kind: 'restricted', active: true, geometry: { type: 'polygon' } });
    const coords = (g.geometry as { coordinates: [number, number][] }).coordinates;
    expect(coords).toHaveLength(5);
    expect(coords[4]).toEqual(coords[0]);
    // the clicked vertices, within a pixel (≈ 2 m at zoom 16)
    for (const [i, p] of ring.entries()) {
      expect(Math.abs(coords[i]![0] - p[0])).toBeLessThan(0.00005);
      expect(Math.abs(coords[i]![1] - p[1])).toBeLessThan(0.00005);
    }
  }, 90_000);

  it('a truck driving into it raises the enter event and the restricted-zone alert, seen through the API and in the console', async () => {
    const s = await get<GeofenceSet>('api/geofences');
    const g = s.geofences.find((x) => x.name === 'Zona restringida Malecón')!;
    // live fixes at a plausible pace (no GPS-jump alert): 400 m west of the zone 50 s ago, then in it
    let last = Date.now() - 50_000;
    const drive = async (p: [number, number], ts = Math.max(Date.now(), last + 1)) => {
      last = ts;
      await truck.publishAsync(deviceTopic('truck', 'truck-01', 'gps'), JSON.stringify({ ts, lat: p[1], lon: p[0], speedKmh: 22, heading: 90, sats: 10, hdop: 0.8 }), { qos: 1 });
    };
    await drive(at(-400), last);
    await waitFor(
      async () => {
        await drive(at(0, 5));
        return (await get<{ visits: GeofenceVisit[] }>('api/geofences/visits?deviceId=truck-01')).visits.length > 0;
      },
      30_000,
      300,
      'the enter event stored as a visit',
    );
    const { visits } = await get<{ visits: GeofenceVisit[] }>('api/geofences/visits?deviceId=truck-01');
    expect(visits).toHaveLength(1);
    expect(visits[0]).toMatchObject({ geofenceId: g.id, kind: 'restricted', deviceId: 'truck-01', exitedAt: null, late: false });
    await waitFor(async () => (await get<{ alerts: { code: string }[] }>('api/alerts?rule=geofence_restricted')).alerts.length === 1, 15_000, 200, 'the restricted-zone alert');
    const [alert] = (await get<{ alerts: { code: string; severity: string; state: string; deviceId: string; params: Record<string, unknown> }[] }>('api/alerts?rule=geofence_restricted')).alerts;
    expect(alert).toMatchObject({ code: 'geofence_restricted', severity: 'critical', state: 'open', deviceId: 'truck-01', params: { geofenceId: g.id, name: 'Zona restringida Malecón' } });

    // the console: the visit in the Geocercas visits table, for the truck and today (dd/mm/aaaa)
    const v = page.locator('[data-testid="geofence-visits"]');
    await v.locator('select[name="visit-truck"]').selectOption('truck-01');
    expect(await v.locator('input[name="visit-date"]').inputValue()).toMatch(/^\d{2}\/\d{2}\/\d{4}$/);
    await v.locator('[data-testid="visits-show"]').click();
    const vrow = v.locator(`tr[data-geofence-id="${g.id}"]`);
    await vrow.waitFor({ timeout: 15_000 });
    expect(await vrow.textContent()).toMatch(/truck-01Zona restringida MalecónZona restringida\d\d\/\d\d\/\d{4}, \d\d:\d\d:\d\ddentro/);
    await vrow.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-geofence-visit.png'), fullPage: true });
    fs.mkdirSync(DOCS, { recursive: true });
    fs.copyFileSync(path.join(ARTIFACTS, 'e2e-geofence-visit.png'), path.join(DOCS, 'screenshot-geofences.png'));

    // the alarm table phrases the alert in Spanish
    await page.locator('[data-view="alerts"]').click();
    const table = page.locator('[data-testid="alarm-table"]');
    await expect.poll(() => table.textContent(), { timeout: 15_000 }).toContain('Entró a la zona restringida «Zona restringida Malecón»');

    // the zone is on the live map (its own layer), the truck inside it
    await page.locator('[data-view="live"]').click();
    const onLiveMap = () =>
      page.evaluate(async (id) => {
        const m = (window as unknown as { __cityops: { controller: { map: { getSource(id: string): { getData(): Promise<{ features: { properties: { id: string } }[] }> } | undefined } } } }).__cityops
          .controller.map;
        const src = m.getSource('geofences');
        return !!src && (await src.getData()).features.some((f) => f.properties.id === id);
      }, g.id);
    await expect.poll(onLiveMap, { timeout: 20_000 }).toBe(true);
    await page.evaluate((c) => (window as unknown as { __cityops: { controller: { map: { jumpTo(o: unknown): void } } } }).__cityops.controller.map.jumpTo({ center: c, zoom: 15.5 }), C);
    await page.waitForTimeout(800);
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-geofence-live-map.png') });
    // only the zone's alert: the drive was plausible
    expect((await get<{ alerts: { rule: string }[] }>('api/alerts?deviceId=truck-01')).alerts.map((a) => a.rule)).toEqual(['geofence_restricted']);

    // the truck leaves: the visit closes and the alert resolves by itself
    await drive(at(250));
    await waitFor(async () => (await get<{ visits: GeofenceVisit[] }>('api/geofences/visits?deviceId=truck-01')).visits[0]?.exitedAt !== null, 15_000, 200, 'the exit');
    await waitFor(
      async () => (await get<{ alerts: { state: string }[] }>('api/alerts?rule=geofence_restricted&state=all')).alerts.every((a) => a.state === 'auto_resolved'),
      15_000,
      200,
      'the alert resolved',
    );
    expect(page.errors).toEqual([]);
  }, 120_000);

  it('the admin draws a circle (centre and radius), edits its name, kind and maximum stay, then deletes it', async () => {
    await page.locator('[data-view="admin"]').click();
    await page.locator('[data-section="geofences"]').click();
    await expect.poll(() => page.locator('[data-testid="geofence-new"]').isEnabled(), { timeout: 20_000 }).toBe(true);
    await page.evaluate((c) => (window as unknown as { __geofenceMap: { jumpTo(o: unknown): void } }).__geofenceMap.jumpTo({ center: c, zoom: 15 }), C);
    await page.waitForTimeout(300);
    await page.locator('[data-testid="geofence-new"]').click();
    const form = page.locator('[data-testid="geofence-form"]');
    await form.locator('[data-testid="draw-circle"]').click();
    const centre = at(600, 300);
    await clickAt(centre);
    await clickAt(offsetM(centre, 180, 0) as [number, number]); // a second click sets the radius
    await expect.poll(() => form.locator('input[name="gf-radius"]').inputValue()).toMatch(/^1[78]\d$/);
    await form.locator('input[name="gf-radius"]').fill('150');
    await form.locator('input[name="gf-name"]').fill('Escuela Primaria Miguel Hidalgo');
    await form.locator('select[name="gf-kind"]').selectOption('school');
    await form.locator('[data-testid="geofence-save"]').click();
    const row = page.locator('[data-testid="geofence-list"] tbody tr').filter({ hasText: 'Escuela Primaria Miguel Hidalgo' });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toMatch(/Escuela.*Círculo · 150 m/);
    let g = (await get<GeofenceSet>('api/geofences')).geofences.find((x) => x.name === 'Escuela Primaria Miguel Hidalgo')!;
    expect(g).toMatchObject({ kind: 'school', geometry: { type: 'circle', radiusM: 150 } });
    const c = (g.geometry as { center: [number, number] }).center;
    expect(Math.abs(c[0] - centre[0])).toBeLessThan(0.0001);
    expect(Math.abs(c[1] - centre[1])).toBeLessThan(0.0001);

    // edit: a market with a 45-minute maximum stay, same shape
    await row.locator('[data-action="edit"]').click();
    await form.locator('input[name="gf-name"]').fill('Mercado Coatzacoalcos');
    await form.locator('select[name="gf-kind"]').selectOption('market');
    await form.locator('input[name="gf-dwell"]').fill('45');
    await form.locator('[data-testid="geofence-save"]').click();
    const edited = page.locator(`[data-testid="geofence-list"] tr[data-geofence-id="${g.id}"]`);
    await expect.poll(() => edited.textContent(), { timeout: 10_000 }).toMatch(/Mercado Coatzacoalcos.*Mercado.*Círculo · 150 m.*45 min/);
    g = (await get<GeofenceSet>('api/geofences')).geofences.find((x) => x.id === g.id)!;
    expect(g).toMatchObject({ name: 'Mercado Coatzacoalcos', kind: 'market', dwellLimitMin: 45, geometry: { type: 'circle', radiusM: 150 } });

    // a shape outside the city is refused with a message in Spanish
    await page.locator('[data-testid="geofence-new"]').click();
    await form.locator('[data-testid="draw-circle"]').click();
    await page.evaluate((c) => (window as unknown as { __geofenceMap: { jumpTo(o: unknown): void } }).__geofenceMap.jumpTo({ center: c, zoom: 15 }), [city.bbox[2] + 0.03, city.center[1]]);
    await page.waitForTimeout(300);
    await clickAt([city.bbox[2] + 0.03, city.center[1]]);
    await form.locator('input[name="gf-name"]').fill('Fuera');
    await form.locator('[data-testid="geofence-save"]').click();
    await expect.poll(() => page.locator('[data-testid="geofences-msg"]').textContent(), { timeout: 10_000 }).toContain('fuera de la ciudad');
    await form.getByRole('button', { name: 'Cancelar' }).click();

    // delete (the confirmation is accepted)
    await edited.locator('[data-action="delete"]').click();
    await expect.poll(() => edited.count(), { timeout: 10_000 }).toBe(0);
    expect((await get<GeofenceSet>('api/geofences')).geofences.map((x) => x.id)).not.toContain(g.id);
    const audit = await get<{ entries: { action: string; query: { id?: string } }[] }>(`api/audit?action=geofence_delete`);
    expect(audit.entries.map((e) => e.query.id)).toEqual([g.id]);
    expect(page.errors).toEqual([]);
  }, 90_000);
});
