/**
 * Benchmark — the issue-14 attack on the real process layout: 16 parallel year-long series
 * requests (4 planners × 4, the per-user limit) against `npm start` (START_LAYOUT=processes: the
 * broker in its own process, store + ingest + API in the core process), while one air station
 * publishes at QoS 1 every 100 ms.
 *
 *   npx tsx bench/heavy-history.ts [--rounds 3] [--days 365] [--everyMin 10] [--windowMin 20] [--root <checkout>] [--label x] [--reuse]
 *
 * Fill: `days` days of air readings (every `everyMin` min) for the demo city's 6 stations written
 * to DATA_DIR/telemetry.duckdb before the start; each request asks for pm25 of every station over
 * the whole span with `windowMin`-minute windows (raw path, ~157,000 buckets with the defaults,
 * under the 200,000-bucket cap). Figures per phase: /health latency (polled every 100 ms; max and
 * p99), the device's PUBACK latency (p99, max), the core's RSS (peak), the series answers' times.
 * Baseline: the same minutes without the attack, same run. `--root` runs another checkout's
 * launcher (e.g. main before a change) against the same data and ports; `--reuse` keeps the data
 * of the previous run (the fill takes minutes on a loaded machine).
 * Ports 20201–20205 (MQTT, WS, HTTP, metrics, Node-RED); DATA_DIR under /tmp.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import type { AnyTelemetryRecord } from '../contract';
import { deviceTopic } from '../contract';
import { provisionDemo } from '../demo/provision';
import { openDuckDbStore } from '../store/duckdb/index';
import { parseArgs, percentile, printTable, procSample, round, sleep, writeResult } from './lib';

const args = parseArgs(process.argv.slice(2));
const ROUNDS = Number(args.rounds ?? 3);
const DAYS = Number(args.days ?? 365);
const EVERY_MIN = Number(args.everyMin ?? 10);
const WINDOW_MIN = Number(args.windowMin ?? 20);
const ROOT = path.resolve(args.root ?? path.join(import.meta.dirname, '..'));
const LABEL = args.label ?? (args.root ? path.basename(ROOT) : 'this checkout');
const PORTS = { MQTT_PORT: '20201', MQTT_WS_PORT: '20202', HTTP_PORT: '20203', METRICS_PORT: '20204', NODE_RED_PORT: '20205' };
const DATA_DIR = args.dataDir ?? '/tmp/hardening-data/heavy-history';
const BASE = `http://127.0.0.1:${PORTS.HTTP_PORT}`;
const ADMIN_PW = 'bench-admin-pass-1234';
const PLANNERS = ['plan-a', 'plan-b', 'plan-c', 'plan-d'];
const DAY = 86_400_000;

const END = Math.floor(Date.now() / DAY) * DAY;
const FROM = END - DAYS * DAY;

async function fill(): Promise<number> {
  const store = await openDuckDbStore({ file: path.join(DATA_DIR, 'telemetry.duckdb') });
  await store.init();
  const stations = Array.from({ length: 6 }, (_, i) => `air-${String(i + 1).padStart(2, '0')}`);
  let n = 0;
  for (let day = FROM; day < END; day += DAY) {
    const batch: AnyTelemetryRecord[] = [];
    for (const id of stations) {
      for (let t = day; t < day + DAY; t += EVERY_MIN * 60_000) {
        const h = (t / 3_600_000) % 24;
        batch.push({
          deviceId: id,
          kind: 'air',
          stream: 'air',
          ts: t,
          receivedAt: t + 200,
          late: false,
          district: 'Centro',
          payload: { ts: t, windowS: 300, pm25: round(10 + 10 * Math.sin(h / 4) + (n % 7), 1), pm10: 30, o3: 0.03, no2: 0.02, tempC: 27, rhPct: 80 },
        } as AnyTelemetryRecord);
        n++;
      }
    }
    await store.writeBatch(batch);
  }
  await store.close();
  return n;
}

function descendants(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const k of kids.get(p) ?? []) {
      out.push(k);
      walk(k);
    }
  };
  walk(root);
  return out;
}
const cmdline = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
};

async function waitHealthy(proc: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`the ops center exited (${proc.exitCode})`);
    try {
      const r = await fetch(`${BASE}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return;
    } catch {
      /* not yet */
    }
    await sleep(500);
  }
  throw new Error('the ops center did not become healthy');
}

