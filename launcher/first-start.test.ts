/**
 * The first start a newcomer gets: `npm start` on a fresh DATA_DIR replays the last 7 days of
 * the demo city through the real path (each simulated device's own MQTT connection → broker →
 * ingest → store) with a progress line, while every truck is on the map from the first seconds;
 * afterwards the planners' charts have data for each of the last 7 days. Prints how long the first
 * start took; no alert may be opened by the history (it is late data: the rules store it, never alert on it).
 * Then README's screenshots are taken from this very start in headless Chromium
 * (testing/console-screens.ts → docs/screenshots/), with what they should show asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../testing/net';
import { launcherEnv } from '../testing/crash';
import { localDays } from '../ops-console/api/lib/local-days';
import { BACKFILL_MARKER } from './stack';
import { CHROMIUM, SCREENSHOTS_DIR, shootConsole } from '../testing/console-screens';
import { loadCity } from '../city/city';
import { AIR_CATEGORIES } from '../ops-console/web/src/colors';

const root = path.resolve(import.meta.dirname, '..');
const TZ = 'America/Mexico_City';

describe('first start: a living city', () => {
  const dataDir = tempDir('cityops-first-');
  const children: ChildProcess[] = [];
  let base = '';
  let stopped: (() => Promise<number | null>) | null = null;
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('fills 7 days of history through broker and ingest; trucks on the map at once; charts for every day', async () => {
    const env = await launcherEnv(dataDir, {
      SIM: 'on',
      SIM_BACKFILL_DAYS: '7',
      CONSOLE_PASSWORD_ADMIN: 'first-start-admin',
      CONSOLE_PASSWORD_OPERADOR: 'first-start-op',
      CONSOLE_PASSWORD_PLANEADOR: 'first-start-pl',
    });
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'launcher/start.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${env.HTTP_PORT}`;
    stopped = async () => {
      child.kill('SIGINT');
      return exited;
    };

    await waitFor(() => out.includes('is running'), 120_000, 100, `start-up (output so far: ${out.slice(-2000)})`);
    const running = Date.now();
    base = url;
    const token = (
      (await (
        await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'first-start-admin' }) })
      ).json()) as { token: string }
    ).token;
    const get = async <T>(p: string): Promise<T> => {
      const r = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${token}` } });
      if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
      return (await r.json()) as T;
    };

    // every registered truck reports a live fix at once (parked at its depot or on its shift)
    const trucks = (await get<{ devices: { id: string }[] }>('/api/devices?kind=truck&status=active')).devices.map((d) => d.id);
    expect(trucks.length).toBeGreaterThanOrEqual(40);
    await waitFor(
      async () => {
        const fixes = await Promise.all(trucks.map(async (id) => (await get<{ latest: { gps?: { ts: number } } }>(`/api/devices/${id}`)).latest.gps?.ts ?? 0));
        return fixes.every((ts) => ts >= t0 - 5000);
      },
      60_000,
      1000,
      'a live GPS fix of every truck',
    );
    const allOnMapAfterS = Math.round((Date.now() - running) / 1000);

    // the replay runs beside the live fleet with a progress line, then says it is done
    await waitFor(() => /history\s+\d+ %/.test(out) || /history\s+done/.test(out), 120_000, 200, 'a progress line');
    await waitFor(() => /history\s+done/.test(out), 1_500_000, 1000, `the history backfill (output so far: ${out.slice(-1500)})`);
    const firstStartS = Math.round((Date.now() - t0) / 1000);
    const marker = JSON.parse(fs.readFileSync(path.join(dataDir, BACKFILL_MARKER), 'utf8')) as { from: number; to: number; published: number; acked: number; aborted: boolean };
    expect(marker.aborted).toBe(false);
    expect(marker.acked).toBe(marker.published);
    console.log(`first start: ${firstStartS} s to "history done" (${marker.acked} readings); all ${trucks.length} trucks with a live fix ${allOnMapAfterS} s after "is running"`);

    // the planners' charts over their default range (today and the 6 days before) have data on every day
    const days = localDays(Date.now() - 6 * 86_400_000, Date.now(), TZ);
    expect(days).toHaveLength(7);
    const from = days[0]!.dayStart;
    const to = days[6]!.dayStart + 86_400_000;
    const range = `from=${from}&to=${to}`;
    const dates = days.map((d) => d.date);
    const air = await get<{ rows: { deviceId: string; hour: number; category: string | null }[] }>(`/api/history/air-index?${range}`);
    const plates = await get<{ rows: { hour: number; count: number }[] }>(`/api/history/plate-counts?${range}`);
    const noise = await get<{ rows: { date: string; leqDb: number | null }[] }>(`/api/history/noise-exceedances?${range}`);
    const coverage = await get<{ rows: { date: string; fixes: number; served: number }[] }>(`/api/history/coverage?${range}`);
    const dateOf = (ts: number) => localDays(ts, ts + 1, TZ)[0]!.date;
    // today counts once the city's day has begun (trucks on shift from 05:00, a complete hour for the
    // air index): a run in the first hours after local midnight has no served street or indexed hour yet
    const localHour = Number(new Intl.DateTimeFormat('en-US', { timeZone: TZ, hour: 'numeric', hourCycle: 'h23' }).format(Date.now()));
    for (const date of localHour >= 8 ? dates : dates.slice(0, -1)) {
      expect(
        air.rows.some((r) => r.category !== null && dateOf(r.hour) === date),
        `air index on ${date}`,
      ).toBe(true);
      expect(
        plates.rows.some((r) => r.count > 0 && dateOf(r.hour) === date),
        `plate counts on ${date}`,
      ).toBe(true);
      expect(
        noise.rows.some((r) => r.leqDb !== null && r.date === date),
        `noise on ${date}`,
      ).toBe(true);
      expect(
        coverage.rows.some((r) => r.fixes > 0 && r.served > 0 && r.date === date),
        `coverage on ${date}`,
      ).toBe(true);
    }

    // the city's depots and the landfill are geofences from the first start; the history's depot visits are listed, as history
    const gf = await get<{ geofences: { id: string; kind: string }[] }>('/api/geofences');
    expect(gf.geofences.map((g) => g.kind).sort()).toEqual(['depot', 'depot', 'landfill']);
    const visits = (await get<{ visits: { kind: string; late: boolean; enteredAt: number; exitedAt: number | null }[] }>(`/api/geofences/visits?${range}&limit=10000`)).visits;
    const historyVisits = visits.filter((v) => v.late && v.kind === 'depot' && v.exitedAt !== null);
    console.log(`geofence visits after the first start: ${visits.length} (${historyVisits.length} finished depot visits from the history)`);
    expect(historyVisits.length).toBeGreaterThan(0);

    // no alert opened by the history: backfilled readings are late, the rules raise nothing on them
    const alerts = await get<{ alerts: { id: string; rule: string; openedAt: number }[] }>('/api/alerts?state=all&limit=1000');
    const early = alerts.alerts.filter((a) => a.openedAt < marker.to);
    console.log(`alerts opened before the live fleet started: ${early.length} (${[...new Set(early.map((a) => a.rule))].join(', ') || 'none'})`);
    expect(early.map((a) => a.id)).toEqual([]);
  }, 1_800_000);

  it.skipIf(!fs.existsSync(CHROMIUM))(
    "README's screenshots from this first start: street names, scale, cameras apart, an air station's index, the planners' charts, the alarm table",
    async () => {
      expect(base, 'the first start ran').not.toBe('');
      const city = loadCity();
      const t0 = Date.now();
      const facts = await shootConsole({
        base,
        operator: ['operador', 'first-start-op'],
        planner: ['planeador', 'first-start-pl'],
        airStation: 'air-01',
        streetView: { center: city.center, zoom: 15.4 },
        bounds: [
          [city.bbox[0], city.bbox[1]],
          [city.bbox[2], city.bbox[3]],
        ],
      });
      console.log(
        `screenshots: ${Math.round((Date.now() - t0) / 1000)} s; street names ${facts.streetLabels.length}, entrances ${facts.cameraLabels.length}, scale "${facts.scale}", air-01 ${facts.aqi.category} (${facts.aqi.responsible}), ${facts.camera.id} ${facts.camera.rate}, last ${facts.camera.lastRead}, alarms ${facts.alarmRows}`,
      );
      expect(facts.files.map((f) => path.relative(SCREENSHOTS_DIR, f)).sort()).toEqual([
        'alarm-table.png',
        'device-panel-air.png',
        'device-panel-camera.png',
        'live-map-streets.png',
        'live-map.png',
        'planners.png',
      ]);
      for (const f of facts.files) expect(fs.statSync(f).size, f).toBeGreaterThan(20_000);
      // street names drawn by MapLibre from the bundled glyphs, served by the console (no network)
      const streetNames = new Set(city.streets.features.map((f) => f.properties.name));
      expect(facts.streetLabels.length).toBeGreaterThanOrEqual(5);
      for (const n of facts.streetLabels) expect(streetNames.has(n), n).toBe(true);
      expect(facts.glyphRequests.length).toBeGreaterThan(0);
      for (const g of facts.glyphRequests) {
        expect(g.url).toMatch(/^\/fonts\/DejaVu Sans Condensed\/\d+-\d+\.pbf$/);
        expect(g.status, g.url).toBe(200);
      }
      expect(facts.foreignRequests).toEqual([]);
      // the scale in metres (or km at city zoom)
      expect(facts.scale).toMatch(/^\d+(\.\d+)?\s(m|km)$/); // MapLibre separates with a no-break space
      // every camera drawn at its own place, 20 px or more from any other, and the map picks it there
      expect(facts.cameras.length).toBe(city.entrances.length * 2);
      for (const c of facts.cameras) expect(c.picked, c.id).toBe(c.id);
      for (const a of facts.cameras) for (const b of facts.cameras) if (a !== b) expect(Math.hypot(a.x - b.x, a.y - b.y), `${a.id}–${b.id}`).toBeGreaterThanOrEqual(20);
      // each entrance labelled with its road
      expect(facts.cameraLabels.sort()).toEqual(city.entrances.map((e) => e.road).sort());
      // the air station's panel: the hourly index from the history, its category and responsible pollutant
      expect(AIR_CATEGORIES as readonly string[]).toContain(facts.aqi.category);
      expect(facts.aqi.hourly).toBe(true);
      expect(facts.aqi.text).toMatch(/Índice AIRE Y SALUD/);
      expect(facts.aqi.text).toMatch(/Contaminante responsable: (O₃|NO₂|SO₂|CO|PM10|PM2\.5)/);
      expect(facts.aqi.text).toMatch(/PM2\.5[\d.,]+ µg\/m³/); // a reading with its label and unit
      expect(facts.aqi.text).not.toMatch(/pm25|field_/); // never a raw field name
      // a camera's panel for an operator: its entrance, its read rate and last read time, no plate
      const camDev = city.entrances.find((e) => facts.camera.entrance.startsWith(e.road));
      expect(camDev, facts.camera.entrance).toBeDefined();
      expect(facts.camera.entrance).toMatch(/· (Entrando|Saliendo)$/);
      expect(facts.camera.rate).toMatch(/^\d[\d,]* lecturas\/h$/);
      expect(Number(facts.camera.rate.replace(/\D/g, ''))).toBeGreaterThan(0); // the live cameras read plates every few seconds
      expect(facts.camera.lastRead).toMatch(/^\d{2}\/\d{2}\/\d{4},? \d{2}:\d{2}:\d{2}$/); // dd/mm/aaaa, 24 h
      expect(facts.camera.platesShown).toBe(0);
      expect(facts.plannersCharts).toBeGreaterThanOrEqual(3);
      expect(Number.isInteger(facts.alarmRows)).toBe(true);
      expect(facts.pageErrors).toEqual([]);
    },
    480_000,
  );

  it('stops cleanly', async () => {
    expect(stopped, 'the first start ran').not.toBeNull();
    expect(await stopped!()).toBe(0);
  }, 120_000);
});
