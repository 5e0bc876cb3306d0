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
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RegistryView } from '../firmware-config/registry';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/log';
import { tempDir } from '../testing/net';
import { TEST_PASSWORD } from './lib';

const self = fileURLToPath(import.meta.url);
export const API_USER = { username: 'bench-op', password: 'bench-op-pass', role: 'operator' as const };

export interface ServerChild {
  proc: ChildProcess;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
/** Kill every child still running (on an interrupted run). */
export function killAllChildren(): void {
  for (const c of live) c.kill('SIGKILL');
}

export function startServerChild(role: 'broker' | 'api', args: Record<string, string>): Promise<ServerChild> {
  const argv = ['--role', role, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, v])];
  const proc = fork(self, argv, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${role} exited ${code}`)));
    proc.once('message', (m: { port: number }) =>
      resolve({
        proc,
        pid: proc.pid!,
        port: m.port,
        async stop() {
          if (proc.exitCode !== null) return;
          const exited = new Promise((r) => proc.once('exit', r));
          proc.send({ cmd: 'stop' });
          const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(t);
        },
      }),
    );
  });
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
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- a bench child: a rejection should end it (unhandled rejection)
  process.on('message', async (m: { cmd: string }) => {
    if (m.cmd === 'stop') {
      await stop().catch(() => {});
      process.exit(0);
    }
  });
  process.send!({ port });
}

if (process.argv[2] === '--role') {
  const a: Record<string, string> = {};
  const argv = process.argv.slice(4);
  for (let i = 0; i < argv.length; i += 2) a[argv[i]!.slice(2)] = argv[i + 1]!;
  child(process.argv[3]!, a).catch((e) => (console.error(e), process.exit(1)));
}
