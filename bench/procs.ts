/**
 * Server processes for the benchmarks, each in its own child process (its own event loop):
 *
 *   const broker = await startServerChild('broker', { registry });          // .port
 *   const api = await startServerChild('api', { registry, mqttUrl });        // .port (console API, DuckDB :memory:)
 *   ...
 *   await api.stop(); await broker.stop();
 *
 * `npx tsx bench/procs.ts --role broker --registry <file>` is what runs inside the child.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RegistryView } from '../registry/registry';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/log';
import { tempDir } from '../testing/net';
import { forkChild, runChild, serveParent } from './harness';
import { TEST_PASSWORD } from './lib';

export { killAllChildren } from './harness';

const self = fileURLToPath(import.meta.url);
export const API_USER = { username: 'bench-op', password: 'bench-op-pass', role: 'operator' as const };

export interface ServerChild {
  proc: ChildProcess;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** A broker or console API in its own child process (bench/harness.ts). */
export async function startServerChild(role: 'broker' | 'api', args: Record<string, string>): Promise<ServerChild> {
  const c = await forkChild<{ port: number }>(self, role, args, { stopTimeoutMs: 15_000 });
  return { proc: c.proc, pid: c.pid, port: c.info.port, stop: () => c.stop() };
}

async function child(role: string, a: Record<string, string>): Promise<void> {
  const log = createLogger(`bench-${role}`, 'error');
  let stop: () => Promise<void>;
  let port: number;
  if (role === 'broker') {
    const { startBroker } = await import('../broker/index');
    const sessions = a.persistence === 'level' ? tempDir('bench-broker-sessions-') : null;
    const b = await startBroker({ registry: new RegistryView(a.registry!), port: 0, log, persistence: sessions ? { kind: 'level', dir: sessions } : { kind: 'memory' } });
    port = b.port;
    stop = async () => {
      await b.stop();
      if (sessions) fs.rmSync(sessions, { recursive: true, force: true });
    };
  } else {
    const { startApi } = await import('../ops-console/api/index');
    const { openDuckDbStore } = await import('../store/duckdb/index');
    const store = await openDuckDbStore({ file: ':memory:', log });
    await store.init();
    const dir = tempDir('bench-api-');
    const cfg = loadConfig({}, { DATA_DIR: dir });
    const api = await startApi({
      cfg,
      store,
      registry: new RegistryView(a.registry!),
      opsDbFile: ':memory:',
      users: [API_USER],
      jwtSecret: 'bench-secret',
      mqtt: { url: a.mqttUrl!, username: 'console', password: TEST_PASSWORD('console') },
      port: 0,
      loginRateLimit: 1000,
      log,
    });
    port = api.port;
    stop = async () => {
      await api.stop();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  serveParent(
    async (m) => {
      if (m.cmd === 'stop') await stop().catch(() => {});
    },
    { port },
  );
}

runChild(import.meta.url, child);
