import { describe, expect, it } from 'vitest';
import { FrameScanner } from './frame-guard';

const connect = Buffer.from('101000044d5154540402003c0004746573740000', 'hex').subarray(0, 18); // CONNECT, remaining 16
const pingreq = Buffer.from([0xc0, 0x00]);
/** PUBLISH QoS 0 with a 200-byte body (remaining length as a 2-byte varint) */
const publish = Buffer.concat([Buffer.from([0x30, 0xc8, 0x01]), Buffer.alloc(200, 7)]);

describe('FrameScanner', () => {
  it('finds packet boundaries however the stream is split', () => {
    const stream = Buffer.concat([connect, publish, pingreq, publish]);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const counts = new Float64Array(16);
      const s = new FrameScanner(1024, true, counts);
      for (let i = 0; i < stream.length; i += size) expect(s.scan(stream.subarray(i, i + size))).toBeNull();
      expect([counts[1], counts[3], counts[12]], `chunk size ${size}`).toEqual([1, 2, 1]);
    }
  });

  it('refuses an oversized packet on its header alone, even when the length bytes arrive one by one', () => {
    const s = new FrameScanner(203, true);
    expect(s.scan(connect)).toBeNull();
    expect(s.scan(Buffer.from([0x30]))).toBeNull();
    expect(s.scan(Buffer.from([0xc9]))).toBeNull();
    const err = s.scan(Buffer.from([0x01])); // remaining 201 → packet of 204 bytes
    expect(err?.reason).toBe('oversized');
    expect(err?.code).toBe('E_MQTT_OVERSIZED');
    // exactly at the limit is fine
    const ok = new FrameScanner(203, true);
    expect(ok.scan(Buffer.concat([connect, publish]))).toBeNull();
  });

  it('refuses reserved types, a first packet other than CONNECT, and 5-byte lengths; outbound is only counted', () => {
    expect(new FrameScanner(1024, true).scan(Buffer.from('GET / HTTP/1.1'))?.reason).toBe('first_packet_not_connect');
    expect(new FrameScanner(1024, true).scan(Buffer.concat([connect, Buffer.from([0xf0, 0])]))?.reason).toBe('bad_packet_type');
    expect(new FrameScanner(1024, true).scan(Buffer.concat([connect, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff])]))?.reason).toBe('bad_length');
    const out = new Float64Array(16);
    expect(new FrameScanner(Number.MAX_SAFE_INTEGER, false, out).scan(Buffer.concat([Buffer.from([0x20, 2, 0, 0]), publish]))).toBeNull();
    expect([out[2], out[3]]).toEqual([1, 1]);
  });
});
