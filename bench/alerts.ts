/**
 * `npm run bench:alerts`: the alert-quality scenario (testing/alert-scenario.ts) at length —
 * by default 8 h of city time from 05:00 (a whole morning shift, night-time noise before it, a
 * pollution episode) at 60×, restarted in the middle. Prints the table per rule and writes
 * bench/results/alerts.json. Measures; never fails; not run in CI.
 *
 *   npm run bench:alerts -- --speed 60 --minutes 480 --start 05:00
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../lib/log';
import { formatReport, runAlertScenario } from '../testing/alert-scenario';
import { RESULTS_DIR, parseArgs } from './lib';

const args = { speed: '60', minutes: '480', start: '05:00', restart: '0', ...parseArgs(process.argv.slice(2)) };
const minutes = Number(args.minutes);
const report = await runAlertScenario({
  dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-alerts-')),
  speed: Number(args.speed),
  durationMin: minutes,
  restartAtMin: Number(args.restart) || Math.round(minutes / 2),
  startLocal: String(args.start),
  log: createLogger('bench-alerts', process.env.LOG_LEVEL ?? 'warn'),
  onProgress: (l) => console.log(l),
});
console.log('\n' + formatReport(report));
const out = path.join(RESULTS_DIR, 'alerts.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(
  out,
  JSON.stringify({ date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, load: os.loadavg() }, report }, null, 2) + '\n',
);
console.log(`\nwrote ${out}`);
process.exit(0);
