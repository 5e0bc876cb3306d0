/** What every rule module gets from the engine, and the shape of a rule module. */
import type { Logger } from 'pino';
import type { AnyTelemetryRecord, Hotlist, RejectReason } from '../../contract';
import type { RegistryView } from '../../registry/registry';
import type { RegistryDevice } from '../../registry/schema';
import type { AlertBook } from './alert-book';
import type { RuleConfig } from './config';

export interface RuleContext {
  cfg: RuleConfig;
  book: AlertBook;
  registry: RegistryView;
  /** wall clock (injectable for tests) */
  now(): number;
  /** the city's time zone (registry.timezone) */
  tz(): string;
  log?: Logger;
}

export interface Rule {
  name: string;
  /** `stale`: late or too old to open a "now" alert (it may still update state or resolve one) */
  onRecord?(rec: AnyTelemetryRecord, dev: RegistryDevice, stale: boolean): void;
  /** `reason`: the presence payload's reason ('last will' for the MQTT will) */
  onPresence?(dev: RegistryDevice, online: boolean, at: number, reason?: string): void;
  /** a message of the device was dead-lettered (`eventTs`: its event time when it had one) */
  onReject?(dev: RegistryDevice, reason: RejectReason, at: number, eventTs?: number): void;
  /** the broker refused the device's connection (reason from broker/auth.ts, or 'revoked') */
  onAuthRefused?(dev: RegistryDevice, reason: string, at: number): void;
  onHotlist?(h: Hotlist): void;
  tick?(now: number): void;
  /** forget a device (retired / removed from the registry) */
  forget?(deviceId: string): void;
}

/** How long a condition has held, on event time. */
export class Sustain {
  since: number | null = null;
  /** returns how long `cond` has been true as of `ts` (0 when it just became true, -1 when false) */
  update(cond: boolean, ts: number, startAt = ts): number {
    if (!cond) {
      this.since = null;
      return -1;
    }
    if (this.since === null) this.since = startAt;
    return ts - this.since;
  }
  reset(): void {
    this.since = null;
  }
}

export const fmt1 = (n: number) => (Math.round(n * 10) / 10).toString();
