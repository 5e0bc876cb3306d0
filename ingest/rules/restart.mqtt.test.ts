/**
 * Alerts across a restart, and faults reported as what they are, end to end: real Aedes broker,
 * real ingest worker on a real DuckDB store, real MQTT device clients; the alerts are read where
 * the console reads them (city/v1/svc/alerts/+).
 *
 * Restart: offline alerts open before (last will), ingest stops (Ctrl-C), the devices come back —
 * one while ingest is down, one after it started again — and the new rule engine, started on the
 * previous one's state file, resolves both under their ids and opens no second alert.
 */
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic, svcTopics, type AlertEvent } from '../../contract';
import { waitFor } from '../../testing/net';
import type { IngestHandle } from '../index';
import { publish, startStack, testLog, type Stack } from '../test-support';
import { createRuleEngine, type CityRuleEngine } from './index';

let stack: Stack;
let stateFile: string;
const alerts: AlertEvent[] = [];
const engines: CityRuleEngine[] = [];

const startWorker = (): Promise<IngestHandle> =>
  stack.startIngest({
    rules: ({ publish: pub }) => {
      const e = createRuleEngine({ registry: stack.registry, publish: pub, log: testLog(), stateFile, config: { device: { startupGraceMs: 3_600_000, authRefusedMinCount: 2 } } });
      engines.push(e);
      return e;
    },
  });

const will = (kind: 'truck' | 'air' | 'camera', id: string) => ({
  will: { topic: deviceTopic(kind, id, 'presence'), payload: Buffer.from(JSON.stringify({ state: 'offline', reason: 'last will' })), qos: 1 as const, retain: true },
});
const online = (c: MqttClient, kind: 'truck' | 'air' | 'camera', id: string) => publish(c, deviceTopic(kind, id, 'presence'), JSON.stringify({ state: 'online', ts: Date.now() }), { retain: true });
const drop = (c: MqttClient) => (c as unknown as { stream: { destroy(): void } }).stream.destroy();
const of = (rule: string, id: string, event?: string) => alerts.filter((a) => a.rule === rule && a.deviceId === id && (!event || a.event === event));

