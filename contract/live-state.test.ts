import { describe, expect, it } from 'vitest';
import { mergeLiveState, supersedes } from './live-state';
import type { LiveState } from './records';

describe('mergeLiveState: the one LiveState merge (ingest, live hub, browser)', () => {
  const st = (latest: LiveState['latest'], more: Partial<LiveState> = {}): LiveState => ({ deviceId: 'truck-01', kind: 'truck', district: 'Centro', latest, lastSeen: 0, ...more });
  const r = (ts: number, v: number) => ({ ts, late: false, data: { v } });
  it('per stream the later event time wins, whatever the arrival order', () => {
    const a = mergeLiveState(st({ gps: r(20, 1) }), st({ gps: r(10, 2), status: r(5, 3) }));
    expect(a.latest).toEqual({ gps: r(20, 1), status: r(5, 3) });
  });
  it('on equal event time the later arrival wins (the same rule as ingest’s supersedes)', () => {
    expect(mergeLiveState(st({ gps: r(10, 1) }), st({ gps: r(10, 2) })).latest.gps).toEqual(r(10, 2));
    expect(supersedes({ ts: 10 }, 10)).toBe(true);
    expect(supersedes({ ts: 10 }, 9)).toBe(false);
    expect(supersedes(undefined, 0)).toBe(true);
  });
  it('presence and issue carry over unless said; lastSeen is the latest; not in place unless asked', () => {
    const prev = st({}, { online: true, issue: { code: 'c', reason: 'r', since: 1, lastAt: 2 }, lastSeen: 50 });
    const m = mergeLiveState(prev, st({}, { lastSeen: 40 }));
    expect(m).toMatchObject({ online: true, issue: { code: 'c' }, lastSeen: 50 });
    expect(m).not.toBe(prev);
    expect(mergeLiveState(prev, st({}, { online: false, issue: null, lastSeen: 60 }))).toMatchObject({ online: false, issue: null, lastSeen: 60 });
    expect(prev.online).toBe(true);
    const inPlace = mergeLiveState(prev, st({ gps: r(1, 1) }), { inPlace: true });
    expect(inPlace).toBe(prev);
    expect(prev.latest.gps).toEqual(r(1, 1));
  });
});
