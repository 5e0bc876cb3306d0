/**
 * The console API's answers that the browser reads: one TypeBox schema each, used by the route
 * (validation, serialization, OpenAPI) and, as its `Static<>` type, by the web — nothing copied by
 * hand. Browser-safe: schemas and types only (imports of Node-side modules are type-only).
 */
import { Type, type Static, type TSchema } from 'typebox';
import { DEVICE_KINDS, PLATE_DIRECTIONS, REJECT_REASONS } from '../../contract';
import { DEVICE_STATES } from '../../contract/lifecycle';
import { NOISE_ZONES } from '../../norms/noise-limits';
import type { DeviceConfig } from '../../registry/device-config';
import { ROLES } from './live';

/** A string enum (typed as the union of its values), `{ type: 'string', enum }` in the OpenAPI document. */
export const OneOf = <const T extends readonly string[]>(values: T, opts: Record<string, unknown> = {}) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });

// ── GET /api/config ───────────────────────────────────────────────────────────────────────
export const ConsoleConfig = Type.Object({ city: Type.String(), timezone: Type.String(), mapStyleUrl: Type.Optional(Type.String()) });
export type ConsoleConfig = Static<typeof ConsoleConfig>;

// ── GET /api/devices, /api/devices/:id ───────────────────────────────────────────────────
const LatLon = Type.Object({ lat: Type.Number(), lon: Type.Number() });
export const DeviceSummary = Type.Object({
  id: Type.String(),
  kind: OneOf(DEVICE_KINDS),
  model: Type.String(),
  district: Type.String(),
  status: OneOf(DEVICE_STATES),
  online: Type.Union([Type.Boolean(), Type.Null()], { description: 'null = no presence seen yet' }),
  lastSeen: Type.Union([Type.Integer(), Type.Null()], { description: 'latest arrival (ms)' }),
  firmware: Type.Union([Type.String(), Type.Null()]),
  location: Type.Optional(LatLon),
  noiseZone: Type.Optional(Type.String()),
  routeId: Type.Optional(Type.String()),
  camera: Type.Optional(Type.Object({ road: Type.String(), direction: Type.String(), lanes: Type.Integer() })),
  intervals: Type.Object({ dataS: Type.Integer(), statusS: Type.Integer(), parkedS: Type.Optional(Type.Integer()), offShiftS: Type.Optional(Type.Integer()) }),
  issue: Type.Optional(
    Type.Object(
      { code: Type.String({ description: 'ALERT_CODES key: credentials_refused, clock_skew.rejected, payload_rejected' }), reason: Type.String(), since: Type.Integer(), lastAt: Type.Integer() },
      { description: 'why the device is not reporting normally, when ingest knows (LiveState.issue)' },
    ),
  ),
});
export type DeviceSummary = Static<typeof DeviceSummary>;
const LatestEntry = Type.Object({ ts: Type.Integer(), late: Type.Boolean(), receivedAt: Type.Optional(Type.Integer()), data: Type.Unknown() });
/** a camera's read rate and last read, for every role that sees the device (counts and a time: no plate) */
export const CameraReads = Type.Object(
  {
    lastHour: Type.Integer({ minimum: 0, description: 'plate reads in the 60 minutes before the request (reads/h)' }),
    lastReadAt: Type.Union([Type.Integer(), Type.Null()], { description: 'event time of the latest plate read (ms); null = none stored' }),
  },
  { description: 'cameras only' },
);
export type CameraReads = Static<typeof CameraReads>;
export const DeviceDetail = Type.Object({
  ...DeviceSummary.properties,
  latest: Type.Record(Type.String(), LatestEntry),
  thresholds: Type.Optional(Type.Record(Type.String(), Type.Number())),
  reads: Type.Optional(CameraReads),
});
export type DeviceDetail = Static<typeof DeviceDetail>;

/** installed (first reading seen) or active (commissioned): on the map and in the planners' views; planned and retired are not */
export const inService = (status: DeviceSummary['status']): boolean => status === 'installed' || status === 'active';

