/**
 * Benchmark 2 — connections: 10,000 devices connected at once to the broker, 10 % of them
 * publishing (QoS 1) once a second; broker RSS, connect rate, connect latency.
 *
 *   npx tsx bench/connections.ts [--rounds 3] [--devices 10000] [--seconds 30] [--concurrency 200] [--persistence level|memory] [--out connections]
 *
 * --persistence: the broker's session store (level = durable, as npm start runs it; the default)
 *
 * The broker runs in a child process; the devices are MQTT.js clients in this process. Each
 * device authenticates against the registry (scrypt cost 1024, the test cost; production's 16384
 * costs ~16× more CPU per connect). The baseline in the same run is the idle broker's RSS before
 * any device connects. File descriptors: each process holds ~10,000 sockets; the script checks
 * `ulimit -n` and stops with a clear message when it is too low (raise it in the shell).
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic } from '../contract';
import { tempDir } from '../testing/net';
import { parseArgs, TEST_PASSWORD, fmtSpread, loadTrucks, percentile, printTable, procDelta, procSample, round, rssPeaks, sleep, spread, writeBenchRegistry, writeResult } from './lib';
import { killAllChildren, startServerChild } from './procs';

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const rounds = Number(a.rounds ?? 3);
  const n = Number(a.devices ?? 10_000);
  const seconds = Number(a.seconds ?? 30);
  const concurrency = Number(a.concurrency ?? 200);
  const persistence = a.persistence === 'memory' ? 'memory' : 'level';
  const nofile = Number(execSync('sh -c "ulimit -n"').toString().trim());
  if (nofile < n + 500) throw new Error(`ulimit -n is ${nofile}: need at least ${n + 500} open files per process; run with a higher limit (ulimit -n 65536)`);
  process.once('SIGINT', () => (killAllChildren(), process.exit(130)));

  const dir = tempDir('bench-conn-');
  const registry = path.join(dir, 'registry.json');
  const t0 = performance.now();
  const devices = loadTrucks(n, 'conn');
  writeBenchRegistry(registry, devices);
  console.log(`connections bench: ${n} devices (registry hashed in ${Math.round((performance.now() - t0) / 1000)} s), ${rounds} rounds, ulimit -n ${nofile}`);

  const rows: {
    idleRssMB: number;
    connectedRssMB: number;
    peakRssMB: number;
    perConnKB: number;
    connectRate: number;
    connectP50Ms: number;
    connectP99Ms: number;
    brokerCpuPctPublishing: number;
    published: number;
    acked: number;
    failedConnects: number;
  }[] = [];
  try {
    for (let r = 1; r <= rounds; r++) {
      const broker = await startServerChild('broker', { registry, persistence });
      await sleep(1000);
      const idle = procSample(broker.pid)!;
      const peaks = rssPeaks({ broker: broker.pid }, 250);
      const url = `mqtt://127.0.0.1:${broker.port}`;
      const clients: MqttClient[] = [];
      const lat: number[] = [];
      let failed = 0;
      const tc = performance.now();
      let next = 0;
      const worker = async () => {
        while (next < n) {
          const d = devices[next++]!;
          const s = performance.now();
          try {
            const c = await new Promise<MqttClient>((res, rej) => {
              const c = mqtt.connect(url, { username: d.id, password: TEST_PASSWORD(d.id), clientId: d.id, reconnectPeriod: 0, keepalive: 300, connectTimeout: 120_000 });
              c.once('connect', () => res(c));
              c.once('error', (e) => (c.end(true), rej(e)));
            });
            lat.push(performance.now() - s);
            clients.push(c);
          } catch {
            failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const connectS = (performance.now() - tc) / 1000;
      await sleep(2000);
      const connected = procSample(broker.pid)!;
      // 10 % publish once a second, spread over the second
      const pubs = clients.slice(0, Math.floor(clients.length / 10));
      let published = 0;
      let acked = 0;
      const before = procSample(broker.pid);
      const tp = Date.now();
      const timers = pubs.map((c, i) =>
        setTimeout(
          () => {
            const topic = deviceTopic('truck', (c.options.clientId as string)!, 'gps');
            const send = () => {
              const ts = Date.now();
              published++;
              c.publish(topic, JSON.stringify({ ts, lat: 18.13, lon: -94.45, speedKmh: 20, heading: 90 }), { qos: 1 }, (err) => void (err ? 0 : acked++));
            };
            send();
            timers[i] = setInterval(send, 1000) as unknown as NodeJS.Timeout;
          },
          (i / pubs.length) * 1000,
        ),
      );
      await sleep(seconds * 1000 - (Date.now() - tp));
      for (const t of timers) clearInterval(t);
      const after = procSample(broker.pid);
      await sleep(2000);
      const peak = peaks.stop().broker!;
      const cpu = procDelta(before, after).cpuPct;
      const row = {
        idleRssMB: round(idle.rssMB),
        connectedRssMB: round(connected.rssMB),
        peakRssMB: round(peak),
        perConnKB: round(((connected.rssMB - idle.rssMB) * 1024) / clients.length, 1),
        connectRate: round(clients.length / connectS),
        connectP50Ms: round(percentile(lat, 50), 1),
        connectP99Ms: round(percentile(lat, 99), 1),
        brokerCpuPctPublishing: round(cpu),
        published,
        acked,
        failedConnects: failed,
      };
      rows.push(row);
      console.log(
        `  [r${r}] ${clients.length} connected in ${connectS.toFixed(1)} s (${row.connectRate}/s, p50 ${row.connectP50Ms} ms, p99 ${row.connectP99Ms} ms, failed ${failed}); broker RSS idle ${row.idleRssMB} MB → connected ${row.connectedRssMB} MB → peak ${row.peakRssMB} MB (${row.perConnKB} KB/conn); publishing ${pubs.length}/s: broker CPU ${row.brokerCpuPctPublishing} %, acked ${acked}/${published}`,
      );
      for (let i = 0; i < clients.length; i += 500) await Promise.all(clients.slice(i, i + 500).map((c) => c.endAsync(true).catch(() => {})));
      await broker.stop();
    }
  } finally {
    killAllChildren();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const s = (k: keyof (typeof rows)[number]) => spread(rows.map((x) => x[k]));
  printTable([
    ['metric', 'median (min–max)'],
    ['connect rate (connections/s)', fmtSpread(s('connectRate'))],
    ['connect latency p50 / p99 (ms)', `${fmtSpread(s('connectP50Ms'), 1)} / ${fmtSpread(s('connectP99Ms'), 1)}`],
    ['broker RSS idle (baseline, MB)', fmtSpread(s('idleRssMB'))],
    [`broker RSS, ${n} connected (MB)`, fmtSpread(s('connectedRssMB'))],
    ['broker RSS peak (MB)', fmtSpread(s('peakRssMB'))],
    ['RSS per connection (KB)', fmtSpread(s('perConnKB'), 1)],
    [`broker CPU, ${n / 10} publishing at 1 Hz (%)`, fmtSpread(s('brokerCpuPctPublishing'))],
  ]);
  console.log(`target peak RSS < 1 GB: ${s('peakRssMB').max < 1024 ? 'met' : 'MISSED'}`);
  const file = writeResult(a.out || 'connections', {
    options: { rounds, devices: n, seconds, concurrency, persistence, scryptCost: 1024, ulimitN: nofile },
    summary: Object.fromEntries((Object.keys(rows[0] ?? {}) as (keyof (typeof rows)[number])[]).map((k) => [k, s(k)])),
    targetMet: s('peakRssMB').max < 1024,
    rounds: rows,
  });
  console.log(`written ${file}`);
}

main().then(
  () => process.exit(0),
  (e) => (console.error(e), killAllChildren(), process.exit(1)),
);
