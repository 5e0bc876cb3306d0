/**
 * A query over its time budget, as an investigator meets it in the console (real stack, headless
 * Chromium): the plate table is made slow on purpose (a view over twenty billion generated rows),
 * the search is cancelled in DuckDB at QUERY_BUDGET_MS and the console says so in Spanish, from
 * the API's code E_QUERY_BUDGET, never the API's English text; a second search is cut at its own
 * budget (the first freed the store).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser } from 'playwright-core';
import { launchChromium, openPage, logIn, MX_BROWSER, hasChromium } from '../../testing/browser';
import { loadConfig } from '../../lib/config';
import { loadCity } from '../../city/city';
import { RegistryView } from '../../registry/registry';
import { startBroker } from '../../broker/index';
import { openDuckDbStore } from '../../store/duckdb/index';
import { startApi, WEB_DIST } from '../api/index';
import { tempDir } from '../../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../../testing/registry-fixture';
import { DICTIONARY } from './src/i18n';

const hasWeb = fs.existsSync(path.join(WEB_DIST, 'index.html'));
type Stop = () => unknown;

describe.skipIf(!hasWeb || !hasChromium())('a query over its time budget in the console (real stack, headless Chromium)', () => {
  const stops: Stop[] = [];
  let base = '';
  let browser: Browser;

  beforeAll(async () => {
    const dir = tempDir('budget-e2e-');
    const file = path.join(dir, 'telemetry.duckdb');
    const inst = await DuckDBInstance.create(file);
    const c = await inst.connect();
    await c.run(
      `CREATE VIEW t_plate AS SELECT 'cam-01' AS device_id, i AS ts, 'ABC' || (i % 1000)::VARCHAR AS plate, 'VER' AS region, 0.9::DOUBLE AS confidence, 'entering' AS direction, 1 AS lane, 'Centro' AS district FROM range(0, 20000000000) t(i)`,
    );
    c.closeSync();
    inst.closeSync();
    const registry = new RegistryView(writeTestRegistry(dir));
    stops.push(() => registry.close());
    const broker = await startBroker({ registry, port: 0 });
    stops.push(() => broker.stop());
    const store = await openDuckDbStore({ file });
    await store.init();
    stops.push(() => store.close());
    const api = await startApi({
      cfg: loadConfig({}, { DATA_DIR: dir, QUERY_BUDGET_MS: 1500 }),
      store,
      registry,
      city: loadCity(),
      mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, username: 'console', password: TEST_PASSWORD('console') },
      opsDbFile: ':memory:',
      jwtSecret: 'budget-e2e-secret-budget-e2e-secret',
      users: [{ username: 'ana.ruiz', password: 'clave-de-ana-2026', role: 'investigator' }],
      port: 0,
    });
    stops.push(() => api.stop());
    base = `http://127.0.0.1:${api.port}/`;
    browser = await launchChromium();
    stops.push(() => browser.close());
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('a plate search over the budget is cut and explained in Spanish; the next one is cut at its own budget, not queued behind the first', async () => {
    const page = await openPage(browser, { viewport: { width: 1400, height: 900 }, ...MX_BROWSER });
    const errors = page.errors;
    await logIn(page, base, 'ana.ruiz', 'clave-de-ana-2026');
    await page.locator('[data-view="investigate"]').click();
    const s = page.locator('[data-testid="plate-search"]');
    await s.locator('input[name="plate"]').fill('abc12');
    await s.locator('input[name="reason"]').fill('Carpeta de investigación 77/2026');
    const t0 = Date.now();
    await s.locator('[data-testid="plate-search-go"]').click();
    const alert = s.locator('p.error[role="alert"]');
    await alert.waitFor({ timeout: 20_000 });
    expect(await alert.textContent()).toBe(DICTIONARY.es.err_E_QUERY_BUDGET);
    expect(await alert.textContent()).not.toMatch(/budget|query/i); // not the API's English text
    expect(Date.now() - t0).toBeLessThan(15_000);
    // the store was freed: a second search is cut at its own budget too, not queued behind the first
    const t1 = Date.now();
    await s.locator('[data-testid="plate-search-go"]').click();
    await alert.waitFor({ state: 'detached', timeout: 10_000 }); // the search clears the old message
    await alert.waitFor({ timeout: 20_000 });
    expect(await alert.textContent()).toBe(DICTIONARY.es.err_E_QUERY_BUDGET);
    expect(Date.now() - t1).toBeLessThan(15_000);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 90_000);
});
