/**
 * Geofences (contract/geofences.ts): each truck's GPS fixes, on event time, against the active
 * geofences the console publishes retained on svc/geofences.
 *
 *   enter  the fix is at least GEOFENCE_LIMITS.enterDepthM inside the border
 *   exit   a later fix is at least GEOFENCE_LIMITS.exitDistanceM outside (hysteresis: a truck
 *          driving along the border does not flap in and out), or the geofence was removed,
 *          deactivated or redrawn (reason)
 *   dwell  once per visit, when a fix comes `dwellLimitMin` or more after the entry
 *
 * Every event is published (GeofenceEvent on svc/geofence/<deviceId>; the API stores the visits),
 * late and backfilled ones too, marked `late`: they are history for the reports. Alerts are live
 * only: entering a `restricted` geofence raises geofence_restricted (critical), dwelling over the
 * limit geofence_dwell (warning); both resolve when the truck leaves. Live and late fixes run in
 * two state machines of their own (`tracker`, `history`): the first start's backfill replays a
 * truck's last days after its live fixes began, and each stream is in order by itself. Within
 * each, fixes out of order are ignored (it runs forward); invalid fixes (few satellites, high
 * HDOP) too.
 */
import type { GeofenceEvent, GeofenceSet, Geofence, GpsFix, LonLatT } from '../../contract';
import { GEOFENCE_LIMITS, geofenceRing, signedDistanceM } from '../../contract';
import type { RegistryDevice } from '../../registry/schema';
import type { Rule, RuleContext } from './context';

export const GEOFENCE_RULES = { restricted: 'geofence_restricted', dwell: 'geofence_dwell' } as const;
/**
 * A history visit still open when no late fix of the truck has arrived for this long (wall
 * clock) ends at its last fix, reason `history_end`: the replay is over, and the live state
 * machine follows the truck from its first live fix on.
 */
export const HISTORY_IDLE_MS = 5 * 60_000;

export interface Visit {
  visitId: string;
  geofenceId: string;
  enteredAt: number;
  dwellSent: boolean;
}

export type TrackerEvent = { type: 'enter' | 'exit' | 'dwell'; deviceId: string; geofence: Geofence; visit: Visit; at: number; reason?: string };

interface Indexed {
  g: Geofence;
  /** bbox [w, s, e, n] grown by the exit distance: a fix outside it is outside for sure */
  box: [number, number, number, number];
  key: string;
}

/** degrees of latitude / longitude per metre, at city latitudes (generous for the prefilter) */
const DEG_PER_M = 1 / 100_000;

function indexOf(g: Geofence): Indexed {
  const ring = geofenceRing(g.geometry);
  let w = Infinity,
    s = Infinity,
    e = -Infinity,
    n = -Infinity;
  for (const [x, y] of ring) {
    w = Math.min(w, x);
    e = Math.max(e, x);
    s = Math.min(s, y);
    n = Math.max(n, y);
  }
  const m = (GEOFENCE_LIMITS.exitDistanceM + 5) * DEG_PER_M;
  const mLon = m / Math.max(0.2, Math.cos((((s + n) / 2) * Math.PI) / 180));
  return { g, box: [w - mLon, s - m, e + mLon, n + m], key: JSON.stringify(g.geometry) };
}

/**
 * The enter / exit / dwell state machine of many trucks over many geofences (no alerts, no I/O):
 * `setGeofences` and `onFix` return the events they decide.
 */
export class GeofenceTracker {
  private fences = new Map<string, Indexed>();
  private trucks = new Map<string, { lastTs: number; inside: Map<string, Visit> }>();
  version = -1;

  get size(): number {
    return this.fences.size;
  }

  /** Replace the geofences; trucks inside one removed, deactivated or redrawn leave it (at `at`). */
  setGeofences(list: readonly Geofence[], at: number): TrackerEvent[] {
    const next = new Map<string, Indexed>();
    for (const g of list) if (g.active) next.set(g.id, indexOf(g));
    const out: TrackerEvent[] = [];
    for (const [deviceId, t] of this.trucks) {
      for (const [gid, v] of [...t.inside]) {
        const old = this.fences.get(gid);
        const now = next.get(gid);
        const reason = !now ? 'geofence_removed' : old && old.key !== now.key ? 'geofence_changed' : null;
        if (!reason) continue;
        t.inside.delete(gid);
        out.push({ type: 'exit', deviceId, geofence: (now ?? old)!.g, visit: v, at: Math.max(at, v.enteredAt), reason });
      }
    }
    this.fences = next;
    return out;
  }

