import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerHandle } from '../broker/index';
import { decodeMessage, DEFAULT_TIME_POLICY } from '../contract';
import { loadDeviceConfigs } from '../registry/device-config';
import type { RegistryView } from '../registry/registry';
import { createLogger } from '../lib/log';
import { startDemoBroker, watchDevices } from '../testing/demo-broker';
import { parseFaultSpec } from './faults';
import { startFleet } from './fleet';

const log = createLogger('faults-test', 'silent');
interface Msg {
  topic: string;
  text: string;
  at: number;
}

describe('faults on demand', () => {
  let registry: RegistryView;
  let broker: BrokerHandle;
  let admin: MqttClient;
  let dir: string;
  let url: string;
  const msgs: Msg[] = [];

  beforeAll(async () => {
    const demo = await startDemoBroker(log);
    ({ dir, registry, broker, url } = demo);
    admin = await watchDevices(demo, 'faults-admin', (topic, payload) => msgs.push({ topic, text: payload.toString(), at: Date.now() }));
  });
  afterAll(async () => {
    await admin?.endAsync();
    await broker?.stop();
    registry?.close();
  });

  it('parses fault specs', () => {
    expect(parseFaultSpec('truck-03:offline-will:120')).toEqual({ target: 'truck-03', fault: { type: 'offline-will', param: 120 }, afterS: 0 });
    expect(parseFaultSpec('air:stuck@60+300')).toEqual({ target: 'air', fault: { type: 'stuck', forS: 300 }, afterS: 60 });
    expect(() => parseFaultSpec('air-01:explode')).toThrow(/unknown fault/);
  });

  it('last will, silent disconnect, burst after reconnect, duplicates, malformed, clock skew and a stuck sensor', async () => {
    const ids = ['air-01', 'air-02', 'air-03', 'air-04', 'air-05', 'noise-01', 'noise-02'];
    const configs = loadDeviceConfigs(`${dir}/devices`).filter((c) => ids.includes(c.deviceId));
    // air/noise report every 60 s of simulated time: at 120× that is 2 per real second
    const fleet = await startFleet({ configs, mqttUrl: url, speed: 120, backfillMs: 3_600_000, log, strict: true });
    await new Promise((r) => setTimeout(r, 1000));
    const faultAt = Date.now();
    fleet.fault('air-01', { type: 'burst', param: 3 });
    fleet.fault('air-02', { type: 'offline-will', param: 2 });
    fleet.fault('noise-01', { type: 'offline', param: 2 });
    fleet.fault('air-03', { type: 'duplicates' });
    fleet.fault('noise-02', { type: 'malformed', param: 1 });
    fleet.fault('air-04', { type: 'skew', param: 600 });
    fleet.fault('air-05', { type: 'stuck' });
    await new Promise((r) => setTimeout(r, 6000));
    await fleet.stop();
    const of = (id: string, stream: string) => msgs.filter((m) => m.topic.endsWith(`/${id}/${stream}`) && m.at >= faultAt);
    const presence = (id: string) => of(id, 'presence').map((m) => JSON.parse(m.text) as { state: string; reason?: string });

    // last will: the broker announces offline, then the device comes back
    expect(presence('air-02')[0]).toEqual({ state: 'offline', reason: 'last will' });
    expect(presence('air-02')[1]!.state).toBe('online');
    // clean disconnect: no will; the next presence is the reconnect
    expect(presence('noise-01')[0]!.state).toBe('online');
    const noiseGap = of('noise-01', 'noise');
    expect(noiseGap.length).toBeGreaterThan(0);
    // burst: readings made during the 3 s outage arrive together after the reconnect, in order, nothing lost
    const burst = of('air-01', 'air').map((m) => ({ ...m, ts: JSON.parse(m.text).ts as number }));
    // the dropped connection makes the broker publish the will; the reconnect says online
    expect(presence('air-01')[0]).toEqual({ state: 'offline', reason: 'last will' });
    const reconnect = of('air-01', 'presence').find((m) => JSON.parse(m.text).state === 'online')!.at;
    const buffered = burst.filter((m) => m.at >= reconnect && m.at - reconnect < 300);
    expect(buffered.length).toBeGreaterThanOrEqual(4);
    const tss = burst.map((m) => m.ts);
    expect(new Set(tss).size).toBe(tss.length);
    for (let i = 1; i < tss.length; i++) expect(tss[i]! - tss[i - 1]!).toBe(60_000);
    // duplicates: every reading twice
    const dup = of('air-03', 'air').map((m) => m.text);
    expect(dup.length).toBeGreaterThanOrEqual(4);
    expect(new Set(dup).size).toBeLessThanOrEqual(Math.ceil(dup.length / 2));
    // malformed: the contract rejects them with a reason
    const bad = of('noise-02', 'noise').map((m) => decodeMessage(m.topic, m.text, { ...DEFAULT_TIME_POLICY, now: m.at }));
    expect(bad.length).toBeGreaterThan(3);
    expect(bad.every((d) => !d.ok && ['invalid_json', 'schema'].includes(d.reason))).toBe(true);
    // clock skew: the same simulated instants as a healthy station, stamped 600 s ahead
    const skewed = new Set(of('air-04', 'air').map((m) => (JSON.parse(m.text).ts as number) - 600_000));
    const normal = of('air-05', 'air').map((m) => JSON.parse(m.text).ts as number);
    expect(skewed.size).toBeGreaterThan(3);
    expect(normal.filter((t) => skewed.has(t)).length).toBeGreaterThanOrEqual(3);
    expect(
      of('air-04', 'status')
        .map((m) => JSON.parse(m.text).clockSkewMs)
        .every((s) => s === 600_000),
    ).toBe(true);
    // stuck: identical values, new timestamps
    const stuck = of('air-05', 'air').map((m) => JSON.parse(m.text) as Record<string, number>);
    expect(stuck.length).toBeGreaterThan(3);
    const { ts: _t, ...first } = stuck[1]!;
    for (const s of stuck.slice(2)) {
      const { ts, ...rest } = s;
      expect(rest).toEqual(first);
      expect(ts).toBeGreaterThan(stuck[1]!.ts);
    }
    expect(fleet.stats().errors).toBe(0);
  });
});
