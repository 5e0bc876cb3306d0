/**
 * A pass-through stream put between a connection (TCP socket or WebSocket stream) and Aedes.
 *
 * Aedes 1.x has no maximum packet size (its parser, mqtt-packet, buffers whatever remaining
 * length a client announces), so the guard reads the MQTT fixed header of every inbound
 * packet — type and remaining length only, the body is skipped arithmetically — and destroys
 * the connection as soon as a header announces a packet larger than `maxPacketSize`, before the
 * body is buffered anywhere. It also refuses reserved packet types, malformed remaining lengths
 * and a first packet that is not CONNECT. Packets are counted in both directions by type.
 *
 * A violation destroys this connection only, with a `FrameError` (code + reason) that Aedes
 * reports as a connection/client error.
 */
import { Duplex } from 'node:stream';
import { PubackGate } from './puback-gate';

export type FrameViolation = 'oversized' | 'bad_length' | 'bad_packet_type' | 'first_packet_not_connect';

export class FrameError extends Error {
  readonly code: string;
  constructor(
    readonly reason: FrameViolation,
    message: string,
  ) {
    super(message);
    this.code = `E_MQTT_${reason.toUpperCase()}`;
  }
}

/** MQTT control packet types 0..15 (index = type nibble). */
export const PACKET_TYPES = [
  'reserved',
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
] as const;

/**
 * Incremental scanner of MQTT frame boundaries. `scan(chunk)` returns null when every header
 * in the chunk is acceptable, or the violation. `counts[type]` (shared, e.g. per broker) counts packets seen.
 */
export class FrameScanner {
  private state: 'header' | 'length' | 'body' = 'header';
  private type = 0;
  private len = 0;
  private mult = 1;
  private lenBytes = 0;
  private skip = 0;
  private seen = 0;

  constructor(
    private readonly maxPacketSize: number,
    private readonly inbound: boolean,
    private readonly counts: Float64Array = new Float64Array(16),
  ) {}

  scan(chunk: Uint8Array): FrameError | null {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case 'header': {
          const b = chunk[i++]!;
          this.type = b >> 4;
          if (this.inbound) {
            if (this.type === 0 || this.type === 15) {
              return new FrameError('bad_packet_type', `reserved MQTT packet type ${this.type} (first byte 0x${b.toString(16)})`);
            }
            if (this.seen === 0 && this.type !== 1) {
              return new FrameError('first_packet_not_connect', `first packet must be CONNECT, got type ${this.type} (first byte 0x${b.toString(16)})`);
            }
          }
          this.len = 0;
          this.mult = 1;
          this.lenBytes = 0;
          this.state = 'length';
          break;
        }
        case 'length': {
          const b = chunk[i++]!;
          this.len += (b & 0x7f) * this.mult;
          this.mult *= 128;
          this.lenBytes++;
          if (b & 0x80) {
            if (this.lenBytes >= 4) return new FrameError('bad_length', 'remaining length longer than 4 bytes');
            break;
          }
          const total = 1 + this.lenBytes + this.len;
          if (this.inbound && total > this.maxPacketSize) {
            return new FrameError('oversized', `${PACKET_TYPES[this.type]} packet of ${total} bytes exceeds the maximum of ${this.maxPacketSize}`);
          }
          this.counts[this.type]! += 1;
          this.seen++;
          this.skip = this.len;
          this.state = this.skip > 0 ? 'body' : 'header';
          break;
        }
        case 'body': {
          const take = Math.min(this.skip, n - i);
          i += take;
          this.skip -= take;
          if (this.skip === 0) this.state = 'header';
          break;
        }
      }
    }
    return null;
  }
}

export interface FrameGuardOptions {
  maxPacketSize: number;
  /** shared per-broker counters: packets in/out by type nibble */
  packetsIn: Float64Array;
  packetsOut: Float64Array;
  remoteAddress?: string;
}

/**
 * Wraps `inner` (a connected Duplex): reads are scanned; writes pass through the PubackGate
 * (a PUBACK waits until its message is stored: puback-gate.ts), everything else in order.
 */
export class FrameGuard extends Duplex {
  readonly remoteAddress: string | undefined;
  private readonly inScan: FrameScanner;
  private readonly outScan: FrameScanner;
  private readonly gate = new PubackGate((buf) => this.forward(buf));

  constructor(
    private readonly inner: Duplex,
    opts: FrameGuardOptions,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = opts.remoteAddress;
    this.inScan = new FrameScanner(opts.maxPacketSize, true, opts.packetsIn);
    this.outScan = new FrameScanner(Number.MAX_SAFE_INTEGER, false, opts.packetsOut);

    inner.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      const err = this.inScan.scan(chunk);
      if (err) {
        inner.pause();
        this.destroy(err);
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
    inner.pause();
  }

  override _read(): void {
    this.inner.resume();
  }

  private forward(chunk: Buffer): boolean {
    this.outScan.scan(chunk);
    return this.inner.write(chunk);
  }

  /** broker.publish() of this client's QoS 1 message `messageId` completed: its PUBACK may go */
  pubackReady(messageId: number): void {
    if (!this.inner.destroyed) this.gate.released(messageId);
  }

  /** PUBACKs held until their message is stored */
  pubacksHeld(): number {
    return this.gate.held();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.inner.destroyed) return cb(new Error('connection closed'));
    if (this.gate.write(chunk)) cb();
    else this.inner.once('drain', () => cb());
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    if (this.inner.destroyed) return cb(new Error('connection closed'));
    // mqtt-packet corks per packet: one write of the whole batch costs less than one per piece
    const buf = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    if (this.gate.write(buf)) cb();
    else this.inner.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.gate.clear();
    if (!this.inner.destroyed) this.inner.destroy();
    cb(err);
  }
}
