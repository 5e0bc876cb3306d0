/**
 * PUBACK after the message is stored, not before.
 *
 * Aedes 1.2 (lib/handlers/publish.js, `enqueuePublish`, QoS 1) writes the PUBACK to the
 * publisher first and only then runs `broker.publish()` — which enqueues the message in every
 * persistent subscriber's session (the durable part) and delivers it. A crash between the two
 * loses a message the device has already deleted. The gate sits in each connection's outgoing
 * byte stream (FrameGuard): a PUBACK frame is held until `broker.publish()` of that message has
 * completed (`released(messageId)`, from the wrapper in broker/index.ts); everything written after a
 * held PUBACK waits behind it, so the publisher sees PUBACKs in the order it sent its PUBLISHes
 * (MQTT-4.6.0-2). A publish that fails (persistence error) never releases its PUBACK: the device
 * keeps the message and sends it again. Measured by broker/puback-gate.test.ts.
 */

const PUBACK_BYTE = 0x40; // type 4, flags 0
const PUBACK_LEN = 4;

interface Seg {
  buf: Buffer;
  /** a PUBACK waiting for its message to be stored */
  held: boolean;
  id: number;
}

export class PubackGate {
  private queue: Seg[] = [];
  private head = 0;
  /** held PUBACKs by message id (a DUP re-send can hold two with the same id) */
  private heldById = new Map<number, Seg[]>();
  /** publishes already stored whose PUBACK frame has not reached the gate yet */
  private early = new Map<number, number>();
  // outgoing frame scanner (header → length → body), to find PUBACK frames in the byte stream
  private state: 'header' | 'length' | 'body' = 'header';
  private skip = 0;
  private len = 0;
  private mult = 1;
  /** a PUBACK split across writes */
  private partial: number[] | null = null;
  private heldCount = 0;

  constructor(private readonly forward: (buf: Buffer) => boolean) {}

  /** PUBACKs waiting for their message to be stored */
  held(): number {
    return this.heldCount;
  }

  /** bytes Aedes writes to the connection; returns what the last forward returned (false = wait for drain) */
  write(chunk: Buffer): boolean {
    let ok = true;
    let start = 0;
    let i = 0;
    const n = chunk.length;
    if (this.partial) {
      while (i < n && this.partial.length < PUBACK_LEN) this.partial.push(chunk[i++]!);
      if (this.partial.length < PUBACK_LEN) return ok;
      const p = Buffer.from(this.partial);
      this.partial = null;
      this.puback(p);
      start = i;
    }
    while (i < n) {
      if (this.state === 'header') {
        // MQTT 3.1.1 PUBACK: 0x40 0x02 <id>; Aedes 1.x speaks 3.1/3.1.1 only (no MQTT 5 reason codes)
        if (chunk[i] === PUBACK_BYTE && (i + 1 >= n || chunk[i + 1] === 2)) {
          if (i > start) this.plain(chunk.subarray(start, i));
          if (i + PUBACK_LEN <= n) {
            this.puback(chunk.subarray(i, i + PUBACK_LEN));
            i += PUBACK_LEN;
            start = i;
            continue;
          }
          this.partial = [...chunk.subarray(i)];
          start = i = n;
          break;
        }
        this.state = 'length';
        this.len = 0;
        this.mult = 1;
        i++;
      } else if (this.state === 'length') {
        const b = chunk[i++]!;
        this.len += (b & 0x7f) * this.mult;
        this.mult *= 128;
        if (!(b & 0x80)) {
          this.skip = this.len;
          this.state = this.skip > 0 ? 'body' : 'header';
        }
      } else {
        const take = Math.min(this.skip, n - i);
        i += take;
        this.skip -= take;
        if (this.skip === 0) this.state = 'header';
      }
    }
    if (start < n) this.plain(chunk.subarray(start, n));
    ok = this.flush();
    return ok;
  }

  /** broker.publish() of this publisher's message `id` completed: its PUBACK may go */
  released(id: number): void {
    const list = this.heldById.get(id);
    const seg = list?.shift();
    if (!seg) {
      this.early.set(id, (this.early.get(id) ?? 0) + 1);
      return;
    }
    if (list!.length === 0) this.heldById.delete(id);
    seg.held = false;
    this.heldCount--;
    this.flush();
  }

  /** the connection is gone: nothing more is sent */
  clear(): void {
    this.queue = [];
    this.head = 0;
    this.heldById.clear();
    this.early.clear();
    this.heldCount = 0;
  }

  private plain(buf: Buffer): void {
    // copy only when it has to wait (the caller may reuse its buffer)
    if (this.heldCount === 0 && this.head === this.queue.length) this.queue.push({ buf, held: false, id: -1 });
    else this.queue.push({ buf: Buffer.from(buf), held: false, id: -1 });
  }

  private puback(frame: Buffer): void {
    const id = frame.readUInt16BE(2);
    const early = this.early.get(id) ?? 0;
    if (early > 0) {
      if (early === 1) this.early.delete(id);
      else this.early.set(id, early - 1);
      this.queue.push({ buf: Buffer.from(frame), held: false, id });
      return;
    }
    const seg: Seg = { buf: Buffer.from(frame), held: true, id };
    this.queue.push(seg);
    const list = this.heldById.get(id);
    if (list) list.push(seg);
    else this.heldById.set(id, [seg]);
    this.heldCount++;
  }

  private flush(): boolean {
    let ok = true;
    const q = this.queue;
    let h = this.head;
    if (h < q.length && !q[h]!.held) {
      // coalesce what can go into one write
      const out: Buffer[] = [];
      while (h < q.length && !q[h]!.held) out.push(q[h++]!.buf);
      ok = this.forward(out.length === 1 ? out[0]! : Buffer.concat(out));
    }
    if (h === q.length) {
      this.queue = [];
      this.head = 0;
    } else if (h > 1024 && h * 2 > q.length) {
      this.queue = q.slice(h);
      this.head = 0;
    } else this.head = h;
    return ok;
  }
}
