/**
 * GET /health/ready of an ingest worker (what a load balancer or systemd health check asks):
 * 200 while it is connected to the broker with a healthy store, 503 with a reason code when its
 * broker is gone, 200 again once it has reconnected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker } from '../broker/index';
import { waitFor } from '../testing/net';
import { startStack, testLog, type Stack } from './test-support';

describe('ingest readiness', () => {
  let stack: Stack | null = null;
  afterEach(async () => {
    await stack?.close();
    stack = null;
  });

  it('ready while connected; 503 broker_disconnected while its broker is down; ready again after the reconnect', async () => {
    stack = await startStack({ metricsPort: 0 });
    const port = stack.ingest!.metricsPort!;
    const ready = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      return { status: res.status, body: await res.json() };
    };
    expect(await ready()).toEqual({ status: 200, body: { ok: true } });
    const brokerPort = stack.broker.port;
    await stack.broker.stop();
    await waitFor(async () => (await ready()).status === 503, 10_000, 50, 'not ready');
    expect(await ready()).toEqual({ status: 503, body: { ok: false, reason: 'broker_disconnected' } });
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200); // alive all the same
    // the broker comes back on the same port: the worker reconnects and is ready again
    const again = await startBroker({ registry: stack.registry, port: brokerPort, log: testLog(), watchRegistry: false });
    try {
      await waitFor(async () => (await ready()).status === 200, 20_000, 100, 'ready again');
    } finally {
      await stack.ingest!.stop();
      await again.stop();
    }
  }, 60_000);
});
