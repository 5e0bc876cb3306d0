/**
 * Registry administration (used by the `devices` CLI). One workflow keeps the registry, the
 * rendered configs and the simulator's copies (DATA_DIR/devices/<id>.json) in step:
 *
 *   add      validates the device against the city, registers it as `planned`, writes its config
 *   render   re-prints a config with the device's current secret (read from its rendered config
 *            and verified against the registry's hash); only `newSecret` issues a new one
 *   rotate   issues a new secret and rewrites the device's config, so the simulator reconnects
 *   activate / markInstalled / retire   the lifecycle (planned → installed → active → retired)
 *
 * Every change is written atomically; the broker's RegistryView picks it up without a restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateSecret, hashPasswordSync, verifyPasswordSync } from './credentials';
import { loadDeviceConfig, renderDeviceConfig, writeDeviceConfig, type DeviceConfig, type RenderOptions } from './device-config';
import { loadRegistryFile, registryProblems, RegistryError, saveRegistryFile } from './registry';
import type { DeviceKind } from '../contract';
import type { DeviceState, Registry, RegistryDevice } from './schema';
import { cityFileFor, loadCity, type City } from '../city/city';
import { deviceCityProblems } from './registry-city';
import type { ApiErrorCode } from '../lib/error-codes';
import { withDefaults } from '../lib/options';

/** the API answers with these codes as they are (lib/error-codes.ts, area DEVICE) */
export class AdminError extends Error {
  constructor(
    readonly code: Extract<ApiErrorCode, `E_DEVICE_${string}`>,
    message: string,
  ) {
    super(message);
  }
}

export interface IssueOptions {
  cost?: number;
  brokerUrl?: string;
  apiUrl?: string;
  ntpServer?: string;
  /** where the simulator's rendered configs live (DATA_DIR/devices): kept in step on every change */
  devicesDir?: string;
  /** the city of an installation with several (TENANTS): the config logs in as `<tenant>:<id>` (a re-render keeps the existing config's city) */
  tenant?: string;
}

/** defaults of the options (lib/options.ts) */
export const ISSUE_DEFAULTS = { brokerUrl: 'mqtt://127.0.0.1:1883' };

function findDevice(reg: Registry, id: string, file: string): RegistryDevice {
  const d = reg.devices.find((x) => x.id === id);
  if (!d) throw new AdminError('E_DEVICE_UNKNOWN', `${file}: device ${id}: not in the registry`);
  return d;
}

/**
 * What the `devices add` command line (and the console's device form) says about a device, as
 * flat options; `deviceSpec` turns them into a registry device (without credentials) with the
 * kind's default intervals. Validation is the registry's (registryProblems), in addDevice / updateDevice.
 */
export interface DeviceOptions {
  id: string;
  kind: string;
  model: string;
  district: string;
  lat?: number;
  lon?: number;
  zone?: string;
  road?: string;
  direction?: string;
  lanes?: number;
  depot?: string;
  route?: string;
  plate?: string;
  dataS?: number;
  statusS?: number;
}

/** defaults of a device's options: its kind's intervals (lib/options.ts) */
export const DEVICE_DEFAULTS = { truck: { dataS: 5, statusS: 60 }, camera: { dataS: 1, statusS: 300 }, station: { dataS: 60, statusS: 300 } };

export function deviceSpec(opts: DeviceOptions): Omit<RegistryDevice, 'passwordHash' | 'status'> {
  const kind = opts.kind as DeviceKind;
  const o = withDefaults(kind === 'truck' || kind === 'camera' ? DEVICE_DEFAULTS[kind] : DEVICE_DEFAULTS.station, opts);
  return {
    id: o.id,
    kind,
    model: o.model,
    district: o.district,
    intervals: { dataS: o.dataS, statusS: o.statusS },
    ...(o.lat !== undefined || o.lon !== undefined ? { location: { lat: o.lat, lon: o.lon } as { lat: number; lon: number } } : {}),
    ...(o.zone ? { noiseZone: o.zone as RegistryDevice['noiseZone'] } : {}),
    ...(o.road || o.direction || o.lanes ? { camera: { road: o.road, direction: o.direction, lanes: o.lanes } as NonNullable<RegistryDevice['camera']> } : {}),
    ...(o.depot || o.route ? { truck: { depotId: o.depot, routeId: o.route, ...(o.plate ? { plate: o.plate } : {}) } as NonNullable<RegistryDevice['truck']> } : {}),
  };
}

