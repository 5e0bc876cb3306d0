/**
 * Two municipalities on one broker, over real sockets (broker/tenant.ts): the same device id in
 * both cities, each city's clients on the normal city/v1 topics, nothing crossing between them.
 * Also pins the Aedes 1.2 behaviour the mount point relies on: authorizeSubscribe's in-place
 * filter is what Aedes stores and restores, authorizeForward's edit reaches live deliveries,
 * retained messages, the offline queue and wills.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { deviceTopic, SUB_ALL_DEVICE_DATA } from '../contract';
import { RegistryView } from '../registry/registry';
import { TEST_PASSWORD, writeTestRegistry } from '../testing/registry-fixture';
import { tempDir, waitFor } from '../testing/net';
import { startBroker, type BrokerHandle } from './index';
import { CONNACK } from './auth';
import { collect, grants, testLog } from './test-support';
import { mountOf, qualifyClientId, splitTenant, unmount } from './tenant';

const A = 'coatzacoalcos';
const B = 'minatitlan';

interface Two {
  broker: BrokerHandle;
  url: string;
  connect(tenant: string, id: string, opts?: IClientOptions, onClient?: (c: MqttClient) => void): Promise<MqttClient>;
  refusedCode(username: string, password: string): Promise<number>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function twoCities(persistence: { kind: 'memory' } | { kind: 'level'; dir: string } = { kind: 'memory' }, port = 0): Promise<Two> {
  // the same test registry (same device ids, same passwords) in both cities: only the tenant differs
  const regs = new Map([A, B].map((t) => [t, new RegistryView(writeTestRegistry(tempDir(`tenants-${t}-`)))] as const));
  const broker = await startBroker({ registry: regs.get(A)!, tenants: regs, port, log: testLog(), persistence });
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const clients: MqttClient[] = [];
  cleanups.push(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await broker.stop();
    for (const r of regs.values()) r.close();
  });
  return {
    broker,
    url,
    async connect(tenant, id, opts = {}, onClient?: (c: MqttClient) => void) {
      const c = mqtt.connect(url, { username: `${tenant}:${id}`, password: TEST_PASSWORD(id), clientId: id, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
      clients.push(c);
      // listeners first: a queued message can arrive in the same read as the CONNACK (broker/test-support.ts connectCollecting)
      onClient?.(c);
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
        c.once('close', () => reject(new Error(`${tenant}:${id} closed before CONNACK`)));
      });
      c.on('error', () => {});
      return c;
    },
    refusedCode(username, password) {
      const c = mqtt.connect(url, { username, password, clientId: splitTenant(username)?.id ?? username, reconnectPeriod: 0 });
      clients.push(c);
      return new Promise<number>((resolve, reject) => {
        c.once('connect', () => reject(new Error(`${username} was accepted`)));
        c.once('error', (err) => resolve((err as { code?: number }).code ?? -1));
      });
    },
  };
}

const quiet = () => new Promise((r) => setTimeout(r, 300));
const airTopic = deviceTopic('air', 'air-01', 'air');

describe('tenants: mount points (pure)', () => {
  it('qualifies the client id once and unmounts only its own tenant', () => {
    const p = { clientId: 'air-01', username: `${A}:air-01` };
    qualifyClientId(p);
    qualifyClientId(p);
    expect(p.clientId).toBe(`${A}:air-01`);
    expect(unmount({ tenant: A }, `${mountOf(A)}city/v1/#`)).toBe('city/v1/#');
    expect(unmount({ tenant: A }, `${mountOf(B)}city/v1/#`)).toBe(`${mountOf(B)}city/v1/#`);
    expect(unmount({}, `${mountOf(A)}x`)).toBe(`${mountOf(A)}x`);
  });
});

describe('tenants: two cities on one broker (real sockets)', () => {
  it('the same device id in both cities: two sessions, each city sees only its own readings, on the normal topics', async () => {
    const t = await twoCities();
    const ingestA = await t.connect(A, 'ingest');
    const ingestB = await t.connect(B, 'ingest');
    await ingestA.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
    await ingestB.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
    const gotA = collect(ingestA);
    const gotB = collect(ingestB);
    const devA = await t.connect(A, 'air-01');
    const devB = await t.connect(B, 'air-01'); // not a takeover of A's air-01
    await devA.publishAsync(airTopic, 'from-A', { qos: 1 });
    await devB.publishAsync(airTopic, 'from-B', { qos: 1 });
    await waitFor(() => gotA.length >= 1 && gotB.length >= 1, 5000, 20, 'deliveries');
    await quiet();
    expect(gotA).toEqual([{ topic: airTopic, payload: 'from-A', retain: false }]);
    expect(gotB).toEqual([{ topic: airTopic, payload: 'from-B', retain: false }]);
    expect(devA.connected && devB.connected).toBe(true);
    // the broker itself holds both sessions, under qualified client ids
    const ids = Object.keys((t.broker.aedes as unknown as { clients: Record<string, unknown> }).clients);
    expect(ids).toEqual(expect.arrayContaining([`${A}:air-01`, `${B}:air-01`, `${A}:ingest`, `${B}:ingest`]));
  });

  it('a device of city A can neither publish nor subscribe under city B', async () => {
    const t = await twoCities();
    const adminB = await t.connect(B, 'admin');
    await adminB.subscribeAsync('#', { qos: 1 });
    const seenByB = collect(adminB);
    const devA = await t.connect(A, 'air-01');
    // subscribing B's namespace, mounted or not, is refused (granted 128) or lands in A's own
    expect(await grants(devA, [`${mountOf(B)}city/v1/air/air-01/cmd`, `${mountOf(B)}#`, 'city/v1/#'])).toEqual({
      [`${mountOf(B)}city/v1/air/air-01/cmd`]: 128,
      [`${mountOf(B)}#`]: 128,
      'city/v1/#': 128,
    });
    // B's topics published by A's device: refused, and the connection is closed
    const closedA = new Promise<void>((r) => devA.once('close', () => r()));
    devA.publish(`${mountOf(B)}${airTopic}`, 'forged', { qos: 1 });
    await closedA;
    await quiet();
    expect(seenByB.filter((m) => m.payload === 'forged')).toEqual([]);

    // A's admin may publish anywhere — inside A: B's admin sees nothing of it
    const adminA = await t.connect(A, 'admin');
    await adminA.publishAsync(`${mountOf(B)}${airTopic}`, 'admin-a', { qos: 1 });
    await adminA.publishAsync(airTopic, 'admin-a-2', { qos: 1 });
    // and B's admin subscribing A's namespace gets it mounted under B: nothing of A
    const snoop = await t.connect(B, 'admin', { clientId: 'admin-snoop' });
    expect(await grants(snoop, [`${mountOf(A)}#`])).toEqual({ [`${mountOf(A)}#`]: 1 });
    const snooped = collect(snoop);
    await adminA.publishAsync(airTopic, 'admin-a-3', { qos: 1 });
    await quiet();
    expect(seenByB.map((m) => m.payload).filter((p) => p.startsWith('admin-a'))).toEqual([]);
    expect(snooped).toEqual([]);
  });

  it('a user name without a known tenant is refused: no default city', async () => {
    const t = await twoCities();
    expect(await t.refusedCode('air-01', TEST_PASSWORD('air-01'))).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
    expect(await t.refusedCode('veracruz:air-01', TEST_PASSWORD('air-01'))).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
    expect(await t.refusedCode(`${A}:air-99`, TEST_PASSWORD('air-99'))).toBe(CONNACK.NOT_AUTHORIZED); // retired in A
  });

  it('retained messages and wills stay in their city and arrive unmounted', async () => {
    const t = await twoCities();
    const presence = deviceTopic('air', 'air-01', 'presence');
    const devA = await t.connect(A, 'air-01', { will: { topic: presence, payload: Buffer.from('offline'), qos: 1, retain: true } });
    await devA.publishAsync(presence, 'online', { qos: 1, retain: true });
    const conA = await t.connect(A, 'console');
    const conB = await t.connect(B, 'console');
    const gotA = collect(conA);
    const gotB = collect(conB);
    await conA.subscribeAsync('city/v1/+/+/presence', { qos: 1 });
    await conB.subscribeAsync('city/v1/+/+/presence', { qos: 1 });
    await waitFor(() => gotA.length === 1, 5000, 20, 'retained presence');
    expect(gotA[0]).toEqual({ topic: presence, payload: 'online', retain: true });
    // the device's socket dies: its will goes to its own city only
    (devA as unknown as { stream: net.Socket }).stream.destroy();
    await waitFor(() => gotA.length === 2, 5000, 20, 'will');
    expect(gotA[1]).toMatchObject({ topic: presence, payload: 'offline' });
    await quiet();
    expect(gotB).toEqual([]);
  });

  it('a persistent session: its stored subscription is restored mounted and its offline queue is delivered unmounted (durable sessions)', async () => {
    const dir = tempDir('tenants-sessions-');
    const t = await twoCities({ kind: 'level', dir });
    const first = await t.connect(A, 'ingest', { clientId: 'ingest-1', clean: false });
    await first.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
    await first.endAsync();
    const devA = await t.connect(A, 'air-01');
    const devB = await t.connect(B, 'air-01');
    for (let i = 0; i < 3; i++) await devA.publishAsync(airTopic, `queued-${i}`, { qos: 1 });
    await devB.publishAsync(airTopic, 'b-not-for-a', { qos: 1 });

    let got: ReturnType<typeof collect> = [];
    await t.connect(A, 'ingest', { clientId: 'ingest-1', clean: false }, (c) => (got = collect(c)));
    await waitFor(() => got.length === 3, 5000, 20, 'queued messages');
    // and the restored subscription (stored mounted) still delivers live ones
    await devA.publishAsync(airTopic, 'live', { qos: 1 });
    await waitFor(() => got.length === 4, 5000, 20, 'live after restore');
    await quiet();
    expect(got.map((m) => [m.topic, m.payload])).toEqual([...[0, 1, 2].map((i) => [airTopic, `queued-${i}`]), [airTopic, 'live']]);
  });

  it("a refused device connection is reported to its own city's ingest (svc/auth), not the other's", async () => {
    const t = await twoCities();
    const ingestA = await t.connect(A, 'ingest');
    const ingestB = await t.connect(B, 'ingest');
    await ingestA.subscribeAsync('city/v1/svc/auth/+', { qos: 1 });
    await ingestB.subscribeAsync('city/v1/svc/auth/+', { qos: 1 });
    const gotA = collect(ingestA);
    const gotB = collect(ingestB);
    expect(await t.refusedCode(`${A}:air-01`, 'wrong')).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
    await waitFor(() => gotA.length === 1, 5000, 20, 'svc/auth report');
    expect(gotA[0]!.topic).toBe('city/v1/svc/auth/air-01');
    expect(JSON.parse(gotA[0]!.payload)).toMatchObject({ deviceId: 'air-01', reason: 'bad_password' });
    await quiet();
    expect(gotB).toEqual([]);
  });
});
