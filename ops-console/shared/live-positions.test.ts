import { describe, expect, it } from 'vitest';
import { decodePositions, encodePositions, fixAt, POSITIONS_HEADER_BYTES } from './live-positions';

const AT = 1_800_000_000_000;

describe('columnar position frames', () => {
  it('round-trips fixes, flags, optional fields and names; 28 bytes a fix', () => {
    const entries = Array.from({ length: 1000 }, (_, i) => ({
      index: i * 3,
      fix: { ts: AT - 900 + i, lat: 18.1234567 + i * 1e-5, lon: -94.4567891 - i * 1e-5, speedKmh: 37.25, heading: 359.99, ...(i % 2 ? { hdop: 1.3, sats: 9 } : {}) },
      late: i % 5 === 0,
      lastSeen: AT - 10,
    }));
    const bytes = encodePositions(AT, entries, [
      [0, 'truck-00000'],
      [3, 'truck-00001'],
    ]);
    expect(bytes.byteLength).toBeLessThan(POSITIONS_HEADER_BYTES + 1000 * 28 + 100);
    const f = decodePositions(bytes.slice().buffer);
    expect(f.n).toBe(1000);
    expect(f.at).toBe(AT);
    expect(f.names).toEqual([
      [0, 'truck-00000'],
      [3, 'truck-00001'],
    ]);
    for (const i of [0, 1, 999]) {
      const fix = fixAt(f, i);
      const e = entries[i]!.fix;
      expect(f.index[i]).toBe(i * 3);
      expect(fix.ts).toBe(e.ts);
      expect(fix.lat).toBeCloseTo(e.lat, 7);
      expect(fix.lon).toBeCloseTo(e.lon, 7);
      expect(fix.speedKmh).toBe(37.25);
      expect(fix.heading).toBeCloseTo(359.99, 2);
      expect(fix.hdop).toBe(i % 2 ? 1.3 : undefined);
      expect(fix.sats).toBe(i % 2 ? 9 : undefined);
      expect((f.flags[i]! & 1) === 1).toBe(i % 5 === 0);
      expect(f.seenOffset[i]).toBe(-10);
    }
  });

  it('decodes from an unaligned view and rejects what is not a frame, naming why', () => {
    const bytes = encodePositions(AT, [{ index: 7, fix: { ts: AT, lat: 18, lon: -94, speedKmh: 0, heading: 0 }, late: false, lastSeen: AT }]);
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    expect(decodePositions(shifted.subarray(1)).index[0]).toBe(7);
    expect(() => decodePositions(new Uint8Array(10))).toThrow(/shorter than its header/);
    expect(() => decodePositions(new Uint8Array(64))).toThrow(/bad magic/);
    expect(() => decodePositions(bytes.subarray(0, bytes.byteLength - 4))).toThrow(/expected/);
  });
});
