/**
 * Test harness: a real `influxd` (Debian's 1.x package at /usr/bin/influxd) on a free loopback
 * port with a temporary config and data directory.
 *
 *   const influx = await startInfluxd();
 *   ... influx.url ...
 *   await influx.kill();      // outage: process gone, data kept
 *   await influx.restart();   // same port, same data
 *   await influx.stop();      // process gone, temp dir removed
 *
 * Suites call `influxdSuiteGate()` once: when influxd is missing it prints a loud warning and the
 * suite skips — except in CI (env CI=true), where it throws so the run fails instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../lib/log';
import { freePort, tempDir, waitFor } from './net';
import { binaryAvailable, suiteGate } from './suite-gate';

export const INFLUXD_BIN = process.env.INFLUXD_BIN || '/usr/bin/influxd';

export const influxdAvailable = (): boolean => binaryAvailable(INFLUXD_BIN);

/** true = run the influxd suites; false = skip them (after a loud warning). Throws in CI when influxd is missing: there the suites must run. */
export const influxdSuiteGate = (suite: string): boolean => suiteGate(INFLUXD_BIN, suite, 'InfluxDB', 'influxdb');

export interface Influxd {
  url: string;
  port: number;
  /** temp dir holding the config, meta, data and wal directories */
  dir: string;
  /** is the process running */
  running(): boolean;
  /** Stop the process (SIGTERM, or SIGKILL when `hard`); keeps the data for restart(). */
  kill(hard?: boolean): Promise<void>;
  /** Start again on the same port and data dir (stops it first when running); waits for /ping. */
  restart(): Promise<void>;
  /** Stop the process and remove the temp dir. */
  stop(): Promise<void>;
}

function configText(dir: string, httpPort: number, rpcPort: number): string {
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${path.join(dir, 'meta')}"
  logging-enabled = false

[data]
  dir = "${path.join(dir, 'data')}"
  wal-dir = "${path.join(dir, 'wal')}"
  index-version = "inmem"
  query-log-enabled = false
  trace-logging-enabled = false
  wal-fsync-delay = "0s"

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = true
  check-interval = "30m"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = false
  write-tracing = false
  max-row-limit = 0
  max-body-size = 0

[logging]
  level = "warn"
  suppress-logo = true

[subscriber]
  enabled = false

[continuous_queries]
  enabled = true
  log-enabled = false
  run-interval = "1s"
`;
}

async function pingOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 204;
  } catch {
    return false;
  }
}

export async function startInfluxd(opts: { log?: Logger; startTimeoutMs?: number } = {}): Promise<Influxd> {
  if (!influxdAvailable()) throw new Error(`${INFLUXD_BIN} not found or not executable`);
  const dir = tempDir('influxd-');
  const port = await freePort();
  const rpcPort = await freePort();
  const configFile = path.join(dir, 'influxdb.conf');
  fs.writeFileSync(configFile, configText(dir, port, rpcPort));
  const url = `http://127.0.0.1:${port}`;
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderrTail = '';

  const spawnIt = async (): Promise<void> => {
    stderrTail = '';
    const c = spawn(INFLUXD_BIN, ['-config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    c.stderr?.on('data', (b: Buffer) => {
      stderrTail = (stderrTail + b.toString()).slice(-4000);
    });
    c.once('exit', (code, signal) => {
      if (child === c) child = undefined;
      opts.log?.debug({ code, signal }, 'influxd exited');
    });
    try {
      await waitFor(
        async () => {
          if (!child) throw new Error(`influxd exited early: ${stderrTail.trim()}`);
          return pingOk(url);
        },
        startTimeoutMs,
        50,
        `influxd /ping on ${url}`,
      );
    } catch (err) {
      c.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${stderrTail.trim()}`);
    }
    opts.log?.info({ url, dir }, 'influxd started');
  };

  const kill = async (hard = false): Promise<void> => {
    const c = child;
    if (!c) return;
    const done = exited;
    c.kill(hard ? 'SIGKILL' : 'SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(t);
  };

  await spawnIt();
  return {
    url,
    port,
    dir,
    running: () => child !== undefined,
    kill,
    async restart() {
      await kill();
      await spawnIt();
    },
    async stop() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
