/**
 * The demo city's provisioned registry (low scrypt cost) in a fresh temp dir, served by a real
 * broker on a free loopback port; and an admin client that watches every device topic.
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { startBroker, type BrokerHandle } from '../broker/index';
import { provisionDemo, readServiceSecrets } from '../demo/provision';
import { RegistryView } from '../registry/registry';
import type { Logger } from '../lib/log';
import { tempDir } from './net';

export interface DemoBroker {
  /** the data dir: registry.json, devices/*.json, the service secrets */
  dir: string;
  servicesFile: string;
  cityFile: string;
  registry: RegistryView;
  broker: BrokerHandle;
  url: string;
}

export async function startDemoBroker(log: Logger): Promise<DemoBroker> {
  const dir = tempDir();
  const p = provisionDemo(dir, { cost: 1024 });
  const registry = new RegistryView(p.registryFile);
  const broker = await startBroker({ registry, port: 0, log });
  return { dir, servicesFile: p.servicesFile, cityFile: p.cityFile, registry, broker, url: `mqtt://127.0.0.1:${broker.port}` };
}

/** The admin service, connected and subscribed (QoS 1) to every device topic. */
export async function watchDevices(demo: DemoBroker, clientId: string, onMessage: (topic: string, payload: Buffer, packet: IPublishPacket) => void): Promise<MqttClient> {
  const svc = readServiceSecrets(demo.servicesFile);
  const admin = mqtt.connect(demo.url, { clientId, username: svc.admin.username, password: svc.admin.password, reconnectPeriod: 0 });
  await new Promise<void>((res, rej) => (admin.once('connect', () => res()), admin.once('error', rej)));
  await admin.subscribeAsync('city/v1/+/+/+', { qos: 1 });
  admin.on('message', onMessage);
  return admin;
}
