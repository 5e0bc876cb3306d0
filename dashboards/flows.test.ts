/**
 * The shipped flows (dashboards/flows.json) under node-red-node-test-helper with Node-RED's real
 * core nodes: escalation against a real Aedes broker and a real webhook receiver; the daily
 * report through the fetch loop and the file node, from given console-API responses.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { svcTopics, type AlertEvent } from '../contract';
import { startBroker, type BrokerHandle } from '../broker/index';
import { RegistryView } from '../registry/registry';
import { createLogger } from '../lib/log';
import { tempDir, waitFor } from '../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../testing/registry-fixture';
import { buildFlows, renderFlows, FLOWS_FILE } from './build-flows';
import { NODE_RED_ERROR_CODES } from '../lib/error-codes';

const require = createRequire(import.meta.url);
// node-red-node-test-helper ships no types
const helper: any = require('node-red-node-test-helper');
const core = (p: string) => require(`@node-red/nodes/core/${p}`);
const NODES = [core('network/10-mqtt.js'), core('function/10-function.js'), core('common/20-inject.js'), core('network/21-httprequest.js'), core('storage/10-file.js'), core('common/60-link.js')];
helper.init(require.resolve('node-red'), { logging: { console: { level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'off' } } });

const log = createLogger('flows-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const flowsOf = (...tabs: string[]) => buildFlows().filter((n) => n.type === 'mqtt-broker' || tabs.includes(n.id) || tabs.includes(n.z as string));
const ENV_KEYS = ['CITY_MQTT_URL', 'CITY_MQTT_USERNAME', 'CITY_MQTT_PASSWORD', 'ESCALATE_AFTER_MS', 'WEBHOOK_URL', 'CITY_API_URL', 'CITY_API_TOKEN', 'REPORT_DIR', 'CITY_TZ'];
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

beforeAll(() => new Promise<void>((r) => helper.startServer(r)));
afterEach(async () => {
  await helper.unload();
  for (const k of ENV_KEYS)
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
});
afterAll(() => new Promise<void>((r) => helper.stopServer(r)));

describe('flows.json', () => {
  it('is the pretty-printed build of dashboards/build-flows.ts and uses only core nodes', () => {
    expect(fs.readFileSync(FLOWS_FILE, 'utf8')).toBe(renderFlows());
    const types = new Set(buildFlows().map((n) => n.type));
    for (const t of types) expect(['tab', 'mqtt-broker', 'inject', 'function', 'mqtt in', 'mqtt out', 'http request', 'file', 'link in', 'link out']).toContain(t);
    // no secret in the shipped flows
    expect(fs.readFileSync(FLOWS_FILE, 'utf8')).not.toMatch(/"password"\s*:\s*"[^"]/);
  });

  it('uses only the error codes registered in lib/error-codes.ts (E_NODE_RED_<WHAT>)', () => {
    const codes = [...fs.readFileSync(FLOWS_FILE, 'utf8').matchAll(/'(E_[A-Z0-9_]+)'/g)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(5);
    for (const c of codes) expect(Object.keys(NODE_RED_ERROR_CODES), c).toContain(c);
  });
});

describe('escalation flow', () => {
  let registry: RegistryView;
  let broker: BrokerHandle;
  let webhook: http.Server;
  let webhookUrl: string;
  const posted: { at: number; body: AlertEvent }[] = [];
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    registry = new RegistryView(writeTestRegistry(tempDir('flows-')));
    broker = await startBroker({ registry, port: 0, log, watchRegistry: false });
    webhook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        posted.push({ at: Date.now(), body: JSON.parse(body) as AlertEvent });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    webhookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/hook`;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
    await new Promise<void>((r) => webhook.close(() => r()));
    await broker.stop();
    registry.close();
  });

  const connect = async (id: string) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { username: id, password: TEST_PASSWORD(id), clientId: `${id}-flows-${clients.length}`, reconnectPeriod: 0 });
    clients.push(c);
    await new Promise<void>((resolve, reject) => c.once('connect', () => resolve()).once('error', reject));
    return c;
  };
  const alert = (alertId: string, event: AlertEvent['event'], severity: AlertEvent['severity']): AlertEvent => ({
    alertId,
    event,
    at: Date.now(),
    rule: 'hotlist',
    severity,
    deviceId: 'cam-01',
    kind: 'camera',
    district: 'Entrada Sur',
    title: `test ${alertId}`,
    by: event === 'acknowledge' ? 'operador' : 'rules',
  });

  it('re-publishes an unacknowledged critical alert as escalate after the timeout (not before) and POSTs the webhook', async () => {
    const AFTER = 1500;
    Object.assign(process.env, {
      CITY_MQTT_URL: `mqtt://127.0.0.1:${broker.port}`,
      CITY_MQTT_USERNAME: 'nodered',
      CITY_MQTT_PASSWORD: TEST_PASSWORD('nodered'),
      ESCALATE_AFTER_MS: String(AFTER),
      WEBHOOK_URL: webhookUrl,
    });
    const subscribed = new Promise<void>((resolve) => {
      const on = (subs: { topic: string }[], client: { id: string }) => {
        if (client?.id?.startsWith('nodered-') && subs.some((s) => s.topic === svcTopics.alertAll)) {
          broker.aedes.off('subscribe', on);
          resolve();
        }
      };
      broker.aedes.on('subscribe', on);
    });
    await helper.load(
      NODES,
      flowsOf('tab-connect', 'tab-escalation').filter((n) => !String(n.id).startsWith('login')),
    );
    await subscribed;

    const seen: { at: number; e: AlertEvent }[] = [];
    const watcher = await connect('console');
    watcher.on('message', (_t, buf) => {
      try {
        seen.push({ at: Date.now(), e: JSON.parse(buf.toString()) as AlertEvent });
      } catch {
        /* the bad message this test sends */
      }
    });
    await new Promise<void>((r, j) => watcher.subscribe(svcTopics.alertAll, { qos: 1 }, (err) => (err ? j(err) : r())));

    // each event from the account that owns it (the broker refuses others: broker/acl.ts ALERT_EVENT_RULES)
    const ingest = await connect('ingest');
    const consoleSvc = await connect('console');
    const admin = await connect('admin');
    const pub = (e: AlertEvent) => {
      const from = e.event === 'open' || e.event === 'update' || e.event === 'auto_resolve' ? ingest : consoleSvc;
      return new Promise<void>((r, j) => from.publish(svcTopics.alert(e.alertId), JSON.stringify(e), { qos: 1 }, (err) => (err ? j(err) : r())));
    };
    const t0 = Date.now();
    await pub(alert('hotlist.cam-01.A.1', 'open', 'critical')); // never acknowledged → escalates
    await pub(alert('hotlist.cam-01.B.1', 'open', 'critical')); // acknowledged in time → does not
    await pub(alert('noise.noise-01.C.1', 'open', 'warning')); // not critical → does not
    await pub(alert('hotlist.cam-01.D.1', 'open', 'critical')); // assigned only → still escalates
    await admin.publishAsync('city/v1/svc/alerts/bad', 'not json at all'); // bad input: ignored

    await new Promise((r) => setTimeout(r, AFTER * 0.6));
    expect(seen.filter((s) => s.e.event === 'escalate')).toHaveLength(0); // not before the timeout
    await pub(alert('hotlist.cam-01.B.1', 'acknowledge', 'critical'));
    await pub({ ...alert('hotlist.cam-01.D.1', 'assign', 'critical'), assignee: 'operador' });

    await waitFor(() => seen.filter((s) => s.e.event === 'escalate').length >= 2, 10_000, 20, 'escalations');
    await new Promise((r) => setTimeout(r, AFTER)); // long enough for a wrong one to show up
    const esc = seen.filter((s) => s.e.event === 'escalate');
    expect(esc.map((s) => s.e.alertId).sort()).toEqual(['hotlist.cam-01.A.1', 'hotlist.cam-01.D.1']);
    for (const s of esc) {
      expect(s.at - t0).toBeGreaterThanOrEqual(AFTER - 50);
      expect(s.e).toMatchObject({ severity: 'critical', rule: 'hotlist', deviceId: 'cam-01', by: 'nodered' });
      expect(s.e.note).toMatch(/not acknowledged/);
    }
    await waitFor(() => posted.length >= 2, 5000, 20, 'webhook posts');
    expect(posted.map((p) => p.body.alertId).sort()).toEqual(['hotlist.cam-01.A.1', 'hotlist.cam-01.D.1']);
    expect(posted[0]!.body.event).toBe('escalate');
  });
});

