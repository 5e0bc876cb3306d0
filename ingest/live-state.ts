/**
 * Derived live state per device (contract LiveState): the latest record per stream chosen by
 * EVENT time with the contract's one rule (`supersedes`, contract/live-state.ts: a late reading
 * never replaces a newer one; on equal event time the later arrival wins), the presence flag and the latest arrival
 * time. Publication is coalesced: a device's state goes out at most once per `minIntervalMs`.
 */
import { supersedes, type AnyTelemetryRecord, type DeviceKind, type LiveState } from '../contract';

export class LiveStateBook {
  private readonly states = new Map<string, LiveState>();
  private readonly dirty = new Set<string>();
  private readonly lastPublished = new Map<string, number>();

  constructor(private readonly minIntervalMs = 1000) {}

  private entry(deviceId: string, kind: DeviceKind, district: string): LiveState {
    let s = this.states.get(deviceId);
    if (!s) {
      s = { deviceId, kind, district, latest: {}, lastSeen: 0 };
      this.states.set(deviceId, s);
    }
    s.kind = kind;
    s.district = district;
    return s;
  }

  /** Apply an accepted record. Returns true when the state changed. */
  applyRecord(rec: AnyTelemetryRecord, opts: { seed?: boolean } = {}): boolean {
    const s = this.entry(rec.deviceId, rec.kind, rec.district);
    let changed = false;
    const cur = s.latest[rec.stream];
    if (supersedes(cur, rec.ts)) {
      s.latest[rec.stream] = { ts: rec.ts, late: rec.late, data: rec.payload };
      changed = true;
    }
    if (rec.receivedAt > s.lastSeen) {
      s.lastSeen = rec.receivedAt;
      changed = true;
    }
    if (changed && !opts.seed) this.dirty.add(rec.deviceId);
    return changed;
  }

  applyPresence(deviceId: string, kind: DeviceKind, district: string, online: boolean, receivedAt: number): boolean {
    const s = this.entry(deviceId, kind, district);
    let changed = s.online !== online;
    s.online = online;
    if (receivedAt > s.lastSeen) {
      s.lastSeen = receivedAt;
      changed = true;
    }
    if (changed) this.dirty.add(deviceId);
    return changed;
  }

  /**
   * Record why a device is not reporting normally (LiveState.issue); `offline` also marks it
   * offline (the broker refuses it). Returns true when the state changed.
   */
  applyIssue(deviceId: string, kind: DeviceKind, district: string, code: string, reason: string, at: number, offline: boolean): boolean {
    const s = this.entry(deviceId, kind, district);
    const cur = s.issue;
    let changed = false;
    if (!cur || cur.code !== code || cur.reason !== reason) {
      s.issue = { code, reason, since: at, lastAt: at };
      changed = true;
    } else cur.lastAt = Math.max(cur.lastAt, at);
    if (offline && s.online !== false) {
      s.online = false;
      changed = true;
    }
    if (changed) this.dirty.add(deviceId);
    return changed;
  }

  /** Clear the issue once the device is heard normally again, `quietMs` after its last occurrence. */
  clearIssue(deviceId: string, at: number, quietMs: number, codes?: readonly string[]): boolean {
    const s = this.states.get(deviceId);
    const cur = s?.issue;
    if (!s || !cur || (codes && !codes.includes(cur.code)) || at - cur.lastAt < quietMs) return false;
    s.issue = null;
    this.dirty.add(deviceId);
    return true;
  }

  get(deviceId: string): LiveState | undefined {
    return this.states.get(deviceId);
  }

  /**
   * States due for publication at `now`: changed since their last publication and last published
   * at least `minIntervalMs` ago. Marks them published.
   */
  due(now: number): LiveState[] {
    const out: LiveState[] = [];
    for (const id of this.dirty) {
      const last = this.lastPublished.get(id);
      if (last !== undefined && now - last < this.minIntervalMs) continue;
      const s = this.states.get(id);
      this.dirty.delete(id);
      if (!s) continue;
      this.lastPublished.set(id, now);
      out.push(structuredClone(s));
    }
    return out;
  }

  pending(): number {
    return this.dirty.size;
  }
}

/** The payload of svc/plate/<id> for one plate read: a LiveState carrying just that read. */
export function plateLiveState(rec: AnyTelemetryRecord & { stream: 'plate' }): LiveState {
  return {
    deviceId: rec.deviceId,
    kind: rec.kind,
    district: rec.district,
    latest: { plate: { ts: rec.ts, late: rec.late, data: rec.payload } },
    lastSeen: rec.receivedAt,
  };
}
