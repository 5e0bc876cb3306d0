/**
 * Ingest delivery: it subscribes per device kind (city/v1/<kind>/+/+) plus svc/hotlist, so its own
 * svc/plate and the console's alert events never reach it; and its PUBACKs follow the order the
 * PUBLISHes arrived (MQTT-4.6.0-2), svc/hotlist included.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTopic, SUB_DEVICE_DATA_BY_KIND, svcTopics } from '../contract';
import { waitFor } from '../testing/net';
import { gpsFix, publish, startStack, type Stack } from './test-support';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

interface AedesLike {
  clients: Record<string, { subscriptions: Record<string, unknown> }>;
  on(ev: 'ack', fn: (packet: { topic?: string } | undefined, client: { id: string }) => void): void;
  on(ev: 'publish', fn: (packet: { topic: string }, client: { id: string } | null) => void): void;
}

describe('ingest delivery', () => {
  it('subscribes per device kind, svc/hotlist, svc/geofences and the broker refusals only; svc/plate and svc/alerts are not delivered to it', async () => {
    stack = await startStack();
    const aedes = stack.broker.aedes as unknown as AedesLike;
    await waitFor(() => aedes.clients['ingest-1'] && Object.keys(aedes.clients['ingest-1'].subscriptions).length >= SUB_DEVICE_DATA_BY_KIND.length + 2, 10_000, 20, 'ingest subscribed');
    expect(Object.keys(aedes.clients['ingest-1']!.subscriptions).sort()).toEqual([...SUB_DEVICE_DATA_BY_KIND, svcTopics.hotlist, svcTopics.geofences, svcTopics.authAll].sort());

    const deliveredToIngest: string[] = [];
    aedes.on('ack', (packet, client) => {
      if (client?.id === 'ingest-1' && packet?.topic) deliveredToIngest.push(packet.topic);
    });
    // the console publishes an alert event; a camera's plate read makes ingest publish svc/plate
    const consoleClient = await stack.connect('console');
    await consoleClient.publishAsync(
      svcTopics.alert('a-1'),
      JSON.stringify({ alertId: 'a-1', event: 'acknowledge', at: Date.now(), rule: 'noise', severity: 'warning', deviceId: 'noise-01', kind: 'noise', district: 'Centro', title: 'x', by: 'operador' }),
      { qos: 1 },
    ); // a console event the broker's alert ACL accepts
    const dev = await stack.connect('truck-02');
    const ts = Date.now() - 1000;
    await publish(dev, deviceTopic('truck', 'truck-02', 'gps'), JSON.stringify(gpsFix(ts)));
    await waitFor(() => deliveredToIngest.includes(deviceTopic('truck', 'truck-02', 'gps')), 10_000, 20, 'the device message acknowledged by ingest');
    expect(deliveredToIngest.filter((t) => t.includes('/svc/'))).toEqual([]);
  });

  it('PUBACKs in PUBLISH order: a svc/hotlist after a device message is acknowledged after it', async () => {
    // a long flush: the device message waits in an open batch while the hotlist arrives
    stack = await startStack({ flushMs: 800, batchSize: 5000 });
    const aedes = stack.broker.aedes as unknown as AedesLike;
    await waitFor(() => aedes.clients['ingest-1'], 10_000, 20, 'ingest connected');
    const acked: string[] = [];
    aedes.on('ack', (packet, client) => {
      if (client?.id === 'ingest-1' && packet?.topic) acked.push(packet.topic);
    });
    const dev = await stack.connect('truck-02');
    const consoleClient = await stack.connect('console');
    const gpsTopic = deviceTopic('truck', 'truck-02', 'gps');
    await publish(dev, gpsTopic, JSON.stringify(gpsFix(Date.now() - 1000)));
    await consoleClient.publishAsync(svcTopics.hotlist, JSON.stringify({ version: 1, entries: [] }), { qos: 1 });
    await waitFor(() => acked.length >= 2, 10_000, 20, 'both acknowledged by ingest');
    expect(acked).toEqual([gpsTopic, svcTopics.hotlist]);
  });
});
