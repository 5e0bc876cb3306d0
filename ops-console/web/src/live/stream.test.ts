import { describe, expect, it } from 'vitest';
import { decodePositions, encodePositions, type PositionEntry } from '../../../shared/live-positions';
import { decodeMessage, frameBuffers, POSITIONS_PART, splitPositions } from './stream';
import { LiveModel } from './model';

const T0 = 1_800_000_000_000;
const entries = (n: number, at: number): PositionEntry[] =>
  Array.from({ length: n }, (_, i) => ({ index: i, fix: { ts: at, lat: 18.1 + i * 1e-6, lon: -94.4 - i * 1e-6, speedKmh: 10 + (i % 7), heading: i % 360 }, late: i % 2 === 0, lastSeen: at }));

describe('position frames in parts (worker → main thread)', () => {
  it('a big frame splits into parts of POSITIONS_PART fixes with their own buffers; applied in order they equal the whole', () => {
    const n = POSITIONS_PART * 2 + 17;
    const names: [number, string][] = Array.from({ length: n }, (_, i) => [i, `truck-${i}`]);
    const bytes = encodePositions(T0, entries(n, T0), names);
    const e = decodeMessage(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(e.type).toBe('positions');
    const whole = (e as Extract<typeof e, { type: 'positions' }>).frame;
    const parts = splitPositions(whole);
    expect(parts.map((p) => p.n)).toEqual([POSITIONS_PART, POSITIONS_PART, 17]);
    expect(parts[0]!.names).toHaveLength(n);
    expect(parts[1]!.names).toEqual([]);
    // each part transfers its own column buffers (never the whole frame's)
    const bufs = parts.map(frameBuffers);
    expect(bufs[0]).toHaveLength(10);
    expect(new Set(bufs.flat()).size).toBe(30);
    expect(frameBuffers(whole)).toHaveLength(1);
    expect(parts[2]!.lonE7[16]).toBe(whole.lonE7[n - 1]);
    expect(parts[1]!.index[0]).toBe(POSITIONS_PART);

    const snapshot = {
      type: 'snapshot' as const,
      at: T0 - 1,
      alerts: [],
      devices: names.map(([, id]) => ({ deviceId: id, kind: 'truck' as const, district: 'Centro', latest: {}, online: true, lastSeen: T0 - 1 })),
    };
    const a = new LiveModel();
    const b = new LiveModel();
    a.apply(snapshot);
    b.apply(snapshot);
    a.applyPositions(whole);
    for (const p of parts) b.applyPositions(p);
    expect([...b.devices.values()].map((s) => s.latest.gps)).toEqual([...a.devices.values()].map((s) => s.latest.gps));
    expect(b.unknownPositions).toBe(0);
    expect(b.takeDirty('truck').size).toBe(n);
  });

  it('a small frame stays one part; a frame that is not one is an error event, not a throw', () => {
    const f = decodePositions(encodePositions(T0, entries(3, T0)));
    expect(splitPositions(f)).toEqual([f]);
    const bad = decodeMessage(new ArrayBuffer(8));
    expect(bad).toMatchObject({ type: 'error', message: expect.stringMatching(/shorter than its header/) });
  });
});
