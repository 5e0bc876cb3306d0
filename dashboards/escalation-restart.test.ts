/**
 * Escalation survives a restart of Node-RED: a critical alert opens, Node-RED (the real child
 * process with the shipped flows and settings) is stopped before the escalation is due and
 * started again on the same user dir; the escalation still fires — on MQTT and to the webhook —
 * when it was due, not a full delay after the restart, and only once.
 */
import http from 'node:http';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { svcTopics, type AlertEvent } from '../contract';
import { startBroker, type BrokerHandle } from '../broker/index';
import { RegistryView } from '../registry/registry';
import { createLogger } from '../lib/log';
import { tempDir, waitFor } from '../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../testing/registry-fixture';
import { startNodeRed, type NodeRedHandle } from './node-red';

const log = createLogger('nr-restart-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const DELAY_MIN = 0.5; // 30 s: longer than a Node-RED restart on a loaded machine
let registry: RegistryView;
let broker: BrokerHandle;
let webhook: http.Server;
let webhookUrl: string;
const posted: { at: number; body: AlertEvent }[] = [];
const clients: MqttClient[] = [];
let nr: NodeRedHandle | null = null;
let userDir: string;

const connect = async (id: string) => {
  const c = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { username: id, password: TEST_PASSWORD(id), clientId: `${id}-esc-${clients.length}`, reconnectPeriod: 0 });
  clients.push(c);
  await new Promise<void>((resolve, reject) => c.once('connect', () => resolve()).once('error', reject));
  return c;
};
const nodeRedSubscribed = () =>
  new Promise<void>((resolve) => {
    const on = (subs: { topic: string }[], client: { id: string }) => {
      if (client?.id?.startsWith('nodered-') && subs.some((s) => s.topic === svcTopics.alertAll)) {
        broker.aedes.off('subscribe', on);
        resolve();
      }
    };
    broker.aedes.on('subscribe', on);
  });
const start = () =>
  startNodeRed({
    port: 0,
    userDir,
    credentialSecret: 'test-credential-secret',
    mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, username: 'nodered', password: TEST_PASSWORD('nodered') },
    apiUrl: 'http://127.0.0.1:9',
    adminPassword: 'correct horse',
    webhookUrl,
    escalateAfterMin: DELAY_MIN,
    log,
  });

beforeAll(async () => {
  const dir = tempDir('nr-esc-');
  userDir = path.join(dir, 'node-red');
  registry = new RegistryView(writeTestRegistry(dir));
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
}, 30_000);

afterAll(async () => {
  await nr?.stop();
  await Promise.all(clients.map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
  await new Promise<void>((r) => webhook.close(() => r()));
  await broker?.stop();
  registry?.close();
});

describe('escalation across a Node-RED restart', () => {
  it('a pending escalation still fires on time after Node-RED restarts', async () => {
    let subscribed = nodeRedSubscribed();
    nr = await start();
    await subscribed;

    const seen: { at: number; e: AlertEvent }[] = [];
    const watcher = await connect('console');
    watcher.on('message', (_t, buf) => seen.push({ at: Date.now(), e: JSON.parse(buf.toString()) as AlertEvent }));
    await new Promise<void>((r, j) => watcher.subscribe(svcTopics.alertAll, { qos: 1 }, (err) => (err ? j(err) : r())));
    const ingest = await connect('ingest');
    const openedAt = Date.now();
    const open: AlertEvent = {
      alertId: 'hotlist.cam-01.XYZ123.restart',
      event: 'open',
      at: openedAt,
      rule: 'hotlist',
      severity: 'critical',
      deviceId: 'cam-01',
      kind: 'camera',
      district: 'Entrada Sur',
      title: 'Hotlisted plate XYZ123',
      code: 'hotlist',
      params: { plate: 'XYZ123', region: 'VER', direction: 'entering', road: 'Carretera', reason: 'robo' },
      by: 'rules',
    };
    await new Promise<void>((r, j) => ingest.publish(svcTopics.alert(open.alertId), JSON.stringify(open), { qos: 1 }, (err) => (err ? j(err) : r())));
    // give the flow time to take it and the file context store its 1 s flush
    await new Promise((r) => setTimeout(r, 2500));

    // restart before it is due
    await nr.stop();
    nr = null;
    expect(Date.now() - openedAt).toBeLessThan(DELAY_MIN * 60_000);
    subscribed = nodeRedSubscribed();
    nr = await start();
    await subscribed;
    const restartedAt = Date.now();

    const dueAt = openedAt + DELAY_MIN * 60_000;
    const esc = (await waitFor(() => seen.find((s) => s.e.event === 'escalate'), DELAY_MIN * 60_000 + 30_000, 100, 'escalate after restart'))!;
    expect(esc.e).toMatchObject({ alertId: open.alertId, severity: 'critical', by: 'nodered', code: 'hotlist' });
    // on time: not before it was due, and not a whole delay after the restart
    expect(esc.at).toBeGreaterThanOrEqual(dueAt - 100);
    expect(esc.at).toBeLessThan(Math.max(dueAt, restartedAt) + 5000);
    await waitFor(() => posted.length >= 1 || null, 10_000, 50, 'webhook');
    expect(posted[0]!.body).toMatchObject({ alertId: open.alertId, event: 'escalate' });
    // once only
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen.filter((s) => s.e.event === 'escalate')).toHaveLength(1);
  }, 150_000);
});
