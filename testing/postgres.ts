/**
 * Test harness: a real PostgreSQL (Debian's package, /usr/lib/postgresql/<n>/bin) on a free
 * loopback port with a temporary data directory (initdb), run as the `postgres` user when the
 * harness runs as root (PostgreSQL refuses to run as root: `runuser -u postgres --`, the
 * directory chowned to it).
 *
 *   const pg = await startPostgres();
 *   const url = await pg.createDatabase('ops_a');   // postgres://postgres@127.0.0.1:<port>/ops_a
 *   await pg.stop();                                 // server gone, temp dir removed
 *
 * Suites call `postgresSuiteGate()` once: when the binary is missing it prints a loud warning and
 * the suite skips — except in CI (env CI=true), where it throws so the run fails instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePort, tempDir, waitFor } from './net';
import { suiteGate } from './suite-gate';

/** the newest installed major's bin directory (PG_BIN overrides) */
function findBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  try {
    const majors = fs
      .readdirSync(root)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const m of majors) if (fs.existsSync(path.join(root, m, 'bin', 'postgres'))) return path.join(root, m, 'bin');
  } catch {
    /* not installed */
  }
  return path.join(root, '15', 'bin');
}

export const PG_BIN = findBin();
export const POSTGRES_BIN = path.join(PG_BIN, 'postgres');

/** true = run the PostgreSQL suites; false = skip them after a loud warning. Throws in CI when PostgreSQL is missing. */
export const postgresSuiteGate = (suite: string): boolean => suiteGate(POSTGRES_BIN, suite, 'PostgreSQL', 'postgresql');

export interface PostgresServer {
  /** the `postgres` database (administration) */
  url: string;
  port: number;
  dir: string;
  /** create an empty database and return its URL */
  createDatabase(name: string): Promise<string>;
  /** run one statement on the `postgres` database as the superuser */
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
/** the command line that runs `bin` as the postgres user when we are root */
const cmd = (bin: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args]);

export async function startPostgres(opts: { port?: number; startTimeoutMs?: number } = {}): Promise<PostgresServer> {
  if (!fs.existsSync(POSTGRES_BIN)) throw new Error(`${POSTGRES_BIN} not found`);
  const dir = tempDir('postgres-');
  const data = path.join(dir, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  if (asRoot) spawnSync('chown', ['-R', 'postgres:postgres', dir], { stdio: 'ignore' });
  const [initBin, initArgs] = cmd(path.join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  const init = spawnSync(initBin, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = opts.port ?? (await freePort());
  const [bin, args] = cmd(POSTGRES_BIN, [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=60',
    '-c',
    'shared_buffers=16MB',
    '-c',
    'log_min_messages=warning',
  ]);
  let log = '';
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (b: Buffer) => {
    log = (log + b.toString('utf8')).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  // the server's own pid (runuser stays in between as its parent): signals go to it directly
  const serverPid = (): number | null => {
    try {
      return Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
    } catch {
      return null;
    }
  };
  // a harness that exits without stop() must not leave a server behind
  const reap = () => {
    const pid = serverPid();
    if (pid) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        /* gone */
      }
    }
    child.kill('SIGKILL');
  };
  process.once('exit', reap);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const query = async (sql: string, params?: unknown[]) => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    c.on('error', () => {});
    await c.connect();
    try {
      return await c.query(sql, params);
    } finally {
      await c.end();
    }
  };
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`postgres exited early: ${log}`);
        await query('SELECT 1');
        return true;
      },
      opts.startTimeoutMs ?? 30_000,
      100,
      `postgres on ${port}`,
    );
  } catch (err) {
    reap();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    port,
    dir,
    query,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name}: lower-case letters, digits, _`);
      await query(`CREATE DATABASE ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      process.off('exit', reap);
      if (!exited) {
        const pid = serverPid();
        // SIGINT = fast shutdown (clients disconnected, a clean checkpoint)
        if (pid) process.kill(pid, 'SIGINT');
        else child.kill('SIGTERM');
        const t = setTimeout(reap, 10_000);
        await exit;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
