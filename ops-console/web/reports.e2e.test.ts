/**
 * Citizen reports end to end in headless Chromium, on the real API (DuckDB telemetry store,
 * Aedes broker link, the demo city): a citizen files a missed-collection report on the public
 * page by tapping the map; an operator sees it with its evidence (the truck drove by without
 * stopping), tries to close it as fixed with no truck pass after the report and is warned, goes
 * ahead (flagged "closed without evidence"); the citizen's status page shows each step.
 * Needs `npm run build:web` first (the `pretest` script does it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, openPage, logIn, hasChromium } from '../../testing/browser';
import type { AnyTelemetryRecord } from '../../contract';
import { loadCity, segmentIndex } from '../../city/city';
import { WEB_DIST } from '../api/index';
import { startConsoleStack, type ConsoleStack } from '../api/test-support';
import { dueShift } from '../api/lib/evidence';
import type { ServiceReport } from '../shared/open311';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const hasWeb = fs.existsSync(path.join(WEB_DIST, 'index.html'));

describe.skipIf(!hasWeb || !hasChromium())('citizen reports end to end (public page, operator console, headless Chromium)', () => {
  let stack: ConsoleStack;
  let browser: Browser;
  let base = '';
  const city = loadCity();
  const route = city.routes.find((r) => r.id === 'route-01')!;
  const seg = segmentIndex(city).get(route.segments[route.collectFrom + 2]!)!;
  const [a, b] = seg.geometry.coordinates as [number, number][];
  const point = { lon: (a![0] + b![0]) / 2, lat: (a![1] + b![1]) / 2 };
  let reportId = '';

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startConsoleStack('reports-e2e-', { jwtSecret: 'reports-e2e-secret-reports-e2e-secret', city });
    base = `http://127.0.0.1:${stack.api.port}/`;
    // truck-01 (route-01) drove along the street at 25 km/h in its due shift, before the report
    const now = Date.now();
    const shift = dueShift(route, now, 'America/Mexico_City');
    const mid = Math.max(shift.from + 60_000, Math.min(shift.to, now - 120_000) - 60_000);
    const recs: AnyTelemetryRecord[] = [];
    for (let i = 0; i <= 10; i++) {
      const ts = mid + i * 5000;
      const f = i / 10;
      const lon = a![0] + (b![0] - a![0]) * f;
      const lat = a![1] + (b![1] - a![1]) * f;
      recs.push({ deviceId: 'truck-01', kind: 'truck', stream: 'gps', ts, receivedAt: ts, late: false, district: seg.properties.district, payload: { ts, lat, lon, speedKmh: 25, heading: 90 } });
    }
    await stack.store.writeBatch(recs);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function newPage(): Promise<Page & { errors: string[] }> {
    const page = await openPage(browser, { viewport: { width: 1400, height: 900 } });
    return page;
  }

  let citizen: Page & { errors: string[] };

  it('a citizen files a report on the public page by tapping the map (no login, Spanish)', async () => {
    citizen = await newPage();
    await citizen.goto(`${base}reportar?lat=${point.lat}&lon=${point.lon}&zoom=17`);
    await citizen.getByRole('tab', { name: 'Hacer un reporte' }).waitFor({ timeout: 20_000 });
    const canvas = citizen.locator('[data-testid="report-map"] canvas');
    await canvas.waitFor({ timeout: 30_000 });
    // the offline basemap is drawn: streets rendered around the place
    const rendered = () =>
      citizen.evaluate(() => {
        const m = (window as unknown as { __cityopsReportMap?: { loaded(): boolean; queryRenderedFeatures(): unknown[] } }).__cityopsReportMap;
        return m && m.loaded() ? m.queryRenderedFeatures().length : 0;
      });
    await expect.poll(rendered, { timeout: 30_000 }).toBeGreaterThan(0);
    const box = (await canvas.boundingBox())!;
    await expect
      .poll(
        async () => {
          await citizen.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
          return citizen.locator('[data-testid="report-point"]').count();
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(1);
    await citizen.getByLabel('Servicio').selectOption('missed_collection');
    await citizen.getByLabel('Descripción').fill('No pasó el camión hoy');
    await citizen.getByLabel(/Correo/).fill('vecina@example.mx');
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    await citizen.getByLabel(/Foto/).setInputFiles({ name: 'basura.png', mimeType: 'image/png', buffer: png });
    // the map kept the tapped point while the form was filled in
    expect(await citizen.locator('[data-testid="report-map"] .maplibregl-marker').count()).toBe(1);
    await citizen.screenshot({ path: path.join(ARTIFACTS, 'reports-citizen-form.png') });
    await citizen.getByRole('button', { name: 'Enviar reporte' }).click();
    const created = citizen.locator('[data-testid="report-created"]');
    await created.waitFor({ timeout: 20_000 });
    reportId = /(\d+)/.exec((await created.textContent()) ?? '')![1]!;
    expect(await created.textContent()).toBe(`Gracias. Su número de reporte es ${reportId}.`);
    expect(await citizen.locator('[data-testid="report-state"]').textContent()).toBe('Abierto');
    expect(citizen.url()).toContain(`/reportar?id=${reportId}`);
    // the photo was stored and is shown
    const photo = citizen.locator('img.report-photo');
    await photo.waitFor({ timeout: 10_000 });
    await expect.poll(() => photo.evaluate((img: HTMLImageElement) => img.naturalWidth), { timeout: 10_000 }).toBe(1);
    expect(fs.readdirSync(path.join(stack.dir, 'open311-media'))).toEqual([`${reportId}.png`]);
    // the evidence in plain words: the truck drove by, no pass since
    const ev = citizen.locator('[data-testid="report-evidence"]');
    await expect.poll(() => ev.textContent(), { timeout: 10_000 }).toContain('El camión truck-01 pasó a');
    expect(await ev.textContent()).toContain(seg.properties.name);
    // stored where it was tapped (within a few metres), contact data kept apart
    const res = await fetch(`${base}api/open311/v2/requests/${reportId}.json`);
    const [r] = (await res.json()) as { lat: number; long: number; address_id: string }[];
    expect(Math.abs(r!.lat - point.lat)).toBeLessThan(0.0001);
    expect(Math.abs(r!.long - point.lon)).toBeLessThan(0.0001);
    expect(JSON.stringify(r)).not.toContain('vecina');
  }, 90_000);

  it('an operator sees it with its evidence; closing it as fixed without a pass warns, going ahead flags it', async () => {
    const op = await newPage();
    await logIn(op, base, 'op', 'op-pass', { timeoutMs: 30_000 });
    await op.locator('[data-view="reports"]').click({ timeout: 30_000 });
    // on the map too, coloured by its evidence (drove by: amber); clicking it opens the report
    const marker = op.locator(`[data-report-marker="${reportId}"]`);
    await marker.waitFor({ timeout: 20_000 });
    expect(await marker.evaluate((el) => [...el.querySelectorAll('[fill]')].map((n) => n.getAttribute('fill')))).toContain('#fbbf24');
    await marker.click();
    await op.locator(`li.active [data-report="${reportId}"]`).waitFor({ timeout: 10_000 });
    const detail = op.locator('[data-testid="report-detail"]');
    await expect.poll(() => op.locator('[data-testid="detail-evidence"]').textContent(), { timeout: 15_000 }).toContain('El camión truck-01 pasó a');
    expect(await op.locator('[data-testid="detail-evidence"]').textContent()).toContain('aún no hay registro de un camión que haya pasado');
    // in progress
    await detail.locator('select[name="next-state"]').selectOption('in_progress');
    await detail.locator('input[name="state-note"]').fill('cuadrilla avisada');
    await detail.locator('[data-action="apply-state"]').click();
    await expect.poll(() => op.locator('[data-testid="detail-state"]').textContent(), { timeout: 10_000 }).toBe('En proceso');
    // fixed, with no truck pass after the report: warned, nothing changes
    await detail.locator('select[name="next-state"]').selectOption('fixed');
    await detail.locator('input[name="state-note"]').fill('atendido');
    await detail.locator('[data-action="apply-state"]').click();
    const warning = op.locator('[data-testid="no-evidence-warning"]');
    await warning.waitFor({ timeout: 10_000 });
    expect(await warning.textContent()).toContain('No hay registro de que un camión haya pasado por este punto después del reporte');
    expect(await op.locator('[data-testid="detail-state"]').textContent()).toBe('En proceso');
    expect(await op.locator('[data-testid="report-legend"]').textContent()).toContain('Pasó sin detenerse');
    await op.screenshot({ path: path.join(ARTIFACTS, 'reports-operator-warning.png') });
    // goes ahead: closed, flagged
    await warning.locator('[data-action="close-anyway"]').click();
    await expect.poll(() => op.locator('[data-testid="detail-state"]').textContent(), { timeout: 10_000 }).toBe('Atendido');
    expect(await op.locator('[data-testid="without-evidence"]').textContent()).toBe('Cerrado sin evidencia');
    // contact data on request (audited)
    await detail.locator('[data-action="show-contact"]').click();
    await expect.poll(() => op.locator('[data-testid="contact"]').textContent(), { timeout: 10_000 }).toContain('vecina@example.mx');
    const token = await op.evaluate(() => JSON.parse(sessionStorage.getItem('cityops.session')!).token as string);
    const r = (await (await fetch(`${base}api/reports/${reportId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as ServiceReport;
    expect(r).toMatchObject({ state: 'fixed', status: 'closed', closedWithoutEvidence: true });
    expect(r.history.map((h) => [h.state, h.by])).toEqual([
      ['open', 'ciudadano'],
      ['in_progress', 'op'],
      ['fixed', 'op'],
    ]);
    expect(op.errors).toEqual([]);
  }, 90_000);

  it('the citizen’s status page shows each step, in Spanish and in English', async () => {
    await citizen.reload();
    const hist = citizen.locator('[data-testid="report-history"] li');
    await expect.poll(() => hist.count(), { timeout: 15_000 }).toBe(3);
    expect(await hist.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))).toEqual(['open', 'in_progress', 'fixed']);
    const text = (await citizen.locator('[data-testid="report-history"]').textContent()) ?? '';
    expect(text).toContain('Abierto');
    expect(text).toContain('En proceso');
    expect(text).toContain('cuadrilla avisada');
    expect(text).toContain('Atendido');
    expect(text).toContain('Cerrado sin evidencia');
    expect(text).not.toContain('op ·'); // operators' usernames are not public
    expect(text).toMatch(/\d\d\/\d\d\/\d{4}/); // dd/mm/aaaa
    expect(await citizen.locator('[data-testid="report-state"]').textContent()).toBe('Atendido');
    await citizen.screenshot({ path: path.join(ARTIFACTS, 'reports-citizen-status.png') });
    await citizen.getByRole('button', { name: 'Idioma' }).click();
    await expect.poll(() => citizen.locator('[data-testid="report-state"]').textContent(), { timeout: 5000 }).toBe('Fixed');
    expect(await citizen.locator('[data-testid="report-history"]').textContent()).toContain('Closed without evidence');
    expect(citizen.errors).toEqual([]);
  }, 60_000);
});