// ── /api/admin/devices ────────────────────────────────────────────────────────────────────
const DeviceFields = {
  model: Type.String({ minLength: 1, maxLength: 80 }),
  district: Type.String({ minLength: 1, maxLength: 80 }),
  lat: Type.Optional(Type.Number({ 'x-unit': '°', description: 'fixed location (stations, cameras)' })),
  lon: Type.Optional(Type.Number({ 'x-unit': '°' })),
  zone: Type.Optional(OneOf(NOISE_ZONES, { description: 'noise zone (NOM-081)' })),
  road: Type.Optional(Type.String({ maxLength: 120, description: 'camera: road name' })),
  direction: Type.Optional(OneOf([...PLATE_DIRECTIONS, 'both'] as const, { description: 'camera: which way it reads' })),
  lanes: Type.Optional(Type.Integer({ description: 'camera: lanes' })),
  depot: Type.Optional(Type.String({ maxLength: 40, description: 'truck: depot id' })),
  route: Type.Optional(Type.String({ maxLength: 40, description: 'truck: route id' })),
  plate: Type.Optional(Type.String({ maxLength: 12, description: 'truck: plate' })),
  dataS: Type.Optional(Type.Integer({ 'x-unit': 's', description: 'reporting interval' })),
  statusS: Type.Optional(Type.Integer({ 'x-unit': 's', description: 'status interval' })),
};
export const DeviceAddBody = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 40 }), kind: OneOf(DEVICE_KINDS), ...DeviceFields },
  { additionalProperties: false, description: 'as `npm run devices -- add` takes it' },
);
export type DeviceAddBody = Static<typeof DeviceAddBody>;
export const DeviceEditBody = Type.Object(DeviceFields, { additionalProperties: false });
export type DeviceEditBody = Static<typeof DeviceEditBody>;
export const AdminDeviceRow = Type.Object({
  ...DeviceAddBody.properties,
  zone: Type.Optional(Type.String()),
  direction: Type.Optional(Type.String()),
  status: OneOf(DEVICE_STATES),
  online: Type.Union([Type.Boolean(), Type.Null()]),
  lastSeen: Type.Union([Type.Integer(), Type.Null()]),
  credentialsIssuedAt: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.Object({ at: Type.Integer(), reason: OneOf(REJECT_REASONS), detail: Type.String() }), Type.Null()], { description: 'the newest dead letter of this device' }),
});
export type AdminDeviceRow = Static<typeof AdminDeviceRow>;
/** a device and its rendered config (the registry's DeviceConfig schema, which reads files: passed in by the route) */
export const RenderedDeviceOf = <C extends TSchema>(config: C) => Type.Object({ device: AdminDeviceRow, config, file: Type.String({ description: 'where the config was written' }) });
export type RenderedDevice = Static<ReturnType<typeof RenderedDeviceOf<typeof DeviceConfig>>>;

// ── /api/users ────────────────────────────────────────────────────────────────────────────
export const UserRow = Type.Object({
  username: Type.String(),
  role: OneOf(ROLES),
  disabled: Type.Optional(Type.Boolean()),
  service: Type.Optional(Type.Boolean({ description: 'a registry service login, not managed here' })),
  createdAt: Type.Optional(Type.Integer()),
  passwordChangedAt: Type.Optional(Type.Integer()),
  lastLogin: Type.Optional(Type.Integer()),
});
/** a user as GET /api/users lists it */
export type UserRow = Static<typeof UserRow>;

// ── /api/plates, /api/audit ───────────────────────────────────────────────────────────────
export const PlateReadRow = Type.Object({
  cameraId: Type.String(),
  ts: Type.Integer(),
  plate: Type.String(),
  region: Type.String(),
  confidence: Type.Number(),
  direction: OneOf(PLATE_DIRECTIONS),
  lane: Type.Integer(),
  district: Type.String(),
});
export type PlateReadRow = Static<typeof PlateReadRow>;
export const AuditRow = Type.Object({
  id: Type.Integer(),
  at: Type.Integer(),
  actor: Type.String(),
  role: Type.String(),
  action: Type.String(),
  query: Type.Record(Type.String(), Type.Unknown()),
  resultCount: Type.Union([Type.Integer(), Type.Null()]),
  detail: Type.Union([Type.String(), Type.Null()]),
});
export type AuditRow = Static<typeof AuditRow>;

// ── /api/history (planners) ───────────────────────────────────────────────────────────────
export const AirIndexRow = Type.Object({
  deviceId: Type.String(),
  hour: Type.Integer({ description: 'hour start (ms)' }),
  category: Type.Union([Type.String(), Type.Null()]),
  label: Type.Union([Type.String(), Type.Null()]),
  colour: Type.Union([Type.String(), Type.Null()]),
  responsible: Type.Array(Type.String()),
  pollutants: Type.Record(Type.String(), Type.Object({ category: Type.String(), value: Type.Number(), unit: Type.String() })),
});
export type AirIndexRow = Static<typeof AirIndexRow>;
export const NoiseExceedanceRow = Type.Object({
  deviceId: Type.String(),
  zone: Type.String(),
  date: Type.String(),
  period: Type.String(),
  limitDb: Type.Union([Type.Number(), Type.Null()]),
  leqDb: Type.Union([Type.Number(), Type.Null()]),
  maxHourDb: Type.Union([Type.Number(), Type.Null()]),
  hours: Type.Integer(),
  hoursOver: Type.Integer(),
  exceeded: Type.Boolean(),
});
export type NoiseExceedanceRow = Static<typeof NoiseExceedanceRow>;
export const PlateCountRow = Type.Object({ cameraId: Type.String(), hour: Type.Integer(), direction: OneOf(PLATE_DIRECTIONS), count: Type.Integer() });
export type PlateCountRow = Static<typeof PlateCountRow>;
export const COVERAGE_STATUSES = ['done', 'in_progress', 'not_started', 'no_data'] as const;
export type CoverageStatus = (typeof COVERAGE_STATUSES)[number];
export const CoverageRow = Type.Object({
  deviceId: Type.String(),
  routeId: Type.String(),
  date: Type.String(),
  status: OneOf(COVERAGE_STATUSES, { description: 'done | in_progress (share against what was due by now) | not_started | no_data (share meaningless: read “no data”)' }),
  planned: Type.Integer(),
  due: Type.Integer({ description: 'planned segments due by now (planned × elapsed share of the shift; = planned once done)' }),
  served: Type.Integer(),
  share: Type.Number(),
  fixes: Type.Integer(),
  missed: Type.Array(Type.Object({ segmentId: Type.String(), name: Type.Optional(Type.String()) })),
});
export type CoverageRow = Static<typeof CoverageRow>;
