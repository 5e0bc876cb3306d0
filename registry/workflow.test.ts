/**
 * The installer's registry workflow through the real CLIs (`npm run devices`, `npm run sim`)
 * against a real broker: render keeps the device connected, rotate keeps the simulator in step,
 * add refuses devices the city does not have, the lifecycle moves planned → active.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerHandle } from '../broker/index';
import { createLogger } from '../lib/log';
import { startDemoBroker } from '../testing/demo-broker';
import { waitFor } from '../testing/net';
import { verifyPassword } from './credentials';
import { loadDeviceConfig, type DeviceConfig } from './device-config';
import { loadRegistryFile, type RegistryView } from './registry';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const tool = (name: 'registry' | 'device-sim') => (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', path.join(root, name, 'cli.ts'), ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
const devices = tool('registry');
const sim = tool('device-sim');
const log = createLogger('workflow-test', 'silent');

function connectAs(c: DeviceConfig, url: string): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const cl = mqtt.connect(url, { clientId: c.clientId, username: c.username, password: c.secret, reconnectPeriod: 0 });
    cl.once('connect', () => resolve(cl));
    cl.once('error', (e) => (cl.end(true), reject(e)));
  });
}

describe('registry workflow (devices + sim CLIs, real broker)', () => {
  let dir: string;
  let url: string;
  let broker: BrokerHandle;
  let registry: RegistryView;
  let env: Record<string, string>;
  const conf = (id: string) => loadDeviceConfig(path.join(dir, 'devices', `${id}.json`));

  beforeAll(async () => {
    ({ dir, url, broker, registry } = await startDemoBroker(log));
    env = { DATA_DIR: dir };
  });
  afterAll(async () => {
    await broker?.stop();
    registry?.close();
  });

  it('render without --new-secret re-prints the current secret and the running device stays connected; --new-secret updates DATA_DIR/devices', async () => {
    const before = conf('air-02');
    const client = await connectAs(before, url);
    let closed = false;
    client.on('close', () => (closed = true));
    const hash = loadRegistryFile(path.join(dir, 'registry.json')).devices.find((d) => d.id === 'air-02')!.passwordHash;
    const out = path.join(dir, 'printed');
    const r = await devices(['render', 'air-02', '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/current secret, nothing revoked/);
    expect(loadDeviceConfig(path.join(out, 'air-02.json')).secret).toBe(before.secret);
    expect(loadRegistryFile(path.join(dir, 'registry.json')).devices.find((d) => d.id === 'air-02')!.passwordHash).toBe(hash);
    // the broker re-reads the registry (nothing changed): the device is still connected and publishing
    await new Promise((res) => setTimeout(res, 1500));
    expect(closed).toBe(false);
    await client.publishAsync(before.topics.publish.status!, JSON.stringify({ ts: Date.now(), fw: '1.0.0', uptimeS: 5 }), { qos: 1 });
    expect(client.connected).toBe(true);

    const fresh = await devices(['render', 'air-02', '--out', out, '--new-secret'], env);
    expect(fresh.code, fresh.stderr).toBe(0);
    const secret = /secret \(shown once.*\): (\S+)/.exec(fresh.stdout)![1]!;
    expect(secret).not.toBe(before.secret);
    expect(loadDeviceConfig(path.join(out, 'air-02.json')).secret).toBe(secret);
    expect(conf('air-02').secret).toBe(secret); // the simulator's copy followed
    expect(conf('air-02').broker.url).toBe(before.broker.url);
    await waitFor(() => closed, 10_000, 100, 'old session revoked');
    client.end(true);
  }, 90_000);

  it('rotate rewrites DATA_DIR/devices/<id>.json: the simulated device reconnects with the new secret after a restart', async () => {
    const before = conf('noise-02');
    const r = await devices(['rotate', 'noise-02'], env);
    expect(r.code, r.stderr).toBe(0);
    const secret = /secret \(shown once.*\): (\S+)/.exec(r.stdout)![1]!;
    const after = conf('noise-02');
    expect(after.secret).toBe(secret);
    expect(after.secret).not.toBe(before.secret);
    expect(await verifyPassword(secret, loadRegistryFile(path.join(dir, 'registry.json')).devices.find((d) => d.id === 'noise-02')!.passwordHash)).toBe(true);
    // the old secret is refused, the restarted simulator (reading DATA_DIR/devices) connects
    await waitFor(
      async () =>
        connectAs(before, url).then(
          (c) => (c.end(true), false),
          () => true,
        ),
      10_000,
      200,
      'old secret refused',
    );
    const s = await sim(['device', 'noise-02', '--mqtt-url', url, '--duration', '2'], env);
    expect(s.code, s.stderr).toBe(0);
    const stats = JSON.parse(s.stdout.trim().split('\n').at(-1)!);
    expect(stats.connectErrors).toBe(0);
    expect(stats.acked).toBeGreaterThan(0);
  }, 90_000);

  it('add refuses each field the city does not have (exit 1 naming file, device and field); a good device starts planned and is activated', async () => {
    const file = path.join(dir, 'registry.json');
    const station = ['add', '--id', 'air-50', '--kind', 'air', '--model', 'AQ-1', '--district', 'Centro'];
    const truck = ['add', '--id', 'truck-50', '--kind', 'truck', '--model', 'T', '--district', 'Centro', '--plate', 'XX-1'];
    const cases: [string[], string, RegExp][] = [
      [[...station, '--lat', '19.4326', '--lon', '-99.1332'], 'air-50: field location', /outside .*km beyond its bounds/],
      [['add', '--id', 'air-51', '--kind', 'air', '--model', 'AQ-1', '--district', 'Narnia', '--lat', '18.14', '--lon', '-94.44'], 'air-51: field district', /"Narnia" is not a district/],
      [[...truck, '--depot', 'depot-norte', '--route', 'ruta-que-no-existe'], 'truck-50: field truck.routeId', /"ruta-que-no-existe" is not a route/],
      [[...truck, '--depot', 'depot-atlantida', '--route', 'r01'], 'truck-50: field truck.depotId', /"depot-atlantida" is not a depot/],
      [
        [
          'add',
          '--id',
          'cam-50',
          '--kind',
          'camera',
          '--model',
          'LPR',
          '--district',
          'Centro',
          '--lat',
          '18.14',
          '--lon',
          '-94.44',
          '--road',
          'Calle Falsa 123',
          '--direction',
          'entering',
          '--lanes',
          '2',
        ],
        'cam-50: field camera.road',
        /not an entrance/,
      ],
    ];
    const regBefore = fs.readFileSync(file, 'utf8');
    for (const [args, where, why] of cases) {
      const r = await devices(args, env);
      expect(r.code, `${args.join(' ')}\n${r.stdout}`).toBe(1);
      expect(r.stderr).toContain(`${file}: device ${where}:`);
      expect(r.stderr).toMatch(why);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(regBefore); // nothing written

    const ok = await devices([...station, '--lat', '18.14', '--lon', '-94.44'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/status planned/);
    const secret = /secret \(shown once.*\): (\S+)/.exec(ok.stdout)![1]!;
    expect(conf('air-50').secret).toBe(secret); // written for the simulator, in step with the registry
    expect(loadRegistryFile(file).devices.find((d) => d.id === 'air-50')!.status).toBe('planned');
    const act = await devices(['activate', 'air-50'], env);
    expect(act.code, act.stderr).toBe(0);
    expect(loadRegistryFile(file).devices.find((d) => d.id === 'air-50')!.status).toBe('active');
    const valid = await devices(['validate'], env);
    expect(valid.code, valid.stderr).toBe(0);
  }, 120_000);

  it('validate names the file of a truncated registry, and a device placed outside the city', async () => {
    const file = path.join(dir, 'other', 'registry.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const text = fs.readFileSync(path.join(dir, 'registry.json'), 'utf8');
    fs.writeFileSync(file, text.slice(0, text.length / 2));
    const cut = await devices(['validate', '--registry', file], env);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON`, 'm'));
    const reg = JSON.parse(text);
    reg.cityFile = path.join(dir, 'city.json');
    reg.devices.find((d: { id: string }) => d.id === 'noise-01').location = { lat: 19.4326, lon: -99.1332 };
    fs.writeFileSync(file, JSON.stringify(reg));
    const far = await devices(['validate', '--registry', file], env);
    expect(far.code).toBe(1);
    expect(far.stderr).toContain(`${file}: device noise-01: field location: 19.4326, -99.1332 is outside`);
  }, 60_000);

  it('sim --help lists every fault with examples; sim device implies its own id in a fault spec', async () => {
    const { FAULT_TYPES } = await import('../device-sim/faults');
    for (const cmd of ['device', 'fleet']) {
      const h = await sim([cmd, '--help'], env);
      expect(h.code).toBe(0);
      for (const f of FAULT_TYPES) expect(h.stdout, `${cmd} --help lists ${f}`).toMatch(new RegExp(`^  ${f}\\b`, 'm'));
      expect(h.stdout).toMatch(/Examples:\n {2}--fault /);
    }
    expect((await sim(['device', '--help'], env)).stdout).toMatch(/--fault skew:600 /);
    // `--fault skew:600` without repeating the id: the device runs with its clock 10 min ahead
    const r = await sim(['device', 'noise-03', '--mqtt-url', url, '--duration', '2', '--fault', 'skew:600'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).acked).toBeGreaterThan(0);
    const other = await sim(['device', 'noise-03', '--mqtt-url', url, '--duration', '1', '--fault', 'truck-03:skew:600'], env);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/this command runs only noise-03; leave the target out/);
  }, 90_000);
});
