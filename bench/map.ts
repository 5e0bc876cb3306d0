/**
 * Benchmark 4 — the live map at fleet scale, in headless Chromium (software WebGL).
 *
 *   npm run bench:map -- [--rounds 3] [--seconds 10] [--devices 10000,50000] [--sizes 800x600,1600x1000]
 *                        [--modes naive,console,fleet,deckgl] [--interp on,off] [--out map]
 *   npm run bench:map -- --help
 *
 * Modes (bench/map/main.ts): naive (one GeoJSON source, setData of all once a second), console
 * (today's console before #16: main-thread JSON stream + the frozen GeoJSON MapController), fleet
 * (the console now: columnar stream decoded in a worker + the WebGL fleet layer), deckgl
 * (@deck.gl/maplibre 9.4 ScatterplotLayer with binary attributes over the same stream and buffer).
 * fleet and deckgl run with and without interpolation. The stream is the API's real LiveHub
 * (ops-console/api/plugins/app/live-hub.ts) on a loopback WebSocket, fed every 250 ms with a
 * quarter of the trucks (each moves once a second), as ingest's svc/state would; its bytes per
 * client per second are counted on the server side. Rounds alternate modes; fresh page per cell.
 */
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { WebSocketServer, type WebSocket } from 'ws';
import { freePort, tempDir } from '../testing/net';
import { parseArgs, BENCH_DIR, fmtSpread, percentile, printTable, round, spread, writeResult, type Spread } from './lib';
import type { Mode, Result as PageResult } from './map/main';
import { LiveHub } from '../ops-console/api/plugins/app/live-hub';
import type { ApiMetrics } from '../ops-console/api/plugins/app/metrics';
import { loadCity } from '../city/city';
import { basemapFromCity } from '../ops-console/web/src/basemap/types';
import type { LiveState } from '../contract';

const HELP = `npm run bench:map -- [options]

  --rounds N        rounds (default 3); modes alternate within a round
  --seconds S       measuring window per cell (default 10)
  --devices LIST    fleet sizes (default 10000,50000)
  --sizes LIST      viewports WxH (default 800x600,1600x1000)
  --modes LIST      naive,console,fleet,deckgl (default all)
  --interp LIST     on,off: interpolation for fleet and deckgl (default on,off)
  --view V          city (default: the whole city in view; at 50,000 trucks a density grid) or street
                    (zoom 15 at the centre: dots/arrows, every one animated between fixes each frame)
  --out NAME        results file bench/results/NAME.json (default map)
  --profile         CPU-profile each cell's page (main thread): print the top functions and split the
                    long tasks over 100 ms by category (gc, program = native work, live-path stages)
  --shots DIR       screenshot each cell halfway through its window into DIR
  --help            this text

Reports per cell: median and p95 frame, time in frames over 50 ms per second, repaints per
second, long tasks (count, longest, over 100 ms, and how many of those are the live path's),
main-thread ms per update (decode, apply, upload; the worker's decode apart), main-thread ms per
second per stage and the live stream's bytes per client per second. Every long task is split by
what ran in it (bench/map/spans.ts: the live path's stages and MapLibre's own repaint are timed
in the page; the rest is 'other'). The JSON is written after every round.`;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.css': 'text/css' };

/** The same loop as the page's naive positions: device i circles a point of the city. */
function truckState(bbox: [number, number, number, number], i: number, now: number): LiveState {
  const [w, s, e, n] = bbox;
  const cx = w + (((i * 7919) % 1000) / 1000) * (e - w);
  const cy = s + (((i * 104729) % 1000) / 1000) * (n - s);
  const a = now / 60_000 + i;
  const heading = Math.round(((((a * 180) / Math.PI + 90) % 360) + 360) % 360);
  return {
    deviceId: `truck-${String(i).padStart(5, '0')}`,
    kind: 'truck',
    district: 'Centro',
    latest: { gps: { ts: now, late: false, data: { ts: now, lat: cy + 0.002 * Math.sin(a), lon: cx + 0.002 * Math.cos(a), speedKmh: 25, heading } } },
    online: true,
    lastSeen: now,
  };
}

