import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deviceTopic, SUB_ALL_DEVICE_DATA, svcTopics } from '../contract';
import { waitFor } from '../testing/net';
import { canPublish, canSubscribe, filterCovers, type Identity } from './acl';
import { CONNACK } from './auth';
import { closed, collect, grants, startTestBroker, type TestBroker } from './test-support';

describe('topic rules (acl.ts)', () => {
  it('filterCovers: a pattern covers a filter only when every matched topic is matched', () => {
    expect(filterCovers('city/v1/+/+/+', 'city/v1/air/air-01/air')).toBe(true);
    expect(filterCovers('city/v1/+/+/+', 'city/v1/+/+/+')).toBe(true);
    expect(filterCovers('city/v1/+/+/+', 'city/v1/#')).toBe(false);
    expect(filterCovers('city/v1/+/+/+', 'city/v1/air/air-01')).toBe(false);
    expect(filterCovers('city/v1/svc/#', 'city/v1/svc')).toBe(true); // '#' matches the parent level
    expect(filterCovers('city/v1/svc/#', 'city/v1/svc/state/+/+')).toBe(true);
    expect(filterCovers('city/v1/svc/#', 'city/v1/#')).toBe(false);
    expect(filterCovers('city/v1/svc/alerts/+', 'city/v1/svc/alerts/a-1')).toBe(true);
    expect(filterCovers('city/v1/svc/alerts/+', 'city/v1/svc/alerts/a-1/x')).toBe(false);
    expect(filterCovers('#', '$SYS/broker/uptime')).toBe(false);
    expect(filterCovers('$SYS/#', '$SYS/broker/uptime')).toBe(true);
  });

  const air: Identity = { type: 'device', id: 'air-01', kind: 'air', passwordHash: 'x' };
  const svc = (role: 'ingest' | 'console' | 'nodered' | 'admin'): Identity => ({ type: 'service', id: role, role, passwordHash: 'x' });

  it('device publish rules', () => {
    expect(canPublish(air, 'city/v1/air/air-01/air')).toEqual({ ok: true });
    expect(canPublish(air, 'city/v1/air/air-01/bogus')).toEqual({ ok: true }); // ingest dead-letters it with a reason
    expect(canPublish(air, 'city/v1/air/air-01/air/extra')).toMatchObject({ ok: false, reason: 'bad_stream' });
    expect(canPublish(air, 'city/v1/air/air-02/air')).toMatchObject({ ok: false, reason: 'not_own_prefix' });
    expect(canPublish(air, 'city/v1/truck/air-01/gps')).toMatchObject({ ok: false, reason: 'not_own_prefix' });
    expect(canPublish(air, 'city/v1/svc/alerts/x')).toMatchObject({ ok: false, reason: 'svc_topic' });
    expect(canPublish(air, '$SYS/x')).toMatchObject({ ok: false, reason: 'sys_topic' });
    expect(canPublish(air, 'city/v1/air/air-01/presence', { retain: true })).toEqual({ ok: true });
    expect(canPublish(air, 'city/v1/air/air-01/air', { retain: true })).toMatchObject({ ok: false, reason: 'retain_not_presence' });
    expect(canPublish(air, 'city/v1/air/air-01/status', { will: true })).toMatchObject({ ok: false, reason: 'will_not_presence' });
  });

  it('device subscribe rules', () => {
    expect(canSubscribe(air, 'city/v1/air/air-01/config')).toEqual({ ok: true });
    expect(canSubscribe(air, 'city/v1/air/air-01/#')).toEqual({ ok: true });
    for (const f of ['#', '+/v1/air/air-01/config', 'city/v1/air/air-02/config', 'city/v1/+/air-01/config', 'city/v1/air/air-01']) {
      expect(canSubscribe(air, f).ok, f).toBe(false);
    }
    expect(canSubscribe(air, 'city/v1/svc/#')).toMatchObject({ ok: false, reason: 'svc_topic' });
    expect(canSubscribe(air, '$SYS/#')).toMatchObject({ ok: false, reason: 'sys_topic' });
  });

  it('service role rules', () => {
    expect(canSubscribe(svc('ingest'), SUB_ALL_DEVICE_DATA).ok).toBe(true);
    expect(canSubscribe(svc('ingest'), 'city/v1/svc/#').ok).toBe(true);
    expect(canSubscribe(svc('ingest'), '#').ok).toBe(false);
    expect(canPublish(svc('ingest'), svcTopics.state('air', 'air-01')).ok).toBe(true);
    expect(canPublish(svc('ingest'), 'city/v1/air/air-01/air').ok).toBe(false);

    expect(canSubscribe(svc('console'), 'city/v1/#').ok).toBe(true);
    expect(canSubscribe(svc('console'), '#').ok).toBe(false);
    expect(canPublish(svc('console'), svcTopics.alert('a-1')).ok).toBe(true);
    expect(canPublish(svc('console'), svcTopics.hotlist).ok).toBe(true);
    expect(canPublish(svc('console'), svcTopics.state('air', 'air-01')).ok).toBe(false);

    expect(canSubscribe(svc('nodered'), svcTopics.stateAll).ok).toBe(true);
    expect(canSubscribe(svc('nodered'), 'city/v1/+/+/presence').ok).toBe(true);
    expect(canSubscribe(svc('nodered'), 'city/v1/truck/truck-01/presence').ok).toBe(true);
    expect(canSubscribe(svc('nodered'), 'city/v1/+/+/gps').ok).toBe(false);
    expect(canPublish(svc('nodered'), svcTopics.alert('a-1')).ok).toBe(true);
    expect(canPublish(svc('nodered'), svcTopics.hotlist).ok).toBe(false);

    expect(canSubscribe(svc('admin'), '#').ok).toBe(true);
    expect(canSubscribe(svc('admin'), '$SYS/#').ok).toBe(true);
    expect(canPublish(svc('admin'), 'city/v1/air/air-01/config').ok).toBe(true);
    expect(canPublish(svc('admin'), '$SYS/x').ok).toBe(false);
  });
});

