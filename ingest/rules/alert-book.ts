/**
 * Open alerts of the rule engine: one per (rule, device, subject) while its condition holds.
 * - `raise` opens an alert (stable id for the episode) or, when already open, de-duplicates:
 *   it emits `update` only when the severity or the rule's level (e.g. the air category) changes;
 * - `clear` emits `auto_resolve` and forgets the episode; a later raise starts a new id.
 * - `adopt` takes over an alert a previous engine left open (restart takeover, see takeover.ts):
 *   it is open again under the same id without emitting anything; the rules then confirm it
 *   (a raise de-duplicates into it) or clear it; `sweepAdopted` resolves the ones no rule confirmed.
 */
import type { AlertEvent, AlertSeverity } from '../../contract';
import type { AlertCode, AlertParams } from '../../contract/alert-codes';
import type { RegistryDevice } from '../../registry/schema';

export interface AlertSpec {
  rule: string;
  device: Pick<RegistryDevice, 'id' | 'kind' | 'district'>;
  severity: AlertSeverity;
  /** catalogue code (contract/alert-codes.ts): what the console phrases */
  code: AlertCode;
  /** the code's params: raw numbers, units implied by the name */
  params: AlertParams;
  /** English fallback (logs, webhooks) */
  title: string;
  detail?: Record<string, unknown>;
  /** a change of level (besides severity) also emits an `update` */
  level?: string | number;
}

export interface OpenAlert {
  alertId: string;
  key: string;
  spec: AlertSpec;
  openedAt: number;
  updatedAt: number;
  /** taken over from a previous engine and not yet confirmed by its rule */
  adopted?: boolean;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

export class AlertBook {
  private open = new Map<string, OpenAlert>();
  emitted = 0;

  constructor(
    private readonly publish: (e: AlertEvent) => void,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  static key(rule: string, deviceId: string, subject?: string): string {
    return subject === undefined ? `${rule}|${deviceId}` : `${rule}|${deviceId}|${subject}`;
  }

  /** Alert id: rule, device, subject and the episode start (event time, base 36); safe in MQTT topics. */
  static alertId(rule: string, deviceId: string, subject: string | undefined, at: number): string {
    return [safe(rule), deviceId, ...(subject === undefined ? [] : [safe(subject)]), Math.max(0, Math.floor(at)).toString(36)].join('.');
  }

  get(key: string): OpenAlert | undefined {
    return this.open.get(key);
  }
  isOpen(key: string): boolean {
    return this.open.has(key);
  }
  /** open alerts, optionally of one rule */
  list(rule?: string): OpenAlert[] {
    return [...this.open.values()].filter((a) => !rule || a.spec.rule === rule);
  }
  get size(): number {
    return this.open.size;
  }

  raise(spec: AlertSpec, at: number, subject?: string): AlertEvent | null {
    const key = AlertBook.key(spec.rule, spec.device.id, subject);
    const cur = this.open.get(key);
    if (!cur) {
      let alertId = AlertBook.alertId(spec.rule, spec.device.id, subject, at);
      // two episodes can't share an id even when they start on the same millisecond
      while ([...this.open.values()].some((a) => a.alertId === alertId)) alertId += '_';
      this.open.set(key, { alertId, key, spec, openedAt: at, updatedAt: at });
      return this.emit('open', alertId, spec, at);
    }
    const changed = cur.spec.severity !== spec.severity || (spec.level !== undefined && cur.spec.level !== spec.level) || cur.spec.code !== spec.code;
    cur.spec = spec;
    delete cur.adopted;
    if (!changed) return null;
    cur.updatedAt = at;
    return this.emit('update', cur.alertId, spec, at);
  }

  clear(rule: string, deviceId: string, at: number, subject?: string, detail?: Record<string, unknown>, title?: string): AlertEvent | null {
    const key = AlertBook.key(rule, deviceId, subject);
    const cur = this.open.get(key);
    if (!cur) return null;
    this.open.delete(key);
    const spec: AlertSpec = { ...cur.spec, detail: { ...cur.spec.detail, ...detail, openedAt: cur.openedAt }, title: title ?? cur.spec.title };
    return this.emit('auto_resolve', cur.alertId, spec, Math.max(at, cur.openedAt));
  }

  /** Take over an alert left open by a previous engine: open again, same id, nothing emitted. */
  adopt(a: OpenAlert): boolean {
    if (this.open.has(a.key)) return false;
    this.open.set(a.key, { ...a, adopted: true });
    return true;
  }

  /** Confirm an adopted alert (its condition still holds, seen by the rule) without a new event. */
  confirm(key: string): void {
    const cur = this.open.get(key);
    if (cur) delete cur.adopted;
  }

  /** Resolve adopted alerts no rule confirmed, accepted by `expired`; returns how many. */
  sweepAdopted(at: number, expired: (a: OpenAlert) => boolean): number {
    let n = 0;
    for (const a of [...this.open.values()]) {
      if (!a.adopted || !expired(a)) continue;
      const [rule, deviceId, subject] = a.key.split('|') as [string, string, string | undefined];
      this.clear(rule, deviceId, at, subject, { reason: 'not confirmed after the rule engine restarted', takenOver: true });
      n++;
    }
    return n;
  }

  private emit(event: 'open' | 'update' | 'auto_resolve', alertId: string, spec: AlertSpec, at: number): AlertEvent {
    const e: AlertEvent = {
      alertId,
      event,
      at: Math.floor(at),
      rule: spec.rule,
      severity: spec.severity,
      deviceId: spec.device.id,
      kind: spec.device.kind,
      district: spec.device.district,
      title: spec.title,
      code: spec.code,
      params: spec.params,
      ...(spec.detail ? { detail: spec.detail } : {}),
      by: 'rules',
    };
    this.emitted++;
    try {
      this.publish(e);
    } catch (err) {
      this.onError(err);
    }
    return e;
  }
}
