/**
 * First-start provisioning of the demo city under DATA_DIR:
 *   registry.json        devices and service accounts (password hashes only)
 *   city.json            the city's streets, districts, water, depots, routes
 *   devices/<id>.json    rendered per-device configs with their secrets (0600), for the simulator
 *   services.json        service-account secrets for the launcher (0600)
 * Idempotent: an existing registry is kept; a missing device config or service secret is
 * re-issued (new secret, hash updated) because secrets cannot be recovered from hashes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadCity, DEMO_CITY_FILE, type City } from '../city/city';
import { generateSecret, hashPasswordSync } from '../registry/credentials';
import { demoDevices } from './demo-registry';
import { renderDeviceConfig, writeDeviceConfig } from '../registry/device-config';
import { loadRegistryFile, saveRegistryFile } from '../registry/registry';
import { SERVICE_ROLES, type Registry } from '../registry/schema';
import { readServiceSecrets, type ServiceSecrets } from '../registry/service-secrets';

export interface ProvisionOptions {
  /** scrypt N for the hashes (default 16384) */
  cost?: number;
  /** broker URL written into device configs */
  brokerUrl?: string;
  /** console API URL written into device configs (commissioning check) */
  apiUrl?: string;
  /** the city of an installation with several (TENANTS): device configs log in as `<tenant>:<id>` */
  tenant?: string;
  /** the city file to copy into DATA_DIR (default: the bundled demo city) */
  cityFile?: string;
}

export interface ProvisionResult {
  registryFile: string;
  devicesDir: string;
  servicesFile: string;
  cityFile: string;
  /** true when a new registry was written */
  created: boolean;
  /** device configs / service secrets (re-)issued in this run */
  issued: string[];
}

export { readServiceSecrets, type ServiceSecrets };

function writeSecretFile(file: string, data: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function provisionDemo(dataDir: string, opts: ProvisionOptions = {}): ProvisionResult {
  const cost = opts.cost ?? 16384;
  const brokerUrl = opts.brokerUrl ?? 'mqtt://127.0.0.1:1883';
  fs.mkdirSync(dataDir, { recursive: true });
  const registryFile = path.join(dataDir, 'registry.json');
  const devicesDir = path.join(dataDir, 'devices');
  const servicesFile = path.join(dataDir, 'services.json');
  const cityFile = path.join(dataDir, 'city.json');
  const issued: string[] = [];

  if (!fs.existsSync(cityFile)) fs.copyFileSync(opts.cityFile ?? DEMO_CITY_FILE, cityFile);
  const city: City = loadCity(cityFile);

  let reg: Registry;
  let created = false;
  const secrets = new Map<string, string>();
  if (fs.existsSync(registryFile)) {
    reg = loadRegistryFile(registryFile);
  } else {
    created = true;
    reg = {
      version: 1,
      city: city.name,
      timezone: city.timezone,
      cityFile: 'city.json',
      devices: demoDevices(city).map((d) => {
        const s = generateSecret();
        secrets.set(d.id, s);
        return { ...d, passwordHash: hashPasswordSync(s, cost), credentialsIssuedAt: Date.now() };
      }),
      services: SERVICE_ROLES.map((role) => {
        const s = generateSecret();
        secrets.set(`svc:${role}`, s);
        return { id: role, role, passwordHash: hashPasswordSync(s, cost) };
      }),
    };
  }

  // devices whose rendered config is missing get a new secret
  fs.mkdirSync(devicesDir, { recursive: true, mode: 0o700 });
  let changed = created;
  for (const d of reg.devices) {
    if (d.status === 'retired') continue;
    const file = path.join(devicesDir, `${d.id}.json`);
    if (!created && fs.existsSync(file)) continue;
    let s = secrets.get(d.id);
    if (!s) {
      s = generateSecret();
      d.passwordHash = hashPasswordSync(s, cost);
      d.credentialsIssuedAt = Date.now();
      changed = true;
    }
    writeDeviceConfig(devicesDir, renderDeviceConfig(d, { brokerUrl, secret: s, timezone: reg.timezone, cityFile, apiUrl: opts.apiUrl, ...(opts.tenant ? { tenant: opts.tenant } : {}) }));
    issued.push(d.id);
  }

  // service secrets
  let services: Partial<ServiceSecrets> = {};
  if (!created && fs.existsSync(servicesFile)) {
    try {
      services = readServiceSecrets(servicesFile);
    } catch {
      services = {};
    }
  }
  for (const role of SERVICE_ROLES) {
    let acct = reg.services.find((s) => s.role === role);
    if (services[role] && acct) continue;
    let s = secrets.get(`svc:${role}`);
    if (!s || !acct) {
      s = generateSecret();
      const hash = hashPasswordSync(s, cost);
      if (acct) acct.passwordHash = hash;
      else reg.services.push((acct = { id: role, role, passwordHash: hash }));
      changed = true;
    }
    services[role] = { username: acct.id, password: s };
    issued.push(`service:${role}`);
  }
  if (changed) saveRegistryFile(registryFile, reg);
  if (issued.some((i) => i.startsWith('service:'))) writeSecretFile(servicesFile, services);
  return { registryFile, devicesDir, servicesFile, cityFile, created, issued };
}
