/**
 * Helpers for ingest's end-to-end tests: a real broker (port 0), a real DuckDB store in a temp
 * file, the test registry, an ingest worker, and device / service MQTT clients.
 */
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startBroker, type BrokerHandle } from '../broker/index';
import { RegistryView } from '../registry/registry';
import { createLogger } from '../lib/log';
import { openDuckDbStore } from '../store/duckdb/index';
import type { TelemetryStore } from '../store/types';
import { tempDir } from '../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../testing/registry-fixture';
import { startIngest, type IngestHandle, type StartIngestOptions } from './index';

export const testLog = () => createLogger('ingest-test', process.env.TEST_LOG_LEVEL ?? 'silent');

/**
 * Connect as device or service `id` (password pw-<id>; a device's client id is its id, as the
 * broker requires; others get `<id>-<tag><n>`); the client joins `clients` for cleanup.
 */
export async function connectAs(url: string, registry: RegistryView, clients: MqttClient[], id: string, opts: IClientOptions = {}, tag = ''): Promise<MqttClient> {
  const c = mqtt.connect(url, { username: id, password: TEST_PASSWORD(id), clientId: registry.device(id) ? id : `${id}-${tag}${clients.length}`, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(c);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  c.on('error', () => {});
  return c;
}

export interface Stack {
  dir: string;
  registry: RegistryView;
  broker: BrokerHandle;
  store: TelemetryStore;
  url: string;
  ingest: IngestHandle | null;
  /** start an ingest worker on this stack (as the `ingest` service account) */
  startIngest(opts?: Partial<StartIngestOptions>): Promise<IngestHandle>;
  /** connect as device or service `id` (password pw-<id>; a device's client id is its id, as the broker requires) */
  connect(id: string, opts?: IClientOptions): Promise<MqttClient>;
  close(): Promise<void>;
}

export async function startStack(ingestOpts: Partial<StartIngestOptions> | null = {}): Promise<Stack> {
  const dir = tempDir('ingest-test-');
  const registry = new RegistryView(writeTestRegistry(dir));
  const broker = await startBroker({ registry, port: 0, log: testLog(), watchRegistry: false });
  const store = await openDuckDbStore({ file: path.join(dir, 'telemetry.duckdb'), threads: 1 });
  await store.init();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const clients: MqttClient[] = [];
  const workers: IngestHandle[] = [];
  const s: Stack = {
    dir,
    registry,
    broker,
    store,
    url,
    ingest: null,
    async startIngest(opts = {}) {
      const w = await startIngest({
        registry,
        store,
        mqttUrl: url,
        username: 'ingest',
        password: TEST_PASSWORD('ingest'),
        batchSize: 500,
        flushMs: 30,
        log: testLog(),
        ...opts,
      });
      workers.push(w);
      s.ingest = w;
      return w;
    },
    connect: (id, opts = {}) => connectAs(url, registry, clients, id, opts),
    async close() {
      await Promise.all(clients.map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
      for (const w of workers) await w.stop();
      await broker.stop();
      await store.close();
      registry.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  if (ingestOpts) await s.startIngest(ingestOpts);
  return s;
}

/** Publish at QoS 1 and wait for the broker's PUBACK. */
export function publish(c: MqttClient, topic: string, payload: string | Buffer, opts: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => c.publish(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false }, (err) => (err ? reject(err) : resolve())));
}

export const gpsFix = (ts: number, over: Record<string, unknown> = {}) => ({ ts, lat: 18.14, lon: -94.43, speedKmh: 25, heading: 180, hdop: 0.9, sats: 9, ...over });
