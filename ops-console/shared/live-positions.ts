/**
 * The live stream's columnar position frame (WebSocket binary message, `GET /api/live?format=columnar`),
 * shared by the API (encoder) and the web console's worker (decoder).
 *
 * A big fleet's deltas are almost all GPS fixes; as JSON each costs ~240 bytes and a JSON.parse
 * on the browser's main thread. This frame carries only fixes, one column per field, ~25 bytes a
 * fix, decoded as typed-array views over the received buffer (no per-fix object). Devices are
 * numbered by the server (a stable index per device id for the server's lifetime); a frame names
 * the indexes first used since the previous frame, and the JSON snapshot names all of them
 * (`positionIds`), so a client that missed frames resynchronises on its next snapshot.
 *
 * Layout (little-endian; every column starts 4-byte aligned for its type):
 *   header 24 B: u32 magic 'LPF1' · u32 n · f64 at (ms epoch) · u32 namesBytes · u32 reserved
 *   u32 index[n] · i32 lonE7[n] · i32 latE7[n] · i32 tsOffsetMs[n] (fix ts − at) · i32 seenOffsetMs[n] (lastSeen − at)
 *   u16 speed×100[n] · u16 heading×100[n] · u16 hdop×10[n] (0xFFFF = absent) · pad to 4
 *   u8 sats[n] (0xFF = absent) · u8 flags[n] (bit 0 late) · pad to 4
 *   names: UTF-8 JSON [[index, deviceId], ...] (namesBytes long)
 */
import type { GpsFix } from '../../contract';

export const POSITIONS_MAGIC = 0x3146504c; // 'LPF1' read as a little-endian u32
export const POSITIONS_HEADER_BYTES = 24;
const NONE16 = 0xffff;
const NONE8 = 0xff;

export interface PositionEntry {
  index: number;
  fix: GpsFix;
  late: boolean;
  lastSeen: number;
}

/** A decoded frame: column views over the received buffer. */
export interface PositionsFrame {
  at: number;
  n: number;
  index: Uint32Array;
  lonE7: Int32Array;
  latE7: Int32Array;
  tsOffset: Int32Array;
  seenOffset: Int32Array;
  speed100: Uint16Array;
  heading100: Uint16Array;
  hdop10: Uint16Array;
  sats: Uint8Array;
  flags: Uint8Array;
  names: [number, string][];
}

const pad4 = (x: number) => (x + 3) & ~3;

function layout(n: number) {
  const index = POSITIONS_HEADER_BYTES;
  const lon = index + 4 * n;
  const lat = lon + 4 * n;
  const ts = lat + 4 * n;
  const seen = ts + 4 * n;
  const speed = seen + 4 * n;
  const heading = speed + 2 * n;
  const hdop = heading + 2 * n;
  const sats = pad4(hdop + 2 * n);
  const flags = sats + n;
  const names = pad4(flags + n);
  return { index, lon, lat, ts, seen, speed, heading, hdop, sats, flags, names };
}

const clampInt32 = (x: number) => Math.max(-0x80000000, Math.min(0x7fffffff, Math.round(x)));
const u16 = (x: number) => Math.max(0, Math.min(0xfffe, Math.round(x)));

