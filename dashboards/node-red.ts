/**
 * Node-RED as part of the stack, as a child process (its own event loop and core, crash
 * isolation; Node-RED's runtime is a per-process singleton):
 *
 *   const nr = await startNodeRed({ port, userDir, credentialSecret, mqtt, apiUrl, adminPassword, log });
 *   ...
 *   await nr.stop();
 *
 * Settings: dashboards/settings.cjs. Flows: dashboards/flows.json (built by build-flows.ts) is
 * copied into `userDir` on first start, and refreshed on later starts unless it was edited in the
 * editor since. Secrets reach the child only through its environment: the credential secret,
 * the bcrypt hash of the admin password (node-red ships bcryptjs), the `nodered` MQTT account,
 * the API token/login. The flows use the broker and the console API like any other client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../lib/log';
import { withDefaults } from '../lib/options';
import { systemPath } from '../lib/config';
import type { NodeRedErrorCode } from '../lib/error-codes';
import { FLOWS_FILE } from './build-flows';
import { CITY_TZ } from '../norms/local-time';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
export const SETTINGS_FILE = path.join(here, 'settings.cjs');

export interface NodeRedOptions {
  /** 0 = a free port */
  port: number;
  /** interface for the editor and admin API (default 127.0.0.1) */
  host?: string;
  userDir: string;
  credentialSecret: string;
  /** the `nodered` service account */
  mqtt: { url: string; username: string; password: string };
  /** console API base URL */
  apiUrl: string;
  /** a console API token, or a console user to log in with */
  apiToken?: string;
  apiUsername?: string;
  apiPassword?: string;
  /**
   * password of the editor's admin user — its own secret, never a service account's (the editor
   * runs code in a process holding the `nodered` credentials); null = the editor and admin API are
   * off (flows still run), the default in production (NODE_RED_EDITOR=off)
   */
  adminPassword: string | null;
  adminUser?: string;
  /** escalation webhook (POST of the escalate AlertEvent) */
  webhookUrl?: string;
  escalateAfterMin?: number;
  /** local HH:MM the daily report is written (default 22:30) */
  reportAt?: string;
  /** default: <userDir>/../reports and <userDir>/../open-data */
  reportDir?: string;
  openDataDir?: string;
  timezone?: string;
  log?: Logger;
  startTimeoutMs?: number;
}

export interface NodeRedHandle {
  port: number;
  pid: number;
  url: string;
  /** resolves when the Node-RED process has ended (stopped, or died: the supervisor restarts it) */
  ended: Promise<{ code: number | null; signal: string | null }>;
  stop(): Promise<void>;
}

