import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerHandle } from '../broker/index';
import { decodeMessage, DEFAULT_TIME_POLICY, parseDeviceTopic } from '../contract';
import { loadCity, type Position } from '../city/city';
import { loadDeviceConfigs } from '../registry/device-config';
import { pointLineDistanceM } from '../contract/geo';
import type { RegistryView } from '../registry/registry';
import { createLogger } from '../lib/log';
import { startDemoBroker, watchDevices } from '../testing/demo-broker';
import { waitFor } from '../testing/net';
import { localMidnight } from './clock';
import { startFleet, type Fleet } from './fleet';

const log = createLogger('sim-test', 'silent');

interface Msg {
  topic: string;
  text: string;
  retain: boolean;
  at: number;
}

describe('simulated fleet through a real broker', () => {
  let registry: RegistryView;
  let broker: BrokerHandle;
  let url: string;
  let admin: MqttClient;
  let dir: string;
  const msgs: Msg[] = [];

  beforeAll(async () => {
    const demo = await startDemoBroker(log);
    ({ dir, registry, broker, url } = demo);
    admin = await watchDevices(demo, 'sim-test-admin', (topic, payload, packet) => msgs.push({ topic, text: payload.toString(), retain: packet.retain, at: Date.now() }));
  });
  afterAll(async () => {
    await admin?.endAsync();
    await broker?.stop();
    registry?.close();
  });

  it('every kind publishes valid, non-future readings with its own credentials; trucks drive on their routes', async () => {
    const configs = loadDeviceConfigs(`${dir}/devices`);
    const city = loadCity(configs[0]!.cityFile);
    const pickTrucks = ['truck-01', 'truck-08', 'truck-21'];
    const only = configs.filter((c) => c.kind !== 'truck' || pickTrucks.includes(c.deviceId));
    // start at 07:30 local today (or yesterday), when the morning crews are out, replayed at 300×
    let startAt = localMidnight(Date.now()) + 7.5 * 3_600_000;
    if (startAt > Date.now() - 3_600_000) startAt -= 86_400_000;
    const fleet: Fleet = await startFleet({ configs: only, city, mqttUrl: url, speed: 300, startAt, log, strict: true, hotlistRate: 0.05 });
    try {
      await waitFor(() => fleet.stats().published > 1500, 30_000, 100, 'messages');
      const st = fleet.stats();
      expect(st.online).toBe(only.length);
      expect(st.msgsPerSec).toBeGreaterThan(10);
      await waitFor(() => fleet.stats().acked >= fleet.stats().published - 50, 10_000, 100, 'acks');
    } finally {
      await fleet.stop();
    }
    const s = fleet.stats();
    expect(s.errors).toBe(0);
    expect(s.online).toBe(0);

    // what the broker delivered
    const byStream: Record<string, number> = {};
    const policy = { ...DEFAULT_TIME_POLICY, now: Date.now() };
    for (const m of msgs) {
      const t = parseDeviceTopic(m.topic);
      expect(t.ok).toBe(true);
      if (!t.ok) continue;
      byStream[t.stream] = (byStream[t.stream] ?? 0) + 1;
      const d = decodeMessage(m.topic, m.text, { ...policy, now: m.at });
      expect(d.ok ? 'ok' : `${d.reason}: ${d.detail}`).toBe('ok');
    }
    for (const stream of ['gps', 'event', 'air', 'noise', 'plate', 'status', 'presence']) expect(byStream[stream] ?? 0).toBeGreaterThan(0);
    // presence: online retained at connect, offline at the clean stop
    const presence = msgs.filter((m) => m.topic === 'city/v1/air/air-01/presence').map((m) => JSON.parse(m.text).state);
    expect(presence[0]).toBe('online');
    expect(presence.at(-1)).toBe('offline');
    // plates look Mexican, and the hotlist shows up
    const plates = msgs.filter((m) => m.topic.endsWith('/plate')).map((m) => JSON.parse(m.text));
    expect(plates.filter((p) => p.region === 'VER').length / plates.length).toBeGreaterThan(0.5);
    expect(plates.every((p) => /^[A-Z0-9-]{3,10}$/.test(p.plate))).toBe(true);
    expect(plates.some((p) => ['YKR-482-C', 'WTB-318-A', '482-XKD', 'DPL-905-B'].includes(p.plate))).toBe(true);
    // trucks: every fix within a few metres of its own route
    for (const id of pickTrucks) {
      const cfg = configs.find((c) => c.deviceId === id)!;
      const route = city.routes.find((r) => r.id === cfg.truck!.routeId)!;
      const lines = route.segments.map((sid) => city.streets.features.find((f) => f.properties.segmentId === sid)!.geometry.coordinates as Position[]);
      const fixes = msgs.filter((m) => m.topic === `city/v1/truck/${id}/gps`).map((m) => JSON.parse(m.text));
      expect(fixes.length).toBeGreaterThan(20);
      for (const f of fixes) expect(Math.min(...lines.map((l) => pointLineDistanceM([f.lon, f.lat], l)))).toBeLessThan(10);
      expect(fixes.some((f) => f.speedKmh > 5)).toBe(true);
    }
  });
});
