/**
 * `npm run bench`: every benchmark, one after the other (each in its own process, so one's
 * servers are gone before the next starts), then the combined table (bench/results/summary.md).
 * Benchmarks measure; they never fail the run: a benchmark that errors is reported and skipped.
 *
 *   npm run bench [-- pipeline,queries]     (a subset, in the order given)
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { BENCH_DIR } from './lib';
import { summaryMarkdown } from './summary';
import fs from 'node:fs';

const ALL = ['pipeline', 'queries', 'map', 'connections', 'fanout'];
const which = (process.argv[2] ?? '').split(',').filter(Boolean);
const list = which.length ? which : ALL;
const failed: string[] = [];
for (const name of list) {
  if (!ALL.includes(name)) {
    console.error(`unknown benchmark ${name} (one of ${ALL.join(', ')})`);
    continue;
  }
  console.log(`\n══════ ${name} ══════`);
  const t0 = Date.now();
  // a benchmark is bench/<name>.ts or a folder bench/<name>/index.ts
  const file = fs.existsSync(path.join(BENCH_DIR, `${name}.ts`)) ? path.join(BENCH_DIR, `${name}.ts`) : path.join(BENCH_DIR, name, 'index.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  console.log(`══════ ${name}: ${r.status === 0 ? 'done' : `exited ${r.status ?? r.signal}`} in ${Math.round((Date.now() - t0) / 1000)} s`);
  if (r.status !== 0) failed.push(name);
}
const md = summaryMarkdown();
fs.writeFileSync(path.join(BENCH_DIR, 'results', 'summary.md'), md + '\n');
console.log(`\n${md}`);
if (failed.length) console.log(`\n(not measured this run: ${failed.join(', ')})`);