export class NodeRedError extends Error {
  constructor(
    readonly code: NodeRedErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const sha256 = (s: string | Buffer) => crypto.createHash('sha256').update(s).digest('hex');

/** Put the shipped flows into userDir: on first start, or when the copy there was not edited since it was shipped. */
export function seedFlows(userDir: string, log?: Logger): string {
  fs.mkdirSync(userDir, { recursive: true });
  const target = path.join(userDir, 'flows.json');
  const marker = path.join(userDir, '.shipped-flows.sha256');
  const shipped = fs.readFileSync(FLOWS_FILE);
  const shippedHash = sha256(shipped);
  if (!fs.existsSync(target)) {
    fs.writeFileSync(target, shipped);
    fs.writeFileSync(marker, shippedHash);
    log?.info({ flows: target }, 'node-red: installed the shipped flows');
    return target;
  }
  const current = sha256(fs.readFileSync(target));
  const lastShipped = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim() : '';
  if (current !== shippedHash) {
    if (current === lastShipped) {
      fs.writeFileSync(target, shipped);
      fs.writeFileSync(marker, shippedHash);
      log?.info({ flows: target }, 'node-red: updated the flows to the shipped version');
    } else {
      log?.warn({ flows: target }, 'node-red: flows were edited in the editor; keeping them (shipped flows not applied)');
    }
  }
  return target;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** defaults of the options (lib/options.ts) */
export const NODE_RED_DEFAULTS = { host: '127.0.0.1', adminUser: 'admin', escalateAfterMin: 10, reportAt: '22:30', timezone: CITY_TZ, apiPassword: '', startTimeoutMs: 60_000 };

export async function startNodeRed(options: NodeRedOptions): Promise<NodeRedHandle> {
  const opts = withDefaults(NODE_RED_DEFAULTS, options);
  const log = (opts.log ?? createLogger('node-red')).child({ component: 'node-red' });
  if (!opts.credentialSecret) throw new NodeRedError('E_NODE_RED_SECRET', 'Node-RED needs a credentialSecret (NODE_RED_CREDENTIAL_SECRET)');
  if (opts.adminPassword !== null && !opts.adminPassword) throw new NodeRedError('E_NODE_RED_ADMIN', 'Node-RED needs an admin password for its editor (or null: editor off)');
  const host = opts.host;
  const port = opts.port || (await freePort(host));
  const userDir = path.resolve(opts.userDir);
  const flowFile = seedFlows(userDir, log);
  const dataDir = path.dirname(userDir);
  const bcrypt = require(require.resolve('bcryptjs', { paths: [path.dirname(require.resolve('node-red/package.json'))] })) as { hashSync(s: string, rounds: number): string };

  const env: Record<string, string> = {
    PATH: systemPath(),
    HOME: userDir,
    NODE_RED_PORT: String(port),
    NODE_RED_HOST: host,
    NODE_RED_FLOW_FILE: flowFile,
    NODE_RED_CREDENTIAL_SECRET: opts.credentialSecret,
    NODE_RED_ADMIN_USER: opts.adminUser,
    NODE_RED_ADMIN_HASH: opts.adminPassword === null ? '' : bcrypt.hashSync(opts.adminPassword, 10),
    NODE_RED_LOG_LEVEL: 'info',
    CITY_MQTT_URL: opts.mqtt.url,
    CITY_MQTT_USERNAME: opts.mqtt.username,
    CITY_MQTT_PASSWORD: opts.mqtt.password,
    CITY_API_URL: opts.apiUrl,
    CITY_TZ: opts.timezone,
    REPORT_AT: opts.reportAt,
    REPORT_DIR: path.resolve(opts.reportDir ?? path.join(dataDir, 'reports')),
    OPEN_DATA_DIR: path.resolve(opts.openDataDir ?? path.join(dataDir, 'open-data')),
    ESCALATE_AFTER_MIN: String(opts.escalateAfterMin),
    ...(opts.apiToken ? { CITY_API_TOKEN: opts.apiToken } : {}),
    ...(opts.apiUsername ? { CITY_API_USERNAME: opts.apiUsername, CITY_API_PASSWORD: opts.apiPassword } : {}),
    ...(opts.webhookUrl ? { WEBHOOK_URL: opts.webhookUrl } : {}),
  };

  const redJs = require.resolve('node-red/red.js');
  const child: ChildProcess = spawn(process.execPath, [redJs, '--settings', SETTINGS_FILE, '--userDir', userDir, '--port', String(port)], {
    env,
    cwd: userDir,
    // its own process group: a Ctrl-C or `kill -- -PGID` meant for npm start reaches the parent,
    // which stops Node-RED in its turn (after the fleet, before the core and the broker), not all
    // at once. The IPC channel is only a lifeline: settings.cjs stops Node-RED when it closes (the
    // parent is gone, even by kill -9), so no Node-RED outlives the process that started it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.channel?.unref();
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let exited: { code: number | null; signal: string | null } | null = null;
  const ended = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      process.off('exit', killOnExit);
      resolve(exited);
    }),
  );
  const exitP = ended;
  let flowsStarted = false;
  const pipeLines = (stream: NodeJS.ReadableStream | null, level: 'info' | 'warn') => {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trimEnd();
        buf = buf.slice(i + 1);
        if (/Started flows/.test(line)) flowsStarted = true;
        if (line) log[/\[(error|warn)\]/.test(line) ? 'warn' : level]({ nodeRed: line }, 'node-red');
      }
    });
  };
  pipeLines(child.stdout, 'info');
  pipeLines(child.stderr, 'warn');

  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exitP;
    clearTimeout(timer);
    log.info({ pid: child.pid }, 'node-red stopped');
  };

  // ready when the admin API answers (editor off: when the runtime says its flows started; no HTTP then)
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  const deadline = Date.now() + opts.startTimeoutMs;
  for (;;) {
    if (exited) throw new NodeRedError('E_NODE_RED_START', `Node-RED exited during start (${JSON.stringify(exited)})`);
    if (opts.adminPassword === null) {
      if (flowsStarted) break;
    } else {
      try {
        const res = await fetch(`${url}/auth/login`);
        if (res.ok) break;
      } catch {
        /* not listening yet */
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new NodeRedError('E_NODE_RED_START', `Node-RED did not answer on ${url} within ${opts.startTimeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log.info({ url, pid: child.pid, userDir }, 'node-red started');
  return { port, pid: child.pid!, url, ended, stop };
}
