import { describe, expect, it } from 'vitest';
import { DEFAULT_TIME_POLICY, deviceTopic } from '../contract';
import { RegistryView } from '../registry/registry';
import { writeTestRegistry } from '../testing/registry-fixture';
import { classifyMessage } from './classify';

const registry = new RegistryView(writeTestRegistry());
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const gps = (over: Record<string, unknown> = {}) => JSON.stringify({ ts: NOW - 1000, lat: 18.14, lon: -94.43, speedKmh: 30, heading: 90, ...over });
const classify = (topic: string, raw: string | Buffer) => classifyMessage(topic, raw, NOW, registry, DEFAULT_TIME_POLICY);

describe('classifyMessage', () => {
  it('accepts a valid reading and enriches it from the registry', () => {
    const c = classify(deviceTopic('truck', 'truck-02', 'gps'), gps());
    expect(c.type).toBe('record');
    if (c.type !== 'record') return;
    expect(c.record).toMatchObject({ deviceId: 'truck-02', kind: 'truck', stream: 'gps', ts: NOW - 1000, receivedAt: NOW, late: false, district: 'Puerto' });
  });

  it('flags a reading that arrives long after its event time as late, keeping its event time', () => {
    const c = classify(deviceTopic('truck', 'truck-01', 'gps'), gps({ ts: NOW - 3_600_000 }));
    expect(c.type === 'record' && c.record.late && c.record.ts === NOW - 3_600_000).toBe(true);
  });

  it('turns presence into online/offline state, not telemetry', () => {
    const c = classify(deviceTopic('air', 'air-01', 'presence'), JSON.stringify({ state: 'offline', ts: NOW - 5 }));
    expect(c).toMatchObject({ type: 'presence', deviceId: 'air-01', online: false, at: NOW - 5, district: 'Centro' });
  });

  const cases: Array<[string, string, string | Buffer, string]> = [
    ['unknown device', deviceTopic('truck', 'truck-77', 'gps'), gps(), 'unknown_device'],
    ['retired device', deviceTopic('air', 'air-99', 'status'), JSON.stringify({ ts: NOW, fw: '1.0', uptimeS: 5 }), 'unknown_device'],
    ['kind mismatch', deviceTopic('truck', 'air-01', 'gps'), gps(), 'kind_mismatch'],
    ['stream not of the kind', 'city/v1/air/air-01/gps', gps(), 'unknown_topic'],
    ['topic outside the scheme', 'city/v2/truck/truck-01/gps', gps(), 'unknown_topic'],
    ['invalid JSON', deviceTopic('truck', 'truck-01', 'gps'), '{"ts": 1,', 'invalid_json'],
    ['binary garbage', deviceTopic('truck', 'truck-01', 'gps'), Buffer.from([0xff, 0x00, 0xfe, 0x01]), 'invalid_json'],
    ['unknown field', deviceTopic('truck', 'truck-01', 'gps'), gps({ altitude: 12 }), 'schema'],
    ['latitude out of range', deviceTopic('truck', 'truck-01', 'gps'), gps({ lat: 91 }), 'schema'],
    ['future timestamp', deviceTopic('truck', 'truck-01', 'gps'), gps({ ts: NOW + 3_600_000 }), 'future_timestamp'],
    ['too old', deviceTopic('truck', 'truck-01', 'gps'), gps({ ts: NOW - 40 * 86_400_000 }), 'too_old'],
    ['oversized', deviceTopic('truck', 'truck-01', 'gps'), 'x'.repeat(17 * 1024), 'oversized'],
  ];
  for (const [name, topic, raw, reason] of cases) {
    it(`rejects ${name} as ${reason}, with the raw payload, device and reason in the dead letter`, () => {
      const c = classify(topic, raw);
      expect(c.type).toBe('reject');
      if (c.type !== 'reject') return;
      expect(c.reason).toBe(reason);
      expect(c.letter).toMatchObject({ reason, topic, receivedAt: NOW });
      expect(c.letter.detail.length).toBeGreaterThan(0);
      expect(c.letter.payload.length).toBeGreaterThan(0);
      if (reason !== 'unknown_topic') expect(c.letter.deviceId).toBe(topic.split('/')[3]);
    });
  }

  it('keeps binary payloads in dead letters as base64', () => {
    const c = classify(deviceTopic('truck', 'truck-01', 'gps'), Buffer.from([0xff, 0x00, 0xfe]));
    expect(c.type === 'reject' && c.letter.payload).toBe('base64:' + Buffer.from([0xff, 0x00, 0xfe]).toString('base64'));
  });
});