/** The flat options of a registry device (the edit form starts from these). */
export function deviceOptionsOf(d: RegistryDevice): DeviceOptions {
  return {
    id: d.id,
    kind: d.kind,
    model: d.model,
    district: d.district,
    ...(d.location ? { lat: d.location.lat, lon: d.location.lon } : {}),
    ...(d.noiseZone ? { zone: d.noiseZone } : {}),
    ...(d.camera ? { road: d.camera.road, direction: d.camera.direction, lanes: d.camera.lanes } : {}),
    ...(d.truck ? { depot: d.truck.depotId, route: d.truck.routeId, ...(d.truck.plate ? { plate: d.truck.plate } : {}) } : {}),
    dataS: d.intervals.dataS,
    statusS: d.intervals.statusS,
  };
}

/**
 * Replace what a device is (model, district, place, zone, camera, truck, intervals) from flat
 * options; its id, kind, status, credentials and thresholds stay. Validated like addDevice.
 */
export function updateDevice(registryFile: string, id: string, o: Omit<DeviceOptions, 'id' | 'kind'>): RegistryDevice {
  const reg = loadRegistryFile(registryFile);
  const d = findDevice(reg, id, registryFile);
  if (d.status === 'retired') throw new AdminError('E_DEVICE_RETIRED', `${registryFile}: device ${id}: retired; add it again to reuse the id`);
  const spec = deviceSpec({ ...o, id: d.id, kind: d.kind });
  const next: RegistryDevice = {
    ...spec,
    status: d.status,
    passwordHash: d.passwordHash,
    ...(d.thresholds ? { thresholds: d.thresholds } : {}),
    ...(d.credentialsIssuedAt ? { credentialsIssuedAt: d.credentialsIssuedAt } : {}),
  };
  const regNext = { ...reg, devices: reg.devices.map((x) => (x.id === id ? next : x)) };
  const problems = registryProblems(regNext, registryFile);
  if (!problems.length) problems.push(...deviceCityProblems(next, cityOfRegistry(registryFile, reg), registryFile));
  if (problems.length) throw new RegistryError(`${registryFile}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, problems);
  saveRegistryFile(registryFile, regNext);
  return next;
}

/** The city a registry belongs to (its `cityFile`, else the demo city). */
export function cityOfRegistry(registryFile: string, reg: Registry = loadRegistryFile(registryFile)): City {
  return loadCity(cityFileFor(registryFile, reg.cityFile));
}

/** Add a device (status `planned` unless given), validated against the registry and the city; returns its first secret (shown once). */
export function addDevice(
  registryFile: string,
  spec: Omit<RegistryDevice, 'passwordHash' | 'status'> & { status?: DeviceState },
  opts: IssueOptions & { city?: City } = {},
): { device: RegistryDevice; secret: string } {
  const reg = loadRegistryFile(registryFile);
  if (reg.devices.some((d) => d.id === spec.id)) throw new AdminError('E_DEVICE_DUPLICATE', `${registryFile}: device ${spec.id}: field id: already exists`);
  const secret = generateSecret();
  const device: RegistryDevice = { status: 'planned', ...spec, passwordHash: hashPasswordSync(secret, opts.cost), credentialsIssuedAt: Date.now() };
  const next = { ...reg, devices: [...reg.devices, device] };
  const problems = registryProblems(next, registryFile);
  if (!problems.length) problems.push(...deviceCityProblems(device, opts.city ?? cityOfRegistry(registryFile, reg), registryFile));
  if (problems.length) throw new RegistryError(`${registryFile}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, problems);
  saveRegistryFile(registryFile, next);
  return { device, secret };
}

