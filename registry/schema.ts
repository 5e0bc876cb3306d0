/**
 * Schema of the device registry: every device of a city and the platform's service accounts.
 * The registry keeps only password hashes (scrypt, see credentials.ts).
 */
import { Type, type Static } from 'typebox';
import { DEVICE_KINDS, DeviceId, Latitude, Longitude, PLATE_DIRECTIONS } from '../contract';

import { NOISE_ZONES, type NoiseZone } from '../norms/noise-limits';
import { CITY_TZ } from '../norms/local-time';

/** NOM-081-SEMARNAT-1994 zone types: defined by the norm (norms/noise-limits.ts, with its limits), re-exported for the registry's users. */
export { NOISE_ZONES, type NoiseZone };

/**
 * Device lifecycle: `planned` (registered, not installed yet: no presence alerts), `installed`
 * (first real reading seen — set by ingest), `active` (commissioned by the installer:
 * `devices activate`), `retired` (can no longer connect; its data stays).
 */
import { DEVICE_STATES, type DeviceState } from '../contract/lifecycle';
export { DEVICE_STATES, type DeviceState };

/** Presence (offline) alerts apply from "installed" on: a planned device is expected to be silent. */
export const presenceMonitored = (d: { status: DeviceState }): boolean => d.status === 'installed' || d.status === 'active';

export const SERVICE_ROLES = ['ingest', 'console', 'nodered', 'admin'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

const Location = Type.Object({ lat: Latitude, lon: Longitude }, { additionalProperties: false });

export const Intervals = Type.Object(
  {
    dataS: Type.Integer({ minimum: 1, maximum: 86400, 'x-unit': 's', description: 'reporting interval of the main stream' }),
    statusS: Type.Integer({ minimum: 10, maximum: 86400, 'x-unit': 's', description: 'status (health) interval' }),
    /** trucks: GPS heartbeat while parked / ignition off (absent = statusS) */
    parkedS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, 'x-unit': 's', description: 'main-stream interval while parked (ignition off)' })),
    /** trucks: longest expected gap outside the route's shift (absent = as parked) */
    offShiftS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, 'x-unit': 's', description: 'expected reporting interval outside the shift' })),
  },
  { additionalProperties: false },
);

/** Per-device thresholds; absent = the rule's city-wide default. */
export const Thresholds = Type.Object(
  {
    speedLimitKmh: Type.Optional(Type.Number({ minimum: 1, maximum: 200 })),
    idleMinutes: Type.Optional(Type.Number({ minimum: 1, maximum: 600 })),
    offRouteMeters: Type.Optional(Type.Number({ minimum: 10, maximum: 10000 })),
    noiseSustainMinutes: Type.Optional(Type.Number({ minimum: 1, maximum: 240 })),
    batteryLowPct: Type.Optional(Type.Number({ minimum: 1, maximum: 100 })),
    stuckMinutes: Type.Optional(Type.Number({ minimum: 1, maximum: 1440 })),
    maxClockSkewS: Type.Optional(Type.Number({ minimum: 1, maximum: 86400 })),
  },
  { additionalProperties: false },
);

export const RegistryDevice = Type.Object(
  {
    id: DeviceId,
    kind: Type.Enum(DEVICE_KINDS),
    model: Type.String({ minLength: 1, maxLength: 80 }),
    district: Type.String({ minLength: 1, maxLength: 80 }),
    status: Type.Enum(DEVICE_STATES, { default: 'active', description: 'lifecycle: planned → installed (first contact) → active (commissioned) → retired' }),
    passwordHash: Type.String({ pattern: '^scrypt\\$', description: 'scrypt$N$r$p$salt$hash (base64)' }),
    /** fixed place of stations and cameras */
    location: Type.Optional(Location),
    noiseZone: Type.Optional(Type.Enum(NOISE_ZONES)),
    camera: Type.Optional(
      Type.Object(
        {
          road: Type.String({ minLength: 1 }),
          /** which way the camera reads; 'both' for a camera covering both carriageways */
          direction: Type.Enum([...PLATE_DIRECTIONS, 'both']),
          lanes: Type.Integer({ minimum: 1, maximum: 12 }),
        },
        { additionalProperties: false },
      ),
    ),
    truck: Type.Optional(Type.Object({ depotId: Type.String({ minLength: 1 }), routeId: Type.String({ minLength: 1 }), plate: Type.Optional(Type.String()) }, { additionalProperties: false })),
    intervals: Intervals,
    thresholds: Type.Optional(Thresholds),
    /** when credentials were last issued (ms), for audits */
    credentialsIssuedAt: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false, $id: 'RegistryDevice' },
);
export type RegistryDevice = Static<typeof RegistryDevice>;

export const ServiceAccount = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z][a-z0-9-]{1,39}$' }),
    role: Type.Enum(SERVICE_ROLES),
    passwordHash: Type.String({ pattern: '^scrypt\\$' }),
  },
  { additionalProperties: false },
);
export type ServiceAccount = Static<typeof ServiceAccount>;

export const Registry = Type.Object(
  {
    version: Type.Literal(1),
    city: Type.String({ minLength: 1 }),
    /** IANA time zone of the city (day/night limits, shifts, reports) */
    timezone: Type.String({ default: CITY_TZ }),
    /** optional city data file (streets, depots, routes), relative to the registry file */
    cityFile: Type.Optional(Type.String()),
    devices: Type.Array(RegistryDevice),
    services: Type.Array(ServiceAccount),
  },
  { additionalProperties: false, $id: 'Registry' },
);
export type Registry = Static<typeof Registry>;
