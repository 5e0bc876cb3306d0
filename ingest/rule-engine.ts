/**
 * The seam between ingest and the alert rules (ingest/rules/): ingest feeds every accepted
 * record, presence change and hotlist update; the engine publishes AlertEvents itself.
 */
import type { AnyTelemetryRecord, GeofenceSet, Hotlist, RejectReason } from '../contract';

export interface RuleEngine {
  onRecord(rec: AnyTelemetryRecord): void;
  /** `reason`: the presence payload's reason ('last will' when the broker delivered the will) */
  onPresence(deviceId: string, online: boolean, at: number, reason?: string): void;
  /** a device message was dead-lettered (reason, arrival time, its event time when it had one) */
  onReject?(deviceId: string, reason: RejectReason, at: number, eventTs?: number): void;
  /** the broker refused (or revoked) a registry device's connection */
  onAuthRefused?(deviceId: string, reason: string, at: number): void;
  onHotlist?(h: Hotlist): void;
  /** the active geofences (retained on svc/geofences) */
  onGeofences?(s: GeofenceSet): void;
  tick(now: number): void;
  stop(): void;
}
