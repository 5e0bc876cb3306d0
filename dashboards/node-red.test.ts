/**
 * Node-RED as a child process: starts on a free loopback port with the shipped flows, keeps the
 * editor behind the admin login, connects to the real broker as the `nodered` service account,
 * and stops cleanly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../broker/index';
import { RegistryView } from '../registry/registry';
import { createLogger } from '../lib/log';
import { tempDir, waitFor } from '../testing/net';
import { TEST_PASSWORD, writeTestRegistry } from '../testing/registry-fixture';
import { renderFlows } from './build-flows';
import { seedFlows, startNodeRed, type NodeRedHandle } from './node-red';

const log = createLogger('node-red-test', process.env.TEST_LOG_LEVEL ?? 'silent');
let registry: RegistryView;
let broker: BrokerHandle;
let nr: NodeRedHandle;
let userDir: string;
const connected: string[] = [];

beforeAll(async () => {
  const dir = tempDir('nr-');
  registry = new RegistryView(writeTestRegistry(dir));
  broker = await startBroker({ registry, port: 0, log, watchRegistry: false });
  broker.aedes.on('clientReady', (c) => connected.push(c.id));
  userDir = path.join(dir, 'node-red');
  nr = await startNodeRed({
    port: 0,
    userDir,
    credentialSecret: 'test-credential-secret',
    mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, username: 'nodered', password: TEST_PASSWORD('nodered') },
    apiUrl: 'http://127.0.0.1:9',
    adminPassword: 'correct horse',
    log,
  });
}, 90_000);

afterAll(async () => {
  await nr?.stop();
  await broker?.stop();
  registry?.close();
});

describe('startNodeRed', () => {
  it('serves the editor behind the admin login only', async () => {
    expect((await fetch(`${nr.url}/flows`)).status).toBe(401);
    const login = (password: string) =>
      fetch(`${nr.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password }),
      });
    expect((await login('wrong')).ok).toBe(false);
    const ok = await login('correct horse');
    expect(ok.status).toBe(200);
    const { access_token } = (await ok.json()) as { access_token: string };
    const flows = (await (await fetch(`${nr.url}/flows`, { headers: { authorization: `Bearer ${access_token}` } })).json()) as { type: string; label?: string }[];
    expect(flows.filter((n) => n.type === 'tab').map((n) => n.label)).toEqual(['Connections', 'Escalation', 'Daily report', 'Open data']);
  });

  it('runs the shipped, pretty-printed flows and connects as the nodered service account', async () => {
    expect(fs.readFileSync(path.join(userDir, 'flows.json'), 'utf8')).toBe(renderFlows());
    await waitFor(() => connected.some((id) => id.startsWith('nodered-')), 20_000, 100, 'Node-RED MQTT connection');
    // the bcrypt hash and secrets stay out of the flows and the user dir
    const files = fs.readdirSync(userDir).filter((f) => f.endsWith('.json'));
    for (const f of files) expect(fs.readFileSync(path.join(userDir, f), 'utf8')).not.toContain(TEST_PASSWORD('nodered'));
  });

  it('keeps flows edited in the editor; refreshes unedited ones', () => {
    const dir = tempDir('nr-seed-');
    const target = seedFlows(dir);
    fs.writeFileSync(target, '[]\n'); // edited by a user
    seedFlows(dir);
    expect(fs.readFileSync(target, 'utf8')).toBe('[]\n');
    fs.writeFileSync(path.join(dir, '.shipped-flows.sha256'), 'stale'); // pretend an older release
    fs.rmSync(target);
    seedFlows(dir);
    expect(fs.readFileSync(target, 'utf8')).toBe(renderFlows());
  });

  it('with the editor off (NODE_RED_EDITOR=off, the default) serves no editor nor admin API; the flows still run', { timeout: 90_000 }, async () => {
    const before = connected.filter((id) => id.startsWith('nodered-')).length;
    const off = await startNodeRed({
      port: 0,
      userDir: path.join(tempDir('nr-off-'), 'node-red'),
      credentialSecret: 'test-credential-secret',
      mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, username: 'nodered', password: TEST_PASSWORD('nodered') },
      apiUrl: 'http://127.0.0.1:9',
      adminPassword: null,
      log,
    });
    try {
      // no editor, no admin API: nothing answers (Node-RED opens no HTTP server at all), not even with the MQTT admin secret
      const answer = (p: string, init?: RequestInit) =>
        fetch(`${off.url}${p}`, init).then(
          (r) => r.status,
          () => 'no server',
        );
      for (const p of ['/', '/flows', '/auth/login']) expect(await answer(p)).not.toBe(200);
      expect(
        await answer('/auth/token', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: TEST_PASSWORD('admin') }),
        }),
      ).not.toBe(200);
      await waitFor(() => connected.filter((id) => id.startsWith('nodered-')).length > before, 30_000, 100, 'flows connected without the editor');
    } finally {
      await off.stop();
    }
  });

  it('refuses to start without a credential secret or admin password', async () => {
    const base = { port: 0, userDir: tempDir('nr-x-'), mqtt: { url: 'mqtt://127.0.0.1:1', username: 'nodered', password: 'x' }, apiUrl: 'http://127.0.0.1:9', log };
    await expect(startNodeRed({ ...base, credentialSecret: '', adminPassword: 'x' })).rejects.toMatchObject({ code: 'E_NODE_RED_SECRET' });
    await expect(startNodeRed({ ...base, credentialSecret: 's', adminPassword: '' })).rejects.toMatchObject({ code: 'E_NODE_RED_ADMIN' });
  });

  it('stops the child process', async () => {
    const pid = nr.pid;
    await nr.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(fetch(`${nr.url}/auth/login`)).rejects.toThrow();
  });
});
