/**
 * Escalation of alerts Node-RED never heard of: Node-RED (the real child process with the shipped
 * flows) is stopped; meanwhile critical alerts open, one is acknowledged, two are resolved (one of
 * them was already pending in Node-RED's store) — through the real broker and the real console
 * API, which keeps them in its DuckDB. Node-RED starts again, logs in to the API as the `nodered`
 * service (a planner that sees alerts as the bus shows them: the real ids, plates in them) and
 * reconciles with it: the alert opened while it was down escalates when its delay from the
 * opening is up, the one whose deadline passed while it was down escalates at once, each once,
 * on MQTT (folded by the API: escalated) and to the webhook (a real local HTTP server); the
 * acknowledged, resolved and non-critical ones never escalate.
 */
import http from 'node:http';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { svcTopics, type AlertEvent } from '../contract';
import { hashPasswordSync } from '../registry/credentials';
import { createLogger } from '../lib/log';
import { startConsoleStack, USERS, type ConsoleStack } from '../ops-console/api/test-support';
import type { Alert } from '../ops-console/shared/live';
import { waitFor } from '../testing/net';
import { TEST_PASSWORD } from '../testing/registry-fixture';
import { startNodeRed, type NodeRedHandle } from './node-red';

const log = createLogger('nr-reconcile-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const DELAY_MIN = 0.5; // 30 s: longer than a Node-RED start on a loaded machine
const DELAY_MS = DELAY_MIN * 60_000;
// the hotlist rule puts the plate in the id (a planner gets it redacted; the escalation needs the real one)
const A_ID = `hotlist.cam-01.XYZ123.${Date.now()}`;
const B_ID = `hotlist.cam-01.XYZ123.${Date.now() - 1}`;
let stack: ConsoleStack;
let api: string;
let webhook: http.Server;
let webhookUrl: string;
const posted: { at: number; body: AlertEvent }[] = [];
const clients: MqttClient[] = [];
let nr: NodeRedHandle | null = null;
let userDir: string;

const connect = async (id: string) => {
  const c = mqtt.connect(`mqtt://127.0.0.1:${stack.broker.port}`, { username: id, password: TEST_PASSWORD(id), clientId: `${id}-reconcile-${clients.length}`, reconnectPeriod: 0 });
  clients.push(c);
  await new Promise<void>((resolve, reject) => c.once('connect', () => resolve()).once('error', reject));
  return c;
};
const nodeRedSubscribed = () =>
  new Promise<void>((resolve) => {
    const on = (subs: { topic: string }[], client: { id: string }) => {
      if (client?.id?.startsWith('nodered-') && subs.some((s) => s.topic === svcTopics.alertAll)) {
        stack.broker.aedes.off('subscribe', on);
        resolve();
      }
    };
    stack.broker.aedes.on('subscribe', on);
  });
const operator = USERS.find((u) => u.role === 'operator')!;
const start = () =>
  startNodeRed({
    port: 0,
    userDir,
    credentialSecret: 'test-credential-secret',
    mqtt: { url: `mqtt://127.0.0.1:${stack.broker.port}`, username: 'nodered', password: TEST_PASSWORD('nodered') },
    apiUrl: api,
    apiUsername: 'nodered',
    apiPassword: TEST_PASSWORD('nodered'),
    adminPassword: null,
    webhookUrl,
    escalateAfterMin: DELAY_MIN,
    log,
  });
const token = async (u: { username: string; password: string }) => {
  const res = await fetch(`${api}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u.username, password: u.password }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
};
const getAlert = async (t: string, id: string): Promise<Alert | null> => {
  const res = await fetch(`${api}/api/alerts/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${t}` } });
  return res.status === 200 ? ((await res.json()) as Alert) : null;
};

beforeAll(async () => {
  // Node-RED's console login as npm start makes it (launcher/stack.ts: the registry's nodered account, a planner)
  stack = await startConsoleStack('nr-reconcile-', {
    jwtSecret: 'reconcile-test-secret-reconcile-test-secret',
    serviceUsers: [{ username: 'nodered', role: 'planner', passwordHash: hashPasswordSync(TEST_PASSWORD('nodered')) }],
  });
  api = `http://127.0.0.1:${stack.api.port}`;
  userDir = path.join(stack.dir, 'node-red');
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
}, 30_000);

afterAll(async () => {
  await nr?.stop();
  await Promise.all(clients.map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
  await new Promise<void>((r) => webhook.close(() => r()));
  await stack?.stop();
});

describe('escalation reconciled with the console API after Node-RED was down', () => {
  it('escalates alerts opened while it was down on time, once; never the acknowledged or resolved ones', async () => {
    const op = await token(operator);
    const seen: { at: number; e: AlertEvent }[] = [];
    const watcher = await connect('console');
    watcher.on('message', (_t, buf) => seen.push({ at: Date.now(), e: JSON.parse(buf.toString()) as AlertEvent }));
    await new Promise<void>((r, j) => watcher.subscribe(svcTopics.alertAll, { qos: 1 }, (err) => (err ? j(err) : r())));
    const ingest = await connect('ingest');
    const open = async (id: string, at: number, severity: AlertEvent['severity'] = 'critical') => {
      const ev: AlertEvent = {
        alertId: id,
        event: 'open',
        at,
        rule: 'hotlist',
        severity,
        deviceId: 'cam-01',
        kind: 'camera',
        district: 'Entrada Sur',
        title: `Hotlisted plate ${id}`,
        code: 'hotlist',
        params: { plate: 'XYZ123', region: 'VER', direction: 'entering', road: 'Carretera', reason: 'robo' },
        by: 'rules',
      };
      await new Promise<void>((r, j) => ingest.publish(svcTopics.alert(id), JSON.stringify(ev), { qos: 1 }, (err) => (err ? j(err) : r())));
      await waitFor(async () => (await getAlert(op, id))?.state === 'open' || null, 10_000, 50, `API has ${id}`);
    };
    const act = async (id: string, action: 'ack' | 'resolve') => {
      const res = await fetch(`${api}/api/alerts/${encodeURIComponent(id)}/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${op}`, 'content-type': 'application/json' },
        body: JSON.stringify(action === 'resolve' ? { note: 'atendida en campo' } : {}),
      });
      expect(res.status).toBe(200);
    };

    // Node-RED runs and hears P open: P is pending in its persistent store
    let subscribed = nodeRedSubscribed();
    nr = await start();
    await subscribed;
    const pOpened = Date.now();
    await open('hotlist.cam-01.P.pending', pOpened);
    await new Promise((r) => setTimeout(r, 2500)); // the file context store flushes every second
    await nr.stop();
    nr = null;

    // while Node-RED is down
    const aOpened = Date.now();
    await open(A_ID, aOpened); // → escalates at aOpened + delay
    await open(B_ID, aOpened - 2 * DELAY_MS); // deadline passed → at once
    await open('hotlist.cam-01.C.acked', aOpened);
    await act('hotlist.cam-01.C.acked', 'ack');
    await open('hotlist.cam-01.R.resolved', aOpened - 2 * DELAY_MS);
    await act('hotlist.cam-01.R.resolved', 'resolve');
    await act('hotlist.cam-01.P.pending', 'resolve'); // Node-RED knew it; resolved meanwhile
    await open('hotlist.cam-01.W.warning', aOpened - 2 * DELAY_MS, 'warning');
    expect(seen.filter((s) => s.e.event === 'escalate')).toHaveLength(0);

    subscribed = nodeRedSubscribed();
    nr = await start();
    await subscribed;
    const startedAt = Date.now();

    const escOf = (id: string) => seen.filter((s) => s.e.event === 'escalate' && s.e.alertId === id);
    const b = (await waitFor(() => escOf(B_ID)[0], 20_000, 50, 'overdue escalation after the start'))!;
    expect(b.at - startedAt).toBeLessThan(10_000); // at once (the first reconciliation)
    const a = (await waitFor(() => escOf(A_ID)[0], DELAY_MS + 20_000, 50, 'escalation of the alert opened while down'))!;
    // on time: its delay from the opening, not from Node-RED's start
    expect(a.at).toBeGreaterThanOrEqual(aOpened + DELAY_MS - 100);
    expect(a.at).toBeLessThan(Math.max(aOpened + DELAY_MS, startedAt) + 5000);
    expect(a.e).toMatchObject({ severity: 'critical', by: 'nodered', code: 'hotlist', deviceId: 'cam-01' });

    // past every other deadline (P's and R's are long gone) plus two reconciliations' worth of slack
    await waitFor(() => Date.now() > Math.max(pOpened, aOpened) + DELAY_MS + 3000 || null, DELAY_MS + 10_000, 100, 'deadlines passed');
    await waitFor(() => posted.length >= 2 || null, 10_000, 50, 'webhook calls');
    await new Promise((r) => setTimeout(r, 1500));
    // exactly once each, and only those two
    expect(
      seen
        .filter((s) => s.e.event === 'escalate')
        .map((s) => s.e.alertId)
        .sort(),
    ).toEqual([A_ID, B_ID].sort());
    expect(posted.map((p) => p.body.alertId).sort()).toEqual([A_ID, B_ID].sort());
    expect(posted.every((p) => p.body.event === 'escalate')).toBe(true);

    // the API folded the escalations into the alerts; the others are as the operator left them
    expect(await getAlert(op, A_ID)).toMatchObject({ state: 'open', escalated: true });
    expect(await getAlert(op, B_ID)).toMatchObject({ state: 'open', escalated: true });
    for (const [id, state] of [
      ['hotlist.cam-01.P.pending', 'resolved'],
      ['hotlist.cam-01.R.resolved', 'resolved'],
      ['hotlist.cam-01.C.acked', 'acknowledged'],
      ['hotlist.cam-01.W.warning', 'open'],
    ] as const) {
      const x = await getAlert(op, id);
      expect(x?.state).toBe(state);
      expect(x?.escalated).toBeFalsy();
    }
  }, 180_000);
});
