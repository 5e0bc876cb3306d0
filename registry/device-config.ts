/**
 * Rendered per-device configuration: what an installer loads onto a device (or the simulator
 * reads): broker, credentials (the secret appears only here, never in the registry), topics from
 * the contract, intervals, thresholds, time settings and where the device belongs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { DEVICE_KINDS, deviceTopic, deviceTopicPrefix, Latitude, Longitude, PLATE_DIRECTIONS, schemaProblems, STREAMS_BY_KIND, type Stream } from '../contract';
import { NOISE_ZONES, Intervals, Thresholds, type RegistryDevice } from './schema';
import { CITY_TZ } from '../norms/local-time';

export const DeviceConfig = Type.Object(
  {
    version: Type.Literal(1),
    deviceId: Type.String(),
    kind: Type.Enum(DEVICE_KINDS),
    model: Type.String(),
    district: Type.String(),
    broker: Type.Object({
      url: Type.String({ description: 'mqtt://host:port or ws://host:port/mqtt' }),
      keepaliveS: Type.Integer({ minimum: 5, maximum: 3600, default: 30 }),
      qos: Type.Union([Type.Literal(0), Type.Literal(1)], { default: 1 }),
    }),
    clientId: Type.String(),
    username: Type.String(),
    secret: Type.String({ minLength: 8, description: 'MQTT password; shown once at rendering, kept only as a hash in the registry' }),
    topics: Type.Object({
      prefix: Type.String(),
      /** stream → topic, for the streams this kind publishes */
      publish: Type.Object(
        {
          gps: Type.Optional(Type.String()),
          event: Type.Optional(Type.String()),
          air: Type.Optional(Type.String()),
          noise: Type.Optional(Type.String()),
          plate: Type.Optional(Type.String()),
          status: Type.Optional(Type.String()),
          presence: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
      presence: Type.String(),
    }),
    will: Type.Object({ topic: Type.String(), payload: Type.String(), qos: Type.Literal(1), retain: Type.Literal(true) }),
    intervals: Intervals,
    thresholds: Type.Optional(Thresholds),
    time: Type.Object({
      ntpServer: Type.String({ default: 'pool.ntp.org' }),
      maxClockSkewS: Type.Number({ minimum: 1, description: 'readings further ahead of the server clock are rejected' }),
      timezone: Type.String(),
    }),
    location: Type.Optional(Type.Object({ lat: Latitude, lon: Longitude })),
    noiseZone: Type.Optional(Type.Enum(NOISE_ZONES)),
    camera: Type.Optional(Type.Object({ road: Type.String(), direction: Type.Enum([...PLATE_DIRECTIONS, 'both']), lanes: Type.Integer() })),
    truck: Type.Optional(Type.Object({ depotId: Type.String(), routeId: Type.String(), plate: Type.Optional(Type.String()) })),
    /** the city data file (streets, routes), for trucks */
    cityFile: Type.Optional(Type.String()),
    /** console API, for the commissioning check */
    apiUrl: Type.Optional(Type.String()),
    issuedAt: Type.Integer(),
  },
  { additionalProperties: false, $id: 'DeviceConfig' },
);
export type DeviceConfig = Static<typeof DeviceConfig>;

const check = Compile(DeviceConfig);

export interface RenderOptions {
  brokerUrl: string;
  secret: string;
  ntpServer?: string;
  maxClockSkewS?: number;
  timezone?: string;
  cityFile?: string;
  apiUrl?: string;
  issuedAt?: number;
  /** the city of an installation with several (TENANTS): the device logs in as `<tenant>:<id>` (broker/tenant.ts) */
  tenant?: string;
}

export function renderDeviceConfig(d: RegistryDevice, o: RenderOptions): DeviceConfig {
  const publish = Object.fromEntries((STREAMS_BY_KIND[d.kind] as readonly Stream[]).map((s) => [s, deviceTopic(d.kind, d.id, s)])) as DeviceConfig['topics']['publish'];
  const presence = deviceTopic(d.kind, d.id, 'presence');
  return {
    version: 1,
    deviceId: d.id,
    kind: d.kind,
    model: d.model,
    district: d.district,
    broker: { url: o.brokerUrl, keepaliveS: 30, qos: 1 },
    clientId: d.id,
    username: o.tenant ? `${o.tenant}:${d.id}` : d.id,
    secret: o.secret,
    topics: { prefix: deviceTopicPrefix(d.kind, d.id), publish, presence },
    will: { topic: presence, payload: JSON.stringify({ state: 'offline', reason: 'last will' }), qos: 1, retain: true },
    intervals: d.intervals,
    ...(d.thresholds ? { thresholds: d.thresholds } : {}),
    time: { ntpServer: o.ntpServer ?? 'pool.ntp.org', maxClockSkewS: d.thresholds?.maxClockSkewS ?? o.maxClockSkewS ?? 120, timezone: o.timezone ?? CITY_TZ },
    ...(d.location ? { location: d.location } : {}),
    ...(d.noiseZone ? { noiseZone: d.noiseZone } : {}),
    ...(d.camera ? { camera: d.camera } : {}),
    ...(d.truck ? { truck: d.truck } : {}),
    ...(o.cityFile ? { cityFile: o.cityFile } : {}),
    ...(o.apiUrl ? { apiUrl: o.apiUrl } : {}),
    issuedAt: o.issuedAt ?? Date.now(),
  };
}

export class DeviceConfigError extends Error {
  code = 'E_DEVICE_CONFIG';
}

export function parseDeviceConfig(text: string, file = '<config>'): DeviceConfig {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new DeviceConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!check.Check(data)) {
    const errs = schemaProblems(check, data, 5).map((e) => `${file}: field ${e.field || '(root)'}: ${e.message}`);
    throw new DeviceConfigError(errs.join('\n'));
  }
  return data;
}

export function loadDeviceConfig(file: string): DeviceConfig {
  return parseDeviceConfig(fs.readFileSync(file, 'utf8'), file);
}

/** Every `*.json` device config in a directory (sorted by id). */
export function loadDeviceConfigs(dir: string): DeviceConfig[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => loadDeviceConfig(path.join(dir, f)));
}

/** Written 0600: it holds the device's secret. */
export function writeDeviceConfig(dir: string, cfg: DeviceConfig): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${cfg.deviceId}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}
