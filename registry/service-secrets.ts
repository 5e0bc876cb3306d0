/**
 * The service accounts' secrets file (`DATA_DIR/services.json`, mode 0600): what the launcher and
 * the console CLI connect with. Written by provisioning (demo/provision.ts); the registry keeps
 * only the hashes.
 */
import fs from 'node:fs';
import type { ServiceRole } from './schema';

export type ServiceSecrets = Record<ServiceRole, { username: string; password: string }>;

export function readServiceSecrets(file: string): ServiceSecrets {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ServiceSecrets;
}
