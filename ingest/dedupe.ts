/**
 * In-memory de-duplication of recent readings: per device, a bounded set of recently accepted
 * (stream, event time) keys. It catches the common duplicates cheaply (a device re-sending after a
 * lost PUBACK, QoS 1 redelivery); the store's idempotent write catches the rest (after a restart,
 * or once a key has aged out of this window).
 */
export class RecentKeys {
  private readonly byDevice = new Map<string, Set<string>>();

  /** @param perDevice most recent keys remembered per device (oldest forgotten first) */
  constructor(private readonly perDevice = 1024) {
    if (!Number.isInteger(perDevice) || perDevice < 1) throw new RangeError('perDevice must be a positive integer');
  }

  private static key(stream: string, ts: number): string {
    return `${stream}@${ts}`;
  }

  /** True when (device, stream, ts) was seen recently. */
  has(deviceId: string, stream: string, ts: number): boolean {
    return this.byDevice.get(deviceId)?.has(RecentKeys.key(stream, ts)) ?? false;
  }

  /**
   * Remember (device, stream, ts). Returns false when it was already remembered (a duplicate),
   * true when it is new.
   */
  add(deviceId: string, stream: string, ts: number): boolean {
    let set = this.byDevice.get(deviceId);
    if (!set) {
      set = new Set();
      this.byDevice.set(deviceId, set);
    }
    const k = RecentKeys.key(stream, ts);
    if (set.has(k)) return false;
    set.add(k);
    if (set.size > this.perDevice) {
      // Sets iterate in insertion order: the first key is the oldest.
      const oldest = set.values().next().value as string;
      set.delete(oldest);
    }
    return true;
  }

  /** Keys remembered for a device (tests, metrics). */
  size(deviceId?: string): number {
    if (deviceId !== undefined) return this.byDevice.get(deviceId)?.size ?? 0;
    let n = 0;
    for (const s of this.byDevice.values()) n += s.size;
    return n;
  }

  clear(): void {
    this.byDevice.clear();
  }
}
