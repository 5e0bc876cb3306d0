/**
 * End-to-end, the admin's and the investigator's journeys in headless Chromium against the real
 * stack (Aedes broker, ingest, DuckDB, console API serving the built console) with a camera
 * publishing plate reads over MQTT with its own credentials:
 *  - an admin creates an investigator, who logs in at once (no restart) and runs a partial-plate
 *    search with a reason; the audit log (read through the API) has it, reason included;
 *  - the admin adds an air station (validated like the CLI, config shown once) and it appears in
 *    the device list and on the map.
 * Screenshots go to test-artifacts/ (and docs/ for the README).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, openPage, logIn, hasChromium } from '../../testing/browser';
import { deviceTopic } from '../../contract';
import { loadConfig } from '../../lib/config';
import { loadCity } from '../../city/city';
import { RegistryView } from '../../registry/registry';
import { startBroker } from '../../broker/index';
import { openDuckDbStore } from '../../store/duckdb/index';
import { startIngest } from '../../ingest/index';
import { startApi, WEB_DIST } from '../api/index';
import { tempDir, waitFor } from '../../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../../testing/registry-fixture';
import type { TelemetryStore } from '../../store/types';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const hasWeb = fs.existsSync(path.join(WEB_DIST, 'index.html'));
type Stop = () => unknown;

describe.skipIf(!hasWeb || !hasChromium())('admin and investigator screens end to end (real stack, headless Chromium)', () => {
  const stops: Stop[] = [];
  let base = '';
  let browser: Browser;
  let store: TelemetryStore;
  let registry: RegistryView;

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const dir = tempDir('roles-e2e-');
    registry = new RegistryView(writeTestRegistry(dir));
    const broker = await startBroker({ registry, port: 0 });
    stops.push(() => broker.stop());
    const mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
    store = await openDuckDbStore({ file: ':memory:' });
    stops.push(() => store.close());
    const ingest = await startIngest({ registry, store, mqttUrl, username: 'ingest', password: TEST_PASSWORD('ingest'), flushMs: 50 });
    stops.push(() => ingest.stop());
    const api = await startApi({
      cfg: loadConfig({}, { DATA_DIR: dir }),
      store,
      registry,
      city: loadCity(),
      mqtt: { url: mqttUrl, username: 'console', password: TEST_PASSWORD('console') },
      opsDbFile: ':memory:',
      jwtSecret: 'roles-e2e-secret-roles-e2e-secret',
      users: [{ username: 'admin', password: 'admin-pass-1', role: 'admin' }],
      loginRateLimit: 100,
      port: 0,
    });
    stops.push(() => api.stop());
    base = `http://127.0.0.1:${api.port}/`;

    // the entrance camera reads plates over the last hours (its own MQTT credentials)
    cam = await new Promise<mqtt.MqttClient>((resolve, reject) => {
      const c = mqtt.connect(mqttUrl, { username: 'cam-01', password: TEST_PASSWORD('cam-01'), clientId: 'cam-01', reconnectPeriod: 0 });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
    stops.push(() => cam.endAsync());
    const now = Date.now();
    const reads = [
      { plate: 'XYZ1234', dir: 'entering', ago: 5 * 3_600_000 },
      { plate: 'XYZ1234', dir: 'leaving', ago: 2 * 3_600_000 },
      { plate: 'XYZ1234', dir: 'entering', ago: 20 * 60_000 },
      { plate: 'ABC9876', dir: 'entering', ago: 3 * 3_600_000 },
      { plate: 'QXYZ555', dir: 'leaving', ago: 90 * 60_000 },
    ];
    for (const [i, r] of reads.entries()) {
      const ts = now - r.ago;
      await cam.publishAsync(deviceTopic('camera', 'cam-01', 'plate'), JSON.stringify({ ts, plate: r.plate, region: 'VER', confidence: 0.93, direction: r.dir, lane: 1 + (i % 2) }), { qos: 1 });
    }
    await waitFor(async () => (await store.count({ stream: 'plate', deviceId: 'cam-01' })) >= reads.length, 30_000, 100, 'plate reads stored');

    browser = await launchChromium();
    stops.push(() => browser.close());
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    registry?.close();
  });

  async function loginAs(username: string, password: string): Promise<Page & { errors: string[] }> {
    const page = await openPage(browser, { viewport: { width: 1600, height: 1000 }, acceptDownloads: true, locale: 'es-MX', timezoneId: 'America/Mexico_City' });
    page.on('dialog', (d) => void d.accept());
    await logIn(page, base, username, password);
    return page;
  }
  const tokenOf = (page: Page) => page.evaluate(() => JSON.parse(sessionStorage.getItem('cityops.session')!).token as string);

  let admin: Page & { errors: string[] };
  let inv: Page & { errors: string[] };
  let cam: mqtt.MqttClient;

  it('an admin creates an investigator in the console', async () => {
    admin = await loginAs('admin', 'admin-pass-1');
    await admin.locator('[data-view="admin"]').click();
    await admin.locator('[data-testid="admin-users"]').waitFor();
    expect(await admin.locator('[data-view="admin"]').textContent()).toBe('Administración');
    const form = admin.locator('[data-testid="user-create"]');
    await form.locator('input[name="new-username"]').fill('ana.ruiz');
    await form.locator('select[name="new-role"]').selectOption('investigator');
    await form.locator('input[name="new-user-password"]').fill('clave-de-ana-2026');
    await form.getByRole('button', { name: 'Crear' }).click();
    await expect.poll(() => admin.locator('[data-testid="users-msg"]').textContent(), { timeout: 10_000 }).toContain('ana.ruiz');
    await admin.locator('tr[data-username="ana.ruiz"]').waitFor();
    expect(await admin.locator('tr[data-username="ana.ruiz"] td').nth(1).textContent()).toBe('Investigación');
    await admin.screenshot({ path: path.join(ARTIFACTS, 'e2e-admin-users.png') });
  }, 60_000);

  it('the investigator logs in without a restart and runs an audited partial-plate search', async () => {
    inv = await loginAs('ana.ruiz', 'clave-de-ana-2026');
    expect(await inv.locator('[data-view="admin"]').count()).toBe(0);
    await inv.locator('[data-view="investigate"]').click();
    const s = inv.locator('[data-testid="plate-search"]');
    await s.locator('input[name="plate"]').fill('xyz');
    await s.locator('input[name="reason"]').fill('Carpeta de investigación 123/2026');
    await s.locator('[data-testid="plate-search-go"]').click();
    await expect.poll(() => s.locator('[data-testid="plate-count"]').textContent(), { timeout: 15_000 }).toBe('4 lecturas');
    // two plates match "XYZ": pick one, its reads line up on the timeline and its camera on the map
    await s.locator('.chip[data-plate="XYZ1234"]').click();
    await s.locator('[data-testid="plate-timeline"]').waitFor();
    expect(await s.locator('[data-testid="plate-timeline"] .tl-mark').count()).toBe(3);
    expect(await s.locator('[data-testid="plate-results"] tbody tr').count()).toBe(3);
    expect(await s.locator('[data-testid="plate-results"] tbody tr').first().textContent()).toMatch(/XYZ1234cam-01.*Entrando\d\d\/\d\d\/\d{4}/);
    await inv.locator('.plate-marker[data-camera-id="cam-01"]').waitFor({ timeout: 10_000 });
    expect(await inv.locator('.plate-marker[data-camera-id="cam-01"]').textContent()).toBe('cam-01 · 3');
    await inv.waitForTimeout(600); // the map's fit animation
    await inv.screenshot({ path: path.join(ARTIFACTS, 'e2e-plate-search.png') });
    fs.mkdirSync(DOCS, { recursive: true });
    fs.copyFileSync(path.join(ARTIFACTS, 'e2e-plate-search.png'), path.join(DOCS, 'screenshot-plate-search.png'));

    // the audit log, read through the API as the admin: who, what, the reason, how many
    const res = await fetch(`${base}api/audit?action=plate_search&actor=ana.ruiz`, { headers: { authorization: `Bearer ${await tokenOf(admin)}` } });
    const entries = ((await res.json()) as { entries: { actor: string; role: string; resultCount: number; query: Record<string, unknown> }[] }).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'ana.ruiz', role: 'investigator', resultCount: 4, query: { plate: 'XYZ', partial: true, reason: 'Carpeta de investigación 123/2026' } });
    // and the admin's audit screen shows it
    await admin.locator('[data-section="audit"]').click();
    await admin.locator('select[name="audit-action"]').selectOption('plate_search');
    await admin.locator('tr[data-audit-action="plate_search"]').first().waitFor({ timeout: 10_000 });
    expect(await admin.locator('tr[data-audit-action="plate_search"]').first().textContent()).toContain('ana.ruiz');
    expect(inv.errors).toEqual([]);
  }, 90_000);

  it('the admin adds an air station: config shown once, in the device list and on the map', async () => {
    await admin.locator('[data-section="devices"]').click();
    await admin.locator('[data-testid="device-add"]').click();
    const f = admin.locator('[data-testid="device-form"]');
    await f.locator('input[name="dev-id"]').fill('air-07');
    await f.locator('select[name="dev-kind"]').selectOption('air');
    await f.locator('input[name="dev-model"]').fill('AQ-500');
    await f.locator('input[name="dev-district"]').fill('Centro');
    // a latitude out of range first: the registry's validation refuses it, naming the field
    await f.locator('input[name="dev-lat"]').fill('95');
    await f.locator('input[name="dev-lon"]').fill('-94.45');
    await f.locator('[data-testid="device-save"]').click();
    await expect.poll(() => admin.locator('[data-testid="devices-msg"]').textContent(), { timeout: 10_000 }).toMatch(/El registro rechazó el dispositivo.*location\.lat/);
    await f.locator('input[name="dev-lat"]').fill('18.1400');
    await f.locator('[data-testid="device-save"]').click();
    const cfg = admin.locator('[data-testid="rendered-config"]');
    await cfg.waitFor({ timeout: 15_000 });
    const shown = JSON.parse((await cfg.locator('pre').textContent())!) as { deviceId: string; secret: string; username: string };
    expect(shown).toMatchObject({ deviceId: 'air-07', username: 'air-07' });
    expect(shown.secret.length).toBeGreaterThan(8);
    await admin.locator('tr[data-device-id="air-07"]').waitFor({ timeout: 10_000 });
    expect(registry.activeDevice('air-07')?.location).toEqual({ lat: 18.14, lon: -94.45 });
    await admin.screenshot({ path: path.join(ARTIFACTS, 'e2e-admin-device-added.png') });
    // on the live map: the station's point is in the air layer's source
    await admin.locator('[data-view="live"]').click();
    const onMap = () =>
      admin.evaluate(async () => {
        const m = (window as unknown as { __cityops: { controller: { map: { getSource(id: string): { getData(): Promise<{ features: { properties: { id: string } }[] }> } } } } }).__cityops.controller
          .map;
        return (await m.getSource('live-air').getData()).features.some((x) => x.properties.id === 'air-07');
      });
    await expect.poll(onMap, { timeout: 20_000 }).toBe(true);
    expect(admin.errors).toEqual([]);
  }, 90_000);

  it('the investigator keeps the hotlist: add with direction, hours and expiry, edit, CSV import, remove', async () => {
    const api = async () =>
      (await (await fetch(`${base}api/hotlist`, { headers: { authorization: `Bearer ${await tokenOf(inv)}` } })).json()) as {
        entries: { plate: string; reason: string; direction?: string; activeHours?: { from: number; to: number }; expiresAt?: number }[];
      };
    await inv.locator('[data-section="hotlist"]').click();
    const h = inv.locator('[data-testid="hotlist"]');
    await h.locator('[data-testid="hotlist-add"]').click();
    const f = h.locator('[data-testid="hotlist-form"]');
    await f.locator('input[name="hl-plate"]').fill('xyz1234');
    await f.locator('input[name="hl-reason"]').fill('Robo de vehículo');
    await f.locator('select[name="hl-direction"]').selectOption('entering');
    await f.locator('input[name="hl-from"]').fill('22');
    await f.locator('input[name="hl-to"]').fill('6');
    await f.locator('input[name="hl-expires"]').fill('2030-01-31T18:00');
    await f.locator('[data-testid="hotlist-save"]').click();
    await h.locator('tr[data-plate="XYZ1234"]').waitFor({ timeout: 10_000 });
    let e = (await api()).entries.find((x) => x.plate === 'XYZ1234');
    expect(e).toMatchObject({ reason: 'Robo de vehículo', direction: 'entering', activeHours: { from: 22, to: 6 }, expiresAt: Date.parse('2030-02-01T00:00:00Z') });
    expect(await h.locator('tr[data-plate="XYZ1234"]').textContent()).toContain('31/01/2030');
    await h.locator('tr[data-plate="XYZ1234"] [data-action="edit"]').click();
    await f.locator('input[name="hl-reason"]').fill('Robo con violencia');
    await f.locator('[data-testid="hotlist-save"]').click();
    await expect.poll(async () => (await api()).entries.find((x) => x.plate === 'XYZ1234')?.reason, { timeout: 10_000 }).toBe('Robo con violencia');
    await h.locator('input[name="hl-csv"]').setInputFiles({
      name: 'lista.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('plate,reason,direction,active_from,active_to,expires_at\nCSV0001,Orden judicial,leaving,,,\nCSV0002,Reporte de robo,,8,20,2031-05-01T00:00:00Z\n'),
    });
    await expect.poll(() => h.locator('[data-testid="hotlist-msg"]').textContent(), { timeout: 10_000 }).toBe('2 placas importadas');
    await h.locator('tr[data-plate="CSV0002"]').waitFor();
    // a bad file is refused with its line number, nothing imported
    await h.locator('input[name="hl-csv"]').setInputFiles({ name: 'mala.csv', mimeType: 'text/csv', buffer: Buffer.from('plate,reason\nOK12345,x\nmala placa!,y\n') });
    await expect.poll(() => h.locator('[data-testid="hotlist-msg"]').textContent(), { timeout: 10_000 }).toMatch(/CSV.*línea 3/);
    expect((await api()).entries.some((x) => x.plate === 'OK12345')).toBe(false);
    await h.locator('tr[data-plate="CSV0001"] [data-action="remove"]').click();
    await h.locator('tr[data-plate="CSV0001"]').waitFor({ state: 'detached', timeout: 10_000 });
    e = (await api()).entries.find((x) => x.plate === 'CSV0002');
    expect(e).toMatchObject({ activeHours: { from: 8, to: 20 } });
    expect((await api()).entries.map((x) => x.plate)).not.toContain('CSV0001');
    await inv.screenshot({ path: path.join(ARTIFACTS, 'e2e-hotlist.png') });
  }, 90_000);

  it('the investigator changes their own password in the console', async () => {
    await inv.locator('[data-testid="change-password"]').click();
    const d = inv.getByRole('dialog');
    await d.locator('input[name="current"]').fill('clave-de-ana-2026');
    await d.locator('input[name="new-password"]').fill('otra-clave-de-ana');
    await d.getByRole('button', { name: 'Guardar' }).click();
    await expect.poll(() => d.getByRole('status').textContent(), { timeout: 10_000 }).toBe('Contraseña cambiada');
    const login = (password: string) => fetch(`${base}api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ana.ruiz', password }) });
    expect((await login('clave-de-ana-2026')).status).toBe(401);
    expect((await login('otra-clave-de-ana')).status).toBe(200);
  }, 60_000);

  it('the admin rotates and retires the station, reads a rejected message, disables the investigator', async () => {
    await admin.locator('[data-view="admin"]').click();
    await admin.locator('[data-section="devices"]').click();
    const row = admin.locator('tr[data-device-id="air-07"]');
    await row.waitFor();
    const before = registry.device('air-07')!.passwordHash;
    await row.locator('[data-action="rotate"]').click(); // confirm() accepted
    await admin.locator('[data-testid="rendered-config"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => registry.device('air-07')!.passwordHash, { timeout: 10_000 }).not.toBe(before);
    await row.locator('[data-action="retire"]').click();
    await expect.poll(() => row.locator('td').nth(3).textContent(), { timeout: 10_000 }).toBe('Retirado');
    expect(registry.activeDevice('air-07')).toBeUndefined();

    // a malformed reading from the camera is dead-lettered; the admin sees its raw payload
    await cam.publishAsync(deviceTopic('camera', 'cam-01', 'plate'), '{"ts": "ayer", "plate": 7}', { qos: 1 });
    await waitFor(async () => (await store.deadLetters({ deviceId: 'cam-01', limit: 1 })).length === 1, 15_000, 100, 'dead letter stored');
    await admin.locator('[data-section="deadLetters"]').click();
    const dl = admin.locator('[data-testid="admin-dead-letters"]');
    await dl.locator('input[name="dl-device"]').fill('cam-01');
    await dl.locator('tr[data-dead-letter]').first().waitFor({ timeout: 15_000 });
    expect(await dl.locator('tr[data-dead-letter]').first().textContent()).toContain('No cumple el esquema');
    await dl.locator('tr[data-dead-letter]').first().click();
    expect(await dl.locator('[data-testid="raw-payload"]').textContent()).toBe('{"ts": "ayer", "plate": 7}');
    await admin.screenshot({ path: path.join(ARTIFACTS, 'e2e-admin-dead-letters.png') });

    await admin.locator('[data-section="users"]').click();
    await admin.locator('tr[data-username="ana.ruiz"] [data-action="disable"]').click();
    await expect.poll(() => admin.locator('tr[data-username="ana.ruiz"] td').nth(2).textContent(), { timeout: 10_000 }).toBe('Deshabilitado');
    const r = await fetch(`${base}api/auth/me`, { headers: { authorization: `Bearer ${await tokenOf(inv)}` } });
    expect(r.status).toBe(401); // her open session ends at once
    expect(admin.errors).toEqual([]);
  }, 90_000);
});
