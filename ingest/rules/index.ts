/**
 * The city's alert rules, evaluated on ingest's live stream (see ingest/rule-engine.ts).
 *
 *   createRuleEngine({ registry, city?, publish, log?, config?, now? }) → RuleEngine
 *
 * Each rule takes its configuration from RuleConfig (city-wide defaults, per district) and the
 * registry (per-device `thresholds`, noise zone, route, intervals), has hysteresis, keeps one
 * open alert per (rule, device, subject) with a stable id, emits `update` when the severity or
 * level changes and `auto_resolve` when the condition clears. Event time drives the rules; a
 * late or stale reading never opens a "now" alert.
 *
 * Rules: air_quality (aire-salud.ts), noise (noise-limits.ts), truck_* / gps_* / route_behind /
 * missed_streets (truck-rules.ts), hotlist (hotlist-rule.ts), offline / clock_skew /
 * stuck_sensor / battery_low (device-rules.ts).
 */
import type { Logger } from 'pino';
import type { AlertEvent, AnyTelemetryRecord, GeofenceEvent, GeofenceSet, Hotlist, RejectReason } from '../../contract';
import type { City } from '../../city/city';
import type { RegistryView } from '../../registry/registry';
import type { RuleEngine } from '../rule-engine';
import { AlertBook, type OpenAlert } from './alert-book';
import { airRule } from './air-rule';
import { resolveRuleConfig, type RuleConfig, type RuleConfigInput } from './config';
import type { Rule, RuleContext } from './context';
import { deviceRules } from './device-rules';
import { AIR_RULE } from './air-rule';
import { HOTLIST_RULE, hotlistRule } from './hotlist-rule';
import { NOISE_RULE, noiseRule } from './noise-rule';
import { truckRules } from './truck-rules';
import { GEOFENCE_RULES, geofenceRule } from './geofence-rule';
import { loadTakeover, saveTakeover } from './takeover';

export type { RuleEngine } from '../rule-engine';
export { DEFAULT_RULE_CONFIG, resolveRuleConfig, thresholdsFor, type RuleConfig } from './config';

export interface RuleEngineOptions {
  registry: RegistryView;
  city?: City;
  publish: (e: AlertEvent) => void;
  /** geofence enter / exit / dwell events (svc/geofence/<deviceId>); absent = not published */
  publishGeofence?: (e: GeofenceEvent) => void;
  log?: Logger;
  config?: Partial<RuleConfig> | RuleConfigInput;
  /** wall clock, ms (tests inject one) */
  now?: () => number;
  /**
   * Restart takeover (takeover.ts): the open alerts and truck ignition states are kept here and
   * taken over by the next engine started on the same file. Absent = no takeover.
   */
  stateFile?: string;
}

export interface RuleEngineStats {
  records: number;
  alertsEmitted: number;
  open: number;
  /** rule errors by rule name (a bad record never stops the engine) */
  errors: Record<string, number>;
  /** version of the hotlist in use (-1 = none received) */
  hotlistVersion: number;
  /** version of the geofence set in use (-1 = none received) and how many are active */
  geofencesVersion: number;
  geofences: number;
  geofenceEvents: number;
  /** alerts taken over from the previous engine at start, and how many of those it resolved */
  takenOver: number;
  takeoverResolved: number;
}

export interface CityRuleEngine extends RuleEngine {
  onHotlist(h: Hotlist): void;
  onGeofences(s: GeofenceSet): void;
  onReject(deviceId: string, reason: RejectReason, at: number, eventTs?: number): void;
  onAuthRefused(deviceId: string, reason: string, at: number): void;
  /** alerts open right now */
  openAlerts(): OpenAlert[];
  stats(): RuleEngineStats;
  readonly config: RuleConfig;
}