/** Add a device and write its config with its first secret (`<outDir>/<id>.json`, 0600): `devices add`. */
export function addDeviceWithConfig(
  registryFile: string,
  spec: Omit<RegistryDevice, 'passwordHash' | 'status'>,
  outDir: string,
  opts: IssueOptions = {},
): { device: RegistryDevice; secret: string; file: string; config: DeviceConfig } {
  const { device, secret } = addDevice(registryFile, spec, opts);
  const reg = loadRegistryFile(registryFile);
  const config = renderDeviceConfig(device, {
    brokerUrl: withDefaults(ISSUE_DEFAULTS, opts).brokerUrl,
    secret,
    timezone: reg.timezone,
    ...(opts.apiUrl ? { apiUrl: opts.apiUrl } : {}),
    ...(opts.ntpServer ? { ntpServer: opts.ntpServer } : {}),
    ...(opts.tenant ? { tenant: opts.tenant } : {}),
  });
  return { device, secret, config, file: writeDeviceConfig(outDir, config) };
}

/** Issue a new secret for a device (the old one stops working as soon as the broker reloads). */
export function rotateCredentials(registryFile: string, id: string, opts: IssueOptions = {}): { device: RegistryDevice; secret: string } {
  const reg = loadRegistryFile(registryFile);
  const d = findDevice(reg, id, registryFile);
  if (d.status === 'retired') throw new AdminError('E_DEVICE_RETIRED', `${registryFile}: device ${id}: retired; add it again to reuse the id`);
  const secret = generateSecret();
  d.passwordHash = hashPasswordSync(secret, opts.cost);
  d.credentialsIssuedAt = Date.now();
  saveRegistryFile(registryFile, reg);
  return { device: d, secret };
}

/** Move a device along its lifecycle. */
function setStatus(registryFile: string, id: string, to: DeviceState, from: readonly DeviceState[]): { device: RegistryDevice; changed: boolean } {
  const reg = loadRegistryFile(registryFile);
  const d = findDevice(reg, id, registryFile);
  if (d.status === to) return { device: d, changed: false };
  if (!from.includes(d.status)) throw new AdminError('E_DEVICE_LIFECYCLE', `${registryFile}: device ${id}: field status: is ${d.status}; only a ${from.join(' or ')} device can become ${to}`);
  d.status = to;
  saveRegistryFile(registryFile, reg);
  return { device: d, changed: true };
}

/** planned → installed: the platform has seen the device's first real reading. */
export function markInstalled(registryFile: string, id: string): boolean {
  const reg = loadRegistryFile(registryFile);
  const d = reg.devices.find((x) => x.id === id);
  if (!d || d.status !== 'planned') return false;
  d.status = 'installed';
  saveRegistryFile(registryFile, reg);
  return true;
}

/** ingest's `onFirstContact` for a registry file: markInstalled, logged; a failure is a warning, never a crash. */
export function installOnFirstContact(registryFile: string, log: { info(o: object, m: string): void; warn(o: object, m: string): void }): (id: string) => void {
  return (id) => {
    try {
      if (markInstalled(registryFile, id)) log.info({ deviceId: id }, 'first reading of a planned device: now installed');
    } catch (err) {
      log.warn({ deviceId: id, err: (err as Error).message }, 'could not mark the device installed');
    }
  };
}

/** planned | installed → active: commissioned by the installer. */
export function activateDevice(registryFile: string, id: string): RegistryDevice {
  return setStatus(registryFile, id, 'active', ['planned', 'installed']).device;
}

/** Retire a device: it can no longer connect; its data stays. Its rendered config (if given) is removed. */
export function retireDevice(registryFile: string, id: string, devicesDir?: string): RegistryDevice {
  const reg = loadRegistryFile(registryFile);
  const d = findDevice(reg, id, registryFile);
  d.status = 'retired';
  // a retired device keeps no usable credential
  d.passwordHash = hashPasswordSync(generateSecret(), 1024);
  saveRegistryFile(registryFile, reg);
  if (devicesDir) fs.rmSync(path.join(devicesDir, `${id}.json`), { force: true });
  return d;
}

