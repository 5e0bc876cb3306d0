/**
 * The seam between ingest and the alert rules (ingest/rules/): ingest feeds every accepted
 * record, presence change and hotlist update; the engine publishes AlertEvents itself.
 */
import type { AnyTelemetryRecord, Hotlist } from '../contract';

export interface RuleEngine {
  onRecord(rec: AnyTelemetryRecord): void;
  onPresence(deviceId: string, online: boolean, at: number): void;
  onHotlist?(h: Hotlist): void;
  tick(now: number): void;
  stop(): void;
}