export function encodePositions(at: number, entries: PositionEntry[], names: [number, string][] = []): Uint8Array {
  const n = entries.length;
  const L = layout(n);
  const nameBytes = names.length ? new TextEncoder().encode(JSON.stringify(names)) : new Uint8Array(0);
  const buf = new ArrayBuffer(L.names + nameBytes.length);
  const dv = new DataView(buf);
  dv.setUint32(0, POSITIONS_MAGIC, true);
  dv.setUint32(4, n, true);
  dv.setFloat64(8, at, true);
  dv.setUint32(16, nameBytes.length, true);
  dv.setUint32(20, 0, true);
  const index = new Uint32Array(buf, L.index, n);
  const lon = new Int32Array(buf, L.lon, n);
  const lat = new Int32Array(buf, L.lat, n);
  const ts = new Int32Array(buf, L.ts, n);
  const seen = new Int32Array(buf, L.seen, n);
  const speed = new Uint16Array(buf, L.speed, n);
  const heading = new Uint16Array(buf, L.heading, n);
  const hdop = new Uint16Array(buf, L.hdop, n);
  const sats = new Uint8Array(buf, L.sats, n);
  const flags = new Uint8Array(buf, L.flags, n);
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    const f = e.fix;
    index[i] = e.index;
    lon[i] = Math.round(f.lon * 1e7);
    lat[i] = Math.round(f.lat * 1e7);
    ts[i] = clampInt32(f.ts - at);
    seen[i] = clampInt32(e.lastSeen - at);
    speed[i] = u16(f.speedKmh * 100);
    heading[i] = u16(f.heading * 100);
    hdop[i] = f.hdop === undefined ? NONE16 : u16(f.hdop * 10);
    sats[i] = f.sats === undefined ? NONE8 : Math.max(0, Math.min(0xfe, Math.round(f.sats)));
    flags[i] = e.late ? 1 : 0;
  }
  new Uint8Array(buf, L.names, nameBytes.length).set(nameBytes);
  return new Uint8Array(buf);
}

/** Decodes a frame; throws an Error naming what is wrong for anything that is not one. */
export function decodePositions(data: ArrayBuffer | Uint8Array): PositionsFrame {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < POSITIONS_HEADER_BYTES) throw new Error(`positions frame: ${bytes.byteLength} bytes, shorter than its header`);
  // column views need an aligned, exclusively owned buffer
  const buf = bytes.byteOffset % 4 === 0 ? bytes.buffer : bytes.slice().buffer;
  const base = bytes.byteOffset % 4 === 0 ? bytes.byteOffset : 0;
  const dv = new DataView(buf, base, bytes.byteLength);
  if (dv.getUint32(0, true) !== POSITIONS_MAGIC) throw new Error('positions frame: bad magic (not an LPF1 frame)');
  const n = dv.getUint32(4, true);
  const at = dv.getFloat64(8, true);
  const namesBytes = dv.getUint32(16, true);
  const L = layout(n);
  if (L.names + namesBytes !== bytes.byteLength) throw new Error(`positions frame: ${bytes.byteLength} bytes, expected ${L.names + namesBytes} for ${n} fixes`);
  let names: [number, string][] = [];
  if (namesBytes) {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, base + L.names, namesBytes)));
    if (!Array.isArray(parsed) || !parsed.every((x) => Array.isArray(x) && typeof x[0] === 'number' && typeof x[1] === 'string')) throw new Error('positions frame: names are not [[index, id], ...]');
    names = parsed as [number, string][];
  }
  return {
    at,
    n,
    index: new Uint32Array(buf, base + L.index, n),
    lonE7: new Int32Array(buf, base + L.lon, n),
    latE7: new Int32Array(buf, base + L.lat, n),
    tsOffset: new Int32Array(buf, base + L.ts, n),
    seenOffset: new Int32Array(buf, base + L.seen, n),
    speed100: new Uint16Array(buf, base + L.speed, n),
    heading100: new Uint16Array(buf, base + L.heading, n),
    hdop10: new Uint16Array(buf, base + L.hdop, n),
    sats: new Uint8Array(buf, base + L.sats, n),
    flags: new Uint8Array(buf, base + L.flags, n),
    names,
  };
}

/** Entry i of a frame back as a contract GpsFix (for the device panel and tests). */
export function fixAt(f: PositionsFrame, i: number): GpsFix {
  const fix: GpsFix = { ts: f.at + f.tsOffset[i]!, lat: f.latE7[i]! / 1e7, lon: f.lonE7[i]! / 1e7, speedKmh: f.speed100[i]! / 100, heading: f.heading100[i]! / 100 };
  if (f.hdop10[i] !== NONE16) fix.hdop = f.hdop10[i]! / 10;
  if (f.sats[i] !== NONE8) fix.sats = f.sats[i]!;
  return fix;
}
