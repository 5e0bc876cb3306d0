/**
 * Payload schemas of the device contract (TypeBox: one schema gives the TypeScript type, runtime
 * validation in ingest, Fastify serialization and the OpenAPI document).
 *
 * Every numeric field carries its unit in `x-unit` and a valid range. Unknown fields are rejected
 * (`additionalProperties: false`). Times are event times from the device clock, in epoch
 * milliseconds (UTC).
 */
import { Type, type Static, type TSchema } from 'typebox';
import { DEVICE_ID_PATTERN } from './topics';

const strict = { additionalProperties: false } as const;

/** A number with its unit and range. */
export const Num = (unit: string, minimum: number, maximum: number, description: string) => Type.Number({ minimum, maximum, 'x-unit': unit, description });
export const Int = (unit: string, minimum: number, maximum: number, description: string) => Type.Integer({ minimum, maximum, 'x-unit': unit, description });

/** Event time: epoch milliseconds, UTC, between 2020-01-01 and 2100-01-01. Future skew is checked in validate.ts. */
export const EventTime = Type.Integer({
  minimum: 1_577_836_800_000,
  maximum: 4_102_444_800_000,
  'x-unit': 'ms since epoch (UTC)',
  description: 'event time on the device clock',
});

export const Latitude = Num('degrees (WGS84)', -90, 90, 'latitude');
export const Longitude = Num('degrees (WGS84)', -180, 180, 'longitude');

// ── garbage truck ──────────────────────────────────────────────────────────────────────────
export const GpsFix = Type.Object(
  {
    ts: EventTime,
    lat: Latitude,
    lon: Longitude,
    speedKmh: Num('km/h', 0, 200, 'ground speed'),
    heading: Num('degrees from true north', 0, 360, 'course over ground'),
    hdop: Type.Optional(Num('1', 0, 99.9, 'horizontal dilution of precision (fix quality)')),
    sats: Type.Optional(Int('satellites', 0, 64, 'satellites used in the fix')),
  },
  { ...strict, $id: 'GpsFix', description: 'truck GPS fix' },
);
export type GpsFix = Static<typeof GpsFix>;

export const TRUCK_EVENT_TYPES = ['bin_lift', 'ignition_on', 'ignition_off', 'unload'] as const;
export const TruckEvent = Type.Object(
  {
    ts: EventTime,
    type: Type.Enum(TRUCK_EVENT_TYPES, { description: 'what happened' }),
    lat: Type.Optional(Latitude),
    lon: Type.Optional(Longitude),
    binId: Type.Optional(Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9_-]+$', description: 'bin tag, for bin_lift' })),
    weightKg: Type.Optional(Num('kg', 0, 5000, 'load lifted or unloaded')),
  },
  { ...strict, $id: 'TruckEvent', description: 'truck event: bin lift (pickup), ignition on/off, unload at the site' },
);
export type TruckEvent = Static<typeof TruckEvent>;

// ── air-quality station (units as NOM-172-SEMARNAT-2023 reports them) ─────────────────────────
export const AirReading = Type.Object(
  {
    ts: EventTime,
    windowS: Int('s', 1, 3600, 'averaging window of this reading'),
    pm25: Type.Optional(Num('µg/m³', 0, 1000, 'PM2.5 mass concentration')),
    pm10: Type.Optional(Num('µg/m³', 0, 2000, 'PM10 mass concentration')),
    o3: Type.Optional(Num('ppm', 0, 1, 'ozone')),
    no2: Type.Optional(Num('ppm', 0, 2, 'nitrogen dioxide')),
    so2: Type.Optional(Num('ppm', 0, 2, 'sulfur dioxide')),
    co: Type.Optional(Num('ppm', 0, 100, 'carbon monoxide')),
    tempC: Type.Optional(Num('°C', -40, 70, 'air temperature')),
    rhPct: Type.Optional(Num('%', 0, 100, 'relative humidity')),
  },
  { ...strict, $id: 'AirReading', description: 'air-quality station reading' },
);
export type AirReading = Static<typeof AirReading>;
export const AIR_FIELDS = ['pm25', 'pm10', 'o3', 'no2', 'so2', 'co', 'tempC', 'rhPct'] as const;
export type AirField = (typeof AIR_FIELDS)[number];