export function createRuleEngine(opts: RuleEngineOptions): CityRuleEngine {
  const cfg = resolveRuleConfig(opts.config);
  const now = opts.now ?? Date.now;
  const log = opts.log;
  const errors: Record<string, number> = {};
  let records = 0;
  let stopped = false;
  let saveTimer: NodeJS.Timeout | null = null;
  const book = new AlertBook(
    (e) => {
      opts.publish(e);
      scheduleSave();
    },
    (err) => {
      errors.publish = (errors.publish ?? 0) + 1;
      log?.error({ err, code: 'E_ALERT_PUBLISH' }, 'publishing an alert failed');
    },
  );
  const ctx: RuleContext = {
    cfg,
    book,
    registry: opts.registry,
    now,
    tz: () => opts.registry.registry.timezone || cfg.timezone,
    ...(log ? { log } : {}),
  };
  const hotlist = hotlistRule(ctx);
  const trucks = truckRules(ctx, opts.city);
  let geofenceEvents = 0;
  const geofences = geofenceRule(ctx, (e) => {
    geofenceEvents++;
    try {
      opts.publishGeofence?.(e);
    } catch (err) {
      errors.publish = (errors.publish ?? 0) + 1;
      log?.error({ err, code: 'E_GEOFENCE_PUBLISH' }, 'publishing a geofence event failed');
    }
    if (e.event !== 'dwell') scheduleSave();
  });
  const rules: Rule[] = [airRule(ctx), noiseRule(ctx), trucks, geofences, hotlist, deviceRules(ctx, (dev, at) => (dev.kind === 'truck' ? trucks.mode(dev, at) : 'fixed'))];

  // ── restart takeover ────────────────────────────────────────────────────────────────────────
  const startedAt = now();
  let takenOver = 0;
  let ticks = 0;
  let takeoverResolved = 0;
  function save() {
    if (!opts.stateFile) return;
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = null;
    try {
      saveTakeover(opts.stateFile, { version: 1, savedAt: now(), open: book.list(), ignition: trucks.ignitions(), shifts: trucks.shifts(), geofences: geofences.tracker.save() });
    } catch (err) {
      errors.state = (errors.state ?? 0) + 1;
      log?.error({ err, code: 'E_RULES_STATE', file: opts.stateFile }, 'could not write the rule-engine state file');
    }
  }
  function scheduleSave() {
    if (!opts.stateFile || saveTimer || stopped) return;
    saveTimer = setTimeout(save, 200);
    saveTimer.unref?.();
  }
  if (opts.stateFile) {
    const prev = loadTakeover(opts.stateFile, (err) => log?.warn({ err, code: 'E_RULES_STATE' }, 'rule-engine state file ignored'));
    if (prev) {
      trucks.restoreIgnitions(prev.ignition);
      trucks.restoreShifts(prev.shifts ?? {}, now());
      geofences.tracker.restore(prev.geofences ?? {});
      for (const a of prev.open) if (opts.registry.activeDevice(a.spec.device.id) && book.adopt(a)) takenOver++;
      // a geofence alert whose visit is still in progress stays open (the exit resolves it)
      for (const a of book.list()) {
        const [rule, deviceId, subject] = a.key.split('|');
        if ((rule === GEOFENCE_RULES.restricted || rule === GEOFENCE_RULES.dwell) && geofences.tracker.inside(deviceId!).some((v) => v.geofenceId === subject)) book.confirm(a.key);
      }
      log?.info({ takenOver, savedAt: prev.savedAt }, 'rule engine took over the alerts left open');
    }
  }
  /** how long an alert taken over may wait for its rule to confirm or clear it */
  const confirmWindow = (a: OpenAlert): number => {
    const dev = opts.registry.device(a.spec.device.id);
    const base = Math.max(cfg.device.takeoverConfirmMs, 3 * (dev?.intervals.statusS ?? 0) * 1000);
    switch (a.spec.rule) {
      case AIR_RULE:
        return Math.max(base, 2 * 3_600_000 + cfg.air.closeGraceMs);
      case NOISE_RULE:
        return Math.max(base, (cfg.noise.sustainMinutes + cfg.noise.clearMinutes) * 60_000 * 2);
      case HOTLIST_RULE:
        return Math.max(base, cfg.hotlist.resolveAfterMinutes * 60_000);
      case 'stuck_sensor':
        return Math.max(base, (dev?.thresholds?.stuckMinutes ?? cfg.device.stuckMinutes) * 60_000 + base);
      default:
        return base;
    }
  };

  const guard = (rule: Rule, what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      errors[rule.name] = (errors[rule.name] ?? 0) + 1;
      log?.error({ err, code: 'E_RULES_INPUT', rule: rule.name, what }, 'rule failed on an input; skipped');
    }
  };

  return {
    config: cfg,
    onRecord(rec: AnyTelemetryRecord) {
      if (stopped || !rec || typeof rec !== 'object') return;
      const dev = opts.registry.activeDevice(rec.deviceId);
      if (!dev) return;
      records++;
      const stale = rec.late || now() - rec.ts > cfg.staleAfterMs;
      for (const r of rules) if (r.onRecord) guard(r, `record ${rec.deviceId}/${rec.stream}`, () => r.onRecord!(rec, dev, stale));
    },
    onPresence(deviceId: string, online: boolean, at: number, reason?: string) {
      if (stopped) return;
      const dev = opts.registry.activeDevice(deviceId);
      if (!dev) return;
      for (const r of rules) if (r.onPresence) guard(r, `presence ${deviceId}`, () => r.onPresence!(dev, online, at, reason));
    },
    onReject(deviceId: string, reason: RejectReason, at: number, eventTs?: number) {
      if (stopped) return;
      const dev = opts.registry.activeDevice(deviceId);
      if (!dev) return;
      for (const r of rules) if (r.onReject) guard(r, `reject ${deviceId}`, () => r.onReject!(dev, reason, at, eventTs));
    },
    onAuthRefused(deviceId: string, reason: string, at: number) {
      if (stopped) return;
      const dev = opts.registry.activeDevice(deviceId);
      if (!dev) return; // retired: refused on purpose
      for (const r of rules) if (r.onAuthRefused) guard(r, `auth ${deviceId}`, () => r.onAuthRefused!(dev, reason, at));
    },
    onHotlist(h: Hotlist) {
      if (stopped) return;
      for (const r of rules) if (r.onHotlist) guard(r, 'hotlist', () => r.onHotlist!(h));
    },
    onGeofences(s: GeofenceSet) {
      if (stopped) return;
      guard(geofences, 'geofences', () => geofences.onGeofences(s));
    },
    tick(t: number) {
      if (stopped) return;
      for (const r of rules) if (r.tick) guard(r, 'tick', () => r.tick!(t));
      // alerts of devices retired or removed from the registry resolve
      for (const a of book.list()) {
        if (!opts.registry.activeDevice(a.spec.device.id)) {
          const subject = a.key.split('|')[2];
          book.clear(a.spec.rule, a.spec.device.id, t, subject, { reason: 'device retired or removed' });
          for (const r of rules) r.forget?.(a.spec.device.id);
        }
      }
      // alerts taken over that no rule confirmed or cleared in time: their condition is gone
      takeoverResolved += book.sweepAdopted(t, (a) => t - startedAt > confirmWindow(a));
      // route coverage changes without alerts: keep the state file fresh (a crash loses ≤ 30 ticks)
      if (++ticks % 30 === 0) scheduleSave();
    },
    stop() {
      if (stopped) return;
      save();
      stopped = true;
    },
    openAlerts: () => book.list(),
    stats: () => ({
      records,
      alertsEmitted: book.emitted,
      open: book.size,
      errors: { ...errors },
      hotlistVersion: hotlist.version(),
      geofencesVersion: geofences.tracker.version,
      geofences: geofences.tracker.size,
      geofenceEvents,
      takenOver,
      takeoverResolved,
    }),
  };
}
