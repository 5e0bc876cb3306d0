/**
 * Registry administration (used by the `devices` CLI): add a device, render its config with a
 * freshly issued secret (shown once), rotate credentials, retire a device. Every change is
 * written atomically; the broker's RegistryView picks it up without a restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateSecret, hashPasswordSync } from './credentials';
import { renderDeviceConfig, writeDeviceConfig, type DeviceConfig, type RenderOptions } from './device-config';
import { loadRegistryFile, registryProblems, RegistryError, saveRegistryFile } from './registry';
import type { DeviceKind } from '../contract';
import type { Registry, RegistryDevice } from './schema';
import { cityFileFor } from './city';

export class AdminError extends Error {
  constructor(
    readonly code: string,
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
}

function findDevice(reg: Registry, id: string, file: string): RegistryDevice {
  const d = reg.devices.find((x) => x.id === id);
  if (!d) throw new AdminError('E_UNKNOWN_DEVICE', `${file}: device ${id}: not in the registry`);
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

export function deviceSpec(o: DeviceOptions): Omit<RegistryDevice, 'passwordHash' | 'status'> {
  const kind = o.kind as DeviceKind;
  return {
    id: o.id,
    kind,
    model: o.model,
    district: o.district,
    intervals: { dataS: o.dataS ?? (kind === 'truck' ? 5 : kind === 'camera' ? 1 : 60), statusS: o.statusS ?? (kind === 'truck' ? 60 : 300) },
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
  if (d.status === 'retired') throw new AdminError('E_RETIRED', `${registryFile}: device ${id}: retired; add it again to reuse the id`);
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
  if (problems.length) throw new RegistryError(`${registryFile}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, problems);
  saveRegistryFile(registryFile, regNext);
  return next;
}

/** Add a device; returns its first secret (shown once). */
export function addDevice(registryFile: string, spec: Omit<RegistryDevice, 'passwordHash' | 'status'> & { status?: 'active' }, opts: IssueOptions = {}): { device: RegistryDevice; secret: string } {
  const reg = loadRegistryFile(registryFile);
  if (reg.devices.some((d) => d.id === spec.id)) throw new AdminError('E_DUPLICATE_DEVICE', `${registryFile}: device ${spec.id}: field id: already exists`);
  const secret = generateSecret();
  const device: RegistryDevice = { status: 'active', ...spec, passwordHash: hashPasswordSync(secret, opts.cost), credentialsIssuedAt: Date.now() };
  const next = { ...reg, devices: [...reg.devices, device] };
  const problems = registryProblems(next, registryFile);
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
    brokerUrl: opts.brokerUrl ?? 'mqtt://127.0.0.1:1883',
    secret,
    timezone: reg.timezone,
    ...(opts.apiUrl ? { apiUrl: opts.apiUrl } : {}),
    ...(opts.ntpServer ? { ntpServer: opts.ntpServer } : {}),
  });
  return { device, secret, config, file: writeDeviceConfig(outDir, config) };
}

/** Issue a new secret for a device (the old one stops working as soon as the broker reloads). */
export function rotateCredentials(registryFile: string, id: string, opts: IssueOptions = {}): { device: RegistryDevice; secret: string } {
  const reg = loadRegistryFile(registryFile);
  const d = findDevice(reg, id, registryFile);
  if (d.status === 'retired') throw new AdminError('E_RETIRED', `${registryFile}: device ${id}: retired; add it again to reuse the id`);
  const secret = generateSecret();
  d.passwordHash = hashPasswordSync(secret, opts.cost);
  d.credentialsIssuedAt = Date.now();
  saveRegistryFile(registryFile, reg);
  return { device: d, secret };
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

/** Render a device's config with a freshly issued secret; writes `<outDir>/<id>.json` (0600). */
export function renderDevice(registryFile: string, id: string, outDir: string, opts: IssueOptions = {}): { file: string; config: DeviceConfig } {
  const reg = loadRegistryFile(registryFile);
  const { device, secret } = rotateCredentials(registryFile, id, opts);
  const ro: RenderOptions = {
    brokerUrl: opts.brokerUrl ?? 'mqtt://127.0.0.1:1883',
    secret,
    timezone: reg.timezone,
    cityFile: cityFileFor(registryFile, reg.cityFile),
    ...(opts.apiUrl ? { apiUrl: opts.apiUrl } : {}),
    ...(opts.ntpServer ? { ntpServer: opts.ntpServer } : {}),
  };
  const config = renderDeviceConfig(device, ro);
  return { file: writeDeviceConfig(outDir, config), config };
}