/** The real LiveHub fed with `devices` trucks, a quarter every 250 ms; counts bytes sent per client. */
function startFeed(server: http.Server, bbox: [number, number, number, number], devices: number) {
  const noop = { set() {}, inc() {} };
  const metrics = { liveClients: noop, liveSnapshots: noop, liveDeltas: noop, liveSkipped: noop, livePlatesDropped: noop } as unknown as ApiMetrics;
  const hub = new LiveHub(() => [], metrics, { tickMs: 250, maxBufferedBytes: 512 * 1024 * 1024 }, { alertsFor: (a) => a });
  const now0 = Date.now();
  for (let i = 0; i < devices; i++) hub.updateState(truckState(bbox, i, now0));
  let part = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    const q = part++ % 4;
    for (let i = q; i < devices; i += 4) hub.updateState(truckState(bbox, i, now));
  }, 250);
  const wss = new WebSocketServer({ server, path: '/live' });
  /** [time, bytes] of every message sent to the latest client (snapshots apart) */
  let sends: [number, number][] = [];
  wss.on('connection', (socket: WebSocket, req) => {
    const columnar = new URL(req.url ?? '/', 'http://x').searchParams.get('format') === 'columnar';
    const mine: [number, number][] = [];
    sends = mine;
    const send = socket.send.bind(socket) as (d: unknown, ...rest: unknown[]) => void;
    let first = true;
    (socket as unknown as { send: (d: unknown, ...rest: unknown[]) => void }).send = (d, ...rest) => {
      const bytes = typeof d === 'string' ? Buffer.byteLength(d) : (d as Uint8Array).byteLength;
      if (!first) mine.push([Date.now(), bytes]);
      first = false;
      send(d, ...rest);
    };
    hub.addClient(socket, 'operator', { columnar });
  });
  return {
    bytesPerSecond(from: number, to: number): number {
      let b = 0;
      for (const [t, n] of sends) if (t >= from && t <= to) b += n;
      return b / ((to - from) / 1000);
    },
    async stop() {
      clearInterval(timer);
      hub.close();
      await new Promise((r) => wss.close(() => r(null)));
    },
  };
}

interface Row {
  medianMs: number;
  p95Ms: number;
  over50MsPerS: number;
  repaintsPerS: number;
  fleetDrawsPerS: number;
  longTasks: number;
  longestTaskMs: number;
  longTasksOver100: number;
  updatesPerS: number;
  decodeMs: number;
  workerDecodeMs: number;
  applyMs: number;
  applyP95Ms: number;
  uploadMs: number;
  streamKBps: number;
  trucks: number;
  /** the machine's 1-minute load average when the cell ended */
  load1: number;
  /** long tasks over 100 ms whose biggest share is live-path work (spans.ts) */
  liveTasksOver100: number;
  /** the most live-path work inside any one long task (ms) */
  maxLiveInTaskMs: number;
  /** long tasks over 100 ms by their biggest share: category → count */
  over100By: Record<string, number>;
  /** ms inside long tasks over 100 ms, per category (summed over the window) */
  over100Ms: Record<string, number>;
  /** main-thread self ms per second per category over the window */
  msPerS: Record<string, number>;
  /** --profile: ms of CPU-profile samples inside long tasks over 100 ms, per category (gc, program, idle, span categories, other:<fn>) */
  profileOver100Ms?: Record<string, number>;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples: number[];
  timeDeltas: number[];
}
const LIVE = new Set(['apply', 'fleetApply', 'upload', 'fleetDraw', 'controller']);
/** The long tasks' attribution (page spans) summed per cell. */
function attribution(res: PageResult, win: number) {
  const over100By: Record<string, number> = {};
  const over100Ms: Record<string, number> = {};
  let liveTasksOver100 = 0;
  let maxLive = 0;
  for (const t of res.longTaskDetail) {
    if (t.live > maxLive) maxLive = t.live;
    if (t.duration <= 100) continue;
    const [top] = Object.entries(t.by).sort((x, y) => (y[1] ?? 0) - (x[1] ?? 0));
    over100By[top![0]] = (over100By[top![0]] ?? 0) + 1;
    if (LIVE.has(top![0])) liveTasksOver100++;
    for (const [c, ms] of Object.entries(t.by)) over100Ms[c] = round((over100Ms[c] ?? 0) + (ms ?? 0));
  }
  const msPerS = Object.fromEntries(Object.entries(res.spanTotals).map(([c, ms]) => [c, round((ms ?? 0) / win, 1)]));
  return { liveTasksOver100, maxLiveInTaskMs: round(maxLive), over100By, over100Ms, msPerS };
}

