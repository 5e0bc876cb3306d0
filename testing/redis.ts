/**
 * Test harness: a real `redis-server` (Debian's package at /usr/bin/redis-server) on a free
 * loopback port with a temporary directory (AOF on, fsync once a second: the runbook's default
 * for a production Redis), optionally behind a password.
 *
 *   const redis = await startRedis({ password: 'secret' });
 *   ... redis.url ...                 // redis://:secret@127.0.0.1:<port>
 *   await redis.stats();              // INFO commandstats: calls per command (round trips counted)
 *   await redis.stop();               // process gone, temp dir removed
 *
 * Suites call `redisSuiteGate()` once: when redis-server is missing it prints a loud warning and
 * the suite skips — except in CI (env CI=true), where it throws so the run fails instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, tempDir, waitFor } from './net';
import { binaryAvailable, suiteGate } from './suite-gate';

export const REDIS_BIN = process.env.REDIS_SERVER_BIN || '/usr/bin/redis-server';

export const redisAvailable = (): boolean => binaryAvailable(REDIS_BIN);

/** true = run the Redis suites; false = skip them after a loud warning. Throws in CI when redis-server is missing. */
export const redisSuiteGate = (suite: string): boolean => suiteGate(REDIS_BIN, suite, 'Redis', 'redis-server');

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  running(): boolean;
  /** calls and server time (µs) per command since start (or the last `resetStats()`), from INFO commandstats */
  stats(): Promise<Record<string, { calls: number; usec: number }>>;
  resetStats(): Promise<void>;
  /** a fresh client (the caller quits it) */
  client(): Redis;
  /** SIGKILL, keeps the data (restart() brings it back on the same port) */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(opts: { password?: string; port?: number; startTimeoutMs?: number } = {}): Promise<RedisServer> {
  if (!redisAvailable()) throw new Error(`${REDIS_BIN} not found or not executable`);
  const dir = tempDir('redis-');
  const port = opts.port ?? (await freePort());
  const conf = path.join(dir, 'redis.conf');
  fs.writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'appendonly yes',
      'appendfsync everysec',
      'save ""',
      'daemonize no',
      'loglevel warning',
      `logfile ${path.join(dir, 'redis.log')}`,
      ...(opts.password ? [`requirepass ${opts.password}`] : []),
    ].join('\n') + '\n',
  );
  const url = `redis://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const ping = async (): Promise<boolean> => {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
    c.on('error', () => {});
    try {
      await c.connect();
      return (await c.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      c.disconnect();
    }
  };

  const spawnIt = async () => {
    const c = spawn(REDIS_BIN, [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    // a harness that exits without stop() (a crash, process.exit) must not leave redis-server behind
    const reap = () => c.kill('SIGKILL');
    process.once('exit', reap);
    c.once('exit', () => process.off('exit', reap));
    exited = new Promise((r) => c.once('exit', () => r()));
    c.once('exit', () => {
      if (child === c) child = undefined;
    });
    await waitFor(
      async () => {
        if (!child) throw new Error(`redis-server exited early: ${fs.existsSync(path.join(dir, 'redis.log')) ? fs.readFileSync(path.join(dir, 'redis.log'), 'utf8').slice(-2000) : ''}`);
        return ping();
      },
      opts.startTimeoutMs ?? 20_000,
      50,
      `redis-server on ${port}`,
    );
  };
  const kill = async () => {
    const c = child;
    if (!c) return;
    const done = exited;
    c.kill('SIGKILL');
    await done;
  };
  const admin = () => {
    const c = new Redis(url, { maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    return c;
  };

  await spawnIt();
  return {
    url,
    port,
    dir,
    running: () => child !== undefined,
    async stats() {
      const c = admin();
      try {
        const text = (await c.info('commandstats')) as string;
        const out: Record<string, { calls: number; usec: number }> = {};
        for (const m of text.matchAll(/^cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)/gm)) out[m[1]!] = { calls: Number(m[2]), usec: Number(m[3]) };
        return out;
      } finally {
        c.disconnect();
      }
    },
    async resetStats() {
      const c = admin();
      try {
        await c.config('RESETSTAT');
      } finally {
        c.disconnect();
      }
    },
    client: admin,
    kill,
    async restart() {
      await kill();
      await spawnIt();
    },
    async stop() {
      if (child) {
        const done = exited;
        child.kill('SIGTERM');
        const t = setTimeout(() => child?.kill('SIGKILL'), 5000);
        await done;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
