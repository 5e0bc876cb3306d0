/**
 * End-to-end, every alert action an operator can click, in headless Chromium against the real
 * console API (DuckDB ops DB) linked to a real Aedes broker. Alerts arrive the way ingest sends
 * them: AlertEvents with code + params published on svc/alerts by the `ingest` service account
 * (escalations by `nodered`). Each click is checked against the API's state afterwards.
 * Needs `npm run build:web` first (the `pretest` script does it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, openPage, logIn, waitForLiveMap, MX_BROWSER, hasChromium } from '../../testing/browser';
import { svcTopics, type AlertEvent } from '../../contract';
import { loadCity } from '../../city/city';
import { TEST_PASSWORD } from '../../testing/registry-fixture';
import { waitFor } from '../../testing/net';
import { alertText } from '../shared/alert-text';
import type { Alert } from '../shared/live';
import { WEB_DIST } from '../api/index';
import { USERS, startConsoleStack, type ConsoleStack } from '../api/test-support';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const hasWeb = fs.existsSync(path.join(WEB_DIST, 'index.html'));
const PLATE = 'XYZ-9876';

describe.skipIf(!hasWeb || !hasChromium())('alert workflow in the browser (real API + broker, headless Chromium)', () => {
  let stack: ConsoleStack;
  let ingest: MqttClient;
  let nodered: MqttClient;
  let browser: Browser;
  let op: Page;
  let planner: Page;
  let base = '';
  const tokens = new Map<string, string>();

  const token = async (username: string) => {
    if (!tokens.has(username)) {
      const u = USERS.find((x) => x.username === username)!;
      const r = await fetch(`${base}api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: u.password }) });
      tokens.set(username, ((await r.json()) as { token: string }).token);
    }
    return tokens.get(username)!;
  };
  const apiGet = async <T>(url: string, user = 'op'): Promise<T> => {
    const r = await fetch(`${base}${url.replace(/^\//, '')}`, { headers: { authorization: `Bearer ${await token(user)}` } });
    expect(r.status, url).toBe(200);
    return (await r.json()) as T;
  };
  const alertOf = (id: string) => apiGet<Alert>(`/api/alerts/${encodeURIComponent(id)}`);

  const now = Date.now();
  const ev = (alertId: string, o: Partial<AlertEvent>): AlertEvent => ({
    alertId,
    event: 'open',
    at: now - 10 * 60_000,
    rule: 'noise',
    severity: 'warning',
    deviceId: 'noise-01',
    kind: 'noise',
    district: 'Centro',
    title: 'ENGLISH FALLBACK TITLE',
    ...o,
  });
  const NOISE = ev('noise.noise-01.e2e', { code: 'noise', params: { laeq: 72.4, limitDb: 50, period: 'night', zone: 'residential', minutes: 12 } });
  const BATTERY = ev('battery_low.air-01.e2e', { rule: 'battery_low', deviceId: 'air-01', kind: 'air', at: now - 8 * 60_000, code: 'battery_low', params: { pct: 8.5 } });
  const IDLE = ev('truck_idle.truck-02.e2e', { rule: 'truck_idle', deviceId: 'truck-02', kind: 'truck', district: 'Puerto', at: now - 4 * 60_000, code: 'truck_idle', params: { minutes: 14 } });
  const HOTLIST = ev('hotlist.cam-01.XYZ9876.e2e', {
    rule: 'hotlist',
    deviceId: 'cam-01',
    kind: 'camera',
    district: 'Entrada Sur',
    severity: 'critical',
    at: now - 2 * 60_000,
    title: `Hotlisted plate ${PLATE} (VER) entering`,
    code: 'hotlist',
    params: { plate: PLATE, region: 'VER', direction: 'entering', road: 'Carretera Costera del Golfo', reason: 'robo de vehículo' },
    detail: { plate: PLATE, region: 'VER' },
  });
  const publish = async (c: MqttClient, e: AlertEvent) => c.publishAsync(svcTopics.alert(e.alertId), JSON.stringify(e), { qos: 1 });

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startConsoleStack('web-alerts-e2e-', { jwtSecret: 'alerts-e2e-secret-alerts-e2e-secret', city: loadCity() });
    base = `http://127.0.0.1:${stack.api.port}/`;
    const connect = (u: string) => mqtt.connectAsync(`mqtt://127.0.0.1:${stack.broker.port}`, { username: u, password: TEST_PASSWORD(u), clientId: `${u}-e2e`, reconnectPeriod: 0 });
    ingest = await connect('ingest');
    nodered = await connect('nodered');
    for (const e of [NOISE, BATTERY, IDLE, HOTLIST]) await publish(ingest, e);
    await waitFor(async () => (await apiGet<{ alerts: Alert[] }>('/api/alerts')).alerts.length === 4, 15_000, 100, 'the four alerts stored');
    browser = await launchChromium();
    op = await loginAs('op', 'op-pass');
    planner = await loginAs('plan', 'plan-pass');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await ingest?.endAsync();
    await nodered?.endAsync();
    await stack?.stop();
  });

  async function loginAs(username: string, password: string): Promise<Page> {
    // a fresh profile per user (a new browser context)
    const page = await openPage(browser, { viewport: { width: 1700, height: 1050 }, ...MX_BROWSER });
    await logIn(page, base, username, password);
    await waitForLiveMap(page);
    return page;
  }
  const panelItem = (page: Page, rule: string) => page.locator(`.alerts-panel .alert-item[data-alert-id^="${rule}."]`);
  const idIn = async (loc: ReturnType<Page['locator']>) => (await loc.getAttribute('data-alert-id'))!;

  it('every screen phrases the alert in Spanish from code + params, never the English title', async () => {
    const item = panelItem(op, 'noise');
    await item.waitFor({ timeout: 15_000 });
    expect((await item.locator('.alert-title').textContent())!.trim()).toBe(alertText('es', NOISE));
    expect(await item.locator('.alert-title').textContent()).toContain('Ruido 72.4 dB(A) sobre el límite nocturno de 50 dB(A)');
    const banner = op.locator('.critical-banner');
    await banner.waitFor({ timeout: 15_000 });
    expect(await banner.textContent()).toContain('Placa buscada [placa oculta] (VER) entrando por Carretera Costera del Golfo');
    expect(await op.content()).not.toContain('ENGLISH FALLBACK');
    expect(await op.content()).not.toContain(PLATE);
    // English on a click
    await op.locator('button.lang').click();
    await expect.poll(() => item.locator('.alert-title').textContent()).toBe(alertText('en', NOISE));
    await op.locator('button.lang').click();
    await expect.poll(() => item.locator('.alert-title').textContent()).toBe(alertText('es', NOISE));
  });

  it('acknowledge from the panel: the API has it acknowledged by the operator, another console sees it live', async () => {
    const item = panelItem(op, 'noise');
    await item.locator('[data-action="ack"]').click();
    await expect.poll(() => item.getAttribute('class'), { timeout: 10_000 }).toContain('state-acknowledged');
    const a = await alertOf(NOISE.alertId);
    expect(a.state).toBe('acknowledged');
    expect(a.history.at(-1)).toMatchObject({ event: 'acknowledge', by: 'op' });
    await expect.poll(() => panelItem(planner, 'noise').getAttribute('class'), { timeout: 10_000 }).toContain('state-acknowledged');
  });

  it("the device panel says why a device is not reporting normally (ingest's issue on its live state)", async () => {
    const ts = Date.now();
    const st = {
      deviceId: 'noise-01',
      kind: 'noise',
      district: 'Centro',
      latest: {},
      online: true,
      lastSeen: ts,
      issue: { code: 'credentials_refused', reason: 'bad_password', since: ts - 60_000, lastAt: ts },
    };
    await ingest.publishAsync(svcTopics.state('noise', 'noise-01'), JSON.stringify(st), { qos: 1 });
    await panelItem(op, 'noise').locator('.alert-main').click();
    const issue = op.locator('.device-panel[data-device-id="noise-01"] [data-testid="device-issue"]');
    await expect.poll(() => issue.textContent(), { timeout: 10_000 }).toMatch(/^Credenciales rechazadas: contraseña incorrecta · desde \d{2}\/\d{2}\/\d{4}/);
    await op.locator('.device-panel .btn-close').click();
  });

  it('a hotlist hit: the operator reveals the plate with one click (audited), then resolves it from the banner with a note', async () => {
    const item = panelItem(op, 'hotlist');
    const id = await idIn(item);
    expect(id).not.toContain('XYZ');
    await item.locator('[data-action="reveal"]').click();
    await expect.poll(() => item.locator('.alert-title').textContent(), { timeout: 10_000 }).toContain(`Placa buscada ${PLATE} (VER)`);
    const audit = await apiGet<{ entries: { actor: string; action: string; query: { alertId: string } }[] }>('/api/audit?action=alert_plate_reveal', 'boss');
    expect(audit.entries.map((e) => [e.actor, e.query.alertId])).toEqual([['op', id]]);
    // the planner's console still shows it hidden
    expect(await planner.content()).not.toContain(PLATE);

    const banner = op.locator('.critical-banner');
    await banner.locator('[data-action="resolve"]').click();
    const dialog = op.locator('[data-testid="dialog-resolve"]');
    await dialog.waitFor();
    expect(await dialog.locator('[data-testid="dialog-confirm"]').isDisabled()).toBe(true); // the note is required
    await dialog.locator('[data-testid="dialog-note"]').fill('Patrulla 12 detuvo el vehículo en la caseta');
    await op.screenshot({ path: path.join(ARTIFACTS, 'e2e-resolve-dialog.png') });
    await dialog.locator('[data-testid="dialog-confirm"]').click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    await banner.waitFor({ state: 'detached', timeout: 10_000 });
    const a = await alertOf(id);
    expect(a.state).toBe('resolved');
    expect(a.history.at(-1)).toMatchObject({ event: 'resolve', by: 'op', note: 'Patrulla 12 detuvo el vehículo en la caseta' });
  });

  /** click the map at `pt` until the alert popup there is open; another alert's popup left open (by an earlier step) is closed first */
  async function openPopupWith(popup: ReturnType<Page['locator']>, pt: { x: number; y: number }, title: string) {
    await expect
      .poll(
        async () => {
          if (await popup.count()) {
            const now = await popup.locator('.popup-title').textContent();
            if (now === title) return now;
            await popup.locator('.maplibregl-popup-close-button').click();
          }
          await op.mouse.click(pt.x, pt.y);
          return (await popup.count()) ? popup.locator('.popup-title').textContent() : null;
        },
        { timeout: 20_000, interval: 700 },
      )
      .toBe(title);
  }

  it('resolve with a note from the map popup', async () => {
    const pt = await op.evaluate(() => {
      const { controller } = (
        window as unknown as {
          __cityops: {
            controller: {
              devicePosition(id: string): [number, number] | null;
              map: { jumpTo(o: unknown): void; project(p: [number, number]): { x: number; y: number }; getCanvas(): HTMLCanvasElement };
            };
          };
        }
      ).__cityops;
      const pos = controller.devicePosition('air-01')!;
      controller.map.jumpTo({ center: pos, zoom: 15 });
      const p = controller.map.project(pos);
      const r = controller.map.getCanvas().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    });
    const popup = op.locator('.alert-popup');
    await openPopupWith(popup, pt, 'Batería baja: 8.5 %');
    await popup.locator('[data-action="resolve"]').click();
    const dialog = op.locator('[data-testid="dialog-resolve"]');
    await dialog.locator('[data-testid="dialog-note"]').fill('Batería cambiada');
    await dialog.locator('[data-testid="dialog-confirm"]').click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    const a = await alertOf(BATTERY.alertId);
    expect(a.state).toBe('resolved');
    expect(a.history.at(-1)).toMatchObject({ event: 'resolve', by: 'op', note: 'Batería cambiada' });
  });

  it('the alarm table filters by state, kind, district, rule and time (as the API does)', async () => {
    await op.locator('[data-view="alerts"]').click();
    const table = op.locator('[data-testid="alarm-table"]');
    await table.waitFor();
    const shownIds = async () => (await table.locator('tr.alarm-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-alert-id')!))).sort();
    const apiIds = async (q: string) => (await apiGet<{ alerts: Alert[] }>(`/api/alerts?${q}`)).alerts.map((a) => a.id).sort();
    // default: active alerts
    await expect.poll(shownIds, { timeout: 10_000 }).toEqual(await apiIds('state=active'));
    expect(await apiIds('state=active')).toEqual([IDLE.alertId, NOISE.alertId].sort());
    await table.locator('[data-testid="filter-state"]').selectOption('all');
    await expect.poll(shownIds).toEqual(await apiIds('state=all'));
    expect((await shownIds()).length).toBe(4);
    await table.locator('[data-testid="filter-kind"]').selectOption('truck');
    await expect.poll(shownIds).toEqual([IDLE.alertId]);
    await table.locator('[data-testid="filter-kind"]').selectOption('');
    await table.locator('[data-testid="filter-severity"]').selectOption('critical');
    await expect.poll(shownIds).toEqual([await apiIds('state=all&severity=critical')].flat());
    expect((await shownIds()).length).toBe(1);
    await table.locator('[data-testid="filter-severity"]').selectOption('');
    await table.locator('[data-testid="filter-district"]').selectOption('Entrada Sur');
    await expect.poll(shownIds).toEqual(await apiIds('state=all&district=Entrada%20Sur'));
    expect((await shownIds()).length).toBe(1);
    await table.locator('[data-testid="filter-district"]').selectOption('');
    await table.locator('[data-testid="filter-state"]').selectOption('resolved');
    await expect.poll(shownIds).toEqual(await apiIds('state=resolved'));
    await table.locator('[data-testid="filter-rule"]').selectOption('battery_low');
    await expect.poll(shownIds).toEqual([BATTERY.alertId]);
    // time: opened before a moment earlier than every alert → none
    await table.locator('[data-testid="filter-reset"]').click();
    await table.locator('[data-testid="filter-state"]').selectOption('all');
    // typed as operators write dates (dd/mm/aaaa hh:mm, the city's time)
    const local = new Intl.DateTimeFormat('es-MX', { timeZone: 'America/Mexico_City', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .format(new Date(now - 6 * 60_000))
      .replace(',', '');
    expect(local).toMatch(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}$/);
    await table.locator('[data-testid="filter-to"]').fill('31/02/2026 10:00');
    expect(await table.getByText('Escribe la fecha como dd/mm/aaaa hh:mm').count()).toBe(1);
    await table.locator('[data-testid="filter-to"]').fill(local);
    const cut = Math.floor((now - 6 * 60_000) / 60_000) * 60_000;
    await expect.poll(shownIds).toEqual(await apiIds(`state=all&to=${cut}`));
    expect(await shownIds()).toEqual([BATTERY.alertId, NOISE.alertId].sort());
    await table.locator('[data-testid="filter-reset"]').click();
    await expect.poll(shownIds).toEqual(await apiIds('state=active'));
  });

  it('from the table: assign to a console user, comment; escalation and the full history are shown', async () => {
    await nodered.publishAsync(svcTopics.alert(IDLE.alertId), JSON.stringify({ ...IDLE, event: 'escalate', at: Date.now(), by: 'nodered', note: 'critical alert not acknowledged within 5 min' }), {
      qos: 1,
    });
    const table = op.locator('[data-testid="alarm-table"]');
    const row = table.locator(`tr.alarm-row[data-alert-id="${IDLE.alertId}"]`);
    await expect.poll(() => row.locator('.badge-escalated').count(), { timeout: 10_000 }).toBe(1);
    await row.click();
    const detail = op.locator('[data-testid="alarm-detail"]');
    await detail.waitFor();
    expect(await detail.locator('[data-testid="escalated"]').textContent()).toMatch(/^Escalada el \d{2}\/\d{2}\/\d{4}/);
    await detail.locator('[data-action="assign"]').click();
    const dialog = op.locator('[data-testid="dialog-assign"]');
    await dialog.locator('[data-testid="assignee-picker"] option[value="boss"]').waitFor({ state: 'attached' });
    await dialog.locator('[data-testid="assignee-picker"]').selectOption('boss');
    await dialog.locator('[data-testid="dialog-note"]').fill('revisar en sitio');
    await dialog.locator('[data-testid="dialog-confirm"]').click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    await expect.poll(() => detail.locator('[data-testid="detail-assignee"]').textContent(), { timeout: 10_000 }).toBe('asignada a boss');
    expect((await alertOf(IDLE.alertId)).assignee).toBe('boss');

    await detail.locator('[data-testid="comment-text"]').fill('El chofer reporta falla de motor');
    await detail.locator('[data-testid="comment-send"]').click();
    await expect.poll(() => detail.locator('[data-event="comment"]').count(), { timeout: 10_000 }).toBe(1);
    const a = await alertOf(IDLE.alertId);
    expect(a.history.map((h) => h.event)).toEqual(['open', 'escalate', 'assign', 'comment']);
    expect(a.history[2]).toMatchObject({ by: 'op', assignee: 'boss', note: 'revisar en sitio' });
    expect(a.history[3]).toMatchObject({ by: 'op', note: 'El chofer reporta falla de motor' });
    const comment = await detail.locator('[data-event="comment"]').textContent();
    expect(comment).toContain('por op');
    expect(comment).toContain('El chofer reporta falla de motor');
    expect(comment).toMatch(/\d{2}\/\d{2}\/\d{4}/);
    expect(await detail.locator('[data-testid="history"] li').count()).toBe(4);
    expect(await detail.textContent()).not.toContain('not acknowledged'); // Node-RED's English note stays in the API
    await op.screenshot({ path: path.join(ARTIFACTS, 'e2e-alarm-table.png') });
  });

  it('bulk acknowledge and bulk resolve (with a note) a rule group', async () => {
    const ids = ['a', 'b', 'c'].map((x) => `stuck_sensor.air-01.${x}`);
    for (const [i, id] of ids.entries())
      await publish(ingest, ev(id, { rule: 'stuck_sensor', deviceId: 'air-01', kind: 'air', at: Date.now() - 1000 + i, code: 'stuck_sensor', params: { minutes: 30 + i, stream: 'air' } }));
    const table = op.locator('[data-testid="alarm-table"]');
    await table.locator('[data-testid="filter-rule"]').selectOption('stuck_sensor');
    await expect.poll(() => table.locator('tr.alarm-row').count(), { timeout: 10_000 }).toBe(3);
    await table.locator('[data-testid="group-by-rule"]').check();
    expect(await table.locator('tr.group-row[data-rule="stuck_sensor"]').count()).toBe(1);
    await table.locator('[data-testid="select-all"]').check();
    await table.locator('[data-testid="bulk-ack"]').click();
    await expect.poll(() => table.locator('[data-testid="bulk-msg"]').textContent(), { timeout: 10_000 }).toBe('3 alertas actualizadas');
    for (const id of ids) expect((await alertOf(id)).state).toBe('acknowledged');
    await expect.poll(() => table.locator('tr.alarm-row .alarm-state').allTextContents()).toEqual(['Reconocida', 'Reconocida', 'Reconocida']);

    await table.locator('[data-testid="select-all"]').check();
    await table.locator('[data-testid="bulk-resolve"]').click();
    const dialog = op.locator('[data-testid="dialog-resolve"]');
    expect(await dialog.locator('h2').textContent()).toBe('Resolver 3 alertas');
    await dialog.locator('[data-testid="dialog-note"]').fill('Sensores recalibrados');
    await dialog.locator('[data-testid="dialog-confirm"]').click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    for (const id of ids) {
      const a = await alertOf(id);
      expect(a.state).toBe('resolved');
      expect(a.history.at(-1)).toMatchObject({ event: 'resolve', by: 'op', note: 'Sensores recalibrados' });
    }
    await expect.poll(() => table.locator('tr.alarm-row').count(), { timeout: 10_000 }).toBe(0); // active only by default
    expect((op as unknown as { errors: string[] }).errors).toEqual([]);
    expect((planner as unknown as { errors: string[] }).errors).toEqual([]);
  });

  it('acknowledge from the map popup; resolve with a note from the alerts panel', async () => {
    const LOW = ev('battery_low.air-01.popup', { rule: 'battery_low', deviceId: 'air-01', kind: 'air', at: Date.now() - 60_000, code: 'battery_low', params: { pct: 12 } });
    const STUCK = ev('stuck_sensor.noise-01.panel', { rule: 'stuck_sensor', at: Date.now() - 30_000, code: 'stuck_sensor', params: { minutes: 45, stream: 'noise' } });
    await publish(ingest, LOW);
    await publish(ingest, STUCK);
    await op.locator('[data-view="live"]').click();
    const item = op.locator(`.alerts-panel .alert-item[data-alert-id="${STUCK.alertId}"]`);
    await item.waitFor({ timeout: 15_000 });

    // the map popup of air-01's alert: acknowledge
    const pt = await op.evaluate(() => {
      const { controller } = (
        window as unknown as {
          __cityops: {
            controller: {
              devicePosition(id: string): [number, number] | null;
              map: { jumpTo(o: unknown): void; project(p: [number, number]): { x: number; y: number }; getCanvas(): HTMLCanvasElement };
            };
          };
        }
      ).__cityops;
      const pos = controller.devicePosition('air-01')!;
      controller.map.jumpTo({ center: pos, zoom: 15 });
      const p = controller.map.project(pos);
      const r = controller.map.getCanvas().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    });
    const popup = op.locator('.alert-popup');
    await openPopupWith(popup, pt, alertText('es', LOW));
    await popup.locator('[data-action="ack"]').click();
    await popup.waitFor({ state: 'detached', timeout: 10_000 });
    const acked = await alertOf(LOW.alertId);
    expect(acked.state).toBe('acknowledged');
    expect(acked.history.at(-1)).toMatchObject({ event: 'acknowledge', by: 'op' });

    // the panel: resolve, the note required by the dialog
    await item.locator('[data-action="resolve"]').click();
    const dialog = op.locator('[data-testid="dialog-resolve"]');
    await dialog.waitFor();
    expect(await dialog.locator('[data-testid="dialog-confirm"]').isDisabled()).toBe(true);
    await dialog.locator('[data-testid="dialog-note"]').fill('Micrófono reemplazado');
    await dialog.locator('[data-testid="dialog-confirm"]').click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    await item.waitFor({ state: 'detached', timeout: 10_000 });
    const resolved = await alertOf(STUCK.alertId);
    expect(resolved.state).toBe('resolved');
    expect(resolved.history.at(-1)).toMatchObject({ event: 'resolve', by: 'op', note: 'Micrófono reemplazado' });
    expect((op as unknown as { errors: string[] }).errors).toEqual([]);
  });
});
