import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashPasswordSync } from '../registry/credentials';
import { loadRegistryFile, saveRegistryFile } from '../registry/registry';
import { deviceTopic, SUB_ALL_DEVICE_DATA } from '../contract';
import { waitFor } from '../testing/net';
import { CONNACK } from './auth';
import { closed, collect, startTestBroker, type TestBroker } from './test-support';

let t: TestBroker;
beforeEach(async () => {
  t = await startTestBroker();
});
afterEach(async () => {
  await t.close();
});

describe('broker authentication', () => {
  it('right credentials: a device publishes and the ingest service receives it', async () => {
    const ingest = await t.connect('ingest', { clientId: 'ingest-1' });
    const got = collect(ingest);
    const granted = await ingest.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
    const dev = await t.connect('air-01');
    const topic = deviceTopic('air', 'air-01', 'air');
    await dev.publishAsync(topic, '{"pm25":12}', { qos: 1 });
    await waitFor(() => got.length === 1, 5000, 20, 'message at ingest');
    expect(got[0]).toEqual({ topic, payload: '{"pm25":12}', retain: false });
    const m = t.broker.metrics();
    expect(m.connects).toBe(2);
    expect(m.clientsConnected).toBe(2);
    expect(m.packetsIn).toBeGreaterThanOrEqual(4); // 2 CONNECT, SUBSCRIBE, PUBLISH
    expect(m.packetsOut).toBeGreaterThanOrEqual(5); // 2 CONNACK, SUBACK, PUBACK, PUBLISH
  });

  it('wrong password is refused with "bad user name or password" and counted', async () => {
    expect(await t.refusedCode('truck-01', { password: 'not-the-password' })).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
    expect(t.broker.metrics().authFailures).toEqual({ bad_password: 1 });
    expect(t.broker.metrics().connects).toBe(0);
  });

  it('unknown device is refused like a wrong password (ids cannot be probed)', async () => {
    expect(await t.refusedCode('truck-77')).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
    expect(t.broker.metrics().authFailures).toEqual({ unknown_user: 1 });
  });

  it('retired device (air-99) is refused with "not authorized"', async () => {
    expect(await t.refusedCode('air-99')).toBe(CONNACK.NOT_AUTHORIZED);
    expect(t.broker.metrics().authFailures).toEqual({ retired: 1 });
  });

  it('missing credentials are refused', async () => {
    expect(await t.refusedCode('truck-01', { username: undefined, password: undefined })).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
    expect(t.broker.metrics().authFailures).toEqual({ missing_credentials: 1 });
  });

  it("a device's client id must equal its device id; services may not use a device id", async () => {
    expect(await t.refusedCode('truck-01', { clientId: 'truck-02' })).toBe(CONNACK.IDENTIFIER_REJECTED);
    expect(await t.refusedCode('console', { clientId: 'truck-02' })).toBe(CONNACK.IDENTIFIER_REJECTED);
    expect(t.broker.metrics().authFailures).toEqual({ client_id_mismatch: 1, client_id_reserved: 1 });
  });

  it('client-id takeover by another identity is refused; the same identity replaces its old session', async () => {
    const first = await t.connect('ingest', { clientId: 'shared-id' });
    expect(await t.refusedCode('console', { clientId: 'shared-id' })).toBe(CONNACK.IDENTIFIER_REJECTED);
    expect(first.connected).toBe(true);
    expect(t.broker.metrics().authFailures).toEqual({ client_id_taken: 1 });

    const firstClosed = closed(first);
    const second = await t.connect('ingest', { clientId: 'shared-id' });
    await firstClosed;
    expect(second.connected).toBe(true);
    await waitFor(() => t.broker.metrics().clientsConnected === 1, 5000, 20, 'one client');

    // once the holder is gone, the id is free for another identity
    await second.endAsync();
    await waitFor(() => t.broker.metrics().clientsConnected === 0, 5000, 20, 'no client');
    const third = await t.connect('console', { clientId: 'shared-id' });
    expect(third.connected).toBe(true);
  });

  it('a reconnecting device is verified from the cache (no second scrypt run)', async () => {
    const a = await t.connect('truck-01');
    await a.endAsync();
    const b = await t.connect('truck-01');
    expect(b.connected).toBe(true);
    const m = t.broker.metrics();
    expect(m.authVerifications).toBe(1);
    expect(m.authCacheHits).toBe(1);
  });

  it('credential rotation: old password refused at once (cache too), new accepted, old session closed, no restart', async () => {
    const old = await t.connect('truck-01'); // primes the verify cache with the old secret
    const oldClosed = closed(old);
    const reloaded = new Promise<void>((resolve) => t.registry.onChange(() => resolve()));
    const reg = loadRegistryFile(t.file);
    const dev = reg.devices.find((d) => d.id === 'truck-01')!;
    dev.passwordHash = hashPasswordSync('rotated-secret', 1024);
    saveRegistryFile(t.file, reg);
    await reloaded;

    await oldClosed; // the connected client holding the old secret is revoked
    expect(t.broker.metrics().revoked).toBe(1);
    expect(await t.refusedCode('truck-01')).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
    const fresh = await t.connect('truck-01', { password: 'rotated-secret' });
    expect(fresh.connected).toBe(true);
    // other devices are untouched
    expect((await t.connect('truck-02')).connected).toBe(true);
  });

  it('retiring a device in the registry closes its connection and refuses it afterwards', async () => {
    const c = await t.connect('noise-01');
    const gone = closed(c);
    const reloaded = new Promise<void>((resolve) => t.registry.onChange(() => resolve()));
    const reg = loadRegistryFile(t.file);
    reg.devices.find((d) => d.id === 'noise-01')!.status = 'retired';
    saveRegistryFile(t.file, reg);
    await reloaded;
    await gone;
    expect(await t.refusedCode('noise-01')).toBe(CONNACK.NOT_AUTHORIZED);
  });
});
