/**
 * Two municipalities in headless Chromium, each its own console (API + built web console, own
 * registry, store, ops DB, users), as npm start runs them with TENANTS:
 *  - an operator logs in to Coatzacoalcos' console: its devices and alerts are there, Minatitlán's
 *    are not (the alarm table, and the device list the page loaded);
 *  - the state login (estatal) sees both municipalities on the state screen, in Spanish and English.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { AlertEvent } from '../../contract';
import { loadConfig } from '../../lib/config';
import { RegistryView } from '../../registry/registry';
import { openDuckDbStore } from '../../store/duckdb/index';
import { tempDir } from '../../testing/net';
import { writeTestRegistry } from '../../testing/registry-fixture';
import { startApi, WEB_DIST } from '../api/index';
import { fixture } from '../api/fixtures.test-data';
import { testCity } from '../api/test-support';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const hasWeb = fs.existsSync(path.join(WEB_DIST, 'index.html'));
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'state-token-e2e-state-token-e2e';
type Stop = () => unknown;

describe.skipIf(!hasWeb || !fs.existsSync(CHROMIUM))('two municipalities in the console (headless Chromium)', () => {
  const stops: Stop[] = [];
  let browser: Browser;
  const base: Record<string, string> = {};

  async function city(tenant: string, name: string, own: string, peers: { tenant: string; url: string }[]) {
    const dir = tempDir(`tenants-e2e-${tenant}-`);
    const file = writeTestRegistry(dir, [
      { id: own, kind: 'air', model: 'sim-aq', district: 'Centro', status: 'active', location: { lat: 18.15, lon: -94.43 }, intervals: { dataS: 60, statusS: 300 } },
    ]);
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), city: name }, null, 2));
    const registry = new RegistryView(file);
    const store = await openDuckDbStore({ file: ':memory:' });
    await store.init();
    const api = await startApi({
      cfg: loadConfig({}, { DATA_DIR: dir, TENANTS: 'coatzacoalcos,minatitlan', TENANT: tenant }),
      store,
      registry,
      city: testCity(),
      opsDbFile: ':memory:',
      jwtSecret: `e2e-secret-of-${tenant}-e2e-secret`,
      users: [
        { username: 'operador', password: 'operador-pass', role: 'operator' },
        { username: 'estatal', password: 'estatal-pass', role: 'state' },
      ],
      loginRateLimit: 100,
      port: 0,
      host: '127.0.0.1',
      state: { peers, token: TOKEN },
    });
    stops.push(
      () => api.stop(),
      () => store.close(),
      () => registry.close(),
    );
    base[tenant] = `http://127.0.0.1:${api.port}/`;
    return { api, store };
  }
  const alert = (deviceId: string, severity: AlertEvent['severity'], title: string): AlertEvent => ({
    alertId: `air_quality:${deviceId}:1`,
    event: 'open',
    at: Date.now() - 60_000,
    rule: 'air_quality',
    severity,
    deviceId,
    kind: 'air',
    district: 'Centro',
    title,
    detail: { pm25: 80 },
  });

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const mina = await city('minatitlan', 'Minatitlán', 'air-mina', []);
    const coatza = await city('coatzacoalcos', 'Coatzacoalcos', 'air-coatza', [{ tenant: 'minatitlan', url: base.minatitlan!.replace(/\/$/, '') }]);
    await coatza.store.writeBatch(fixture().records);
    await coatza.api.app.alerts.apply(alert('air-coatza', 'critical', 'PM2.5 Coatzacoalcos'));
    await mina.api.app.alerts.apply(alert('air-mina', 'warning', 'PM2.5 Minatitlán'));
    coatza.api.app.live.presence('air-coatza', 'air', 'Centro', true, Date.now());
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    stops.push(() => browser.close());
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  async function loginAt(tenant: string, username: string, password: string, onDevices?: (body: string) => void): Promise<Page & { errors: string[] }> {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'es-MX', timezoneId: 'America/Mexico_City' });
    const page = (await ctx.newPage()) as Page & { errors: string[] };
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(String(e)));
    if (onDevices) page.on('response', (r) => void (new URL(r.url()).pathname === '/api/devices' && r.text().then(onDevices, () => undefined)));
    await page.goto(base[tenant]!);
    await page.getByLabel(/Usuario/).fill(username);
    await page.getByLabel(/Contraseña/).fill(password);
    await page.getByRole('button', { name: 'Iniciar sesión' }).click();
    await page.locator('.topbar').waitFor({ timeout: 20_000 });
    return page;
  }

  it("an operator of Coatzacoalcos sees its devices and alerts, none of Minatitlán's", async () => {
    let devices = '';
    const page = await loginAt('coatzacoalcos', 'operador', 'operador-pass', (b) => (devices = b));
    await page.locator('[data-view="alerts"]').click();
    const table = page.locator('[data-testid="alarm-table"]');
    await table.locator('tr[data-alert-id="air_quality:air-coatza:1"]').waitFor({ timeout: 15_000 });
    expect(await table.locator('tr[data-alert-id="air_quality:air-mina:1"]').count()).toBe(0);
    expect(await table.textContent()).not.toContain('air-mina');
    await expect.poll(() => devices, { timeout: 15_000 }).toContain('air-coatza');
    expect(devices).not.toContain('air-mina');
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-tenant-operator.png') });
    expect(page.errors).toEqual([]);
  }, 60_000);

  it('the state login sees both municipalities, in Spanish and in English', async () => {
    const page = await loginAt('coatzacoalcos', 'estatal', 'estatal-pass');
    const table = page.locator('[data-testid="state-cities"]');
    await table.locator('tr[data-tenant="minatitlan"]').waitFor({ timeout: 20_000 });
    const coatza = table.locator('tr[data-tenant="coatzacoalcos"]');
    expect(await coatza.locator('.state-city').textContent()).toBe('Coatzacoalcos');
    expect(await coatza.locator('.state-online').textContent()).toBe('1 / 6');
    expect(await coatza.locator('.state-alerts').textContent()).toBe('1 (1 críticas · 0 advertencias · 0 informativas)');
    const mina = table.locator('tr[data-tenant="minatitlan"]');
    expect(await mina.locator('.state-city').textContent()).toBe('Minatitlán');
    expect(await mina.locator('.state-alerts').textContent()).toBe('1 (0 críticas · 1 advertencias · 0 informativas)');
    expect(await page.locator('h2').textContent()).toBe('Resumen estatal por municipio');
    // the air index per station-day (fixture: air-01 two days ago) with a Mexican date, and the noise exceedance
    const detail = page.locator('section.state-city-detail[data-tenant="coatzacoalcos"]');
    expect(await detail.locator('table.state-air').textContent()).toMatch(/air-01 · Centro\d\d\/\d\d\/\d{4}/);
    expect(await detail.locator('table.state-noise-rows').textContent()).toContain('noise-01');
    // no map, no plates on this screen
    expect(await page.locator('.maplibregl-map').count()).toBe(0);
    expect(await page.content()).not.toContain('ABC123');
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-tenant-state.png') });
    await page.getByRole('button', { name: 'Idioma' }).click();
    await expect.poll(() => page.locator('h2').textContent()).toBe('State overview by municipality');
    expect(await coatza.locator('.state-alerts').textContent()).toBe('1 (1 critical · 0 warning · 0 info)');
    expect(page.errors).toEqual([]);
  }, 60_000);
});