async function login(username: string, password: string): Promise<string> {
  const r = await fetch(`${BASE}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

interface Phase {
  healthMaxMs: number;
  healthP99Ms: number;
  healthFailures: number;
  pubackP99Ms: number;
  pubackMaxMs: number;
  pubacks: number;
  coreRssPeakMB: number;
  requests?: { ok: number; statuses: Record<string, number>; p50Ms: number; maxMs: number; bytes: number };
}

async function phase(corePid: number, device: mqtt.MqttClient, topic: string, work: () => Promise<Phase['requests']>): Promise<Phase> {
  let running = true;
  const health: number[] = [];
  let healthFailures = 0;
  const pubacks: number[] = [];
  let rss = 0;
  const poller = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const r = await fetch(`${BASE}/health`, { signal: AbortSignal.timeout(30_000) });
        await r.arrayBuffer();
        if (r.status !== 200) healthFailures++;
      } catch {
        healthFailures++;
      }
      health.push(performance.now() - t0);
      await sleep(100);
    }
  })();
  const publisher = (async () => {
    while (running) {
      const ts = Date.now();
      const t0 = performance.now();
      await device.publishAsync(topic, JSON.stringify({ ts, windowS: 300, pm25: 12.5, pm10: 30, o3: 0.03, no2: 0.02, tempC: 27, rhPct: 80 }), { qos: 1 });
      pubacks.push(performance.now() - t0);
      await sleep(100);
    }
  })();
  const sampler = setInterval(() => (rss = Math.max(rss, procSample(corePid)?.rssMB ?? 0)), 200);
  const requests = await work();
  running = false;
  await Promise.all([poller, publisher]);
  clearInterval(sampler);
  rss = Math.max(rss, procSample(corePid)?.rssMB ?? 0);
  return {
    healthMaxMs: round(Math.max(...health), 0),
    healthP99Ms: round(percentile(health, 99), 0),
    healthFailures,
    pubackP99Ms: round(percentile(pubacks, 99), 0),
    pubackMaxMs: round(Math.max(...pubacks), 0),
    pubacks: pubacks.length,
    coreRssPeakMB: round(rss, 0),
    requests,
  };
}

async function main() {
  let points = 0;
  if ('reuse' in args && fs.existsSync(path.join(DATA_DIR, 'telemetry.duckdb'))) {
    console.log(`reusing ${DATA_DIR} (filled by an earlier run)`);
  } else {
    fs.rmSync(DATA_DIR, { recursive: true, force: true });
    fs.mkdirSync(DATA_DIR, { recursive: true });
    provisionDemo(DATA_DIR, { brokerUrl: `mqtt://127.0.0.1:${PORTS.MQTT_PORT}`, apiUrl: BASE });
    const t0 = performance.now();
    points = await fill();
    console.log(`filled ${points.toLocaleString('en')} air readings over ${DAYS} days in ${round((performance.now() - t0) / 1000, 1)} s`);
  }

  const env = {
    ...process.env,
    ...PORTS,
    DATA_DIR,
    SIM: 'off',
    START_LAYOUT: 'processes',
    LOG_LEVEL: 'warn',
    CONSOLE_PASSWORD_ADMIN: ADMIN_PW,
    CONSOLE_PASSWORD_OPERADOR: 'bench-op-pass-1234',
    CONSOLE_PASSWORD_PLANEADOR: 'bench-plan-pass-1234',
    HOST: '127.0.0.1',
  };
  const proc = spawn(process.execPath, ['--import', 'tsx', 'launcher/start.ts'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'], detached: false });
  const stop = async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGINT');
    const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    await waitHealthy(proc, 180_000);
    const corePid = descendants(proc.pid!).find((p) => / core\b/.test(cmdline(p)) && cmdline(p).includes('child'));
    if (!corePid) throw new Error('core process not found');
    const admin = await login('admin', ADMIN_PW);
    for (const u of PLANNERS) {
      const r = await fetch(`${BASE}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ username: u, role: 'planner', password: `${u}-password-1234` }),
      });
      if (r.status !== 201 && r.status !== 409) throw new Error(`create ${u}: ${r.status} ${await r.text()}`);
    }
    const tokens = await Promise.all(PLANNERS.map((u) => login(u, `${u}-password-1234`)));
    const cfg = JSON.parse(fs.readFileSync(path.join(DATA_DIR, 'devices', 'air-01.json'), 'utf8')) as { clientId: string; username: string; secret: string };
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORTS.MQTT_PORT}`, { clientId: cfg.clientId, username: cfg.username, password: cfg.secret, reconnectPeriod: 1000, clean: false });
    const topic = deviceTopic('air', 'air-01', 'air');

    const url = `${BASE}/api/history/series?stream=air&field=pm25&from=${FROM}&to=${END}&windowMs=${WINDOW_MIN * 60_000}`;
    const attack = async (): Promise<Phase['requests']> => {
      const times: number[] = [];
      const statuses: Record<string, number> = {};
      let bytes = 0;
      await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const t0 = performance.now();
          const r = await fetch(url, { headers: { authorization: `Bearer ${tokens[i % 4]}` }, signal: AbortSignal.timeout(300_000) });
          const body = await r.arrayBuffer();
          times.push(performance.now() - t0);
          bytes += body.byteLength;
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        }),
      );
      return { ok: statuses['200'] ?? 0, statuses, p50Ms: round(percentile(times, 50), 0), maxMs: round(Math.max(...times), 0), bytes };
    };
    // one request alone first: its size
    const one = await fetch(url, { headers: { authorization: `Bearer ${tokens[0]}` } });
    const oneBody = (await one.json()) as { buckets?: unknown[]; code?: string };
    console.log(`one request: ${one.status}, ${oneBody.buckets?.length ?? oneBody.code} buckets`);

    const rounds: { quiet: Phase; attack: Phase }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const quiet = await phase(corePid, device, topic, async () => {
        await sleep(5000);
        return undefined;
      });
      const att = await phase(corePid, device, topic, attack);
      rounds.push({ quiet, attack: att });
      console.log(
        `round ${r + 1}: quiet health max ${quiet.healthMaxMs} ms, PUBACK p99 ${quiet.pubackP99Ms} ms | attack health max ${att.healthMaxMs} ms (p99 ${att.healthP99Ms}, ${att.healthFailures} not 200), PUBACK p99 ${att.pubackP99Ms} ms (max ${att.pubackMaxMs}), core RSS peak ${att.coreRssPeakMB} MB, answers ${JSON.stringify(att.requests?.statuses)} p50 ${att.requests?.p50Ms} ms max ${att.requests?.maxMs} ms`,
      );
    }
    await device.endAsync();
    const worst = (f: (p: Phase) => number, k: 'quiet' | 'attack') => Math.max(...rounds.map((r) => f(r[k])));
    printTable([
      ['figure', 'quiet (baseline)', 'during 16 requests', 'ratio'],
      [
        '/health max latency (ms)',
        worst((p) => p.healthMaxMs, 'quiet'),
        worst((p) => p.healthMaxMs, 'attack'),
        round(
          worst((p) => p.healthMaxMs, 'attack') /
            Math.max(
              1,
              worst((p) => p.healthMaxMs, 'quiet'),
            ),
          1,
        ),
      ],
      [
        'device PUBACK p99 (ms)',
        worst((p) => p.pubackP99Ms, 'quiet'),
        worst((p) => p.pubackP99Ms, 'attack'),
        round(
          worst((p) => p.pubackP99Ms, 'attack') /
            Math.max(
              1,
              worst((p) => p.pubackP99Ms, 'quiet'),
            ),
          1,
        ),
      ],
      [
        'core RSS peak (MB)',
        worst((p) => p.coreRssPeakMB, 'quiet'),
        worst((p) => p.coreRssPeakMB, 'attack'),
        round(
          worst((p) => p.coreRssPeakMB, 'attack') /
            Math.max(
              1,
              worst((p) => p.coreRssPeakMB, 'quiet'),
            ),
          2,
        ),
      ],
    ]);
    const file = writeResult(`heavy-history${args.label ? `-${args.label}` : ''}`, {
      label: LABEL,
      root: ROOT,
      rounds: ROUNDS,
      days: DAYS,
      everyMin: EVERY_MIN,
      windowMin: WINDOW_MIN,
      points,
      bucketsPerAnswer: oneBody.buckets?.length ?? null,
      results: rounds,
    });
    console.log(`wrote ${file}`);
  } finally {
    await stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
