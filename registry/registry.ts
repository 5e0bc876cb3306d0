/**
 * Loading, validating, indexing and watching the device registry file (JSON).
 * Every validation error names the file, the device and the field.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Compile } from 'typebox/compile';
import { schemaProblems } from '../contract';
import { Value } from 'typebox/value';
import { Registry, type RegistryDevice, type ServiceAccount } from './schema';

const check = Compile(Registry);

export class RegistryError extends Error {
  code = 'E_REGISTRY_INVALID';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

/** Validate a parsed registry; returns a list of problems, each naming file, device and field. */
export function registryProblems(data: unknown, file = '<registry>'): string[] {
  const problems: string[] = [];
  const devices = (data as { devices?: unknown[] })?.devices;
  for (const e of schemaProblems(check, data)) {
    const parts = e.path.split('/').filter(Boolean);
    let where = `${file}`;
    if (parts[0] === 'devices' && parts[1] !== undefined && Array.isArray(devices)) {
      const dev = devices[Number(parts[1])] as { id?: string } | undefined;
      where += `: device ${dev?.id ?? `#${parts[1]}`}`;
      const field = parts.slice(2).join('.');
      where += field ? `: field ${field}` : '';
    } else if (parts.length) {
      where += `: field ${parts.join('.')}`;
    }
    problems.push(`${where}: ${e.message}`);
  }
  if (problems.length === 0) {
    const reg = data as Registry;
    const seen = new Set<string>();
    for (const d of reg.devices) {
      if (seen.has(d.id)) problems.push(`${file}: device ${d.id}: field id: duplicate id`);
      seen.add(d.id);
      if ((d.kind === 'air' || d.kind === 'noise' || d.kind === 'camera') && !d.location) {
        problems.push(`${file}: device ${d.id}: field location: required for ${d.kind} devices`);
      }
      if (d.kind === 'noise' && !d.noiseZone) problems.push(`${file}: device ${d.id}: field noiseZone: required for noise stations`);
      if (d.kind === 'camera' && !d.camera) problems.push(`${file}: device ${d.id}: field camera: required for cameras`);
      if (d.kind === 'truck' && !d.truck) problems.push(`${file}: device ${d.id}: field truck: required for trucks`);
    }
    const svc = new Set<string>();
    for (const s of reg.services) {
      if (svc.has(s.id) || seen.has(s.id)) problems.push(`${file}: service ${s.id}: field id: duplicate id`);
      svc.add(s.id);
    }
  }
  return problems;
}

export function parseRegistry(text: string, file = '<registry>'): Registry {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new RegistryError(`${file}: not valid JSON: ${(err as Error).message}`, [`${file}: not valid JSON (truncated or hand-edited?): ${(err as Error).message}`]);
  }
  data = Value.Default(Registry, data);
  const problems = registryProblems(data, file);
  if (problems.length) throw new RegistryError(`${file}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, problems);
  return data as Registry;
}

export function loadRegistryFile(file: string): Registry {
  return parseRegistry(fs.readFileSync(file, 'utf8'), file);
}

/** Write atomically (temp file + rename) so a watcher never reads half a file. */
export function saveRegistryFile(file: string, reg: Registry): void {
  const problems = registryProblems(reg, file);
  if (problems.length) throw new RegistryError(`refusing to save an invalid registry:\n  ${problems.join('\n  ')}`, problems);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(reg, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** An indexed, live view of the registry file: reloads when the file changes (no restart needed). */
export class RegistryView {
  private reg: Registry;
  private devices = new Map<string, RegistryDevice>();
  private services = new Map<string, ServiceAccount>();
  private watching = false;
  private listeners = new Set<(reg: Registry) => void>();

  constructor(
    readonly file: string,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.reg = loadRegistryFile(file);
    this.index();
  }

  private index(): void {
    this.devices = new Map(this.reg.devices.map((d) => [d.id, d]));
    this.services = new Map(this.reg.services.map((s) => [s.id, s]));
  }

  get registry(): Registry {
    return this.reg;
  }
  device(id: string): RegistryDevice | undefined {
    return this.devices.get(id);
  }
  /** active (not retired) device */
  activeDevice(id: string): RegistryDevice | undefined {
    const d = this.devices.get(id);
    return d && d.status !== 'retired' ? d : undefined;
  }
  service(id: string): ServiceAccount | undefined {
    return this.services.get(id);
  }
  onChange(fn: (reg: Registry) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Re-read the file now; keeps the previous registry when the new one is invalid. */
  reload(): boolean {
    try {
      this.reg = loadRegistryFile(this.file);
      this.index();
      for (const l of this.listeners) l(this.reg);
      return true;
    } catch (err) {
      this.onError(err as Error);
      return false;
    }
  }

  /** Poll the file (works across editors' rename-on-save and network file systems). */
  watch(intervalMs = 500): this {
    if (this.watching) return this;
    this.watching = true;
    fs.watchFile(this.file, { interval: intervalMs }, (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) this.reload();
    });
    return this;
  }

  close(): void {
    if (this.watching) fs.unwatchFile(this.file);
    this.watching = false;
    this.listeners.clear();
  }
}
