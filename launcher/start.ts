/**
 * `npm start`: the whole operations center on embedded defaults. Prints where everything is,
 * stops cleanly on Ctrl-C (SIGINT/SIGTERM) with nothing lost; started again it carries on
 * with the data under DATA_DIR.
 */
import closeWithGrace from 'close-with-grace';
import { loadConfig, ConfigError, readVariable, type Config } from '../lib/config';
import { createLogger } from '../lib/log';
import { checkDataDir, checkPorts, startErrorLine } from '../lib/preflight';
import { startStack, stopSummary } from './stack';
import { startSupervised, SUPERVISOR_STOP_MS } from './supervisor';
import type { BackfillProgress } from '../device-sim/backfill';

/** An operator's mistake is one line (exit 2 for configuration); a bug keeps its stack. LOG_LEVEL=debug shows both. */
function exitOnStartError(err: unknown, cfg?: Config): never {
  const line = startErrorLine(err, cfg);
  const level = cfg?.LOG_LEVEL ?? readVariable('LOG_LEVEL');
  const debug = level === 'debug' || level === 'trace';
  if (line) {
    process.stderr.write(`${line}\n`);
    if (debug) process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  } else process.stderr.write(`could not start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
}

let cfg: Config;
try {
  cfg = loadConfig();
  // before anything is written to DATA_DIR or any server starts
  await checkPorts(cfg);
  checkDataDir(cfg.DATA_DIR);
} catch (err) {
  exitOnStartError(err, cfg!);
}
const log = createLogger('city-ops', cfg.LOG_LEVEL);

const started = Date.now();
// the first start's history backfill: one progress line, rewritten in place on a terminal
let lastProgress = 0;
const progressLine = (text: string, final = false) => {
  if (process.stdout.isTTY) process.stdout.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
  else process.stdout.write(`${text}\n`);
};
const onBackfillProgress = (p: BackfillProgress) => {
  if (Date.now() - lastProgress < (process.stdout.isTTY ? 500 : 10_000)) return;
  lastProgress = Date.now();
  const pct = p.totalMs ? Math.floor((p.doneMs / p.totalMs) * 100) : 100;
  progressLine(`  history         ${pct} % of the last ${cfg.SIM_BACKFILL_DAYS} days replayed (${p.acked.toLocaleString('en-US')} readings stored)`);
};
// START_LAYOUT=processes (default): broker and core in their own supervised processes (supervisor.ts)
const stack = await (cfg.START_LAYOUT === 'single' ? startStack(cfg, log, { onBackfillProgress }) : startSupervised(cfg, log, { onBackfillProgress })).catch((err) => {
  if (cfg.LOG_LEVEL === 'debug' || cfg.LOG_LEVEL === 'trace') log.debug({ err }, 'start-up failed');
  exitOnStartError(err, cfg);
});

function processesLine(p: NonNullable<typeof stack.pids> extends () => infer R ? R : never): string {
  const named: [string, number | null][] = [
    ['broker', p.broker],
    ['core (store, ingest, API)', p.core],
    ['Node-RED', p.nodeRed],
    ['fleet', p.fleet],
  ];
  return named
    .filter(([, pid]) => pid !== null)
    .map(([name, pid]) => `${name} pid ${pid}`)
    .join(', ');
}
const host = cfg.HOST === '0.0.0.0' ? 'localhost' : cfg.HOST;
const lines = [
  `City Ops Center is running (${Date.now() - started} ms). Data: ${cfg.DATA_DIR}`,
  `  console + API   http://${host}:${stack.ports.http}/          (health: /health, OpenAPI: /docs)`,
  `  MQTT            mqtt://${host}:${stack.ports.mqtt}`,
  stack.ports.mqttWs ? `  MQTT/WebSocket  ws://${host}:${stack.ports.mqttWs}/mqtt` : '',
  stack.ports.metrics ? `  metrics         http://${host}:${stack.ports.metrics}/metrics  (ingest + broker)` : '',
  stack.pids ? `  processes       ${processesLine(stack.pids())}, supervisor pid ${process.pid}` : '',
  stack.ports.nodeRed
    ? `  Node-RED        http://${host}:${stack.ports.nodeRed}/   ${cfg.NODE_RED_EDITOR === 'on' ? `(editor login: admin, password = NODE_RED_ADMIN_PASSWORD or ${cfg.DATA_DIR}/secrets/node-red-editor-password)` : '(flows only; NODE_RED_EDITOR=on for the editor)'}`
    : '',
  `  simulated fleet ${cfg.SIM === 'on' ? `on (speed ×${cfg.SIM_SPEED})` : 'off'}`,
  stack.backfill ? `  history         first start: replaying the last ${cfg.SIM_BACKFILL_DAYS} days through broker and ingest (SIM_BACKFILL_DAYS)` : '',
  `  console logins  see ${cfg.DATA_DIR}/initial-passwords.txt (first start)`,
  'Press Ctrl-C to stop.',
].filter(Boolean);
process.stdout.write(lines.join('\n') + '\n');
stack.backfill?.then(
  (r) =>
    progressLine(
      `  history         ${r.aborted ? 'stopped' : 'done'}: ${r.acked.toLocaleString('en-US')} readings of the last ${cfg.SIM_BACKFILL_DAYS} days in ${Math.round(r.ms / 1000)} s (first start ${Math.round((Date.now() - started) / 1000)} s)`,
      true,
    ),
  () => undefined,
);

closeWithGrace({ delay: SUPERVISOR_STOP_MS, logger: { error: (m: unknown) => log.error(String(m)) } }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'stopping after an error');
  else log.info({ signal }, 'stopping');
  const { line, exitCode } = stopSummary(await stack.stop());
  process.stdout.write(`${line}\n`);
  // close-with-grace exits 0 after this handler: a stop that did not store everything must not
  if (exitCode !== 0) process.exit(exitCode);
});
