import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/net';
import { verifyPassword } from './credentials';
import { loadDeviceConfig } from './device-config';
import { provisionDemo } from '../demo/provision';
import { loadRegistryFile } from './registry';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', path.join(root, 'registry', 'cli.ts'), ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent', ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('devices CLI', () => {
  it('validate: exit 1 and every error names the file, the device and the field; render shows a working secret once', async () => {
    const dir = tempDir();
    const { registryFile } = provisionDemo(dir, { cost: 1024 });
    const env = { DATA_DIR: dir };
    const ok = await cli(['validate'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/valid — 61 devices \(40 truck, 6 air, 7 noise, 8 camera\)/);

    const out = path.join(dir, 'out');
    const r = await cli(['render', 'cam-04', '--out', out, '--new-secret'], env);
    expect(r.code).toBe(0);
    const secret = /secret \(shown once.*\): (\S+)/.exec(r.stdout)![1]!;
    expect(loadDeviceConfig(path.join(out, 'cam-04.json')).secret).toBe(secret);
    expect(await verifyPassword(secret, loadRegistryFile(registryFile).devices.find((d) => d.id === 'cam-04')!.passwordHash)).toBe(true);
    expect(fs.readFileSync(registryFile, 'utf8')).not.toContain(secret);

    const reg = JSON.parse(fs.readFileSync(registryFile, 'utf8'));
    reg.devices.find((d: { id: string }) => d.id === 'truck-04').intervals.dataS = 0;
    reg.devices.find((d: { id: string }) => d.id === 'cam-02').camera.direction = 'sideways';
    fs.writeFileSync(registryFile, JSON.stringify(reg));
    const bad = await cli(['validate'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${registryFile}: device truck-04: field intervals.dataS:`);
    expect(bad.stderr).toContain(`${registryFile}: device cam-02: field camera.direction:`);

    const unknown = await cli(['rotate', 'nope-01'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/device truck-04: field intervals.dataS|E_DEVICE_UNKNOWN/);
  }, 60_000);
});