describe('daily report flow', () => {
  // console API responses for one day (shapes of /api/history/coverage, /api/alerts,
  // /api/history/air-index, /api/history/noise-exceedances)
  const day = '2025-06-02';
  const from = Date.UTC(2025, 5, 2, 6);
  const given = {
    coverage: {
      rows: [
        { deviceId: 'truck-02', routeId: 'route-02', date: day, planned: 20, served: 20, share: 1, fixes: 900, missed: [] },
        {
          deviceId: 'truck-01',
          routeId: 'route-01',
          date: day,
          planned: 40,
          served: 30,
          share: 0.75,
          fixes: 800,
          missed: [
            { segmentId: 's0101', name: 'Calle Hidalgo' },
            { segmentId: 's0102', name: 'Av. Juárez, "Centro"' },
          ],
        },
      ],
    },
    alerts: {
      alerts: [
        { id: 'a1', rule: 'truck_speeding', severity: 'warning', state: 'resolved' },
        { id: 'a2', rule: 'truck_speeding', severity: 'critical', state: 'auto_resolved', escalated: true },
        { id: 'a3', rule: 'offline', severity: 'warning', state: 'open' },
      ],
    },
    air: {
      rows: [
        {
          deviceId: 'air-01',
          hour: from + 8 * 3600_000,
          category: 'aceptable',
          label: 'Aceptable',
          colour: '#FFFF00',
          responsible: ['pm25'],
          pollutants: { pm25: { category: 'aceptable', value: 20, unit: 'µg/m³' } },
        },
        { deviceId: 'air-01', hour: from + 14 * 3600_000, category: 'mala', label: 'Mala', colour: '#FF7E00', responsible: ['o3'], pollutants: { o3: { category: 'mala', value: 0.11, unit: 'ppm' } } },
        {
          deviceId: 'air-02',
          hour: from + 9 * 3600_000,
          category: 'buena',
          label: 'Buena',
          colour: '#00E400',
          responsible: ['o3'],
          pollutants: { o3: { category: 'buena', value: 0.02, unit: 'ppm' } },
        },
      ],
    },
    noise: {
      note: 'indicative',
      rows: [
        { deviceId: 'noise-01', zone: 'residential', date: day, period: 'day', limitDb: 55, leqDb: 57.2, maxHourDb: 63.44, hours: 16, hoursOver: 5, exceeded: true },
        { deviceId: 'noise-01', zone: 'residential', date: day, period: 'night', limitDb: 50, leqDb: 48, maxHourDb: 52.1, hours: 8, hoursOver: 1, exceeded: false },
      ],
    },
  };
  const expectedRows = [
    'section,subject,metric,value,unit,detail',
    'coverage,route-01/truck-01,share,75,%,served 30 of 40 streets; 2 missed',
    'missed_street,route-01/truck-01,segment,s0101,,Calle Hidalgo',
    'missed_street,route-01/truck-01,segment,s0102,,"Av. Juárez, ""Centro"""',
    'coverage,route-02/truck-02,share,100,%,served 20 of 20 streets; 0 missed',
    'alerts,truck_speeding,count,2,,critical 1; warning 1; info 0; escalated 1',
    'alerts,offline,count,1,,critical 0; warning 1; info 0',
    'air_quality,air-01,worst_category,Mala,,hour 14:00 local; o3 0.11 ppm; colour #FF7E00',
    'air_quality,air-02,worst_category,Buena,,hour 09:00 local; o3 0.02 ppm; colour #00E400',
    'noise,noise-01,max_hour_laeq,63.4,dB(A),day limit 55 dB(A) (residential); 5 of 16 hours over; indicative (NOM-081-SEMARNAT-1994)',
  ];

  it('pulls the day from the console API with the token and writes the CSV and summary', async () => {
    const requests: { url: string; auth?: string }[] = [];
    const api = http.createServer((req, res) => {
      requests.push({ url: req.url!, auth: req.headers.authorization });
      const u = new URL(req.url!, 'http://x');
      const body = { '/api/history/coverage': given.coverage, '/api/alerts': given.alerts, '/api/history/air-index': given.air, '/api/history/noise-exceedances': given.noise }[u.pathname];
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { code: 'E_REQUEST_NOT_FOUND' }));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const dir = tempDir('report-');
    try {
      Object.assign(process.env, { CITY_API_URL: `http://127.0.0.1:${(api.address() as { port: number }).port}`, CITY_API_TOKEN: 'tok-123', REPORT_DIR: dir, CITY_TZ: 'America/Mexico_City' });
      await helper.load(
        NODES,
        flowsOf('tab-report').filter((n) => n.id !== 'report-tick'),
      );
      helper.getNode('report-due').receive({ force: true, date: day });
      const csvFile = path.join(dir, `ops-report-${day}.csv`);
      const txtFile = path.join(dir, `ops-report-${day}.txt`);
      // Node-RED's file node creates a file before it finishes writing it: wait for whole files
      const complete = (f: string, last: string) => fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes(last);
      await waitFor(() => complete(csvFile, expectedRows[expectedRows.length - 1]!) && complete(txtFile, 'Noise:'), 10_000, 20, 'report files');
      const csv = fs.readFileSync(csvFile, 'utf8');
      expect(csv.trimEnd().split('\n')).toEqual(expectedRows);
      const txt = fs.readFileSync(txtFile, 'utf8');
      expect(txt).toContain(`Operations report ${day} (America/Mexico_City)`);
      expect(txt).toContain('Routes: 2 truck shifts, mean coverage 88 %; lowest route-01 (truck-01) 75 %; 2 missed streets.');
      expect(txt).toContain('Alerts: 3 (critical 1, warning 2, info 0) — top: truck_speeding 2, offline 1.');
      expect(txt).toContain('Air quality: worst Mala at air-01 (o3, 14:00)');
      expect(txt).toContain('Noise: 1 of 1 stations above their NOM-081 limit (indicative); loudest noise-01 63.4 dB(A) (day).');
      // the local day 00:00–24:00 in Mexico City, with the bearer token, for each section
      expect(requests.map((r) => new URL(r.url, 'http://x').pathname)).toEqual(['/api/history/coverage', '/api/alerts', '/api/history/air-index', '/api/history/noise-exceedances']);
      for (const r of requests) {
        expect(r.auth).toBe('Bearer tok-123');
        expect(r.url).toContain(`from=${from}&to=${from + 86_400_000}`);
      }
    } finally {
      await new Promise<void>((r) => api.close(() => r()));
    }
  });

  it('a failing API section is reported as missing, the rest is still written', async () => {
    const api = http.createServer((req, res) => {
      const p = new URL(req.url!, 'http://x').pathname;
      if (p === '/api/alerts') return void res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'E_AUTH_FORBIDDEN' }));
      const body = { '/api/history/coverage': given.coverage, '/api/history/air-index': given.air, '/api/history/noise-exceedances': given.noise }[p];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const dir = tempDir('report-');
    try {
      Object.assign(process.env, { CITY_API_URL: `http://127.0.0.1:${(api.address() as { port: number }).port}`, CITY_API_TOKEN: 'x', REPORT_DIR: dir });
      await helper.load(
        NODES,
        flowsOf('tab-report').filter((n) => n.id !== 'report-tick'),
      );
      helper.getNode('report-due').receive({ force: true, date: day });
      const csvFile = path.join(dir, `ops-report-${day}.csv`);
      await waitFor(() => fs.existsSync(path.join(dir, `ops-report-${day}.txt`)), 10_000, 20, 'report files');
      const csv = fs.readFileSync(csvFile, 'utf8');
      expect(csv).toContain('error,api,missing,,,alerts: HTTP 403 E_AUTH_FORBIDDEN');
      expect(csv).toContain('coverage,route-01/truck-01,share,75,%');
      expect(csv).not.toContain('alerts,truck_speeding');
    } finally {
      await new Promise<void>((r) => api.close(() => r()));
    }
  });

  it('is due once a day at REPORT_AT local time, not before', async () => {
    Object.assign(process.env, { REPORT_DIR: tempDir('report-'), CITY_TZ: 'America/Mexico_City' });
    process.env.REPORT_AT = '22:30';
    try {
      await helper.load(
        NODES,
        flowsOf('tab-report')
          .filter((n) => n.id === 'report-due' || n.id === 'tab-report')
          .map((n) => (n.id === 'report-due' ? { ...n, wires: [['probe']] } : n))
          .concat([{ id: 'probe', type: 'function', z: 'tab-report', func: 'return msg;', outputs: 1, wires: [[]] } as never]),
      );
      const due = helper.getNode('report-due');
      const probe = helper.getNode('probe');
      const got: { report: { date: string } }[] = [];
      probe.on('input', (m: { report: { date: string } }) => got.push(m));
      due.receive({ now: Date.UTC(2025, 5, 3, 4, 29) }); // 22:29 local, 2 June
      due.receive({ now: Date.UTC(2025, 5, 3, 4, 30) }); // 22:30 → due
      due.receive({ now: Date.UTC(2025, 5, 3, 4, 31) }); // already done today
      await new Promise((r) => setTimeout(r, 200));
      expect(got.map((m) => m.report.date)).toEqual(['2025-06-02']);
    } finally {
      delete process.env.REPORT_AT;
    }
  });
});