/** The device's current secret from a rendered config, when it still matches the registry's hash. */
function currentConfig(d: RegistryDevice, dirs: (string | undefined)[]): DeviceConfig | undefined {
  for (const dir of dirs) {
    if (!dir) continue;
    const f = path.join(dir, `${d.id}.json`);
    if (!fs.existsSync(f)) continue;
    try {
      const c = loadDeviceConfig(f);
      if (c.deviceId === d.id && verifyPasswordSync(c.secret, d.passwordHash)) return c;
    } catch {
      // unreadable or stale config: look further
    }
  }
  return undefined;
}

export interface RenderResult {
  file: string;
  config: DeviceConfig;
  /** true when a new secret was issued (the previous one stopped working) */
  newSecret: boolean;
  /** every config file written (outDir and the simulator's copy) */
  files: string[];
}

/**
 * Write a device's config to `<outDir>/<id>.json` (0600). Without `newSecret` it re-prints the
 * current secret (the device stays connected); it fails with E_DEVICE_NO_SECRET when no rendered config
 * holds a secret that matches the registry. With `newSecret` (or from `rotate`) a new secret is
 * issued and the simulator's copy in `devicesDir` is rewritten too.
 */
export function renderDevice(registryFile: string, id: string, outDir: string, opts: IssueOptions & { newSecret?: boolean } = {}): RenderResult {
  let reg = loadRegistryFile(registryFile);
  let device = findDevice(reg, id, registryFile);
  if (device.status === 'retired') throw new AdminError('E_DEVICE_RETIRED', `${registryFile}: device ${id}: retired; add it again to reuse the id`);
  const existing = currentConfig(device, [outDir, opts.devicesDir]);
  let secret: string;
  const newSecret = !!opts.newSecret || !existing;
  if (newSecret) {
    if (!opts.newSecret) {
      throw new AdminError(
        'E_DEVICE_NO_SECRET',
        `${registryFile}: device ${id}: no rendered config under ${[outDir, opts.devicesDir].filter(Boolean).join(' or ')} holds its current secret (secrets are kept only as hashes); give --new-secret to issue one (the device must then load the new config)`,
      );
    }
    ({ device, secret } = rotateCredentials(registryFile, id, opts));
    reg = loadRegistryFile(registryFile);
  } else secret = existing!.secret;
  const ro: RenderOptions = {
    brokerUrl: opts.brokerUrl ?? existing?.broker.url ?? ISSUE_DEFAULTS.brokerUrl,
    secret,
    timezone: reg.timezone,
    cityFile: cityFileFor(registryFile, reg.cityFile),
    ...((opts.apiUrl ?? existing?.apiUrl) ? { apiUrl: opts.apiUrl ?? existing?.apiUrl } : {}),
    ...(opts.ntpServer ? { ntpServer: opts.ntpServer } : {}),
  };
  const tenant = opts.tenant ?? (existing?.username.includes(':') ? existing.username.slice(0, existing.username.indexOf(':')) : undefined);
  if (tenant) ro.tenant = tenant;
  const config = renderDeviceConfig(device, ro);
  const file = writeDeviceConfig(outDir, config);
  const files = [file];
  // the simulator's copy follows a new secret (and keeps its own broker URL)
  if (newSecret && opts.devicesDir && path.resolve(opts.devicesDir) !== path.resolve(outDir)) {
    const sim = fs.existsSync(path.join(opts.devicesDir, `${id}.json`)) ? safeLoad(path.join(opts.devicesDir, `${id}.json`)) : undefined;
    files.push(writeDeviceConfig(opts.devicesDir, { ...config, broker: sim?.broker ?? config.broker, ...(sim?.apiUrl ? { apiUrl: sim.apiUrl } : {}) }));
  }
  return { file, config, newSecret, files };
}

/** New credentials and a rewritten config in `devicesDir` (and `outDir`, when given). */
export function rotateDevice(registryFile: string, id: string, devicesDir: string, opts: IssueOptions & { outDir?: string } = {}): RenderResult {
  return renderDevice(registryFile, id, opts.outDir ?? devicesDir, { ...opts, devicesDir, newSecret: true });
}

function safeLoad(file: string): DeviceConfig | undefined {
  try {
    return loadDeviceConfig(file);
  } catch {
    return undefined;
  }
}
