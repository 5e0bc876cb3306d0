/**
 * `npm start`: the whole operations center on embedded defaults. Prints where everything is,
 * stops cleanly on Ctrl-C (SIGINT/SIGTERM) with nothing lost; started again it carries on
 * with the data under DATA_DIR.
 */
import closeWithGrace from 'close-with-grace';
import { loadConfig, ConfigError } from '../lib/config';
import { createLogger } from '../lib/log';
import { startStack } from './stack';

let cfg;
try {
  cfg = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const log = createLogger('city-ops', cfg.LOG_LEVEL);

const started = Date.now();
// the first start's history backfill: one progress line, rewritten in place on a terminal
let lastProgress = 0;
const progressLine = (text: string, final = false) => {
  if (process.stdout.isTTY) process.stdout.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
  else process.stdout.write(`${text}\n`);
};
const stack = await startStack(cfg, log, {
  onBackfillProgress(p) {
    if (Date.now() - lastProgress < (process.stdout.isTTY ? 500 : 10_000)) return;
    lastProgress = Date.now();
    const pct = p.totalMs ? Math.floor((p.doneMs / p.totalMs) * 100) : 100;
    progressLine(`  history         ${pct} % of the last ${cfg.SIM_BACKFILL_DAYS} days replayed (${p.acked.toLocaleString('en-US')} readings stored)`);
  },
}).catch((err) => {
  log.fatal({ err }, `could not start: ${(err as Error).message}`);
  process.exit(1);
});

const host = cfg.HOST === '0.0.0.0' ? 'localhost' : cfg.HOST;
const lines = [
  `City Ops Center is running (${Date.now() - started} ms). Data: ${cfg.DATA_DIR}`,
  `  console + API   http://${host}:${stack.ports.http}/          (health: /health, OpenAPI: /docs)`,
  `  MQTT            mqtt://${host}:${stack.ports.mqtt}`,
  stack.ports.mqttWs ? `  MQTT/WebSocket  ws://${host}:${stack.ports.mqttWs}/mqtt` : '',
  stack.ports.metrics ? `  ingest metrics  http://${host}:${stack.ports.metrics}/metrics` : '',
  stack.ports.nodeRed ? `  Node-RED        http://${host}:${stack.ports.nodeRed}/` : '',
  `  simulated fleet ${cfg.SIM === 'on' ? `on (speed ×${cfg.SIM_SPEED})` : 'off'}`,
  stack.backfill ? `  history         first start: replaying the last ${cfg.SIM_BACKFILL_DAYS} days through broker and ingest (SIM_BACKFILL_DAYS)` : '',
  `  console logins  see ${cfg.DATA_DIR}/initial-passwords.txt (first start)`,
  'Press Ctrl-C to stop.',
].filter(Boolean);
process.stdout.write(lines.join('\n') + '\n');
stack.backfill?.then(
  (r) => progressLine(`  history         ${r.aborted ? 'stopped' : 'done'}: ${r.acked.toLocaleString('en-US')} readings of the last ${cfg.SIM_BACKFILL_DAYS} days in ${Math.round(r.ms / 1000)} s (first start ${Math.round((Date.now() - started) / 1000)} s)`, true),
  () => undefined,
);

closeWithGrace({ delay: 20_000, logger: { error: (m: unknown) => log.error(String(m)) } }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'stopping after an error');
  else log.info({ signal }, 'stopping');
  await stack.stop();
  process.stdout.write('City Ops Center stopped; all accepted data is stored.\n');
});
