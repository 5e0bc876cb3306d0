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
import type { AlertEvent, AnyTelemetryRecord, Hotlist } from '../../contract';
import type { City } from '../../firmware-config/city';
import type { RegistryView } from '../../firmware-config/registry';
import type { RuleEngine } from '../rule-engine';
import { AlertBook, type OpenAlert } from './alert-book';
import { airRule } from './air-rule';
import { resolveRuleConfig, type RuleConfig, type RuleConfigInput } from './config';
import type { Rule, RuleContext } from './context';
import { deviceRules } from './device-rules';
import { hotlistRule } from './hotlist-rule';
import { noiseRule } from './noise-rule';
import { truckRules } from './truck-rules';

export type { RuleEngine } from '../rule-engine';
export { DEFAULT_RULE_CONFIG, resolveRuleConfig, thresholdsFor, type RuleConfig } from './config';

export interface RuleEngineOptions {
  registry: RegistryView;
  city?: City;
  publish: (e: AlertEvent) => void;
  log?: Logger;
  config?: Partial<RuleConfig> | RuleConfigInput;
  /** wall clock, ms (tests inject one) */
  now?: () => number;
}

export interface RuleEngineStats {
  records: number;
  alertsEmitted: number;
  open: number;
  /** rule errors by rule name (a bad record never stops the engine) */
  errors: Record<string, number>;
  /** version of the hotlist in use (-1 = none received) */
  hotlistVersion: number;
}

export interface CityRuleEngine extends RuleEngine {
  onHotlist(h: Hotlist): void;
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
  const book = new AlertBook(opts.publish, (err) => {
    errors.publish = (errors.publish ?? 0) + 1;
    log?.error({ err, code: 'E_ALERT_PUBLISH' }, 'publishing an alert failed');
  });
  const ctx: RuleContext = {
    cfg,
    book,
    registry: opts.registry,
    now,
    tz: () => opts.registry.registry.timezone || cfg.timezone,
    ...(log ? { log } : {}),
  };
  const hotlist = hotlistRule(ctx);
  const rules: Rule[] = [airRule(ctx), noiseRule(ctx), truckRules(ctx, opts.city), hotlist, deviceRules(ctx)];

  const guard = (rule: Rule, what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      errors[rule.name] = (errors[rule.name] ?? 0) + 1;
      log?.error({ err, code: 'E_RULE', rule: rule.name, what }, 'rule failed on an input; skipped');
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
    onPresence(deviceId: string, online: boolean, at: number) {
      if (stopped) return;
      const dev = opts.registry.activeDevice(deviceId);
      if (!dev) return;
      for (const r of rules) if (r.onPresence) guard(r, `presence ${deviceId}`, () => r.onPresence!(dev, online, at));
    },
    onHotlist(h: Hotlist) {
      if (stopped) return;
      for (const r of rules) if (r.onHotlist) guard(r, 'hotlist', () => r.onHotlist!(h));
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
    },
    stop() {
      stopped = true;
    },
    openAlerts: () => book.list(),
    stats: () => ({ records, alertsEmitted: book.emitted, open: book.size, errors: { ...errors }, hotlistVersion: hotlist.version() }),
  };
}
