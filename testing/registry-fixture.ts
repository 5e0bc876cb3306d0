/**
 * A small registry with known passwords for tests: written to a temp file the broker and ingest
 * load like any real registry. Low scrypt cost keeps tests quick; the format is the real one.
 */
import path from 'node:path';
import { hashPasswordSync } from '../registry/credentials';
import { saveRegistryFile } from '../registry/registry';
import type { Registry, RegistryDevice } from '../registry/schema';
import { tempDir } from './net';

export const TEST_PASSWORD = (id: string) => `pw-${id}`;

export const testDevices: Omit<RegistryDevice, 'passwordHash'>[] = [
  { id: 'truck-01', kind: 'truck', model: 'sim-gps', district: 'Centro', status: 'active', truck: { depotId: 'depot-1', routeId: 'route-01' }, intervals: { dataS: 5, statusS: 60 } },
  { id: 'truck-02', kind: 'truck', model: 'sim-gps', district: 'Puerto', status: 'active', truck: { depotId: 'depot-1', routeId: 'route-02' }, intervals: { dataS: 5, statusS: 60 } },
  { id: 'air-01', kind: 'air', model: 'sim-aq', district: 'Centro', status: 'active', location: { lat: 18.1437, lon: -94.4339 }, intervals: { dataS: 60, statusS: 300 } },
  { id: 'noise-01', kind: 'noise', model: 'sim-sl', district: 'Centro', status: 'active', location: { lat: 18.1455, lon: -94.4301 }, noiseZone: 'residential', intervals: { dataS: 60, statusS: 300 } },
  {
    id: 'cam-01',
    kind: 'camera',
    model: 'sim-lpr',
    district: 'Entrada Sur',
    status: 'active',
    location: { lat: 18.1102, lon: -94.4521 },
    camera: { road: 'Carretera Costera del Golfo', direction: 'both', lanes: 4 },
    intervals: { dataS: 1, statusS: 300 },
  },
  { id: 'air-99', kind: 'air', model: 'sim-aq', district: 'Centro', status: 'retired', location: { lat: 18.14, lon: -94.43 }, intervals: { dataS: 60, statusS: 300 } },
];

export const TEST_SERVICES = [
  { id: 'ingest', role: 'ingest' as const },
  { id: 'console', role: 'console' as const },
  { id: 'nodered', role: 'nodered' as const },
  { id: 'admin', role: 'admin' as const },
];

export function buildTestRegistry(extra: Omit<RegistryDevice, 'passwordHash'>[] = []): Registry {
  return {
    version: 1,
    city: 'Test city',
    timezone: 'America/Mexico_City',
    devices: [...testDevices, ...extra].map((d) => ({ ...d, passwordHash: hashPasswordSync(TEST_PASSWORD(d.id), 1024) })),
    services: TEST_SERVICES.map((s) => ({ ...s, passwordHash: hashPasswordSync(TEST_PASSWORD(s.id), 1024) })),
  };
}

/** Write a test registry to a fresh temp dir; returns the file path. */
export function writeTestRegistry(dir = tempDir(), extra: Omit<RegistryDevice, 'passwordHash'>[] = []): string {
  const file = path.join(dir, 'registry.json');
  saveRegistryFile(file, buildTestRegistry(extra));
  return file;
}
