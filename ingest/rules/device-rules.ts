/**
 * Device health:
 *   offline          last will (at once), clean disconnect or silence beyond `offlineFactor` × the
 *                    interval the device is expected to report at in its current mode (registry
 *                    `intervals`: moving = dataS, parked = parkedS, off shift = offShiftS; status
 *                    counts too); never while its credentials are refused (that alert says why)
 *   clock_skew       the device's clock is off: measured (status / event time vs arrival), or its
 *                    readings are dead-lettered as future_timestamp (`clock_skew.rejected`)
 *   credentials_refused  the broker refuses the device's connections (wrong, rotated, revoked)
 *   payload_rejected the device's payloads are being dead-lettered (schema, invalid JSON, …)
 *   stuck_sensor     identical readings too long
 *   battery_low
 * A device whose messages arrive but are rejected is talking: it is not "offline".
 */
import type { AirReading, DeviceStatus, NoiseReading } from '../../contract';
import { presenceMonitored, type RegistryDevice } from '../../registry/schema';
import { thresholdsFor } from './config';
import { fmt1, type Rule, type RuleContext } from './context';

export const OFFLINE_RULE = 'offline';
export const SKEW_RULE = 'clock_skew';
export const STUCK_RULE = 'stuck_sensor';
export const BATTERY_RULE = 'battery_low';
export const CREDENTIALS_RULE = 'credentials_refused';
export const PAYLOAD_RULE = 'payload_rejected';

/** What the device is expected to be doing (trucks: from ignition and the route's shift). */
export type ReportMode = 'moving' | 'parked' | 'off_shift' | 'fixed';

interface DevState {
  lastArrival: number | null;
  /** last will received and not back since */
  presenceOffline: boolean;
  /** clean disconnect at (ms), not back since */
  disconnectedAt: number | null;
  offsets: number[];
  stuckSig: string | null;
  stuckSince: number;
  stuckLastTs: number;
  ignitionOff: boolean;
  /** recent dead letters (arrival times) by reason */
  rejects: Map<string, number[]>;
  lastSkewReject: number;
  lastPayloadReject: number;
  authRefusals: number[];
}

/** Expected gap between messages in a mode: the shortest of the streams the device sends then. */
export function expectedIntervalS(dev: RegistryDevice, mode: ReportMode = 'moving'): number {
  const iv = dev.intervals;
  if (dev.kind === 'camera') return iv.statusS; // plates only when traffic passes
  if (dev.kind !== 'truck' || mode === 'moving' || mode === 'fixed') return Math.min(iv.dataS, iv.statusS);
  const parked = Math.min(iv.parkedS ?? iv.statusS, iv.statusS);
  return mode === 'off_shift' ? Math.max(parked, iv.offShiftS ?? parked) : parked;
}

const MIN = 60_000;
/** the platform's lag (see platformLag): devices heard within this long, at least this many */
const LAG_WINDOW_MS = 2 * MIN;
const LAG_MIN_DEVICES = 3;
const LAG_EVERY_MS = 1000;

