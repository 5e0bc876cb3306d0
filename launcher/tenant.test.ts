/**
 * npm start with two municipalities (TENANTS=coatzacoalcos,minatitlan), as an operator runs it:
 * each city provisioned under DATA_DIR/tenants/<city> with its own registry, device configs that
 * log in as `<city>:<id>`, its own core process (ingest + API on HTTP_PORT + i) behind the one
 * broker. A device of Coatzacoalcos comes online with its rendered config; the state login sees it
 * online in Coatzacoalcos and nothing in Minatitlán — through both cities' real APIs.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, tempDir, waitFor } from '../testing/net';
import { childrenOf, launch, launcherEnv } from '../testing/crash';
import type { DeviceConfig } from '../registry/device-config';

const root = path.resolve(import.meta.dirname, '..');
const TENANTS = ['coatzacoalcos', 'minatitlan'];

/** a free port whose next one is free too (the second city's console and Node-RED) */
async function freePair(): Promise<number> {
  for (;;) {
    const p = await freePort();
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once('error', () => resolve(false));
      s.listen(p + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return p;
  }
}

describe('npm start with two municipalities', () => {
  const dataDir = tempDir('tenants-start-');
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('provisions each city, runs a core per city, and keeps their devices apart', async () => {
    const env = await launcherEnv(dataDir, { TENANTS: TENANTS.join(','), SIM_BACKFILL_DAYS: '0', HTTP_PORT: String(await freePair()), NODE_RED_PORT: String(await freePair()) });
    const run = launch(env, root);
    children.push(run.child);
    await waitFor(() => run.out().includes('is running'), 240_000, 200, `start-up (output so far: ${run.out().slice(-3000)})`);
    const http = (i: number) => `http://127.0.0.1:${Number(env.HTTP_PORT) + i}`;
    for (const i of [0, 1]) await waitFor(async () => (await fetch(`${http(i)}/health`)).status === 200, 60_000, 500, `city ${i} healthy`);

    // one broker, one core per city
    const kids = childrenOf(run.child.pid!).filter((c) => c.cmd.includes('child.ts'));
    expect(kids.filter((k) => / core\b/.test(k.cmd)).length).toBe(2);
    // each city its own data, device configs logging in as <city>:<id>
    for (const t of TENANTS) expect(fs.existsSync(path.join(dataDir, 'tenants', t, 'registry.json'))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'registry.json'))).toBe(false);
    const devDir = path.join(dataDir, 'tenants', 'coatzacoalcos', 'devices');
    const file = fs.readdirSync(devDir).find((f) => f.startsWith('air-'))!;
    const conf = JSON.parse(fs.readFileSync(path.join(devDir, file), 'utf8')) as DeviceConfig;
    expect(conf.username).toBe(`coatzacoalcos:${conf.deviceId}`);

    // the device comes online with its own rendered config (only the broker URL is this test's)
    const dev = mqtt.connect(`mqtt://127.0.0.1:${env.MQTT_PORT}`, { clientId: conf.clientId, username: conf.username, password: conf.secret, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => (dev.once('connect', () => resolve()), dev.once('error', reject)));
    await dev.publishAsync(conf.topics.presence, JSON.stringify({ state: 'online', ts: Date.now() }), { qos: 1, retain: true });

    // the state login (password under the installation's DATA_DIR) sees it in Coatzacoalcos only
    const password = fs.readFileSync(path.join(dataDir, 'secrets', 'state-password'), 'utf8').trim();
    const login = await fetch(`${http(0)}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'estatal', password }) });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    type City = { tenant: string; devices: { online: number; byKind: Record<string, { online: number }> } };
    let cities: City[] = [];
    await waitFor(
      async () => {
        const r = await fetch(`${http(0)}/api/state/cities?days=1`, { headers: { authorization: `Bearer ${token}` } });
        cities = ((await r.json()) as { cities: City[] }).cities;
        return cities[0]?.devices?.online === 1;
      },
      60_000,
      500,
      `the device online in Coatzacoalcos (${JSON.stringify(cities).slice(0, 400)})`,
    );
    expect(cities.map((c) => c.tenant)).toEqual(TENANTS);
    expect(cities[0]!.devices.byKind.air!.online).toBe(1);
    expect(cities[1]!.devices.online).toBe(0);
    await dev.endAsync();

    process.kill(-run.child.pid!, 'SIGINT');
    expect(await run.exited, run.out().slice(-4000)).toBe(0);
    expect(run.out()).toContain('City Ops Center stopped; all accepted data is stored.');
  }, 420_000);
});
