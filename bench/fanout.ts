/**
 * Benchmark 3 — live stream fan-out: console WebSocket clients on GET /api/live while 10,000
 * devices update once a second.
 *
 *   npx tsx bench/fanout.ts [--rounds 3] [--devices 10000] [--clients 50] [--seconds 15]
 *
 * Processes: broker (child), console API (child; DuckDB :memory: store; real MQTT link as the
 * `console` service), the WebSocket clients (child), and this process publishing the devices'
 * state. The API is isolated from ingest: this process publishes `svc/state/truck/<id>`
 * (LiveState, QoS 0, retained — what ingest publishes) as the `ingest` service account, 10,000
 * per second spread over the second. Phases per round (each `seconds` long):
 *   1 client (baseline) → N clients → N clients + 1 client that stops reading (socket paused).
 * Per-client lag = arrival at the client − the delta's `at` (server tick); device lag (client 0
 * parses every delta fully) = arrival − the device fix's timestamp (publisher → broker → API →
 * client, including the API's 250 ms coalescing tick).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { svcTopics, type LiveState } from '../contract';
import { tempDir } from '../testing/net';
import { parseArgs, TEST_PASSWORD, fmtSpread, loadTrucks, percentile, printTable, procDelta, procSample, round, rssPeaks, sleep, spread, writeBenchRegistry, writeResult } from './lib';
import { forkChild, killAllChildren, runChild, serveParent, type BenchChild } from './harness';
import { API_USER, startServerChild } from './procs';

const self = fileURLToPath(import.meta.url);

// ═════════════════════════════ clients child ═════════════════════════════════════════════
interface ClientStats {
  messages: number;
  bytes: number;
  lags: number[];
}
async function clientsChild(): Promise<void> {
  let base = '';
  let token = '';
  let ticketUrl: () => Promise<string> = async () => '';
  const socks: { ws: WebSocket; st: ClientStats; full: boolean }[] = [];
  let stalled: { ws: WebSocket; messages: number; types: string[] } | null = null;
  const deviceLags: number[] = [];
  const open = async (full: boolean) => {
    const url = await ticketUrl();
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url);
      const st: ClientStats = { messages: 0, bytes: 0, lags: [] };
      ws.on('message', (data: Buffer) => {
        const now = Date.now();
        st.messages++;
        st.bytes += data.length;
        const head = data.toString('latin1', 0, 48);
        const at = Number(/"at":(\d+)/.exec(head)?.[1]);
        if (head.includes('"delta"') && at) st.lags.push(now - at);
        if (full && head.includes('"delta"')) {
          const msg = JSON.parse(data.toString()) as { devices: LiveState[] };
          for (const d of msg.devices) {
            const ts = d.latest.gps?.ts;
            if (ts) deviceLags.push(now - ts);
          }
        }
      });
      ws.once('open', () => (socks.push({ ws, st, full }), resolve()));
      ws.once('error', reject);
    });
  };
  serveParent(async (c) => {
    const m = c as { cmd: string; base?: string; n?: number };
    if (m.cmd === 'login') {
      base = m.base!;
      const r = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: API_USER.username, password: API_USER.password }),
      });
      token = ((await r.json()) as { token: string }).token;
      ticketUrl = async () => {
        const tr = await fetch(`${base}/api/auth/ticket`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ path: '/api/live' }),
        });
        return `${base.replace('http', 'ws')}${((await tr.json()) as { url: string }).url}`;
      };
      return true;
    } else if (m.cmd === 'connect') {
      while (socks.length < m.n!) await open(socks.length === 0);
      return true;
    } else if (m.cmd === 'stall') {
      const ws = new WebSocket(await ticketUrl());
      await new Promise((r) => ws.once('open', r));
      const s = { ws, messages: 0, types: [] as string[] };
      ws.on('message', (data: Buffer) => {
        s.messages++;
        s.types.push(/"type":"(\w+)"/.exec(data.toString('latin1', 0, 30))?.[1] ?? '?');
      });
      // stop reading: TCP window fills, the server's bufferedAmount grows
      (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
      stalled = s;
      return true;
    } else if (m.cmd === 'resume') {
      if (stalled) {
        const before = stalled.messages;
        (stalled.ws as unknown as { _socket: import('node:net').Socket })._socket.resume();
        await sleep(3000);
        const types = stalled.types.slice(before);
        const snapshots = types.filter((t) => t === 'snapshot').length;
        stalled.ws.terminate();
        stalled = null;
        return { received: types.length, snapshots };
      }
      return { received: 0, snapshots: 0 };
    } else if (m.cmd === 'stats') {
      const out = socks.map(({ st }) => ({ messages: st.messages, bytes: st.bytes, p50: percentile(st.lags, 50), p99: percentile(st.lags, 99) }));
      const dev = { p50: percentile(deviceLags, 50), p99: percentile(deviceLags, 99), n: deviceLags.length };
      for (const s of socks) s.st = Object.assign(s.st, { messages: 0, bytes: 0, lags: [] });
      deviceLags.length = 0;
      return { clients: out, device: dev };
    } else if (m.cmd === 'stop') {
      for (const s of socks) s.ws.terminate();
      stalled?.ws.terminate();
      return true;
    }
    return undefined;
  });
}

// ═════════════════════════════ parent ═══════════════════════════════════════════════════
function startClients(): Promise<BenchChild> {
  return forkChild(self, 'clients');
}

interface Phase {
  clients: number;
  stalled: boolean;
  apiCpuPct: number;
  brokerCpuPct: number;
  apiRssMB: number;
  apiPeakRssMB: number;
  lagP50Ms: number;
  lagP99Ms: number;
  worstClientP99Ms: number;
  deviceLagP50Ms: number;
  deviceLagP99Ms: number;
  deltasPerClientPerS: number;
  mbPerClientPerS: number;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const rounds = Number(a.rounds ?? 3);
  const n = Number(a.devices ?? 10_000);
  const nClients = Number(a.clients ?? 50);
  const seconds = Number(a.seconds ?? 15);
  process.once('SIGINT', () => (killAllChildren(), process.exit(130)));
  const dir = tempDir('bench-fanout-');
  const registry = path.join(dir, 'registry.json');
  const devices = loadTrucks(n, 'fan');
  writeBenchRegistry(registry, devices);
  console.log(`fan-out bench: ${n} devices at 1 Hz, ${nClients} clients, ${seconds} s phases, ${rounds} rounds`);
  const results: { phases: Phase[]; stalledAfterResume: { received: number; snapshots: number } }[] = [];
  try {
    for (let r = 1; r <= rounds; r++) {
      const broker = await startServerChild('broker', { registry });
      const api = await startServerChild('api', { registry, mqttUrl: `mqtt://127.0.0.1:${broker.port}` });
      const clients = await startClients();
      await clients.call({ cmd: 'login', base: `http://127.0.0.1:${api.port}` });
      const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: 'ingest', password: TEST_PASSWORD('ingest'), clientId: 'bench-ingest', reconnectPeriod: 0 });
      // publisher: every device once a second, in 20 slices of 50 ms
      let slice = 0;
      const pubTimer = setInterval(() => {
        const now = Date.now();
        const k = slice++ % 20;
        for (let i = k; i < n; i += 20) {
          const d = devices[i]!;
          const a = now / 60_000 + i;
          const st: LiveState = {
            deviceId: d.id,
            kind: 'truck',
            district: 'Centro',
            latest: { gps: { ts: now, late: false, data: { ts: now, lat: 18.13 + 0.01 * Math.sin(a), lon: -94.45 + 0.01 * Math.cos(a), speedKmh: 25, heading: 90 } } },
            online: true,
            lastSeen: now,
          };
          pub.publish(svcTopics.state('truck', d.id), JSON.stringify(st), { qos: 0, retain: true });
        }
      }, 50);
      await sleep(3000);
      const phases: Phase[] = [];
      const phase = async (count: number, stalled: boolean) => {
        await clients.call({ cmd: 'connect', n: count });
        if (stalled) await clients.call({ cmd: 'stall' });
        await sleep(1000);
        await clients.call({ cmd: 'stats' }); // reset
        const peaks = rssPeaks({ api: api.pid }, 250);
        const a0 = procSample(api.pid);
        const b0 = procSample(broker.pid);
        await sleep(seconds * 1000);
        const a1 = procSample(api.pid);
        const b1 = procSample(broker.pid);
        const st = await clients.call<{ clients: { messages: number; bytes: number; p50: number; p99: number }[]; device: { p50: number; p99: number } }>({ cmd: 'stats' });
        const peak = peaks.stop().api!;
        const p: Phase = {
          clients: count,
          stalled,
          apiCpuPct: round(procDelta(a0, a1).cpuPct),
          brokerCpuPct: round(procDelta(b0, b1).cpuPct),
          apiRssMB: round(procDelta(a0, a1).rssMB),
          apiPeakRssMB: round(peak),
          lagP50Ms: round(spread(st.clients.map((c) => c.p50)).median),
          lagP99Ms: round(spread(st.clients.map((c) => c.p99)).median),
          worstClientP99Ms: round(Math.max(...st.clients.map((c) => c.p99))),
          deviceLagP50Ms: round(st.device.p50),
          deviceLagP99Ms: round(st.device.p99),
          deltasPerClientPerS: round(spread(st.clients.map((c) => c.messages)).median / seconds, 1),
          mbPerClientPerS: round(spread(st.clients.map((c) => c.bytes)).median / seconds / 2 ** 20, 2),
        };
        phases.push(p);
        console.log(
          `  [r${r}] ${count} clients${stalled ? ' + 1 stalled' : ''}: API CPU ${p.apiCpuPct} %, broker ${p.brokerCpuPct} %, API RSS ${p.apiRssMB} MB (peak ${p.apiPeakRssMB}), lag p50/p99 ${p.lagP50Ms}/${p.lagP99Ms} ms (worst client p99 ${p.worstClientP99Ms}), device→client p50/p99 ${p.deviceLagP50Ms}/${p.deviceLagP99Ms} ms, ${p.deltasPerClientPerS} deltas/s, ${p.mbPerClientPerS} MB/s per client`,
        );
      };
      await phase(1, false);
      await phase(nClients, false);
      await phase(nClients, true);
      const resumed = await clients.call<{ received: number; snapshots: number }>({ cmd: 'resume' });
      console.log(`  [r${r}] stalled client resumed: ${resumed.received} messages in 3 s, ${resumed.snapshots} snapshot(s)`);
      results.push({ phases, stalledAfterResume: resumed });
      clearInterval(pubTimer);
      await pub.endAsync();
      await clients.stop();
      await api.stop();
      await broker.stop();
    }
  } finally {
    killAllChildren();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const ph = (i: number, k: keyof Phase) => spread(results.map((x) => x.phases[i]![k] as number));
  const cpuRatio = spread(results.map((x) => x.phases[1]!.apiCpuPct / x.phases[0]!.apiCpuPct));
  const rssGrowth = spread(results.map((x) => x.phases[2]!.apiPeakRssMB - x.phases[1]!.apiPeakRssMB));
  const rows: (string | number)[][] = [['phase', 'API CPU %', 'API RSS MB (peak)', 'lag p50 / p99 ms (median client)', 'device→client p50 / p99 ms', 'MB/s per client']];
  ['1 client', `${nClients} clients`, `${nClients} clients + 1 stalled`].forEach((name, i) =>
    rows.push([
      name,
      fmtSpread(ph(i, 'apiCpuPct')),
      fmtSpread(ph(i, 'apiPeakRssMB')),
      `${fmtSpread(ph(i, 'lagP50Ms'))} / ${fmtSpread(ph(i, 'lagP99Ms'))}`,
      `${fmtSpread(ph(i, 'deviceLagP50Ms'))} / ${fmtSpread(ph(i, 'deviceLagP99Ms'))}`,
      fmtSpread(ph(i, 'mbPerClientPerS'), 2),
    ]),
  );
  printTable(rows);
  console.log(`API CPU ${nClients} clients / 1 client: ${fmtSpread(cpuRatio, 2, '×')}; API peak RSS growth with a stalled client: ${fmtSpread(rssGrowth)} MB`);
  const file = writeResult('fanout', {
    options: { rounds, devices: n, clients: nClients, seconds, source: 'svc/state published directly as the ingest service account (ingest not running)' },
    summary: {
      phases: ['1 client', `${nClients} clients`, `${nClients} clients + 1 stalled`].map((name, i) => ({
        name,
        apiCpuPct: ph(i, 'apiCpuPct'),
        brokerCpuPct: ph(i, 'brokerCpuPct'),
        apiPeakRssMB: ph(i, 'apiPeakRssMB'),
        lagP50Ms: ph(i, 'lagP50Ms'),
        lagP99Ms: ph(i, 'lagP99Ms'),
        deviceLagP50Ms: ph(i, 'deviceLagP50Ms'),
        deviceLagP99Ms: ph(i, 'deviceLagP99Ms'),
        mbPerClientPerS: ph(i, 'mbPerClientPerS'),
      })),
      apiCpuManyOverOne: cpuRatio,
      apiPeakRssGrowthWithStalledMB: rssGrowth,
    },
    rounds: results,
  });
  console.log(`written ${file}`);
}

if (!runChild(import.meta.url, () => clientsChild()))
  main().then(
    () => process.exit(0),
    (e) => (console.error(e), killAllChildren(), process.exit(1)),
  );