  onFix(deviceId: string, pos: LonLatT, ts: number): TrackerEvent[] {
    let t = this.trucks.get(deviceId);
    if (!t) this.trucks.set(deviceId, (t = { lastTs: -Infinity, inside: new Map() }));
    if (ts <= t.lastTs) return [];
    t.lastTs = ts;
    if (!this.fences.size && !t.inside.size) return [];
    const out: TrackerEvent[] = [];
    for (const f of this.fences.values()) {
      const v = t.inside.get(f.g.id);
      const [w, s, e, n] = f.box;
      const near = pos[0] >= w && pos[0] <= e && pos[1] >= s && pos[1] <= n;
      if (!v) {
        if (!near) continue;
        if (signedDistanceM(f.g.geometry, pos) <= -GEOFENCE_LIMITS.enterDepthM) {
          const visit: Visit = { visitId: `${f.g.id}.${deviceId}.${Math.max(0, Math.floor(ts)).toString(36)}`, geofenceId: f.g.id, enteredAt: ts, dwellSent: false };
          t.inside.set(f.g.id, visit);
          out.push({ type: 'enter', deviceId, geofence: f.g, visit, at: ts });
        }
        continue;
      }
      if (!near || signedDistanceM(f.g.geometry, pos) >= GEOFENCE_LIMITS.exitDistanceM) {
        t.inside.delete(f.g.id);
        out.push({ type: 'exit', deviceId, geofence: f.g, visit: v, at: ts });
        continue;
      }
      if (f.g.dwellLimitMin !== undefined && !v.dwellSent && ts - v.enteredAt >= f.g.dwellLimitMin * 60_000) {
        v.dwellSent = true;
        out.push({ type: 'dwell', deviceId, geofence: f.g, visit: v, at: ts });
      }
    }
    return out;
  }

  /** End every visit in progress of a truck (at its last fix), e.g. when its history ends. */
  endVisits(deviceId: string, reason: string): TrackerEvent[] {
    const t = this.trucks.get(deviceId);
    if (!t) return [];
    const out: TrackerEvent[] = [];
    for (const [gid, v] of t.inside) {
      const f = this.fences.get(gid);
      if (f) out.push({ type: 'exit', deviceId, geofence: f.g, visit: v, at: Math.max(v.enteredAt, t.lastTs), reason });
    }
    t.inside.clear();
    return out;
  }

  /** event time of the truck's last fix (−Infinity before any) */
  lastFix(deviceId: string): number {
    return this.trucks.get(deviceId)?.lastTs ?? -Infinity;
  }

  /** the visits in progress of a truck */
  inside(deviceId: string): Visit[] {
    return [...(this.trucks.get(deviceId)?.inside.values() ?? [])];
  }

  /** visits in progress per truck (restart takeover) */
  save(): Record<string, { lastTs: number; inside: Visit[] }> {
    const out: Record<string, { lastTs: number; inside: Visit[] }> = {};
    for (const [id, t] of this.trucks) if (t.inside.size) out[id] = { lastTs: t.lastTs, inside: [...t.inside.values()] };
    return out;
  }

  restore(m: Record<string, { lastTs: number; inside: Visit[] }>): void {
    for (const [id, x] of Object.entries(m ?? {})) {
      if (!x || !Array.isArray(x.inside) || this.trucks.has(id)) continue;
      const inside = new Map<string, Visit>();
      for (const v of x.inside)
        if (v && typeof v.visitId === 'string' && typeof v.geofenceId === 'string' && typeof v.enteredAt === 'number') inside.set(v.geofenceId, { ...v, dwellSent: !!v.dwellSent });
      this.trucks.set(id, { lastTs: Number(x.lastTs) || -Infinity, inside });
    }
  }

  forget(deviceId: string): void {
    this.trucks.delete(deviceId);
  }
}

export interface GeofenceRule extends Rule {
  /** live fixes (alerts, takeover) */
  tracker: GeofenceTracker;
  /** late and backfilled fixes (history: visits only) */
  history: GeofenceTracker;
  onGeofences(s: GeofenceSet): void;
}

