/**
 * Ingest workers in parallel: which worker owns which device, and the MQTT filters that say so.
 *
 * Aedes 1.x has no shared subscriptions (moscajs/aedes#228), so N workers each subscribing to
 * every device would each store every message N times. Instead the devices are partitioned
 * explicitly: worker i of N owns the devices whose id hashes to i (FNV-1a 32-bit of the id, mod N
 * — stable across processes, machines and restarts, independent of registry order) and subscribes
 * only to their topics, one filter per device: `city/v1/<kind>/<id>/+`. All of one device's
 * messages therefore go to one worker, in order, through one persistent session: per-device
 * order, de-duplication and the rules' per-device state stay inside one worker. A worker that
 * dies is replaced by one with the same number and client id (clean=false) that resumes its
 * session and its queued messages.
 *
 * Every worker also takes `svc/hotlist` (each needs the plate hotlist) and `svc/auth/+` (the
 * broker's refusals; a worker acts only on the devices it owns and acknowledges the rest).
 * A device added to the registry later is subscribed by its owner on the registry change. When
 * INGEST_WORKERS changes, each worker's first connection unsubscribes the device filters it no
 * longer owns (its kept session still holds them); deploy/README.md has the procedure.
 * With N = 1 the worker keeps the per-kind filters (`city/v1/<kind>/+/+`), as a single ingest does.
 */
import { SUB_DEVICE_DATA_BY_KIND, TOPIC_ROOT, CONTRACT_VERSION, svcTopics, type DeviceKind } from '../contract';

export interface Partition {
  /** this worker, 0 … count − 1 */
  index: number;
  /** workers sharing the devices */
  count: number;
}

/** FNV-1a, 32 bit, over the id's UTF-16 code units (ids are ASCII: `[a-z0-9-]`) */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** the worker (0 … count − 1) that owns a device */
export function workerOf(deviceId: string, count: number): number {
  return count <= 1 ? 0 : fnv1a(deviceId) % count;
}

export const owns = (p: Partition | undefined, deviceId: string): boolean => !p || p.count <= 1 || workerOf(deviceId, p.count) === p.index;

/** the filter for one device's data (every stream, presence and commissioning included) */
export const deviceFilter = (kind: DeviceKind, deviceId: string): string => `${TOPIC_ROOT}/${CONTRACT_VERSION}/${kind}/${deviceId}/+`;

/** The data filters of a worker: per kind for a single worker, else one per owned device. */
export function dataFilters(p: Partition | undefined, devices: readonly { id: string; kind: DeviceKind; status?: string }[]): string[] {
  if (!p || p.count <= 1) return [...SUB_DEVICE_DATA_BY_KIND];
  return devices.filter((d) => d.status !== 'retired' && owns(p, d.id)).map((d) => deviceFilter(d.kind, d.id));
}

/** The device filters of every other worker: unsubscribed on a worker's first connection, so a session kept from another INGEST_WORKERS drops what it no longer owns. */
export function notOwnedFilters(p: Partition, devices: readonly { id: string; kind: DeviceKind }[]): string[] {
  return devices.filter((d) => !owns(p, d.id)).map((d) => deviceFilter(d.kind, d.id));
}

/** Every filter a worker subscribes: its device data, the hotlist, the broker's refusals. */
export function workerSubscriptions(p: Partition | undefined, devices: readonly { id: string; kind: DeviceKind; status?: string }[]): Record<string, { qos: 1 }> {
  return Object.fromEntries([...dataFilters(p, devices), svcTopics.hotlist, svcTopics.geofences, svcTopics.authAll].map((t) => [t, { qos: 1 as const }]));
}
