import mqtt from 'mqtt';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerHandle } from '../broker/index';
import { startDemoBroker } from '../testing/demo-broker';
import { createLogger } from '../lib/log';
import { tempDir, waitFor } from '../testing/net';
import { addDevice, renderDevice, retireDevice, rotateCredentials } from './admin';
import { loadDeviceConfig, type DeviceConfig } from './device-config';
import type { RegistryView } from './registry';

const log = createLogger('fw-test', 'silent');

/** Connect like the device would, from its rendered config; resolves 'ok' or the refusal. */
function tryConnect(cfg: DeviceConfig, url: string, password = cfg.secret): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, {
      clientId: cfg.clientId,
      username: cfg.username,
      password,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      will: { topic: cfg.will.topic, payload: Buffer.from(cfg.will.payload), qos: 1, retain: true },
    });
    c.once('connect', () => {
      c.publish(cfg.topics.publish.status!, JSON.stringify({ ts: Date.now(), fw: '1.0.0', uptimeS: 1 }), { qos: 1 }, (err) => {
        c.end(true);
        resolve(err ? `publish failed: ${err.message}` : 'ok');
      });
    });
    c.once('error', (err) => {
      c.end(true);
      resolve(`refused: ${err.message}`);
    });
    // a registry reload may revoke the connection before the PUBACK: never wait for it forever
    c.once('close', () => resolve('closed before the acknowledgement'));
  });
}

describe('rendered device configs through a real broker', () => {
  let dir: string;
  let registry: RegistryView;
  let broker: BrokerHandle;
  let url: string;

  beforeAll(async () => {
    ({ dir, registry, broker, url } = await startDemoBroker(log));
  });
  afterAll(async () => {
    await broker?.stop();
    registry?.close();
  });

  it('a provisioned config connects and publishes; a rotated secret replaces the old one without a restart', async () => {
    const file = path.join(dir, 'registry.json');
    const cfg = loadDeviceConfig(path.join(dir, 'devices', 'air-01.json'));
    expect(await tryConnect(cfg, url)).toBe('ok');

    const out = tempDir();
    const { config: fresh } = renderDevice(file, 'air-01', out, { cost: 1024, brokerUrl: url, newSecret: true });
    expect(fresh.secret).not.toBe(cfg.secret);
    expect(fresh.broker.url).toBe(url);
    // the broker reloads the registry file: the old secret stops working, the new one works
    await waitFor(async () => (await tryConnect(cfg, url)).startsWith('refused'), 10_000, 200, 'old secret refused');
    expect(await tryConnect(fresh, url)).toBe('ok');
    expect(await tryConnect(fresh, url, cfg.secret)).toMatch(/refused: .*(Bad username or password|bad user name)/i);
  });

  it('an added device connects with its first secret; a retired one is refused', async () => {
    const file = path.join(dir, 'registry.json');
    const { secret } = addDevice(
      file,
      { id: 'noise-77', kind: 'noise', model: 'SLM', district: 'Centro', location: { lat: 18.14, lon: -94.44 }, noiseZone: 'school', intervals: { dataS: 60, statusS: 300 } },
      { cost: 1024 },
    );
    const out = tempDir();
    // render --new-secret issues a fresh secret: the add-time one is superseded
    const { config } = renderDevice(file, 'noise-77', out, { cost: 1024, brokerUrl: url, newSecret: true });
    expect(secret).not.toBe(config.secret);
    await waitFor(async () => (await tryConnect(config, url)) === 'ok', 10_000, 200, 'new device connects');
    const rot = rotateCredentials(file, 'noise-77', { cost: 1024 });
    await waitFor(async () => (await tryConnect({ ...config, secret: rot.secret }, url)) === 'ok', 10_000, 200, 'rotated secret works');
    retireDevice(file, 'noise-77');
    await waitFor(async () => (await tryConnect({ ...config, secret: rot.secret }, url)).startsWith('refused'), 10_000, 200, 'retired refused');
    expect(() => rotateCredentials(file, 'noise-77')).toThrow(/retired/);
  });
});
