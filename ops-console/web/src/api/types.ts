/** Shapes of the console API's answers the web uses (the API's route schemas are the source). */
import type { Alert } from '../../../shared/live';
import type { CameraReadsT } from '../../../api/routes/devices';

/** installed (first reading seen) or active (commissioned): on the map and in the planners' views; planned and retired are not */
export const inService = (status: DeviceSummary['status']): boolean => status === 'installed' || status === 'active';

export interface DeviceSummary {
  id: string;
  kind: 'truck' | 'air' | 'noise' | 'camera';
  model: string;
  district: string;
  status: 'planned' | 'installed' | 'active' | 'retired';
  online: boolean | null;
  lastSeen: number | null;
  firmware: string | null;
  location?: { lat: number; lon: number };
  noiseZone?: string;
  routeId?: string;
  camera?: { road: string; direction: string; lanes: number };
  intervals: { dataS: number; statusS: number; parkedS?: number; offShiftS?: number };
  /** why the device is not reporting normally (credentials_refused, clock_skew.rejected, payload_rejected) */
  issue?: { code: string; reason: string; since: number; lastAt: number };
}
export interface DeviceDetail extends DeviceSummary {
  latest: Record<string, { ts: number; late: boolean; receivedAt?: number; data: unknown }>;
  thresholds?: Record<string, number>;
  /** cameras: reads in the last hour and the last read's time (the API's own type) */
  reads?: CameraReadsT;
}
export interface ConsoleConfig {
  mapStyleUrl?: string;
  timezone?: string;
  city?: string;
}
export type { Alert };