/** The live path's functions (names survive the bench build) → the page spans' categories. */
const FN_CAT: Record<string, string> = {
  applyPositions: 'apply',
  applySnapshotPart: 'apply',
  upsert: 'apply',
  step: 'fleetApply',
  beforeFrame: 'fleetApply',
  upload: 'upload',
  draw: 'fleetDraw',
  drawDensity: 'fleetDraw',
  useMain: 'fleetDraw',
  ageTrucks: 'controller',
  countInView: 'controller',
  flush: 'controller',
  updateLabels: 'controller',
  rebuild: 'upload',
  _render: 'maplibre',
};

/**
 * Split the CPU profile's samples inside each long task over 100 ms by category: the innermost
 * live-path function on the sample's stack (FN_CAT), else V8's (garbage collector) / (program:
 * native work outside JavaScript — in software WebGL mostly the compositor reading canvases back)
 * / (idle), else `other:<function>`. Profile time is aligned with the
 * page's performance.now() by the first sample inside `__benchSync`.
 */
function profileAttribution(p: CpuProfile & { startTime: number }, res: PageResult): Record<string, number> | null {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes as (CpuProfile['nodes'][number] & { children?: number[] })[]) for (const c of n.children ?? []) parent.set(c, n.id);
  const catOf = new Map<number, string>();
  const classify = (id: number): string => {
    const hit = catOf.get(id);
    if (hit) return hit;
    const leaf = byId.get(id)!.callFrame.functionName;
    let cat: string;
    if (leaf === '(garbage collector)') cat = 'gc';
    else if (leaf === '(program)') cat = 'program';
    else if (leaf === '(idle)') cat = 'idle';
    else {
      cat = '';
      for (let cur: number | undefined = id; cur !== undefined && !cat; cur = parent.get(cur)) cat = FN_CAT[byId.get(cur)!.callFrame.functionName] ?? '';
      cat ||= `other:${leaf || '(anonymous)'}`;
    }
    catOf.set(id, cat);
    return cat;
  };
  const times: number[] = [];
  let t = p.startTime;
  for (const d of p.timeDeltas) times.push((t += d) / 1000);
  let offset = NaN;
  for (let i = 0; i < p.samples.length; i++) {
    let isSync = false;
    for (let cur: number | undefined = p.samples[i]; cur !== undefined && !isSync; cur = parent.get(cur)) isSync = byId.get(cur)!.callFrame.functionName === '__benchSync';
    if (isSync) {
      offset = times[i]! - res.syncAt;
      break;
    }
  }
  if (!Number.isFinite(offset)) return null;
  const out: Record<string, number> = {};
  const tasks = res.longTaskDetail.filter((x) => x.duration > 100);
  for (let i = 0; i < p.samples.length; i++) {
    const at = times[i]! - offset;
    const dt = (p.timeDeltas[i + 1] ?? 1000) / 1000;
    if (!tasks.some((x) => at >= x.start && at < x.start + x.duration)) continue;
    const c = classify(p.samples[i]!);
    out[c] = (out[c] ?? 0) + dt;
  }
  return Object.fromEntries(
    Object.entries(out)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 12)
      .map(([k, v]) => [k, round(v)]),
  );
}

