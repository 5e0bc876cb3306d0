/** Helpers for the broker's tests: a fresh registry + broker on loopback, and MQTT clients. */
import net from 'node:net';
import mqtt, { ErrorWithSubackPacket, type IClientOptions, type MqttClient } from 'mqtt';
import { createLogger } from '../lib/log';
import { RegistryView } from '../registry/registry';
import { TEST_PASSWORD, writeTestRegistry } from '../testing/registry-fixture';
import { startBroker, type BrokerHandle, type StartBrokerOptions } from './index';

export interface TestBroker {
  file: string;
  registry: RegistryView;
  broker: BrokerHandle;
  url: string;
  wsUrl: string;
  clients: MqttClient[];
  sockets: net.Socket[];
  /** connect as `id` (password pw-<id>, client id = id unless given) */
  connect(id: string, opts?: IClientOptions & { ws?: boolean }): Promise<MqttClient>;
  /**
   * connect and collect what arrives from the first byte on: the listener is attached before the
   * CONNACK, since a persistent session's queued messages can come in the same read as the CONNACK
   * (MQTT.js emits and acknowledges them before `await connect()` resumes).
   */
  connectCollecting(id: string, opts?: IClientOptions): Promise<{ client: MqttClient; got: ReturnType<typeof collect> }>;
  /** try to connect; resolves with the CONNACK return code of the refusal */
  refusedCode(id: string, opts?: IClientOptions): Promise<number>;
  raw(): Promise<net.Socket>;
  close(): Promise<void>;
}

export const testLog = () => createLogger('broker-test', process.env.TEST_LOG_LEVEL ?? 'silent');

export async function startTestBroker(extra: Partial<StartBrokerOptions> = {}): Promise<TestBroker> {
  const file = writeTestRegistry();
  const registry = new RegistryView(file);
  const broker = await startBroker({ registry, port: 0, wsPort: 0, log: testLog(), ...extra });
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const wsUrl = `ws://127.0.0.1:${broker.wsPort}/mqtt`;
  const clients: MqttClient[] = [];
  const sockets: net.Socket[] = [];
  const options = (id: string, opts: IClientOptions) => ({
    username: id,
    password: TEST_PASSWORD(id),
    clientId: id,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
  const t: TestBroker = {
    file,
    registry,
    broker,
    url,
    wsUrl,
    clients,
    sockets,
    async connect(id, opts = {}) {
      const { ws, ...rest } = opts;
      const c = mqtt.connect(ws ? wsUrl : url, options(id, rest));
      clients.push(c);
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
        c.once('close', () => reject(new Error(`connection of ${id} closed before CONNACK`)));
      });
      c.on('error', () => {});
      return c;
    },
    async connectCollecting(id, opts = {}) {
      const c = mqtt.connect(url, options(id, opts));
      clients.push(c);
      const got = collect(c);
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
        c.once('close', () => reject(new Error(`connection of ${id} closed before CONNACK`)));
      });
      c.on('error', () => {});
      return { client: c, got };
    },
    async refusedCode(id, opts = {}) {
      const c = mqtt.connect(url, options(id, opts));
      clients.push(c);
      return new Promise<number>((resolve, reject) => {
        c.once('connect', () => reject(new Error(`${id} was accepted`)));
        c.once('error', (err) => resolve((err as { code?: number }).code ?? -1));
      });
    },
    async raw() {
      const s = net.connect(broker.port, '127.0.0.1');
      sockets.push(s);
      s.on('error', () => {});
      await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      return s;
    },
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
      for (const s of sockets) s.destroy();
      await broker.stop();
      registry.close();
    },
  };
  return t;
}

/** Collect messages a client receives (topic → payload strings). */
export function collect(c: MqttClient): { topic: string; payload: string; retain: boolean }[] {
  const got: { topic: string; payload: string; retain: boolean }[] = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
  return got;
}

export function closed(c: MqttClient | net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (c instanceof net.Socket) {
      if (c.destroyed) return resolve();
      c.once('close', () => resolve());
    } else {
      if (c.disconnected) return resolve();
      c.once('close', () => resolve());
    }
  });
}

/** Subscribe and return the SUBACK's granted codes by filter (mqtt.js rejects when one is 128). */
export async function grants(c: MqttClient, filters: string[], qos: 0 | 1 | 2 = 1): Promise<Record<string, number>> {
  let granted: number[];
  try {
    granted = (await c.subscribeAsync(Object.fromEntries(filters.map((f) => [f, { qos }])))).map((g) => g.qos);
  } catch (err) {
    if (!(err instanceof ErrorWithSubackPacket)) throw err;
    granted = err.packet.granted as number[];
  }
  return Object.fromEntries(filters.map((f, i) => [f, granted[i]!]));
}

/** Count what is asked of a LevelDB (operations written, point reads, range scans), wrapping its methods in place. */
export function countLevelOps(db: object) {
  const counts = { ops: 0, reads: 0, scans: 0 };
  const wrap = (target: object, name: string, f: (args: unknown[], result: unknown) => void) => {
    const orig = (target as Record<string, (...a: unknown[]) => unknown>)[name]!;
    (target as Record<string, unknown>)[name] = function (this: unknown, ...a: unknown[]) {
      const result = orig.apply(this, a);
      f(a, result);
      return result;
    };
  };
  wrap(db, 'put', () => counts.ops++);
  wrap(db, 'del', () => counts.ops++);
  wrap(db, 'batch', (a, chained) => {
    if (Array.isArray(a[0])) counts.ops += a[0].length;
    else for (const m of ['put', 'del']) wrap(chained as object, m, () => counts.ops++); // db.batch().del(k).write()
  });
  wrap(db, 'get', () => counts.reads++);
  wrap(db, 'getMany', () => counts.reads++);
  for (const m of ['iterator', 'keys', 'values']) wrap(db, m, () => counts.scans++);
  return counts;
}