// ── noise station ─────────────────────────────────────────────────────────────────────────
export const NoiseReading = Type.Object(
  {
    ts: EventTime,
    windowS: Int('s', 1, 3600, 'measurement window ending at ts'),
    laeq: Num('dB(A)', 20, 140, 'A-weighted equivalent continuous level over the window'),
    lamax: Num('dB(A)', 20, 150, 'maximum A-weighted level in the window'),
    lamin: Num('dB(A)', 10, 140, 'minimum A-weighted level in the window'),
  },
  { ...strict, $id: 'NoiseReading', description: 'noise station reading' },
);
export type NoiseReading = Static<typeof NoiseReading>;
export const NOISE_FIELDS = ['laeq', 'lamax', 'lamin'] as const;
export type NoiseField = (typeof NOISE_FIELDS)[number];

// ── plate-reader camera: one aggregated read per vehicle pass ─────────────────────────────
export const PLATE_DIRECTIONS = ['entering', 'leaving'] as const;
export type PlateDirection = (typeof PLATE_DIRECTIONS)[number];
export const PlateRead = Type.Object(
  {
    ts: EventTime,
    plate: Type.String({ minLength: 3, maxLength: 10, pattern: '^[A-Z0-9-]+$', description: 'plate text, upper case' }),
    region: Type.String({ minLength: 2, maxLength: 6, pattern: '^[A-Z]+$', description: 'issuing state / region code (e.g. VER)' }),
    confidence: Num('1', 0, 1, 'OCR confidence of the aggregated read'),
    direction: Type.Enum(PLATE_DIRECTIONS, { description: 'into or out of the city' }),
    lane: Int('lane number', 1, 12, 'lane of the pass'),
    frames: Type.Optional(Int('frames', 1, 1000, 'frames aggregated into this read')),
  },
  { ...strict, $id: 'PlateRead', description: 'plate read (one per vehicle pass)' },
);
export type PlateRead = Static<typeof PlateRead>;

// ── every device ──────────────────────────────────────────────────────────────────────────
export const DeviceStatus = Type.Object(
  {
    ts: EventTime,
    fw: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9._+-]+$', description: 'firmware version' }),
    uptimeS: Int('s', 0, 10 * 365 * 86400, 'seconds since boot'),
    batteryPct: Type.Optional(Num('%', 0, 100, 'battery charge')),
    powerV: Type.Optional(Num('V', 0, 60, 'supply voltage')),
    signalDbm: Type.Optional(Num('dBm', -140, 0, 'cellular / radio signal strength')),
    clockSkewMs: Type.Optional(Int('ms', -86_400_000, 86_400_000, 'device clock minus NTP, as the device measured it')),
  },
  { ...strict, $id: 'DeviceStatus', description: 'device health' },
);
export type DeviceStatus = Static<typeof DeviceStatus>;

/** Presence: retained on .../presence; the device's MQTT last will publishes state 'offline'. */
export const Presence = Type.Object(
  {
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    ts: Type.Optional(EventTime),
    reason: Type.Optional(Type.String({ maxLength: 80 })),
  },
  { ...strict, $id: 'Presence', description: 'online/offline, retained; last will sends offline' },
);
export type Presence = Static<typeof Presence>;

/** Schema of each stream. */
export const STREAM_SCHEMAS = {
  gps: GpsFix,
  event: TruckEvent,
  air: AirReading,
  noise: NoiseReading,
  plate: PlateRead,
  status: DeviceStatus,
  presence: Presence,
} as const satisfies Record<string, TSchema>;

export type StreamPayload = {
  gps: GpsFix;
  event: TruckEvent;
  air: AirReading;
  noise: NoiseReading;
  plate: PlateRead;
  status: DeviceStatus;
  presence: Presence;
};

export const DeviceId = Type.String({ pattern: DEVICE_ID_PATTERN, description: 'device id' });
