/**
 * The one bootstrap of the servers' command lines (broker/cli.ts, ingest/cli.ts,
 * ops-console/api/cli.ts): configuration from the environment (lib/config.ts), DATA_DIR secured,
 * a logger, the server started, and a graceful stop on Ctrl-C / SIGTERM (close-with-grace).
 *
 *   runServerCli('ingest', async ({ cfg, log }) => { …start…; return async () => { …stop… }; }, { graceMs: 15_000 });
 *
 * A start that fails is one line naming its cause (lib/preflight.ts startErrorLine: the bad
 * variable, the port in use, the unwritable DATA_DIR), exit 2 for configuration and 1 otherwise;
 * LOG_LEVEL=debug (or trace) also prints the stack.
 *
 * The command tools (`npm run sim`, `npm run devices`: commander programs that run and exit)
 * end a failed command through `failCommand`.
 */
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, type Config } from './config';
import { secureDataDir } from './data-dir';
import { createLogger, type Logger } from './log';
import { startErrorLine } from './preflight';

export interface CliContext {
  cfg: Config;
  log: Logger;
}

export interface ServerCliOptions {
  /** how long a graceful stop may take before close-with-grace exits anyway */
  graceMs: number;
  /** the logger's name (default: the server's name) */
  logName?: string;
}

/** `start` returns the server's stop, or null when it set process.exitCode and gave up. */
export function runServerCli(name: string, start: (c: CliContext) => Promise<(() => Promise<void>) | null>, o: ServerCliOptions): void {
  let cfg: Config | undefined;
  const main = async () => {
    cfg = loadConfig();
    secureDataDir(cfg.DATA_DIR);
    const log = createLogger(o.logName ?? name, cfg.LOG_LEVEL);
    const stop = await start({ cfg, log });
    if (!stop) return;
    closeWithGrace({ delay: o.graceMs }, async ({ err, signal }) => {
      if (err) log.error({ err }, 'stopping after an error');
      else log.info({ signal }, 'stopping');
      await stop();
    });
  };
  main().catch((err: Error & { code?: string }) => {
    // an operator's mistake (bad variable, port in use, unwritable DATA_DIR) is one line naming the variable
    if (!cfg) {
      try {
        cfg = loadConfig();
      } catch {
        cfg = undefined;
      }
    }
    const line = startErrorLine(err, cfg);
    console.error(`${name} failed to start: ${line ?? `${err.code ? `[${err.code}] ` : ''}${err.message}`}`);
    if (cfg?.LOG_LEVEL === 'debug' || cfg?.LOG_LEVEL === 'trace') console.error(err.stack);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
}

/** End a command tool's failed command: its message on stderr (one line or several), the exit code (1 unless given). */
export function failCommand(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
