/**
 * Fleet report routes through app.inject on a real in-memory DuckDB store filled with known truck
 * days (lib/fleet-fixtures.test-data.ts): the JSON report, CSV / XLSX / PDF opened with real
 * readers (exceljs, pdf-parse) and compared with the JSON, GPX, roles, range limits and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { PDFParse } from 'pdf-parse';
import { makeTestApi, type TestApi } from './test-support';
import { eventRecord, gpsRecords, legsTrack, type Leg } from './lib/fleet-fixtures.test-data';
import { parseCsv } from './lib/csv';
import { DAY_COLUMNS, fmtNum, type FleetReport } from '../shared/fleet-report';
import { FLEET_QUERY_LIMITS } from './routes/fleet';
import type { Position } from '../../city/city';
import { parseStringPromise } from 'xml2js';
import { fleetPdf } from './lib/fleet-export';

const DEPOT: Position = [-94.44, 18.14];
const D30 = Date.UTC(2026, 10, 30, 6); // 30/11/2026 00:00 local (UTC−6)
const DAY = 86_400_000;
const SIX = 6 * 3_600_000;
// parked 10 min · 1 min east at 18 km/h (300 m) · stopped 5 min on s2 · 1 min east (300 m) · stopped 5 min on s3
const LEGS: Leg[] = [
  { s: 600, every: 60, kmh: 0 },
  { s: 60, every: 10, kmh: 18 },
  { s: 300, every: 10, kmh: 0 },
  { s: 60, every: 10, kmh: 18 },
  { s: 300, every: 10, kmh: 0 },
];
const m = (min: number) => min * 60_000;

let t: TestApi;
let plan: string, op: string, boss: string;
const H = (tok: string) => ({ authorization: `Bearer ${tok}` });
const get = (url: string, tok?: string) => t.app.inject({ method: 'GET', url, headers: tok ? H(tok) : {} });
const range = `from=${D30}&to=${D30 + 2 * DAY}`;

beforeAll(async () => {
  t = await makeTestApi();
  const recs = [];
  for (const [dev, day] of [
    ['truck-01', D30],
    ['truck-01', D30 + DAY],
    ['truck-02', D30 + DAY],
  ] as const) {
    const t0 = day + SIX;
    recs.push(...gpsRecords(dev, legsTrack(t0, DEPOT, LEGS)));
    recs.push(eventRecord(dev, t0 + m(5), 'ignition_on'));
    recs.push(eventRecord(dev, t0 + m(12), 'bin_lift', { binId: 'b1', weightKg: 20 }));
    recs.push(eventRecord(dev, t0 + m(13), 'bin_lift', { binId: 'b2', weightKg: 30 }));
    recs.push(eventRecord(dev, t0 + m(21) + 50_000, 'ignition_off'));
  }
  const w = await t.store.writeBatch(recs);
  expect(w.written).toBe(recs.length);
  [plan, op, boss] = await Promise.all(['plan', 'op', 'boss'].map((u) => t.token(u)));
});
afterAll(async () => {
  await t?.close();
});

describe('GET /api/fleet/report', () => {
  let rep: FleetReport;
  it('per truck and day: trips, stops, distance, engine hours, bins lifted, time at depot', async () => {
    const r = await get(`/api/fleet/report?${range}`, plan);
    expect(r.statusCode).toBe(200);
    rep = r.json();
    expect(rep.days.map((d) => [d.date, d.deviceId])).toEqual([
      ['2026-11-30', 'truck-01'],
      ['2026-12-01', 'truck-01'],
      ['2026-12-01', 'truck-02'],
    ]);
    const d = rep.days[0]!;
    expect(d).toMatchObject({ routeId: 'route-01', district: 'Centro', trips: 2, stops: 3, binsLifted: 2, liftedKg: 50, unloads: 0, maxSpeedKmh: 18 });
    expect(d.distanceKm).toBeCloseTo(0.6, 2);
    expect(d.engineHours).toBe(Math.round((m(16) + 50_000) / 36_000) / 100); // 06:05 → 06:21:50
    expect(d.depotHours).toBeCloseTo((600 + 30) / 3600, 1);
    expect(d.drivingS).toBe(120 + 70);
    expect(d.stoppedS).toBe(540 + 290 + 290);
    const trips = rep.trips.filter((x) => x.deviceId === 'truck-01' && x.date === '2026-11-30');
    expect(trips.map((x) => [x.start - D30 - SIX, x.durationS])).toEqual([
      [m(9), 120],
      [m(15) + 50_000, 70],
    ]);
    expect(trips[0]).toMatchObject({ maxSpeedKmh: 18, startPlace: { street: 'Calle s1', depot: 'Depot', district: 'Centro' }, endPlace: { street: 'Calle s2', depot: null } });
    expect(trips[0]!.distanceKm).toBeCloseTo(0.3, 2);
    expect(trips[0]!.avgSpeedKmh).toBeCloseTo(9, 0);
    const stops = rep.stops.filter((x) => x.deviceId === 'truck-01' && x.date === '2026-11-30');
    expect(stops.map((s) => [s.durationS, s.place.depot ?? s.place.street, s.engineOn])).toEqual([
      [540, 'Depot', false],
      [290, 'Calle s2', true],
      [290, 'Calle s3', true],
    ]);
  });

  it('geofence visits feed the report: visits begun per day and the time inside, from the enter / exit events', async () => {
    const t0 = D30 + SIX;
    const ev = (event: 'enter' | 'exit', at: number) => ({
      visitId: `gf-school|truck-01|${t0 + m(9)}`,
      event,
      geofenceId: 'gf-school',
      name: 'Escuela',
      kind: 'school' as const,
      deviceId: 'truck-01',
      district: 'Centro',
      at,
      enteredAt: t0 + m(9),
      late: true,
    });
    await t.app.geofences.applyEvent(ev('enter', t0 + m(9)));
    await t.app.geofences.applyEvent(ev('exit', t0 + m(21)));
    const r = await get(`/api/fleet/report?${range}`, plan);
    expect(r.statusCode).toBe(200);
    const days = (r.json() as FleetReport).days;
    expect(days[0]).toMatchObject({ deviceId: 'truck-01', date: '2026-11-30', geofenceVisits: 1, geofenceHours: 0.2 });
    expect(days.slice(1).map((d) => d.geofenceVisits)).toEqual([0, 0]);
    const csv = await get(`/api/fleet/report/export?${range}&format=csv`, plan);
    expect(csv.body).toContain('Visitas a geocercas');
  });

  it('summaries per route and district add up the truck-days', () => {
    expect(rep.routes.map((r) => [r.routeId, r.trucks, r.truckDays])).toEqual([
      ['route-01', 1, 2],
      ['route-02', 1, 1],
    ]);
    expect(rep.districts).toHaveLength(1); // route-02 is not in the city: no district
    expect(rep.districts[0]).toMatchObject({ district: 'Centro', routes: 1, trucks: 1, truckDays: 2, binsLifted: 4 });
    expect(rep.totals).toMatchObject({ trucks: 2, truckDays: 3, trips: 6, stops: 9, binsLifted: 6 });
    expect(rep.totals.distanceKm).toBeCloseTo(
      rep.days.reduce((a, d) => a + d.distanceKm, 0),
      5,
    );
    expect(rep.rules).toMatchObject({ stopSpeedKmh: 5, minStopS: 120 });
  });

  it('narrows to a truck, a route or a district; the rules can be set per request', async () => {
    const one = (await get(`/api/fleet/report?${range}&deviceIds=truck-02`, plan)).json() as FleetReport;
    expect(one.days.map((d) => d.deviceId)).toEqual(['truck-02']);
    const byRoute = (await get(`/api/fleet/report?${range}&routeId=route-01`, plan)).json() as FleetReport;
    expect(new Set(byRoute.days.map((d) => d.deviceId))).toEqual(new Set(['truck-01']));
    const byDistrict = (await get(`/api/fleet/report?${range}&district=Centro`, plan)).json() as FleetReport;
    expect(byDistrict.days).toHaveLength(2);
    const longStops = (await get(`/api/fleet/report?${range}&deviceIds=truck-02&minStopS=400`, plan)).json() as FleetReport;
    expect(longStops.days[0]!.stops).toBe(1);
    expect(longStops.rules.minStopS).toBe(400);
    // a day with no data has no row (never a row of zeros)
    const empty = (await get(`/api/fleet/report?from=${D30 - 5 * DAY}&to=${D30 - 4 * DAY}`, plan)).json() as FleetReport;
    expect(empty.days).toEqual([]);
    expect(empty.totals).toMatchObject({ trucks: 0, truckDays: 0, distanceKm: 0 });
  });

  it('roles: planner and admin; operator 403, no token 401', async () => {
    expect((await get(`/api/fleet/report?${range}`, boss)).statusCode).toBe(200);
    expect((await get(`/api/fleet/report?${range}`, op)).statusCode).toBe(403);
    expect((await get(`/api/fleet/report?${range}`)).statusCode).toBe(401);
  });

  it('bad input: range, limits, unknown or wrong devices, rules out of bounds', async () => {
    const cases: [string, number, string][] = [
      [`from=${D30}&to=${D30}`, 400, 'E_QUERY_RANGE'],
      [`from=${D30}&to=${D30 + 32 * DAY}`, 400, 'E_QUERY_RANGE_TOO_LONG'],
      [`${range}&deviceIds=truck-99`, 404, 'E_DEVICE_UNKNOWN'],
      [`${range}&deviceIds=air-01`, 400, 'E_DEVICE_KIND'],
      [`${range}&routeId=route-77`, 400, 'E_QUERY_UNKNOWN_ROUTE'],
      [`${range}&minStopS=1`, 400, 'E_REQUEST_VALIDATION'],
      [`from=abc&to=1`, 400, 'E_REQUEST_VALIDATION'],
    ];
    for (const [q, status, code] of cases) {
      const r = await get(`/api/fleet/report?${q}`, plan);
      expect([q, r.statusCode, r.json().code]).toEqual([q, status, code]);
    }
    const r = await get(`/api/fleet/report?from=${D30}&to=${D30 + 32 * DAY}`, plan);
    expect(r.json().message).toMatch(/31 days/);
  });
});

describe('GET /api/fleet/report/export', () => {
  let rep: FleetReport;
  beforeAll(async () => {
    rep = (await get(`/api/fleet/report?${range}`, plan)).json();
  });

  it('CSV: one table, Spanish labels, numbers as numbers, dd/mm/aaaa; English on request', async () => {
    const r = await get(`/api/fleet/report/export?${range}&format=csv&table=days`, plan);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/csv/);
    expect(r.headers['content-disposition']).toMatch(/reporte-flota_2026-11-30_2026-12-01_days\.csv/);
    const rows = parseCsv(r.body.replace(/^\uFEFF/, ''));
    expect(rows[0]).toEqual(DAY_COLUMNS.map((c) => c.es));
    expect(rows[1]!.slice(0, 2)).toEqual(['30/11/2026', 'truck-01']);
    expect(Number(rows[1]![rows[0]!.indexOf('Distancia (km)')])).toBe(rep.days[0]!.distanceKm);
    const en = parseCsv((await get(`/api/fleet/report/export?${range}&format=csv&table=trips&lang=en`, plan)).body.replace(/^\uFEFF/, ''));
    expect(en[0]![0]).toBe('Truck');
    expect(en[1]![1]).toMatch(/^30\/11\/2026 06:09$/);
    expect(en).toHaveLength(1 + rep.trips.length);
  });

  it('CSV neutralises a formula in a text cell', async () => {
    const dev = t.registry.device('truck-02')!;
    const before = dev.truck!.plate;
    dev.truck!.plate = '=HYPERLINK("x")';
    try {
      const r = await get(`/api/fleet/report/export?${range}&format=csv&deviceIds=truck-02`, plan);
      expect(r.body).toContain(`"'=HYPERLINK(""x"")"`);
    } finally {
      dev.truck!.plate = before;
    }
  });

  it('XLSX opens with exceljs: a sheet per table, figures equal to the JSON, local times as dates', async () => {
    const r = await get(`/api/fleet/report/export?${range}&format=xlsx`, plan);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(r.rawPayload as never);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Reporte de flota', 'Por camión y día', 'Viajes', 'Paradas', 'Resumen por ruta', 'Resumen por colonia']);
    const ws = wb.getWorksheet('Por camión y día')!;
    const header = (ws.getRow(1).values as unknown[]).slice(1);
    expect(header).toEqual(DAY_COLUMNS.map((c) => c.es));
    const colOf = (label: string) => header.indexOf(label) + 1;
    rep.days.forEach((d, i) => {
      const row = ws.getRow(i + 2);
      expect(row.getCell(colOf('Camión')).value).toBe(d.deviceId);
      expect(row.getCell(colOf('Distancia (km)')).value).toBe(d.distanceKm);
      expect(row.getCell(colOf('Horas de motor (h)')).value).toBe(d.engineHours);
      expect(row.getCell(colOf('Contenedores levantados')).value).toBe(d.binsLifted);
      expect(row.getCell(colOf('Distancia (km)')).numFmt).toBe('#,##0.0');
    });
    const trips = wb.getWorksheet('Viajes')!;
    const start = trips.getRow(2).getCell(2);
    expect(start.numFmt).toBe('dd/mm/yyyy hh:mm');
    expect((start.value as Date).toISOString()).toBe('2026-11-30T06:09:00.000Z'); // local wall clock 06:09
    const summary = wb.getWorksheet('Reporte de flota')!;
    const totalKm = summary.getColumn(1).values.findIndex((v) => v === 'Distancia (km)');
    expect(summary.getRow(totalKm).getCell(2).value).toBe(rep.totals.distanceKm);
  });

  it('PDF opens with pdf-parse and names the trucks and the totals, in Mexican formats', async () => {
    const r = await get(`/api/fleet/report/export?${range}&format=pdf`, plan);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/pdf');
    const parser = new PDFParse({ data: new Uint8Array(r.rawPayload) });
    const { text } = await parser.getText();
    await parser.destroy();
    expect(text).toContain('Reporte de flota');
    expect(text).toContain('truck-01');
    expect(text).toContain('truck-02');
    expect(text).toContain('30/11/2026');
    expect(text).toContain(`Distancia (km) ${fmtNum(rep.totals.distanceKm, 1)}`);
    expect(text).toContain(`Contenedores levantados ${rep.totals.binsLifted}`);
    expect(text).toContain('Resumen por colonia');
  });

  it('a PDF table longer than its limit says how many rows were left out (see XLSX or CSV)', async () => {
    const rep = (await get(`/api/fleet/report?${range}`, plan)).json() as FleetReport;
    const parser = new PDFParse({ data: new Uint8Array(await fleetPdf(rep, 'es', 1)) });
    const { text } = await parser.getText();
    await parser.destroy();
    expect(text).toContain(`… y ${rep.trips.length - 1} filas más (ver XLSX o CSV)`);
  });

  it('downloads take a one-time ticket instead of the header; a bad format is 400', async () => {
    const tk = await t.app.inject({ method: 'POST', url: '/api/auth/ticket', headers: H(plan), payload: { path: '/api/fleet/report/export' } });
    expect(tk.statusCode).toBe(200);
    const r = await get(`/api/fleet/report/export?${range}&format=csv&ticket=${tk.json().ticket}`);
    expect(r.statusCode).toBe(200);
    expect((await get(`/api/fleet/report/export?${range}&format=doc`, plan)).statusCode).toBe(400);
    expect((await get(`/api/fleet/report/export?${range}&format=pdf`, op)).statusCode).toBe(403);
  });
});

describe('GET /api/fleet/gpx', () => {
  it("a truck's day: a track segment per trip, a waypoint per stop", async () => {
    const r = await get('/api/fleet/gpx?deviceId=truck-01&date=2026-11-30', plan);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/gpx\+xml/);
    expect(r.headers['content-disposition']).toContain('truck-01_2026-11-30.gpx');
    expect(r.body.match(/<trkseg>/g)).toHaveLength(2);
    expect(r.body.match(/<wpt /g)).toHaveLength(3);
    expect(r.body).toContain('<name>truck-01 30/11/2026</name>');
    expect(r.body).toContain('Calle s2');
    expect(r.body).toContain('Parada 06:11');
    // well-formed GPX 1.1 read by an independent XML parser
    const gpx = (await parseStringPromise(r.body)) as { gpx: { $: Record<string, string>; trk: { trkseg: { trkpt: unknown[] }[] }[]; wpt: { desc: string[] }[] } };
    expect(gpx.gpx.$).toMatchObject({ version: '1.1', xmlns: 'http://www.topografix.com/GPX/1/1' });
    expect(gpx.gpx.trk[0].trkseg.map((s: { trkpt: unknown[] }) => s.trkpt.length)).toEqual([8, 8]); // 06:09 → 06:11:00 and 06:15:50 → 06:17:00, a fix each 10 s (the parked one at 06:09)
    expect(gpx.gpx.wpt[1].desc[0]).toBe('Calle s2, Centro');
  });
  it('bad input: unknown truck 404, not a date 400, a camera 400', async () => {
    expect((await get('/api/fleet/gpx?deviceId=truck-99&date=2026-11-30', plan)).statusCode).toBe(404);
    expect((await get('/api/fleet/gpx?deviceId=truck-01&date=2026-02-30', plan)).json().code).toBe('E_QUERY_DATE');
    expect((await get('/api/fleet/gpx?deviceId=truck-01&date=30/11/2026', plan)).statusCode).toBe(400);
    expect((await get('/api/fleet/gpx?deviceId=air-01&date=2026-11-30', plan)).json().code).toBe('E_DEVICE_KIND');
  });
});

describe('documented and robust', () => {
  it('at most FLEET_QUERY_LIMITS.perUser reports in flight per user (429 E_QUERY_TOO_MANY), the slots free again after', async () => {
    const before = FLEET_QUERY_LIMITS.perUser;
    FLEET_QUERY_LIMITS.perUser = 1;
    try {
      const rs = await Promise.all(Array.from({ length: 6 }, () => get(`/api/fleet/report/export?${range}&format=xlsx`, plan)));
      const codes = rs.map((r) => r.statusCode);
      expect(codes).toContain(200);
      expect(codes).toContain(429);
      expect(rs.find((r) => r.statusCode === 429)!.json().code).toBe('E_QUERY_TOO_MANY');
      expect((await get(`/api/fleet/report?${range}`, plan)).statusCode).toBe(200);
      // another user is not held up by this one
      expect((await get(`/api/fleet/report?${range}`, boss)).statusCode).toBe(200);
    } finally {
      FLEET_QUERY_LIMITS.perUser = before;
    }
  });
  it('the OpenAPI document lists the fleet routes with their units', async () => {
    const doc = (await get('/docs/json')).json();
    for (const p of ['/api/fleet/report', '/api/fleet/report/export', '/api/fleet/gpx']) expect(doc.paths[p]).toBeDefined();
    expect(JSON.stringify(doc.paths['/api/fleet/report'])).toContain('"x-unit":"km"');
  });
  it('a failing store gives 500 E_API_INTERNAL without its error text, for the report and its exports; the API keeps serving', async () => {
    const broken = await makeTestApi();
    try {
      const tok = await broken.token('plan');
      await broken.store.close();
      for (const url of [`/api/fleet/report?${range}`, `/api/fleet/report/export?${range}&format=xlsx`, '/api/fleet/gpx?deviceId=truck-01&date=2026-11-30']) {
        const r = await broken.app.inject({ url, headers: H(tok) });
        expect([url, r.statusCode, r.json().code]).toEqual([url, 500, 'E_API_INTERNAL']);
        expect(r.body).not.toMatch(/duckdb|closed|connection/i);
      }
      expect((await broken.app.inject({ url: '/api/auth/me', headers: H(tok) })).statusCode).toBe(200);
    } finally {
      await broken.app.close();
      broken.registry.close();
    }
  });
});
