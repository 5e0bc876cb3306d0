import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../broker/index';
import { RegistryView } from '../registry/registry';
import { createLogger } from '../lib/log';
import { writeTestRegistry } from '../testing/registry-fixture';
import { provisionLoadDevices, runLoad } from './load';

const log = createLogger('load-test', 'silent');

describe('load generator', () => {
  let registry: RegistryView;
  let broker: BrokerHandle;
  let file: string;
  beforeAll(async () => {
    file = writeTestRegistry();
    registry = new RegistryView(file);
    broker = await startBroker({ registry, port: 0, log });
  });
  afterAll(async () => {
    await broker?.stop();
    registry?.close();
  });

  it('connects N provisioned devices with their own credentials and reports the rate achieved and acked', async () => {
    const configs = provisionLoadDevices(file, 20, { kind: 'noise' });
    expect(registry.registry.devices.length).toBeGreaterThan(0);
    const progress: number[] = [];
    const r = await runLoad({ mqttUrl: `mqtt://127.0.0.1:${broker.port}`, configs, rate: 400, durationS: 3, onProgress: (p) => progress.push(p.sent) });
    expect(r.connected).toBe(20);
    expect(r.connectFailures).toEqual([]);
    expect(r.sent).toBeGreaterThan(900);
    expect(r.sent).toBeLessThanOrEqual(1300);
    expect(r.achievedRate).toBeGreaterThan(300);
    expect(r.acked).toBe(r.sent);
    expect(r.errors).toBe(0);
    expect(r.unacked).toBe(0);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(broker.metrics()).toBeDefined();
  });
});