export function geofenceRule(ctx: RuleContext, publishEvent: (e: GeofenceEvent) => void): GeofenceRule {
  const tracker = new GeofenceTracker();
  const history = new GeofenceTracker();
  /** arrival (wall clock) of each truck's latest late fix */
  const lateArrival = new Map<string, number>();
  const { book } = ctx;
  const devOf = (id: string) => ctx.registry.device(id);

  function emit(dev: Pick<RegistryDevice, 'id' | 'kind' | 'district'>, ev: TrackerEvent, late: boolean, pos?: LonLatT) {
    const g = ev.geofence;
    const e: GeofenceEvent = {
      visitId: ev.visit.visitId,
      event: ev.type,
      geofenceId: g.id,
      name: g.name,
      kind: g.kind,
      deviceId: dev.id,
      district: dev.district,
      at: Math.floor(ev.at),
      enteredAt: Math.floor(ev.visit.enteredAt),
      late,
      ...(pos ? { lon: pos[0], lat: pos[1] } : {}),
      ...(ev.reason ? { reason: ev.reason } : {}),
    };
    publishEvent(e);
    if (ev.type === 'enter') {
      if (g.kind === 'restricted' && !late) {
        book.raise(
          {
            rule: GEOFENCE_RULES.restricted,
            device: dev,
            severity: 'critical',
            code: 'geofence_restricted',
            params: { geofenceId: g.id, name: g.name },
            title: `${dev.id} entered the restricted zone ${g.name}`,
            detail: { visitId: ev.visit.visitId, ...(pos ? { lon: pos[0], lat: pos[1] } : {}) },
          },
          ev.at,
          g.id,
        );
      }
    } else if (ev.type === 'dwell') {
      if (!late && g.dwellLimitMin !== undefined) {
        const minutes = Math.round((ev.at - ev.visit.enteredAt) / 60_000);
        book.raise(
          {
            rule: GEOFENCE_RULES.dwell,
            device: dev,
            severity: 'warning',
            code: 'geofence_dwell',
            params: { geofenceId: g.id, name: g.name, kind: g.kind, minutes, limitMin: g.dwellLimitMin },
            title: `${dev.id} inside ${g.name} for ${minutes} min (limit ${g.dwellLimitMin})`,
            detail: { visitId: ev.visit.visitId, enteredAt: ev.visit.enteredAt },
          },
          ev.at,
          g.id,
        );
      }
    } else {
      const detail = { visitId: ev.visit.visitId, reason: ev.reason ?? 'left the geofence' };
      book.clear(GEOFENCE_RULES.restricted, dev.id, ev.at, g.id, detail);
      book.clear(GEOFENCE_RULES.dwell, dev.id, ev.at, g.id, detail);
    }
  }

  return {
    name: 'geofences',
    tracker,
    history,
    onGeofences(s) {
      if (!s || !Array.isArray(s.geofences)) return;
      if (s.version < tracker.version) return; // an older retained set arriving late
      tracker.version = s.version;
      for (const ev of tracker.setGeofences(s.geofences, ctx.now())) {
        const dev = devOf(ev.deviceId);
        if (dev) emit(dev, ev, false);
      }
      for (const ev of history.setGeofences(s.geofences, ctx.now())) {
        const dev = devOf(ev.deviceId);
        if (dev) emit(dev, { ...ev, at: Math.max(ev.visit.enteredAt, history.lastFix(ev.deviceId)) }, true);
      }
    },
    onRecord(rec, dev, stale) {
      if (dev.kind !== 'truck' || rec.stream !== 'gps') return;
      const fix = rec.payload as GpsFix;
      const T = ctx.cfg.truck;
      if ((fix.sats !== undefined && fix.sats < T.minSats) || (fix.hdop !== undefined && fix.hdop > T.maxHdop)) return;
      const pos: LonLatT = [fix.lon, fix.lat];
      if (stale) lateArrival.set(dev.id, rec.receivedAt);
      for (const ev of (stale ? history : tracker).onFix(dev.id, pos, fix.ts)) emit(dev, ev, stale, pos);
    },
    tick(now) {
      for (const [id, at] of lateArrival) {
        if (now - at < HISTORY_IDLE_MS) continue;
        lateArrival.delete(id);
        const dev = devOf(id);
        const evs = history.endVisits(id, 'history_end');
        if (dev) for (const ev of evs) emit(dev, ev, true);
      }
    },
    forget(id) {
      tracker.forget(id);
      history.forget(id);
      lateArrival.delete(id);
    },
  };
}
