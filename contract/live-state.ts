/**
 * The one LiveState merge: ingest's live book, the API's live hub and the browser's live model
 * all fold states (and readings) with it, so they agree on what "latest" means.
 *
 * Rule: per stream, the reading with the later EVENT time wins; on equal event time the one
 * merged later (the later arrival) wins — a re-sent or corrected reading of the same instant
 * replaces the earlier one, and a state republished by ingest is taken as is. A late reading
 * never replaces a newer one. Presence (`online`) and `issue` carry over when the new state does
 * not say them (`issue: null` = cleared); `lastSeen` is the latest arrival of either.
 * Pure: no Node APIs (the browser bundles it).
 */
import type { LiveState } from './records';

export type LatestReading = LiveState['latest'][string];

/** True when `next` (event time `nextTs`) replaces the current reading `cur` of its stream. */
export const supersedes = (cur: { ts: number } | undefined, nextTs: number): boolean => !cur || nextTs >= cur.ts;

/**
 * Merge `next` into `prev`. `inPlace` mutates and returns `prev` (the browser's model owns its
 * states; no allocation per message); otherwise `prev` is left untouched and a new state returned.
 * Without `prev`, a copy of `next` (its `latest` map copied) is returned.
 */
export function mergeLiveState(prev: LiveState | undefined, next: LiveState, opts: { inPlace?: boolean } = {}): LiveState {
  if (!prev) return { ...next, latest: { ...next.latest } };
  const out = opts.inPlace ? prev : { ...prev, latest: { ...prev.latest } };
  const latest = out.latest;
  for (const stream in next.latest) {
    const rec = next.latest[stream]!;
    if (supersedes(latest[stream], rec.ts)) latest[stream] = rec;
  }
  out.kind = next.kind;
  if (next.district) out.district = next.district;
  if (next.online !== undefined) out.online = next.online;
  if (next.lastSeen > out.lastSeen) out.lastSeen = next.lastSeen;
  if (next.issue !== undefined) out.issue = next.issue;
  return out;
}
