/**
 * Fleet reports end to end in headless Chromium on the real API (in-memory DuckDB with two known
 * truck days, Aedes broker link, the small test city): a planner logs in, opens "Reportes de
 * flota", sees the trucks' day, exports XLSX (opened with exceljs: its figures equal the API's),
 * PDF (opened with pdf-parse: it names the truck and the totals) and a truck day's GPX, then
 * switches to English. Needs `npm run build:web` first (the `pretest` script does it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, openPage, logIn, hasChromium } from '../../testing/browser';
import ExcelJS from 'exceljs';
import { PDFParse } from 'pdf-parse';
import { WEB_DIST } from '../api/index';
import { startConsoleStack, testCity, type ConsoleStack } from '../api/test-support';
import { eventRecord, gpsRecords, legsTrack, type Leg } from '../api/lib/fleet-fixtures.test-data';
import { localDays } from '../api/lib/local-days';
import { DAY_COLUMNS, fmtDate, fmtNum, type FleetReport } from '../shared/fleet-report';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const hasWeb = fs.existsSync(path.join(WEB_DIST, 'index.html'));
const TZ = 'America/Mexico_City';
const LEGS: Leg[] = [
  { s: 600, every: 60, kmh: 0 },
  { s: 60, every: 10, kmh: 18 },
  { s: 300, every: 10, kmh: 0 },
  { s: 60, every: 10, kmh: 18 },
  { s: 300, every: 10, kmh: 0 },
];

describe.skipIf(!hasWeb || !hasChromium())('fleet reports end to end (planner, headless Chromium)', () => {
  let stack: ConsoleStack;
  let browser: Browser;
  let page: Page & { errors: string[] };
  let base = '';
  let token = '';
  const dl = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'fleet-e2e-dl-'));
  // yesterday, local
  const yesterday = localDays(Date.now() - 86_400_000, Date.now() - 86_400_000 + 1, TZ)[0]!;
  const t0 = yesterday.dayStart + 6 * 3_600_000;
  const api = async <T>(p: string): Promise<T> => (await (await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T;

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startConsoleStack('fleet-e2e-', { jwtSecret: 'fleet-e2e-secret-fleet-e2e-secret', city: testCity() });
    base = `http://127.0.0.1:${stack.api.port}/`;
    const recs = [];
    for (const dev of ['truck-01', 'truck-02']) {
      recs.push(...gpsRecords(dev, legsTrack(t0, [-94.44, 18.14], LEGS)));
      recs.push(eventRecord(dev, t0 + 5 * 60_000, 'ignition_on'));
      recs.push(eventRecord(dev, t0 + 12 * 60_000, 'bin_lift', { binId: 'b1', weightKg: 25 }));
      recs.push(eventRecord(dev, t0 + 22 * 60_000, 'ignition_off'));
    }
    await stack.store.writeBatch(recs);
    browser = await launchChromium();
    page = await openPage(browser, { viewport: { width: 1400, height: 1500 }, acceptDownloads: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    fs.rmSync(dl, { recursive: true, force: true });
  });

  async function downloadOf(testId: string): Promise<{ name: string; file: string }> {
    const [d] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.locator(`[data-testid="${testId}"]`).click()]);
    const file = path.join(dl, d.suggestedFilename());
    await d.saveAs(file);
    return { name: d.suggestedFilename(), file };
  }

  it('a planner opens "Reportes de flota" and sees each truck’s day in Mexican formats', async () => {
    await logIn(page, base, 'plan', 'plan-pass', { timeoutMs: 30_000 });
    const tab = page.locator('[data-view="fleet"]');
    await tab.click({ timeout: 30_000 });
    expect(await tab.textContent()).toBe('Reportes de flota');
    token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('cityops.session')!).token as string);
    const rows = page.locator('[data-testid="fleet-days-table"] tbody tr');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);
    const first = rows.first();
    expect(await first.locator('[data-col="date"]').textContent()).toBe(fmtDate(yesterday.date));
    expect(await first.locator('[data-col="deviceId"]').textContent()).toBe('truck-01');
    expect(await first.locator('[data-col="trips"]').textContent()).toBe('2');
    expect(await first.locator('[data-col="binsLifted"]').textContent()).toBe('1');
    expect(await first.locator('[data-col="distanceKm"]').textContent()).toBe('0.6');
    expect(await page.locator('[data-testid="fleet-routes-table"] tbody tr').count()).toBe(2);
    expect(await page.locator('[data-testid="fleet-districts-table"] tbody tr').first().textContent()).toContain('Centro');
    expect(await page.locator('[data-testid="fleet-rules"]').textContent()).toContain('Parada = velocidad < 5 km/h durante ≥ 120 s');
    // the chart is drawn (uPlot canvas)
    expect(await page.locator('[data-testid="fleet-chart"] canvas').count()).toBeGreaterThan(0);
    // a row opens the day's trips and stops, with places from the city model
    await first.click();
    const trips = page.locator('[data-testid="fleet-trips-table"] tbody tr');
    await expect.poll(() => trips.count(), { timeout: 10_000 }).toBe(2);
    expect(await trips.first().locator('[data-col="start"]').textContent()).toMatch(new RegExp(`^${fmtDate(yesterday.date)} 06:09$`));
    expect(await trips.first().locator('[data-col="endPlace"]').textContent()).toBe('Calle s2, Centro');
    expect(await page.locator('[data-testid="fleet-stops-table"] tbody tr').count()).toBe(3);
    expect(await page.locator('[data-testid="fleet-stops-table"] tbody tr').first().locator('[data-col="street"]').textContent()).toBe('Depot');
    await page.screenshot({ path: path.join(ARTIFACTS, 'fleet-reports.png') });
    fs.mkdirSync(DOCS, { recursive: true });
    fs.copyFileSync(path.join(ARTIFACTS, 'fleet-reports.png'), path.join(DOCS, 'screenshot-fleet-reports.png'));
  }, 120_000);

  it('exports XLSX: the downloaded file opens with exceljs and its figures match the API', async () => {
    const { name, file } = await downloadOf('fleet-export-xlsx');
    expect(name).toMatch(/^reporte-flota_\d{4}-\d\d-\d\d_\d{4}-\d\d-\d\d\.xlsx$/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const ws = wb.getWorksheet('Por camión y día')!;
    const header = (ws.getRow(1).values as unknown[]).slice(1);
    expect(header).toEqual(DAY_COLUMNS.map((c) => c.es));
    const rep = await api<FleetReport>(`api/fleet/report?from=${yesterday.dayStart}&to=${yesterday.dayEnd}`);
    expect(rep.days).toHaveLength(2);
    const col = (l: string) => header.indexOf(l) + 1;
    for (const [i, d] of rep.days.entries()) {
      const row = ws.getRow(i + 2);
      expect(row.getCell(col('Camión')).value).toBe(d.deviceId);
      expect(row.getCell(col('Distancia (km)')).value).toBe(d.distanceKm);
      expect(row.getCell(col('Viajes')).value).toBe(d.trips);
      expect(row.getCell(col('Paradas')).value).toBe(d.stops);
      expect(row.getCell(col('Horas de motor (h)')).value).toBe(d.engineHours);
      expect(row.getCell(col('Contenedores levantados')).value).toBe(d.binsLifted);
      expect(row.getCell(col('Tiempo en base (h)')).value).toBe(d.depotHours);
    }
    expect(ws.rowCount).toBe(1 + rep.days.length);
  }, 90_000);

  it('exports PDF: it opens with pdf-parse and names the trucks and the totals', async () => {
    const { name, file } = await downloadOf('fleet-export-pdf');
    expect(name).toMatch(/\.pdf$/);
    const parser = new PDFParse({ data: new Uint8Array(fs.readFileSync(file)) });
    const { text } = await parser.getText();
    await parser.destroy();
    const totalKm = await page.locator('[data-total="distanceKm"] b').textContent();
    expect(text).toContain('Reporte de flota');
    expect(text).toContain('truck-01');
    expect(text).toContain(`Distancia (km) ${totalKm}`);
    expect(totalKm).toBe(fmtNum(1.2, 1));
    expect(text).toContain(`Contenedores levantados ${await page.locator('[data-total="binsLifted"] b').textContent()}`);
  }, 90_000);

  it('downloads the truck day as GPX and a CSV table; English on the language switch', async () => {
    const gpx = await downloadOf('fleet-gpx');
    expect(gpx.name).toBe(`truck-01_${yesterday.date}.gpx`);
    const xml = fs.readFileSync(gpx.file, 'utf8');
    expect(xml.match(/<trkseg>/g)).toHaveLength(2);
    expect(xml.match(/<wpt /g)).toHaveLength(3);
    await page.locator('[data-testid="fleet-csv-table"]').selectOption('stops');
    const csv = await downloadOf('fleet-export-csv');
    expect(csv.name).toMatch(/_stops\.csv$/);
    const text = fs.readFileSync(csv.file, 'utf8');
    expect(text.split(/\r?\n/)[0]).toBe('\uFEFFCamión,Inicio,Duración (h:mm),Calle,Colonia,Motor encendido');
    expect(text).toContain('Calle s2');
    // a period too long is refused with a Spanish message naming what to do, and the view recovers
    const fromBox = page.locator('[data-testid="fleet-from"]');
    const fromBefore = await fromBox.inputValue();
    await fromBox.fill('01/01/2026');
    await expect.poll(() => page.locator('[data-testid="fleet-error"]').textContent(), { timeout: 15_000 }).toBe('El periodo es demasiado largo: elija menos días o un camión');
    await fromBox.fill('31/02/2026');
    await expect.poll(() => page.getByText('Escriba la fecha como dd/mm/aaaa').count(), { timeout: 5000 }).toBe(1);
    await fromBox.fill(fromBefore);
    await expect.poll(() => page.locator('[data-testid="fleet-days-table"] tbody tr').count(), { timeout: 15_000 }).toBe(2);
    await page.getByRole('button', { name: 'Idioma' }).click();
    await expect.poll(() => page.locator('[data-view="fleet"]').textContent(), { timeout: 5000 }).toBe('Fleet reports');
    expect(await page.locator('[data-testid="fleet-days-table"] thead').textContent()).toContain('Distance (km)');
    expect(await page.locator('[data-testid="fleet-days-table"] tbody tr').first().locator('[data-col="distanceKm"]').textContent()).toBe('0.6');
    const xlsx = await downloadOf('fleet-export-xlsx');
    expect(xlsx.name).toMatch(/^fleet-report_/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(xlsx.file);
    expect(wb.worksheets.map((w) => w.name)).toContain('Per truck and day');
    expect(page.errors).toEqual([]);
  }, 90_000);
});