export function deviceRules(ctx: RuleContext, modeOf: (dev: RegistryDevice, at: number) => ReportMode = () => 'fixed'): Rule {
  const startedAt = ctx.now();
  const D = ctx.cfg.device;
  const states = new Map<string, DevState>();
  const state = (id: string): DevState => {
    let s = states.get(id);
    if (!s) {
      s = {
        lastArrival: null,
        presenceOffline: false,
        disconnectedAt: null,
        offsets: [],
        stuckSig: null,
        stuckSince: 0,
        stuckLastTs: -Infinity,
        ignitionOff: false,
        rejects: new Map(),
        lastSkewReject: -Infinity,
        lastPayloadReject: -Infinity,
        authRefusals: [],
      };
      states.set(id, s);
    }
    return s;
  };
  const open = (rule: string, id: string) => ctx.book.get(`${rule}|${id}`);
  /**
   * The newest event time of live data from any device: a device's silence is its own only if
   * others have sent data taken after its deadline (when the platform itself stalls — broker,
   * ingest, a starved process — nobody has, and no device is blamed).
   */
  let newestLive = -Infinity;
  /**
   * How late the platform itself delivers data just now: the median offset (event time − arrival)
   * of the latest in-time record of every other device heard within LAG_WINDOW_MS. A device's
   * clock is behind only by what its records lag beyond that: when ingest, the broker or a starved
   * process falls behind, every device's readings arrive late together and no clock is blamed.
   * Recomputed at most once per LAG_EVERY_MS of arrival time (cheap with thousands of devices).
   */
  const latestOffset = new Map<string, { offset: number; at: number }>();
  let lagCache = { at: -Infinity, offsets: [] as number[], ids: new Set<string>() };
  const platformLag = (deviceId: string, at: number): number => {
    if (at - lagCache.at >= LAG_EVERY_MS || at < lagCache.at) {
      const offsets: number[] = [];
      const ids = new Set<string>();
      for (const [id, o] of latestOffset)
        if (at - o.at <= LAG_WINDOW_MS) {
          offsets.push(o.offset);
          ids.add(id);
        }
      lagCache = { at, offsets: offsets.sort((a, b) => a - b), ids };
    }
    const { offsets, ids } = lagCache;
    // the device's own record moves the median by one place at most; it must not be the only evidence
    if (offsets.length - (ids.has(deviceId) ? 1 : 0) < LAG_MIN_DEVICES) return 0;
    return Math.min(0, offsets[Math.floor(offsets.length / 2)]!);
  };

  function offline(
    dev: RegistryDevice,
    at: number,
    code: 'offline.silent' | 'offline.last_will' | 'offline.disconnected',
    params: Record<string, string | number | null>,
    title: string,
    detail: Record<string, unknown>,
  ) {
    if (open(CREDENTIALS_RULE, dev.id)) return; // the refusal is the fault; "offline" would misreport it
    const s = state(dev.id);
    ctx.book.raise(
      {
        rule: OFFLINE_RULE,
        device: dev,
        // a truck parked with its ignition off going quiet is expected: information only
        severity: dev.kind === 'truck' && s.ignitionOff ? 'info' : 'warning',
        code,
        params,
        title: `${dev.id} offline: ${title}`,
        detail,
      },
      at,
    );
  }

  /** the device is heard from (accepted message, or a message that reached ingest and was rejected) */
  function heard(dev: RegistryDevice, s: DevState, at: number) {
    s.lastArrival = Math.max(s.lastArrival ?? 0, at);
    s.presenceOffline = false;
    s.disconnectedAt = null;
    if (open(OFFLINE_RULE, dev.id)) ctx.book.clear(OFFLINE_RULE, dev.id, at, undefined, { backAt: at });
    if (open(CREDENTIALS_RULE, dev.id)) ctx.book.clear(CREDENTIALS_RULE, dev.id, at, undefined, { connectedAt: at });
    s.authRefusals = [];
  }

  const prune = (list: number[], from: number) => {
    while (list.length && list[0]! < from) list.shift();
  };

  return {
    name: 'devices',
    onRecord(rec, dev, stale) {
      const s = state(dev.id);
      heard(dev, s, rec.receivedAt);
      if (!stale) newestLive = Math.max(newestLive, Math.min(rec.ts, rec.receivedAt));
      if (rec.stream === 'event') {
        const t = (rec.payload as { type: string }).type;
        if (t === 'ignition_off') s.ignitionOff = true;
        if (t === 'ignition_on') s.ignitionOff = false;
      }
      const th = thresholdsFor(ctx.cfg, dev);

      // clock skew: the device's own measurement, else the offset closest to zero among the last
      // few records that arrived in time (a late record — buffered while offline, flushed after a
      // reconnect or a restart — says nothing about the clock; a clock that far behind is the
      // device's own status to report)
      const maxSkewMs = th.maxClockSkewS * 1000;
      let skew: number | null = null;
      let how = 'event time vs arrival';
      if (rec.stream === 'status' && (rec.payload as DeviceStatus).clockSkewMs !== undefined) {
        skew = (rec.payload as DeviceStatus).clockSkewMs!;
        how = 'reported by the device';
      } else if (!rec.late) {
        const offset = rec.ts - rec.receivedAt;
        if (!stale) latestOffset.set(dev.id, { offset, at: rec.receivedAt });
        // behind: only what lags beyond the platform's lag when it arrived and the transport
        // allowance (offlineSlackMs); transport cannot make a reading early
        const lag = offset < -maxSkewMs / 2 ? Math.min(platformLag(dev.id, rec.receivedAt), 0) - D.offlineSlackMs : 0;
        s.offsets.push(lag < 0 ? Math.min(0, offset - lag) : offset);
        if (s.offsets.length > D.skewSamples) s.offsets.shift();
        if (s.offsets.length >= D.skewSamples) skew = s.offsets.reduce((a, b) => (Math.abs(b) < Math.abs(a) ? b : a));
        if (lag < 0) how = `event time vs arrival, beyond ${fmt1(-lag / 1000)} s of platform lag and transport allowance`;
      }
      const skewOpen = open(SKEW_RULE, dev.id);
      if (skew !== null) {
        if (Math.abs(skew) > maxSkewMs) {
          if (!stale || skewOpen) {
            ctx.book.raise(
              {
                rule: SKEW_RULE,
                device: dev,
                severity: 'warning',
                code: 'clock_skew',
                params: { skewS: Math.round(skew / 1000) },
                title: `${dev.id} clock ${skew > 0 ? 'ahead' : 'behind'} by ${fmt1(Math.abs(skew) / 1000)} s`,
                detail: { skewMs: skew, maxSkewMs, how },
              },
              rec.receivedAt,
            );
          }
        } else if (Math.abs(skew) <= maxSkewMs / 2 && skewOpen && rec.receivedAt - s.lastSkewReject > D.rejectClearMs) {
          ctx.book.clear(SKEW_RULE, dev.id, rec.receivedAt, undefined, { skewMs: skew });
        }
      }
      // readings accepted again after a run of future_timestamp rejections: the clock is right now
      if (skewOpen?.spec.code === 'clock_skew.rejected' && !stale && Math.abs(rec.ts - rec.receivedAt) <= maxSkewMs / 2 && rec.receivedAt - s.lastSkewReject > D.rejectClearMs) {
        ctx.book.clear(SKEW_RULE, dev.id, rec.receivedAt, undefined, { reason: 'readings accepted again' });
      }

      // stuck sensor: identical measured values for too long (event time)
      if (rec.stream === 'air' || rec.stream === 'noise') {
        if (rec.ts <= s.stuckLastTs) return;
        s.stuckLastTs = rec.ts;
        const p = rec.payload as AirReading & NoiseReading;
        const { ts: _ts, windowS: _w, ...values } = p;
        const sig = JSON.stringify(values);
        if (sig !== s.stuckSig) {
          // the first reading this engine sees is no change (an alert taken over at restart stays)
          const first = s.stuckSig === null;
          s.stuckSig = sig;
          s.stuckSince = rec.ts;
          if (!first && open(STUCK_RULE, dev.id)) ctx.book.clear(STUCK_RULE, dev.id, rec.ts, undefined, { changedAt: rec.ts });
        } else {
          const forMs = rec.ts - s.stuckSince;
          const isOpen = !!open(STUCK_RULE, dev.id);
          if (isOpen) ctx.book.confirm(`${STUCK_RULE}|${dev.id}`);
          if (forMs >= th.stuckMinutes * MIN && !(stale && !isOpen)) {
            ctx.book.raise(
              {
                rule: STUCK_RULE,
                device: dev,
                severity: 'warning',
                code: 'stuck_sensor',
                params: { minutes: Math.round(forMs / MIN), stream: rec.stream },
                title: `${dev.id} sensor stuck: identical readings for ${Math.round(forMs / MIN)} min`,
                detail: { values, since: s.stuckSince, stuckMinutes: th.stuckMinutes },
              },
              rec.ts,
            );
          }
        }
      }

      // battery
      if (rec.stream === 'status') {
        const pct = (rec.payload as DeviceStatus).batteryPct;
        if (pct === undefined) return;
        const key = `${BATTERY_RULE}|${dev.id}`;
        if (pct < th.batteryLowPct) {
          if (stale && !ctx.book.isOpen(key)) return;
          const critical = pct < Math.min(D.batteryCriticalPct, th.batteryLowPct);
          ctx.book.raise(
            {
              rule: BATTERY_RULE,
              device: dev,
              severity: critical ? 'critical' : 'warning',
              code: 'battery_low',
              params: { pct: Math.round(pct * 10) / 10 },
              title: `${dev.id} battery ${fmt1(pct)} %`,
              detail: { batteryPct: pct, lowPct: th.batteryLowPct },
            },
            rec.ts,
          );
        } else if (pct >= th.batteryLowPct + D.batteryHysteresisPct) {
          ctx.book.clear(BATTERY_RULE, dev.id, rec.ts, undefined, { batteryPct: pct });
        }
      }
    },
    onReject(dev, reason, at, eventTs) {
      const s = state(dev.id);
      // its messages reach ingest: not offline (and not refused by the broker)
      heard(dev, s, at);
      if (reason === 'duplicate' || reason === 'unknown_device') return;
      const list = s.rejects.get(reason) ?? [];
      list.push(at);
      prune(list, at - D.rejectWindowMs);
      s.rejects.set(reason, list);
      if (reason === 'future_timestamp') {
        s.lastSkewReject = at;
        if (list.length < D.rejectMinCount) return;
        const skewS = eventTs !== undefined ? Math.round((eventTs - at) / 1000) : null;
        ctx.book.raise(
          {
            rule: SKEW_RULE,
            device: dev,
            severity: 'warning',
            code: 'clock_skew.rejected',
            params: { skewS, count: list.length },
            title: `${dev.id} clock ahead${skewS !== null ? ` by ${skewS} s` : ''}: ${list.length} readings rejected (future timestamp)`,
            detail: { skewMs: skewS === null ? null : skewS * 1000, rejected: list.length, windowMs: D.rejectWindowMs },
          },
          at,
        );
        return;
      }
      s.lastPayloadReject = at;
      if (list.length < D.rejectMinCount) return;
      ctx.book.raise(
        {
          rule: PAYLOAD_RULE,
          device: dev,
          severity: 'warning',
          level: reason,
          code: 'payload_rejected',
          params: { reason, count: list.length },
          title: `${dev.id}: ${list.length} messages rejected (${reason}) in ${Math.round(D.rejectWindowMs / MIN)} min`,
          detail: { reason, rejected: list.length, windowMs: D.rejectWindowMs },
        },
        at,
      );
    },
    onAuthRefused(dev, reason, at) {
      const s = state(dev.id);
      s.authRefusals.push(at);
      prune(s.authRefusals, at - D.rejectWindowMs);
      if (s.authRefusals.length < D.authRefusedMinCount) return;
      ctx.book.raise(
        {
          rule: CREDENTIALS_RULE,
          device: dev,
          severity: 'critical',
          level: reason,
          code: 'credentials_refused',
          params: { reason, count: s.authRefusals.length },
          title: `${dev.id}: the broker refuses its credentials (${reason}), ${s.authRefusals.length} attempts`,
          detail: { reason, attempts: s.authRefusals.length },
        },
        at,
      );
      // what the device shows is explained by the refusal: no separate "offline"
      if (open(OFFLINE_RULE, dev.id)) ctx.book.clear(OFFLINE_RULE, dev.id, at, undefined, { reason: 'credentials refused' });
    },
    onPresence(dev, online, at, reason) {
      if (!presenceMonitored(dev)) return; // planned (not installed yet) or retired: silence is expected
      const s = state(dev.id);
      if (online) {
        heard(dev, s, at);
      } else if (reason === 'last will') {
        s.presenceOffline = true;
        offline(dev, at, 'offline.last_will', {}, 'disconnected (last will)', { reason: 'last will', lastSeen: s.lastArrival });
      } else {
        // a clean disconnect is the device saying goodbye (shutdown, maintenance): an alert only if
        // it stays away longer than it would be silent anyway
        s.disconnectedAt = at;
      }
    },
    tick(now) {
      for (const dev of ctx.registry.registry.devices) {
        if (!presenceMonitored(dev)) continue; // planned (not installed yet) or retired
        const s = state(dev.id);
        if (s.presenceOffline) continue;
        const mode = modeOf(dev, now);
        const expectedS = expectedIntervalS(dev, mode);
        const limitMs = D.offlineFactor * expectedS * 1000 + D.offlineSlackMs;
        if (s.disconnectedAt !== null) {
          // as for silence: a goodbye from before this engine started (the retained presence of a
          // device that left before the restart) gets the start-up grace to come back;
          // and when nobody has been heard since the device's deadline, every device left at once
          // (the simulator or a gateway stopped, the platform is cut off): not its fault
          const since = s.disconnectedAt < startedAt ? Math.max(s.disconnectedAt, startedAt + Math.max(0, D.startupGraceMs - limitMs)) : s.disconnectedAt;
          if (now - since > limitMs && newestLive > since + limitMs) {
            offline(dev, now, 'offline.disconnected', {}, 'disconnected and not back', { reason: 'disconnected', disconnectedAt: s.disconnectedAt, lastSeen: s.lastArrival });
          }
          continue;
        }
        const ref = s.lastArrival ?? startedAt + Math.max(0, D.startupGraceMs - limitMs);
        const silentMs = now - ref;
        // when nobody has been heard since this device's deadline, the silence is on our side
        // (broker or ingest stalled, messages still queued): not the device's fault
        if (silentMs > limitMs && newestLive > ref + limitMs) {
          const silentS = Math.round(silentMs / 1000);
          offline(
            dev,
            now,
            'offline.silent',
            { silentS, expectedS, mode },
            s.lastArrival === null ? 'no message since the platform started' : `no message for ${silentS} s (${D.offlineFactor}× its ${expectedS} s ${mode} interval)`,
            { lastSeen: s.lastArrival, silentS, intervalS: expectedS, mode },
          );
        }
        // dead letters stopped: the payload alert resolves
        const p = open(PAYLOAD_RULE, dev.id);
        if (p && now - s.lastPayloadReject > D.rejectClearMs) ctx.book.clear(PAYLOAD_RULE, dev.id, now, undefined, { reason: 'no rejected message since', quietMs: now - s.lastPayloadReject });
        const c = open(SKEW_RULE, dev.id);
        if (c?.spec.code === 'clock_skew.rejected' && c.adopted && now - startedAt > D.rejectClearMs && s.lastSkewReject === -Infinity && s.lastArrival !== null) {
          ctx.book.clear(SKEW_RULE, dev.id, now, undefined, { reason: 'no rejected reading since the restart' });
        }
      }
    },
    forget(id) {
      states.delete(id);
    },
  };
}