describe('broker authorization (real broker)', () => {
  let t: TestBroker;
  beforeEach(async () => {
    t = await startTestBroker();
  });
  afterEach(async () => {
    await t.close();
  });

  it("publishing to another device's topic is refused: connection closed, the subscriber never gets it", async () => {
    const ingest = await t.connect('ingest', { clientId: 'ingest-1' });
    const got = collect(ingest);
    await ingest.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });

    const intruder = await t.connect('truck-01');
    const gone = closed(intruder);
    intruder.publish(deviceTopic('truck', 'truck-02', 'gps'), 'forged', { qos: 0 });
    await gone;

    // a later legitimate message is the sentinel: once it arrived, the forged one would have too
    const honest = await t.connect('truck-02');
    await honest.publishAsync(deviceTopic('truck', 'truck-02', 'gps'), 'real', { qos: 1 });
    await waitFor(() => got.some((m) => m.payload === 'real'), 5000, 20, 'sentinel');
    expect(got.map((m) => m.payload)).toEqual(['real']);
    expect(t.broker.metrics().publishRefused).toEqual({ not_own_prefix: 1 });
  });

  it('a device subscribing to "#" or "+/…" or another device is granted 128; its own config is granted', async () => {
    const dev = await t.connect('air-01');
    const byTopic = await grants(dev, ['#', '+/v1/air/air-01/config', 'city/v1/air/air-02/config', 'city/v1/air/air-01/config']);
    expect(byTopic).toEqual({ '#': 128, '+/v1/air/air-01/config': 128, 'city/v1/air/air-02/config': 128, 'city/v1/air/air-01/config': 1 });
    expect(dev.connected).toBe(true); // a refused subscription does not close the connection
    expect(t.broker.metrics().subscribeRefused).toEqual({ not_own_prefix: 3 });
  });

  it('a device cannot subscribe to svc topics, nor publish to svc or $SYS topics', async () => {
    const dev = await t.connect('cam-01');
    expect(await grants(dev, ['city/v1/svc/#'])).toEqual({ 'city/v1/svc/#': 128 });

    const console_ = await t.connect('console', { clientId: 'console-1' });
    const got = collect(console_);
    await console_.subscribeAsync('city/v1/#', { qos: 1 });

    const gone = closed(dev);
    dev.publish(svcTopics.alert('fake'), '{"forged":true}');
    await gone;
    const dev2 = await t.connect('noise-01');
    const gone2 = closed(dev2);
    dev2.publish('$SYS/forged', 'x');
    await gone2;

    const honest = await t.connect('air-01');
    await honest.publishAsync(deviceTopic('air', 'air-01', 'air'), 'sentinel', { qos: 1 });
    await waitFor(() => got.length > 0, 5000, 20, 'sentinel');
    expect(got.map((m) => m.payload)).toEqual(['sentinel']);
    expect(t.broker.metrics().subscribeRefused).toEqual({ svc_topic: 1 });
    expect(t.broker.metrics().publishRefused).toEqual({ svc_topic: 1, sys_topic: 1 });
  });

  it('retained device messages are allowed only on the presence topic; the last will only on presence', async () => {
    const dev = await t.connect('truck-01');
    await dev.publishAsync(deviceTopic('truck', 'truck-01', 'presence'), 'online', { qos: 1, retain: true });
    const gone = closed(dev);
    dev.publish(deviceTopic('truck', 'truck-01', 'gps'), 'retained-gps', { qos: 0, retain: true });
    await gone;
    expect(t.broker.metrics().publishRefused).toEqual({ retain_not_presence: 1 });

    // a late subscriber sees the retained presence only
    const nodered = await t.connect('nodered', { clientId: 'nodered-1' });
    const got = collect(nodered);
    await nodered.subscribeAsync('city/v1/+/+/presence', { qos: 1 });
    await waitFor(() => got.length === 1, 5000, 20, 'retained presence');
    expect(got[0]).toMatchObject({ topic: deviceTopic('truck', 'truck-01', 'presence'), payload: 'online', retain: true });

    // a will elsewhere is refused at CONNECT
    expect(await t.refusedCode('truck-02', { will: { topic: deviceTopic('truck', 'truck-02', 'status'), payload: Buffer.from('x'), qos: 0, retain: false } })).toBe(CONNACK.NOT_AUTHORIZED);
    expect(t.broker.metrics().authFailures).toEqual({ bad_will: 1 });

    // a will on its own presence topic is accepted and delivered when the device drops
    const presence2 = deviceTopic('truck', 'truck-02', 'presence');
    const withWill = await t.connect('truck-02', { will: { topic: presence2, payload: Buffer.from('offline'), qos: 1, retain: true } });
    (withWill as unknown as { stream: { destroy(): void } }).stream.destroy(); // ungraceful: the will fires
    await waitFor(() => got.some((m) => m.topic === presence2 && m.payload === 'offline'), 5000, 20, 'last will');
  });

  it('service roles: nodered may not read device data; console may not publish state', async () => {
    const nodered = await t.connect('nodered', { clientId: 'nodered-1' });
    expect(await grants(nodered, ['city/v1/+/+/gps', 'city/v1/svc/#'], 0)).toEqual({ 'city/v1/+/+/gps': 128, 'city/v1/svc/#': 0 });

    const console_ = await t.connect('console', { clientId: 'console-1' });
    await console_.publishAsync(svcTopics.alert('a-1'), '{"alertId":"a-1","event":"acknowledge","by":"operador"}', { qos: 1 });
    const gone = closed(console_);
    console_.publish(svcTopics.state('air', 'air-01'), '{}');
    await gone;
    expect(t.broker.metrics().publishRefused).toEqual({ role_not_allowed: 1 });
    expect(t.broker.metrics().subscribeRefused).toEqual({ role_not_allowed: 1 });
  });
});
