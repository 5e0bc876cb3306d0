import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/net';
import { loadCity } from '../city/city';
import { verifyPassword } from './credentials';
import { loadDeviceConfigs } from './device-config';
import { provisionDemo, readServiceSecrets } from '../demo/provision';
import { loadRegistryFile, registryProblems, RegistryError } from './registry';

describe('registry validation', () => {
  it('names the file, the device and the field of every problem', () => {
    const dir = tempDir();
    const file = path.join(dir, 'registry.json');
    const { registryFile } = provisionDemo(dir, { cost: 1024 });
    const reg = JSON.parse(fs.readFileSync(registryFile, 'utf8'));
    reg.devices.find((d: { id: string }) => d.id === 'air-02').location.lat = 123;
    reg.devices.find((d: { id: string }) => d.id === 'cam-03').camera.lanes = 0;
    delete reg.devices.find((d: { id: string }) => d.id === 'noise-01').noiseZone;
    fs.writeFileSync(file, JSON.stringify(reg));
    let err: RegistryError | undefined;
    try {
      loadRegistryFile(file);
    } catch (e) {
      err = e as RegistryError;
    }
    expect(err).toBeInstanceOf(RegistryError);
    expect(err!.problems.some((p) => p.startsWith(`${file}: device air-02: field location.lat:`))).toBe(true);
    expect(err!.problems.some((p) => p.startsWith(`${file}: device cam-03: field camera.lanes:`))).toBe(true);
    // semantic checks run once the schema passes
    reg.devices.find((d: { id: string }) => d.id === 'air-02').location.lat = 18.1;
    reg.devices.find((d: { id: string }) => d.id === 'cam-03').camera.lanes = 2;
    expect(registryProblems(reg, file)).toEqual([`${file}: device noise-01: field noiseZone: required for noise stations`]);
  });
});

describe('demo provisioning', () => {
  it('writes the registry (hashes only), per-device configs and service secrets; a second run keeps them', async () => {
    const dir = tempDir();
    const r = provisionDemo(dir, { cost: 1024, brokerUrl: 'mqtt://127.0.0.1:1999' });
    expect(r.created).toBe(true);
    const reg = loadRegistryFile(r.registryFile);
    const city = loadCity(r.cityFile);
    const count = (k: string) => reg.devices.filter((d) => d.kind === k).length;
    expect(count('truck')).toBe(40);
    expect(count('air')).toBeGreaterThanOrEqual(6);
    expect(count('noise')).toBeGreaterThanOrEqual(6);
    expect(count('camera')).toBe(8);
    expect(new Set(reg.devices.filter((d) => d.kind === 'noise').map((d) => d.noiseZone)).size).toBeGreaterThanOrEqual(3);
    for (const d of reg.devices.filter((d) => d.kind === 'truck')) expect(city.routes.some((rt) => rt.id === d.truck!.routeId)).toBe(true);
    expect(reg.services.map((s) => s.role).sort()).toEqual(['admin', 'console', 'ingest', 'nodered']);
    const text = fs.readFileSync(r.registryFile, 'utf8');
    const configs = loadDeviceConfigs(r.devicesDir);
    expect(configs).toHaveLength(reg.devices.length);
    for (const c of configs.slice(0, 3)) {
      expect(text).not.toContain(c.secret);
      expect(await verifyPassword(c.secret, reg.devices.find((d) => d.id === c.deviceId)!.passwordHash)).toBe(true);
      expect(c.broker.url).toBe('mqtt://127.0.0.1:1999');
      expect(Object.values(c.topics.publish).every((t) => String(t).startsWith(c.topics.prefix))).toBe(true);
    }
    const svc = readServiceSecrets(r.servicesFile);
    expect(await verifyPassword(svc.ingest.password, reg.services.find((s) => s.id === 'ingest')!.passwordHash)).toBe(true);
    expect(fs.statSync(r.servicesFile).mode & 0o777).toBe(0o600);

    const again = provisionDemo(dir, { cost: 1024 });
    expect(again.created).toBe(false);
    expect(again.issued).toEqual([]);
    expect(fs.readFileSync(r.registryFile, 'utf8')).toBe(text);

    // a lost device config is re-issued with a new secret
    fs.rmSync(path.join(r.devicesDir, 'air-01.json'));
    const third = provisionDemo(dir, { cost: 1024 });
    expect(third.issued).toEqual(['air-01']);
    const air = loadDeviceConfigs(r.devicesDir).find((c) => c.deviceId === 'air-01')!;
    expect(await verifyPassword(air.secret, loadRegistryFile(r.registryFile).devices.find((d) => d.id === 'air-01')!.passwordHash)).toBe(true);
  });
});
