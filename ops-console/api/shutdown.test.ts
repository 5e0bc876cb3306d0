/**
 * Shutdown order: an API linked to a real Aedes broker (broker/index.ts) that is stopped while
 * alert events keep arriving ends its MQTT link first and closes the ops DB last, so no alert
 * event reaches a closed database (no E_ALERT_STORE in the log) and stop() resolves.
 */
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { svcTopics, type AlertEvent } from '../../contract';
import { waitFor } from '../../testing/net';
import { TEST_PASSWORD } from '../../testing/registry-fixture';
import { startConsoleStack, type ConsoleStack } from './test-support';

let stack: ConsoleStack | undefined;
let ingest: MqttClient | undefined;

afterAll(async () => {
  await ingest?.endAsync(true);
  await stack?.stop();
});

describe('API shutdown while alert events arrive', () => {
  it('ends the MQTT link before closing the ops DB: no E_ALERT_STORE, stop() resolves', async () => {
    const lines: { level: number; code?: string; msg?: string }[] = [];
    const dest = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as { level: number; code?: string });
        cb();
      },
    });
    const log = pino({ level: 'info' }, dest);
    stack = await startConsoleStack('console-shutdown-', { jwtSecret: 'shutdown-test', log });
    const { api, broker } = stack;
    ingest = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: 'ingest', password: TEST_PASSWORD('ingest'), clientId: 'ingest-shutdown', reconnectPeriod: 0 });

    // a steady stream of alert events (open, then updates) until the test ends
    let n = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        const i = n++;
        const ev: AlertEvent = {
          alertId: `noise:noise-01:${i % 50}`,
          event: i < 50 ? 'open' : 'update',
          at: Date.now(),
          rule: 'noise',
          severity: 'warning',
          deviceId: 'noise-01',
          kind: 'noise',
          district: 'Centro',
          title: `Ruido ${i}`,
        };
        ingest!.publish(svcTopics.alert(ev.alertId), JSON.stringify(ev), { qos: 0 });
        if (i % 5 === 4) await new Promise((res) => setTimeout(res, 10));
      }
    })();
    // the API is storing them
    await waitFor(async () => (await api.app.alerts.list({ limit: 100 })).length >= 10, 10_000, 20, 'alerts stored');
    const t0 = Date.now();
    const stopped = await Promise.race([api.stop().then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 15_000))]);
    console.log(`stop() took ${Date.now() - t0} ms after ${n} events`);
    // keep publishing a little after the stop, then stop the stream
    await new Promise((res) => setTimeout(res, 200));
    streaming = false;
    await stream;
    expect(stopped).toBe(true);
    expect(n).toBeGreaterThan(100);
    const storeErrors = lines.filter((l) => l.code === 'E_ALERT_STORE');
    expect(storeErrors).toEqual([]);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  }, 40_000);
});
