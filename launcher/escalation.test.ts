/**
 * Escalation is configuration of `npm start` and survives a restart of the whole stack: with
 * ESCALATION_WEBHOOK_URL (a real local HTTP server) and ESCALATION_DELAY_MIN set, a critical alert
 * opens while the stack runs without Node-RED; the stack stops (Ctrl-C) and starts again with
 * Node-RED, which logs in to the console API as `nodered`, finds the alert open and overdue, and
 * escalates it at once: one POST to the webhook, and the API has the alert escalated.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { svcTopics, type AlertEvent } from '../contract';
import { readServiceSecrets } from '../demo/provision';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/log';
import type { Alert } from '../ops-console/shared/live';
import { tempDir, waitFor } from '../testing/net';
import { startStack, type Stack } from './stack';

const log = createLogger('escalation-stack-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const DELAY_MIN = 0.2; // 12 s

describe('escalation through npm start', () => {
  const dataDir = tempDir('cityops-escalation-');
  const posted: { at: number; body: AlertEvent }[] = [];
  let stack: Stack | null = null;
  const webhook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      posted.push({ at: Date.now(), body: JSON.parse(body) as AlertEvent });
      res.writeHead(204).end();
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise<void>((r) => webhook.close(() => r()));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('ESCALATION_WEBHOOK_URL and ESCALATION_DELAY_MIN reach Node-RED; an alert opened before the restart escalates once after it', async () => {
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    const webhookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/escalaciones`;
    const cfg = loadConfig({
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      MQTT_PORT: '0',
      MQTT_WS_PORT: '0',
      HTTP_PORT: '0',
      METRICS_PORT: '0',
      NODE_RED_PORT: '0',
      SIM: 'off',
      LOG_LEVEL: 'silent',
      ESCALATION_WEBHOOK_URL: webhookUrl,
      ESCALATION_DELAY_MIN: String(DELAY_MIN),
    });

    // first run, without Node-RED: a critical alert opens (published as ingest's rules do)
    stack = await startStack(cfg, log, { nodeRed: false, sim: false });
    const secrets = readServiceSecrets(path.join(dataDir, 'services.json'));
    const api = () => `http://127.0.0.1:${stack!.ports.http}`;
    // Node-RED's own console login (a planner: reads alerts)
    const login = async () => {
      const res = await fetch(`${api()}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'nodered', password: secrets.nodered.password }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { token: string }).token;
    };
    const getAlert = async (token: string, id: string) => {
      const res = await fetch(`${api()}/api/alerts/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${token}` } });
      return res.status === 200 ? ((await res.json()) as Alert) : null;
    };
    const ingest = mqtt.connect(`mqtt://127.0.0.1:${stack.ports.mqtt}`, { username: 'ingest', password: secrets.ingest.password, clientId: 'ingest-escalation-test', reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => ingest.once('connect', () => resolve()).once('error', reject));
    const openedAt = Date.now();
    const open: AlertEvent = {
      alertId: `hotlist.cam-01.ABC1234.${openedAt}`,
      event: 'open',
      at: openedAt,
      rule: 'hotlist',
      severity: 'critical',
      deviceId: 'cam-01',
      kind: 'camera',
      district: 'Centro',
      title: 'Hotlisted plate ABC1234',
      code: 'hotlist',
      params: { plate: 'ABC1234', region: 'VER', direction: 'entering', road: 'Carretera', reason: 'robo' },
      by: 'rules',
    };
    await new Promise<void>((r, j) => ingest.publish(svcTopics.alert(open.alertId), JSON.stringify(open), { qos: 1 }, (err) => (err ? j(err) : r())));
    await new Promise<void>((r) => ingest.end(true, {}, () => r()));
    let token = await login();
    await waitFor(async () => (await getAlert(token, open.alertId))?.state === 'open' || null, 10_000, 50, 'the API has the alert');
    await stack.stop();
    stack = null;
    expect(posted).toEqual([]);

    // Ctrl-C, npm start again: with Node-RED, after the delay has passed
    await waitFor(() => Date.now() > openedAt + DELAY_MIN * 60_000 || null, DELAY_MIN * 60_000 + 1000, 100, 'deadline passed');
    stack = await startStack(cfg, log, { sim: false });
    const startedAt = Date.now();
    const hook = (await waitFor(() => posted[0], 30_000, 50, 'webhook call'))!;
    expect(hook.body).toMatchObject({ alertId: open.alertId, event: 'escalate', by: 'nodered', severity: 'critical', code: 'hotlist' });
    expect(hook.at - startedAt).toBeLessThan(15_000); // overdue: at once, not a delay after the start
    token = await login();
    await waitFor(async () => (await getAlert(token, open.alertId))?.escalated === true || null, 10_000, 50, 'the API folds the escalation');
    expect((await getAlert(token, open.alertId))!.history.filter((h) => h.event === 'escalate')).toHaveLength(1);
    // once only: past the next reconciliation (every 30 s), which finds it escalated
    await waitFor(() => Date.now() > startedAt + 33_000 || null, 40_000, 200, 'a reconciliation later');
    expect(posted).toHaveLength(1);
    expect((await getAlert(token, open.alertId))!.history.filter((h) => h.event === 'escalate')).toHaveLength(1);
  }, 180_000);
});
