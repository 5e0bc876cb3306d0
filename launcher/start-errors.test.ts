/**
 * `npm start` with an operator's mistake: one line naming the variable and a fix, no stack trace
 * (LOG_LEVEL=debug shows it), and nothing written to DATA_DIR.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, tempDir } from '../testing/net';
import { launcherEnv } from '../testing/crash';

const root = path.resolve(import.meta.dirname, '..');

const envFor = (dataDir: string, extra: Record<string, string> = {}) => launcherEnv(dataDir, { LOG_LEVEL: 'info', ...extra });

function start(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'launcher/start.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => (clearTimeout(t), resolve({ code, stderr, stdout })));
  });
}

const lines = (s: string) => s.trim().split('\n').filter(Boolean);
const STACK = /\n\s+at /;

describe('npm start: operator mistakes get one clear line', () => {
  const base = tempDir('cityops-starterr-');
  const blocker = net.createServer();
  afterAll(async () => {
    await new Promise((r) => blocker.close(r));
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('bad values: every variable named with its value and the allowed values; exit 2; DATA_DIR untouched', async () => {
    const dir = path.join(base, 'bad-config');
    const r = await start(await envFor(dir, { SIM: 'maybe', MQTT_URL: 'localhost:1883', MAP_STYLE_URL: 'style.json' }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/SIM="maybe" is not an allowed value; expected one of on, off/);
    expect(r.stderr).toMatch(/MQTT_URL="localhost:1883" has scheme "localhost"; expected empty or a mqtt:\/\//);
    expect(r.stderr).toMatch(/MAP_STYLE_URL="style.json" is not a URL/);
    expect(r.stderr).not.toMatch(STACK);
    expect(fs.existsSync(dir)).toBe(false);
  }, 90_000);

  it('a port in use names the variable and suggests a fix, once, before DATA_DIR is provisioned', async () => {
    const dir = path.join(base, 'port');
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    const r = await start(await envFor(dir, { HTTP_PORT: String(port) }));
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(`HTTP_PORT=${port}: port ${port} on 127.0.0.1 is already in use`);
    expect(r.stderr).toMatch(/set HTTP_PORT to a free port/);
    expect(r.stderr).not.toMatch(STACK);
    expect(fs.existsSync(dir)).toBe(false);
  }, 90_000);

  it('an unwritable DATA_DIR is one line; LOG_LEVEL=debug adds the stack trace', async () => {
    const file = path.join(base, 'a-file');
    fs.writeFileSync(file, 'x');
    const dir = path.join(file, 'data');
    const r = await start(await envFor(dir));
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([expect.stringContaining(`DATA_DIR=${dir}: cannot write there (ENOTDIR: a part of the path is a file, not a directory)`)]);
    const dbg = await start(await envFor(dir, { LOG_LEVEL: 'debug' }));
    expect(dbg.code).toBe(1);
    expect(dbg.stderr).toMatch(STACK);
  }, 90_000);

  it('the broker run alone (broker/cli.ts) names MQTT_PORT when its port is taken', async () => {
    const { provisionDemo } = await import('../demo/provision');
    const dir = path.join(base, 'broker-alone');
    provisionDemo(dir, { cost: 1024 });
    const taken = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', () => r()));
    try {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'broker/cli.ts'], {
          cwd: root,
          env: { ...process.env, DATA_DIR: dir, HOST: '127.0.0.1', MQTT_PORT: String(port), MQTT_WS_PORT: '0', LOG_LEVEL: 'silent' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toEqual([expect.stringContaining(`MQTT_PORT=${port}: port ${port} on 127.0.0.1 is already in use`)]);
      expect(r.stderr).toMatch(/set MQTT_PORT to a free port/);
    } finally {
      await new Promise((res) => taken.close(res));
    }
  }, 90_000);
});
