/**
 * Hotlist: a plate on the active hotlist (stolen vehicles and the like, managed by an admin in the
 * console and published retained on svc/hotlist) read at any camera → critical alert. An entry
 * may be limited to a direction and to local active hours, and may expire. While open, more
 * reads of the plate at that camera are de-duplicated; the alert resolves when the entry is
 * removed or expires, or `resolveAfterMinutes` after the plate's last read there.
 */
import type { HotlistEntry, PlateRead } from '../../contract';
import type { RegistryDevice } from '../../registry/schema';
import type { Rule, RuleContext } from './context';
import { inHourRange, localParts } from '../../norms/local-time';

export const HOTLIST_RULE = 'hotlist';

/** Does `entry` apply to this read (direction, active hours in `tz`, expiry)? */
export function hotlistMatches(entry: HotlistEntry, read: Pick<PlateRead, 'plate' | 'direction' | 'ts'>, tz: string): boolean {
  if (normalizePlate(entry.plate) !== normalizePlate(read.plate)) return false;
  if (entry.expiresAt !== undefined && read.ts >= entry.expiresAt) return false;
  if (entry.direction && entry.direction !== read.direction) return false;
  // active hours are local, [from, to), wrapping midnight when from > to; to = 24 is end of day
  if (entry.activeHours && !inHourRange(localParts(read.ts, tz).hour, entry.activeHours.from, entry.activeHours.to)) return false;
  return true;
}

/** Plates compare without dashes or spaces, upper case. */
export const normalizePlate = (p: string) => p.toUpperCase().replace(/[\s-]/g, '');

interface Hit {
  dev: RegistryDevice;
  plate: string;
  lastRead: number;
  reads: number;
}

export function hotlistRule(ctx: RuleContext): Rule & { version(): number } {
  let entries = new Map<string, HotlistEntry[]>();
  let version = -1;
  const hits = new Map<string, Hit>(); // by alert key

  function stillListed(hit: Hit, at: number): HotlistEntry | undefined {
    return (entries.get(hit.plate) ?? []).find((e) => e.expiresAt === undefined || at < e.expiresAt);
  }

  return {
    name: HOTLIST_RULE,
    version: () => version,
    onHotlist(h) {
      if (!h || !Array.isArray(h.entries)) return;
      version = h.version;
      const next = new Map<string, HotlistEntry[]>();
      for (const e of h.entries) {
        const k = normalizePlate(e.plate);
        next.set(k, [...(next.get(k) ?? []), e]);
      }
      entries = next;
      const now = ctx.now();
      for (const [key, hit] of hits) {
        if (!stillListed(hit, now)) {
          hits.delete(key);
          ctx.book.clear(HOTLIST_RULE, hit.dev.id, now, hit.plate, { reason: 'removed from the hotlist', hotlistVersion: version });
        }
      }
    },
    onRecord(rec, dev) {
      if (rec.stream !== 'plate') return;
      const r = rec.payload as PlateRead;
      const plate = normalizePlate(r.plate);
      const list = entries.get(plate);
      if (!list) return;
      const entry = list.find((e) => hotlistMatches(e, r, ctx.tz()));
      if (!entry) return;
      const key = `${HOTLIST_RULE}|${dev.id}|${plate}`;
      const hit = hits.get(key) ?? { dev, plate, lastRead: r.ts, reads: 0 };
      hit.reads++;
      hit.lastRead = Math.max(hit.lastRead, r.ts);
      hits.set(key, hit);
      // a late read still matters (the vehicle passed): it opens, marked late
      ctx.book.raise(
        {
          rule: HOTLIST_RULE,
          device: dev,
          severity: 'critical',
          code: 'hotlist',
          params: { plate: r.plate, region: r.region, direction: r.direction, road: dev.camera?.road ?? null, reason: entry.reason },
          title: `Hotlisted plate ${r.plate} (${r.region}) ${r.direction} at ${dev.camera?.road ?? dev.id}: ${entry.reason}`,
          detail: {
            plate: r.plate,
            region: r.region,
            direction: r.direction,
            lane: r.lane,
            confidence: r.confidence,
            readAt: r.ts,
            reason: entry.reason,
            reads: hit.reads,
            late: rec.late,
            hotlistVersion: version,
            ...(dev.location ? { location: dev.location } : {}),
          },
        },
        r.ts,
        plate,
      );
    },
    tick(now) {
      const after = ctx.cfg.hotlist.resolveAfterMinutes * 60_000;
      for (const [key, hit] of hits) {
        const listed = stillListed(hit, now);
        if (!listed) {
          hits.delete(key);
          ctx.book.clear(HOTLIST_RULE, hit.dev.id, now, hit.plate, { reason: 'hotlist entry expired' });
        } else if (after > 0 && now - hit.lastRead > after) {
          hits.delete(key);
          ctx.book.clear(HOTLIST_RULE, hit.dev.id, now, hit.plate, { reason: `no read for ${ctx.cfg.hotlist.resolveAfterMinutes} min`, reads: hit.reads });
        }
      }
    },
    forget(id) {
      for (const [k, h] of hits) if (h.dev.id === id) hits.delete(k);
    },
  };
}