beforeAll(async () => {
  stack = await startStack(null);
  stateFile = path.join(stack.dir, 'rules-state.json');
  await startWorker();
  const watcher = await stack.connect('console');
  watcher.on('message', (_t, buf) => {
    try {
      alerts.push(JSON.parse(buf.toString()) as AlertEvent);
    } catch {
      /* not an alert */
    }
  });
  await new Promise<void>((resolve, reject) => watcher.subscribe(svcTopics.alertAll, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

describe('alerts across an ingest restart (takeover)', () => {
  it('offline alerts open before, devices back after: the stale ones resolve under their ids, none duplicated', async () => {
    const t1 = await stack.connect('truck-01', will('truck', 'truck-01'));
    const t2 = await stack.connect('truck-02', will('truck', 'truck-02'));
    await online(t1, 'truck', 'truck-01');
    await online(t2, 'truck', 'truck-02');
    await waitFor(() => stack.ingest!.liveState('truck-02')?.online === true || null, 10_000, 50, 'presence seen');
    drop(t1);
    drop(t2);
    const open1 = (await waitFor(() => of('offline', 'truck-01', 'open')[0], 10_000, 50, 'truck-01 offline'))!;
    const open2 = (await waitFor(() => of('offline', 'truck-02', 'open')[0], 10_000, 50, 'truck-02 offline'))!;
    expect(open1).toMatchObject({ code: 'offline.last_will', severity: 'warning' });

    // Ctrl-C: ingest stops cleanly (its engine writes the state file)
    await stack.ingest!.stop();
    // truck-01 comes back while ingest is down (its presence waits in ingest's persistent session)
    const back1 = (await waitFor(() => stack.connect('truck-01').catch(() => null), 10_000, 100, 'truck-01 reconnect'))!;
    await online(back1, 'truck', 'truck-01');

    // npm start: a new worker and rule engine on the same state file
    const w2 = await startWorker();
    const engine2 = engines.at(-1)!;
    expect(engine2.stats().takenOver).toBeGreaterThanOrEqual(1);
    const resolved1 = (await waitFor(() => of('offline', 'truck-01', 'auto_resolve')[0], 15_000, 50, 'truck-01 resolved after restart'))!;
    expect(resolved1.alertId).toBe(open1.alertId);
    expect(engine2.openAlerts().find((a) => a.alertId === open2.alertId)).toBeDefined(); // still down: still open, same id

    // truck-02 comes back after the restart
    const back2 = (await waitFor(() => stack.connect('truck-02').catch(() => null), 10_000, 100, 'truck-02 reconnect'))!;
    await online(back2, 'truck', 'truck-02');
    const resolved2 = (await waitFor(() => of('offline', 'truck-02', 'auto_resolve')[0], 15_000, 50, 'truck-02 resolved'))!;
    expect(resolved2.alertId).toBe(open2.alertId);
    expect(of('offline', 'truck-01', 'open')).toHaveLength(1);
    expect(of('offline', 'truck-02', 'open')).toHaveLength(1);
    expect(engine2.openAlerts().filter((a) => a.spec.rule === 'offline')).toEqual([]);
    expect(w2.liveState('truck-02')?.online).toBe(true);
  });

  it('wrong credentials: credentials_refused from the broker, the live state offline and why; a good login resolves it', async () => {
    const cam = await stack.connect('cam-01', will('camera', 'cam-01'));
    await online(cam, 'camera', 'cam-01');
    await waitFor(() => stack.ingest!.liveState('cam-01')?.online === true || null, 10_000, 50, 'cam online');
    await new Promise<void>((r) => cam.end(false, {}, () => r()));
    for (let i = 0; i < 3; i++) await stack.connect('cam-01', { password: 'not-the-password' }).catch(() => null);
    const refused = (await waitFor(() => of('credentials_refused', 'cam-01', 'open')[0], 10_000, 50, 'credentials_refused'))!;
    expect(refused).toMatchObject({ severity: 'critical', code: 'credentials_refused', params: expect.objectContaining({ reason: 'bad_password' }) });
    const st = (await waitFor(() => (stack.ingest!.liveState('cam-01')?.online === false ? stack.ingest!.liveState('cam-01') : null), 10_000, 50, 'live state'))!;
    expect(st.issue).toMatchObject({ code: 'credentials_refused', reason: 'bad_password' });
    expect(of('offline', 'cam-01', 'open')).toEqual([]);
    const good = await stack.connect('cam-01');
    await online(good, 'camera', 'cam-01');
    const resolved = (await waitFor(() => of('credentials_refused', 'cam-01', 'auto_resolve')[0], 10_000, 50, 'refusal resolved'))!;
    expect(resolved.alertId).toBe(refused.alertId);
    await waitFor(() => (stack.ingest!.liveState('cam-01')?.issue === null ? true : null), 10_000, 50, 'issue cleared');
  });

  it('a clock 600 s ahead: every reading dead-lettered, and the alert is clock_skew.rejected, not offline', async () => {
    const air = await stack.connect('air-01', will('air', 'air-01'));
    await online(air, 'air', 'air-01');
    for (let i = 0; i < 4; i++) await publish(air, deviceTopic('air', 'air-01', 'air'), JSON.stringify({ ts: Date.now() + 600_000 + i, windowS: 60, o3: 0.02 }));
    const skew = (await waitFor(() => of('clock_skew', 'air-01', 'open')[0], 10_000, 50, 'clock skew'))!;
    expect(skew.code).toBe('clock_skew.rejected');
    expect(Number(skew.params!.skewS)).toBeGreaterThanOrEqual(598);
    expect(stack.ingest!.liveState('air-01')?.issue).toMatchObject({ code: 'clock_skew.rejected', reason: 'future_timestamp' });
    expect(of('offline', 'air-01')).toEqual([]);
  });
});
