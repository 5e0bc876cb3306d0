import { describe, expect, it } from 'vitest';
import { decodeMessage, DEFAULT_TIME_POLICY, deviceTopic, parseDeviceTopic } from './index';

const now = Date.UTC(2026, 10, 23, 15, 0, 0);
const policy = { ...DEFAULT_TIME_POLICY, now };
const gps = { ts: now - 1000, lat: 18.14, lon: -94.43, speedKmh: 22.5, heading: 90, hdop: 0.9 };
const decode = (topic: string, body: unknown) => decodeMessage(topic, typeof body === 'string' ? body : JSON.stringify(body), policy);

describe('device contract', () => {
  it('accepts a valid GPS fix and flags nothing', () => {
    const r = decode(deviceTopic('truck', 'truck-01', 'gps'), gps);
    expect(r).toMatchObject({ ok: true, kind: 'truck', deviceId: 'truck-01', stream: 'gps', late: false });
  });

  it('flags a buffered (late) reading but accepts it', () => {
    const r = decode(deviceTopic('truck', 'truck-01', 'gps'), { ...gps, ts: now - 3_600_000 });
    expect(r).toMatchObject({ ok: true, late: true });
  });

  it.each([
    ['invalid_json', '{"ts": 1,', /not JSON/],
    ['invalid_json', '[1,2]', /JSON object/],
    ['schema', { ...gps, lat: 91 }, /lat/],
    ['schema', { ...gps, lat: 'NaN' }, /lat/],
    ['schema', '{"ts":1763910000000,"lat":1e999,"lon":-94.4,"speedKmh":1,"heading":1}', /lat/],
    ['schema', { ...gps, colour: 'red' }, /unknown field: colour/],
    ['schema', { lat: 18, lon: -94 }, /ts/],
    ['future_timestamp', { ...gps, ts: now + 3_600_000 }, /ahead of the server/],
    ['too_old', { ...gps, ts: now - 40 * 86_400_000 }, /older than 30 days/],
  ])('rejects %s: %j', (reason, body, detail) => {
    const r = decode(deviceTopic('truck', 'truck-01', 'gps'), body);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe(reason);
      expect(r.detail).toMatch(detail);
      expect(r.deviceId).toBe('truck-01');
    }
  });

  it('rejects topics outside the scheme and streams a kind does not publish', () => {
    expect(parseDeviceTopic('city/v1/truck/truck-01/air')).toMatchObject({ ok: false, reason: 'unknown_topic' });
    expect(parseDeviceTopic('city/v2/truck/truck-01/gps')).toMatchObject({ ok: false });
    expect(parseDeviceTopic('city/v1/truck/Truck_01/gps')).toMatchObject({ ok: false });
    expect(decode('foo/bar', gps)).toMatchObject({ ok: false, reason: 'unknown_topic', deviceId: null });
  });

  it('rejects oversized payloads before parsing', () => {
    const r = decode(deviceTopic('air', 'air-01', 'air'), 'x'.repeat(20_000));
    expect(r).toMatchObject({ ok: false, reason: 'oversized' });
  });
});
