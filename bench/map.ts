/**
 * Benchmark 4 — the map: 10,000 moving trucks updating at 1 Hz in headless Chromium.
 *
 *   npx tsx bench/map.ts [--rounds 3] [--seconds 20] [--devices 10000]
 *
 * Builds the bench page (bench/map/: the console's real LiveModel + MapController fed with
 * delta messages parsed from text, as socket.ts does; and the naive one-source setData
 * baseline) with Vite into a temp dir, serves it on loopback, and measures requestAnimationFrame
 * intervals and long tasks in each mode, alternating modes per round, fresh page each time.
 * What it does NOT measure: the WebSocket and the API (see bench/fanout.ts for those).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { freePort, tempDir } from '../testing/net';
import { parseArgs, BENCH_DIR, fmtSpread, percentile, printTable, round, spread, writeResult } from './lib';
import type { Result as PageResult } from './map/main';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.css': 'text/css' };

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const rounds = Number(a.rounds ?? 3);
  const seconds = Number(a.seconds ?? 20);
  const devices = Number(a.devices ?? 10_000);
  const out = tempDir('bench-map-');
  await build({ configFile: path.join(BENCH_DIR, 'map', 'vite.config.ts'), build: { outDir: out }, logLevel: 'warn' });
  const server = http.createServer((req, res) => {
    const p = path.join(out, decodeURIComponent((req.url ?? '/').split('?')[0]!));
    const file = p.endsWith('/') ? path.join(p, 'index.html') : p;
    if (!file.startsWith(out) || !fs.existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream');
    fs.createReadStream(file).pipe(res);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const modes = ['naive', 'console', 'console-no-trails', 'console-no-trucks'] as const;
  type M = (typeof modes)[number];
  const results: Record<M, { medianMs: number; p95Ms: number; longTasks: number; longTaskMs: number; messages: number; setDataCalls: number; applyP95Ms: number; flushP95Ms: number; frames: number }[]> = { console: [], naive: [], 'console-no-trails': [], 'console-no-trucks': [] };
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const mode of modes) {
        const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
        page.on('pageerror', (e) => console.error(`  [${mode}] page error: ${e.message}`));
        await page.goto(`http://127.0.0.1:${port}/index.html`);
        await page.waitForFunction(() => typeof window.runBench === 'function');
        const res = (await page.evaluate(([m, d, s]) => window.runBench(m as M, d as number, s as number), [mode, devices, seconds] as const)) as PageResult;
        await page.close();
        const row = {
          medianMs: round(percentile(res.frames, 50), 1),
          p95Ms: round(percentile(res.frames, 95), 1),
          longTasks: res.longTasks.length,
          longTaskMs: round(res.longTasks.reduce((x, y) => x + y, 0)),
          messages: res.messages,
          setDataCalls: res.setDataCalls,
          applyP95Ms: round(percentile(res.applyMs, 95), 1),
          flushP95Ms: round(percentile(res.flushMs, 95), 1),
          frames: res.frames.length,
        };
        results[mode].push(row);
        console.log(`  [${mode} r${r}] frames ${row.frames}, median ${row.medianMs} ms, p95 ${row.p95Ms} ms, long tasks ${row.longTasks} (${row.longTaskMs} ms), messages ${row.messages}, setData ${row.setDataCalls}, apply/setData p95 ${row.applyP95Ms} ms${mode === 'console' ? `, MapController flush p95 ${row.flushP95Ms} ms` : ''}`);
      }
    }
  } finally {
    await browser.close();
    await new Promise((r) => server.close(r));
    fs.rmSync(out, { recursive: true, force: true });
  }
  const s = (mode: M, k: 'medianMs' | 'p95Ms' | 'longTasks' | 'longTaskMs') => spread(results[mode].map((x) => x[k]));
  const ratio = spread(results.console.map((x, i) => x.p95Ms / results.naive[i]!.p95Ms));
  printTable([
    ['mode', 'median frame ms', 'p95 frame ms', 'long tasks in window', 'long-task ms'],
    ['naive (one source, setData 1/s)', fmtSpread(s('naive', 'medianMs'), 1), fmtSpread(s('naive', 'p95Ms'), 1), fmtSpread(s('naive', 'longTasks')), fmtSpread(s('naive', 'longTaskMs'))],
    ['console (LiveModel + MapController)', fmtSpread(s('console', 'medianMs'), 1), fmtSpread(s('console', 'p95Ms'), 1), fmtSpread(s('console', 'longTasks')), fmtSpread(s('console', 'longTaskMs'))],
    ['diagnostic: console, trails layer hidden', fmtSpread(s('console-no-trails', 'medianMs'), 1), fmtSpread(s('console-no-trails', 'p95Ms'), 1), fmtSpread(s('console-no-trails', 'longTasks')), fmtSpread(s('console-no-trails', 'longTaskMs'))],
    ['diagnostic: console, truck symbols hidden', fmtSpread(s('console-no-trucks', 'medianMs'), 1), fmtSpread(s('console-no-trucks', 'p95Ms'), 1), fmtSpread(s('console-no-trucks', 'longTasks')), fmtSpread(s('console-no-trucks', 'longTaskMs'))],
  ]);
  console.log(`console p95 / naive p95: ${fmtSpread(ratio, 2, '×')}; target p95 ≤ 50 ms: ${s('console', 'p95Ms').median <= 50 ? 'met' : 'MISSED'}`);
  const file = writeResult('map', {
    options: { rounds, seconds, devices, viewport: '800x600', chromium: '/usr/bin/chromium --headless --disable-gpu (software WebGL)' },
    summary: {
      naive: { medianMs: s('naive', 'medianMs'), p95Ms: s('naive', 'p95Ms'), longTasks: s('naive', 'longTasks'), longTaskMs: s('naive', 'longTaskMs') },
      console: { medianMs: s('console', 'medianMs'), p95Ms: s('console', 'p95Ms'), longTasks: s('console', 'longTasks'), longTaskMs: s('console', 'longTaskMs') },
      diagnosticNoTrails: { medianMs: s('console-no-trails', 'medianMs'), p95Ms: s('console-no-trails', 'p95Ms'), longTaskMs: s('console-no-trails', 'longTaskMs') },
      diagnosticNoTrucks: { medianMs: s('console-no-trucks', 'medianMs'), p95Ms: s('console-no-trucks', 'p95Ms'), longTaskMs: s('console-no-trucks', 'longTaskMs') },
      consoleOverNaiveP95: ratio,
      targetP95Met: s('console', 'p95Ms').median <= 50,
    },
    rounds: results,
  });
  console.log(`written ${file}`);
}

main().then(
  () => process.exit(0),
  (e) => (console.error(e), process.exit(1)),
);
