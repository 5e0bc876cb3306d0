/**
 * Start-up checks that run after the configuration is valid and before anything is written to
 * DATA_DIR or any server starts: DATA_DIR is writable, the configured ports are free. Each
 * failure is one line naming the variable and a fix; `startErrorLine` turns the errors an
 * operator can cause (bad config, port in use, unwritable directory) into such a line, so no
 * stack trace is shown for them (LOG_LEVEL=debug still logs it).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ConfigError, type Config } from './config';

export class StartupError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** the variable to change */
    readonly variable?: string,
  ) {
    super(message);
  }
}

export const PORT_VARIABLES = ['MQTT_PORT', 'MQTT_WS_PORT', 'HTTP_PORT', 'METRICS_PORT', 'NODE_RED_PORT'] as const;
export type PortVariable = (typeof PORT_VARIABLES)[number];

const WHAT: Record<PortVariable, string> = {
  MQTT_PORT: 'the MQTT broker',
  MQTT_WS_PORT: 'MQTT over WebSocket',
  HTTP_PORT: 'the console and API',
  METRICS_PORT: 'the metrics endpoint',
  NODE_RED_PORT: 'Node-RED',
};

const FS_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is a file, not a directory',
  ENOSPC: 'no space left on the device',
  EEXIST: 'a file of that name is in the way',
};

function dataDirError(dir: string, err: NodeJS.ErrnoException): StartupError {
  const why = FS_REASONS[err.code ?? ''] ?? err.code ?? err.message;
  return new StartupError(
    'E_START_DATA_DIR',
    `DATA_DIR=${dir}: cannot write there (${err.code ? `${err.code}: ` : ''}${why}); set DATA_DIR to a directory this user can write, or fix its permissions`,
    'DATA_DIR',
  );
}

/** DATA_DIR exists (or can be made) and a file can be written in it; nothing is left behind. */
export function checkDataDir(dir: string): void {
  const probe = path.join(dir, `.write-test-${process.pid}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(probe, '');
    fs.rmSync(probe, { force: true });
  } catch (err) {
    throw dataDirError(dir, err as NodeJS.ErrnoException);
  }
}

function portFree(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err) => resolve(err as NodeJS.ErrnoException));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(null)));
  });
}

function portInUse(variable: PortVariable, port: number, host: string): StartupError {
  return new StartupError(
    'E_START_PORT_IN_USE',
    `${variable}=${port}: port ${port} on ${host} is already in use (${WHAT[variable]} cannot listen); stop the program using it (\`ss -ltnp 'sport = :${port}'\` shows it) or set ${variable} to a free port, e.g. ${variable}=${port + 1000 <= 65535 ? port + 1000 : 0}`,
    variable,
  );
}

/** Every configured (non-zero) port of `which` can be listened on at HOST. */
export async function checkPorts(cfg: Config, which: readonly PortVariable[] = PORT_VARIABLES): Promise<void> {
  for (const v of which) {
    const port = cfg[v];
    if (!port) continue;
    const err = await portFree(cfg.HOST, port);
    if (!err) continue;
    if (err.code === 'EADDRINUSE') throw portInUse(v, port, cfg.HOST);
    if (err.code === 'EACCES') throw new StartupError('E_START_PORT_DENIED', `${v}=${port}: not allowed to listen on port ${port} (ports below 1024 need privileges); set ${v} to a port ≥ 1024`, v);
    if (err.code === 'EADDRNOTAVAIL') throw new StartupError('E_START_HOST', `HOST=${cfg.HOST}: this machine has no such address; set HOST to one of its addresses, 0.0.0.0 or 127.0.0.1`, 'HOST');
    throw new StartupError('E_START_PORT', `${v}=${port}: cannot listen (${err.code ?? err.message})`, v);
  }
}

/**
 * The one line to print for an error an operator can fix, or null for a bug (show the stack).
 * EADDRINUSE from a server that raced the preflight is mapped to the variable holding that port.
 */
export function startErrorLine(err: unknown, cfg?: Config): string | null {
  if (err instanceof ConfigError) return err.message;
  if (err instanceof StartupError) return `error ${err.code}: ${err.message}`;
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (cfg && e?.code === 'EADDRINUSE' && typeof e.port === 'number') {
    const v = PORT_VARIABLES.find((p) => cfg[p] === e.port);
    if (v) return `error E_START_PORT_IN_USE: ${portInUse(v, e.port, cfg.HOST).message}`;
  }
  if (cfg && e?.code && FS_REASONS[e.code] && typeof e.path === 'string' && path.resolve(e.path).startsWith(cfg.DATA_DIR)) {
    return `error E_START_DATA_DIR: ${dataDirError(cfg.DATA_DIR, e).message}`;
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^E_[A-Z_]+$/.test(code)) return `error ${code}: ${(err as Error).message}`;
  return null;
}