/** Top self-time functions of a CDP CPU profile (diagnostic only). */
function printProfile(k: string, p: CpuProfile): void {
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  const byName = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const ms = self.get(n.id) ?? 0;
    total += ms;
    const name = `${n.callFrame.functionName || '(anonymous)'} ${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber}`;
    byName.set(name, (byName.get(name) ?? 0) + ms);
  }
  console.log(`  [${k}] profile: ${round(total)} ms sampled; top self time:`);
  for (const [name, ms] of [...byName].sort((x, y) => y[1] - x[1]).slice(0, 15)) console.log(`      ${round(ms).toString().padStart(6)} ms  ${name}`);
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if ('help' in a) {
    console.log(HELP);
    return;
  }
  const rounds = Number(a.rounds || 3);
  const seconds = Number(a.seconds || 10);
  const fleets = (a.devices || '10000,50000').split(',').map(Number);
  const sizes = (a.sizes || '800x600,1600x1000').split(',').map((s) => s.split('x').map(Number) as [number, number]);
  const modes = (a.modes || 'naive,console,fleet,deckgl').split(',') as Mode[];
  const interps = (a.interp || 'on,off').split(',').map((x) => x === 'on');
  const outName = a.out || 'map';
  const view = a.view === 'street' ? 'street' : 'city';
  const loadAverageAtStart = os.loadavg().map((x) => round(x, 1));
  const bbox = basemapFromCity(loadCity()).bbox as [number, number, number, number];

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
  const key = (mode: Mode, n: number, size: [number, number], interp: boolean | null) =>
    `${mode}${interp === null ? '' : interp ? '+interp' : '-interp'} ${n} ${size[0]}x${size[1]}${view === 'street' ? ' street' : ''}`;
  const results = new Map<string, { mode: Mode; devices: number; size: string; interp: boolean | null; rows: Row[] }>();
  /** The table and the JSON of what was measured so far (written after every round too). */
  const report = (done: number): void => {
    type NumField = { [F in keyof Row]-?: Row[F] extends number ? F : never }[keyof Row];
    const S = (k: string, f: NumField): Spread => spread(results.get(k)?.rows.map((x) => x[f]) ?? []);
    /** per-category records summed over the rounds */
    const sumRec = (k: string, f: 'over100By' | 'over100Ms' | 'msPerS' | 'profileOver100Ms', per = 1): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const row of results.get(k)?.rows ?? []) for (const [c, v] of Object.entries(row[f] ?? {})) out[c] = (out[c] ?? 0) + v;
      return Object.fromEntries(
        Object.entries(out)
          .sort((x, y) => y[1] - x[1])
          .map(([c, v]) => [c, round(v / per, 1)]),
      );
    };
    const table: (string | number)[][] = [
      [
        'cell',
        'median ms',
        'p95 ms',
        '>50 ms per s',
        'map repaints/s',
        'fleet canvas draws/s',
        'longest task ms',
        'tasks >100 ms',
        'of them live path',
        'most live-path ms in one task',
        'decode main / worker ms',
        'apply ms',
        'upload ms',
        'stream KB/s',
        'naive p95 ÷ p95',
      ],
    ];
    const summary: Record<string, unknown> = {};
    for (const [k, v] of results) {
      const naiveKey = key('naive', v.devices, v.size.split('x').map(Number) as [number, number], null);
      const ratio = results.has(naiveKey) ? spread(v.rows.map((row, i) => (results.get(naiveKey)!.rows[i]?.p95Ms ?? NaN) / row.p95Ms)) : null;
      const numeric = (Object.keys(v.rows[0]!) as (keyof Row)[]).filter((f) => typeof v.rows[0]![f] === 'number') as NumField[];
      summary[k] = {
        mode: v.mode,
        devices: v.devices,
        size: v.size,
        interp: v.interp,
        ...Object.fromEntries(numeric.map((f) => [f, S(k, f)])),
        naiveOverP95: ratio,
        // summed over the rounds; msPerS averaged
        over100By: sumRec(k, 'over100By'),
        over100Ms: sumRec(k, 'over100Ms'),
        msPerS: sumRec(k, 'msPerS', v.rows.length),
        profileOver100Ms: sumRec(k, 'profileOver100Ms'),
      };
      table.push([
        k,
        fmtSpread(S(k, 'medianMs'), 1),
        fmtSpread(S(k, 'p95Ms'), 1),
        fmtSpread(S(k, 'over50MsPerS')),
        fmtSpread(S(k, 'repaintsPerS'), 1),
        fmtSpread(S(k, 'fleetDrawsPerS'), 1),
        fmtSpread(S(k, 'longestTaskMs')),
        fmtSpread(S(k, 'longTasksOver100')),
        fmtSpread(S(k, 'liveTasksOver100')),
        fmtSpread(S(k, 'maxLiveInTaskMs')),
        `${fmtSpread(S(k, 'decodeMs'), 1)} / ${fmtSpread(S(k, 'workerDecodeMs'), 1)}`,
        fmtSpread(S(k, 'applyMs'), 1),
        fmtSpread(S(k, 'uploadMs'), 1),
        fmtSpread(S(k, 'streamKBps')),
        ratio ? fmtSpread(ratio, 2, '×') : '',
      ]);
    }
    printTable(table);
    const target = [...results.entries()].find(([, v]) => v.mode === 'fleet' && v.interp && v.devices === 50_000);
    if (target) {
      const p95 = S(target[0], 'p95Ms').median;
      console.log(`target p95 ≤ 50 ms at 50,000 with interpolation (${target[0]}): ${p95} ms → ${p95 <= 50 ? 'met' : 'MISSED'}`);
    }
    const file = writeResult(outName, {
      options: {
        view,
        rounds,
        roundsDone: done,
        loadAverageAtEnd: os.loadavg().map((x) => round(x, 1)),
        loadAverageAtStart,
        seconds,
        fleets,
        sizes: sizes.map((s) => s.join('x')),
        modes,
        interps,
        chromium: '/usr/bin/chromium --headless --disable-gpu (software WebGL)',
        feed: 'real LiveHub over loopback WebSocket, a quarter of the trucks every 250 ms',
      },
      summary,
      rounds: Object.fromEntries([...results].map(([k, v]) => [k, v.rows])),
    });
    console.log(`written ${file}`);
  };
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const n of fleets) {
        const feed = startFeed(server, bbox, n);
        try {
          for (const size of sizes) {
            for (const mode of modes) {
              for (const interp of mode === 'fleet' || mode === 'deckgl' ? interps : [null]) {
                const k = key(mode, n, size, interp);
                const page = await browser.newPage({ viewport: { width: size[0], height: size[1] } });
                page.on('pageerror', (e) => console.error(`  [${k}] page error: ${e.message}`));
                page.on('console', (m) => m.type() === 'error' && console.error(`  [${k}] console: ${m.text()}`));
                await page.goto(`http://127.0.0.1:${port}/index.html?view=${view}`, { timeout: 120_000 });
                await page.waitForFunction(() => typeof window.runBench === 'function');
                const wsUrl = `http://127.0.0.1:${port}/live`;
                const t0 = Date.now();
                const cdp = 'profile' in a ? await page.context().newCDPSession(page) : null;
                if (cdp) {
                  await cdp.send('Profiler.enable');
                  await cdp.send('Profiler.setSamplingInterval', { interval: 1000 });
                  await cdp.send('Profiler.start');
                }
                let res: PageResult;
                try {
                  const run = page.evaluate(([m, d, s, u, i]) => window.runBench(m as Mode, d as number, s as number, u as string, i as boolean), [mode, n, seconds, wsUrl, !!interp] as const);
                  if (a.shots && r === 1) {
                    await page.waitForFunction(() => document.title === 'measuring', null, { timeout: 180_000 });
                    await new Promise((res) => setTimeout(res, (seconds * 1000) / 2));
                    fs.mkdirSync(a.shots, { recursive: true });
                    await page.screenshot({ path: path.join(a.shots, `${k.replace(/[^a-z0-9+-]+/gi, '_')}.png`) });
                  }
                  res = (await run) as PageResult;
                } catch (e) {
                  console.error(`  [${k} r${r}] failed: ${(e as Error).message.split('\n')[0]}`);
                  await page.close();
                  continue;
                }
                const t1 = Date.now();
                const profile = cdp ? ((await cdp.send('Profiler.stop')) as { profile: CpuProfile & { startTime: number } }).profile : null;
                if (profile) printProfile(k, profile);
                await page.close();
                const win = res.frames.reduce((x, y) => x + y, 0) / 1000 || seconds;
                const profileOver100Ms = profile ? profileAttribution(profile, res) : null;
                const med = (xs: number[]) => (xs.length ? percentile(xs, 50) : 0);
                const row: Row = {
                  medianMs: round(percentile(res.frames, 50), 1),
                  p95Ms: round(percentile(res.frames, 95), 1),
                  over50MsPerS: round(res.frames.filter((f) => f > 50).reduce((x, y) => x + y, 0) / win),
                  repaintsPerS: round(res.repaints / win, 1),
                  fleetDrawsPerS: round(res.fleetDraws / win, 1),
                  longTasks: res.longTasks.length,
                  longestTaskMs: round(Math.max(0, ...res.longTasks)),
                  longTasksOver100: res.longTasks.filter((x) => x > 100).length,
                  updatesPerS: round(res.updates / win, 1),
                  decodeMs: round(med(res.decodeMs), 2),
                  workerDecodeMs: round(med(res.workerDecodeMs), 2),
                  applyMs: round(med(res.applyMs), 2),
                  applyP95Ms: round(res.applyMs.length ? percentile(res.applyMs, 95) : 0, 2),
                  uploadMs: round(med(res.uploadMs), 2),
                  // the window is the last `seconds` of the page's run
                  streamKBps: mode === 'naive' ? 0 : round(feed.bytesPerSecond(t1 - win * 1000, t1) / 1024),
                  trucks: res.trucks,
                  load1: round(os.loadavg()[0]!, 1),
                  ...attribution(res, win),
                  ...(profileOver100Ms ? { profileOver100Ms } : {}),
                };
                void t0;
                if (!results.has(k)) results.set(k, { mode, devices: n, size: `${size[0]}x${size[1]}`, interp, rows: [] });
                results.get(k)!.rows.push(row);
                const kv = (o: Record<string, number>) =>
                  Object.entries(o)
                    .map(([c, v]) => `${c} ${v}`)
                    .join(', ') || '-';
                console.log(
                  `      long tasks >100 ms by biggest share: ${kv(row.over100By)}; ms inside them: ${kv(row.over100Ms)}; most live-path work in one task ${row.maxLiveInTaskMs} ms; main thread ms/s: ${kv(row.msPerS)}`,
                );
                if (row.profileOver100Ms) console.log(`      profile inside long tasks >100 ms (ms): ${kv(row.profileOver100Ms)}`);
                console.log(
                  `  [${k} r${r}] median ${row.medianMs} p95 ${row.p95Ms} ms · >50ms ${row.over50MsPerS} ms/s · ${row.repaintsPerS} map repaints/s + ${row.fleetDrawsPerS} fleet draws/s · long tasks ${row.longTasks} (max ${row.longestTaskMs}, >100: ${row.longTasksOver100}) · ${row.updatesPerS} upd/s decode ${row.decodeMs}/${row.workerDecodeMs}w apply ${row.applyMs} (p95 ${row.applyP95Ms}) upload ${row.uploadMs} ms · ${row.streamKBps} KB/s`,
                );
              }
            }
          }
        } finally {
          await feed.stop();
        }
      }
      report(r);
    }
  } finally {
    await browser.close();
    await new Promise((r) => server.close(r));
    fs.rmSync(out, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => (console.error(e), process.exit(1)),
);
