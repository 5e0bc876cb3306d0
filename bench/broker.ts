/**
 * Overhead of this broker (frame guard + registry auth + ACL hooks + counters) against bare
 * Aedes 1.2 and against Aedes behind the frame guard only; same machine, same load generator,
 * measured in the same run:
 *
 *   npx tsx bench/broker.ts [messages=200000] [publishers=10] [runs=3] [qos=0]
 *
 * The broker runs in a child process (its own event loop); the parent runs the publishers and
 * one subscriber (fan-in, ~125-byte JSON). Also measures a reconnect storm (connect latency,
 * with and without the verify cache). Loopback only; bounded in count and time.
 */
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { Aedes } from 'aedes';
import { RegistryView } from '../registry/registry';
import { TEST_PASSWORD, writeTestRegistry } from '../testing/registry-fixture';
import { createLogger } from '../lib/log';
import { FrameGuard } from '../broker/frame-guard';
import { startBroker } from '../broker/index';

const self = fileURLToPath(import.meta.url);
const benchDevices = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `bench-${String(i + 1).padStart(3, '0')}`,
    kind: 'truck' as const,
    model: 'bench',
    district: 'Centro',
    status: 'active' as const,
    truck: { depotId: 'd', routeId: 'r' },
    intervals: { dataS: 1, statusS: 60 },
  }));

async function serve(mode: string, registryFile: string): Promise<void> {
  let port: number;
  if (mode === 'guard') {
    // bare Aedes behind the frame guard only: separates the guard's cost from the hooks'
    const aedes = await Aedes.createBroker();
    const counts = { packetsIn: new Float64Array(16), packetsOut: new Float64Array(16) };
    const server = net.createServer((s) => aedes.handle(new FrameGuard(s, { maxPacketSize: 64 * 1024, ...counts })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  } else if (mode === 'bare') {
    const aedes = await Aedes.createBroker();
    const server = net.createServer((s) => aedes.handle(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  } else {
    const registry = new RegistryView(registryFile);
    const b = await startBroker({ registry, port: 0, log: createLogger('bench-broker', 'error'), authCacheMs: mode === 'nocache' ? 0 : 60_000 });
    port = b.port;
  }
  process.on('message', () => {
    const u = process.cpuUsage();
    process.send!({ cpuUs: u.user + u.system });
  });
  process.send!({ port });
}

/** CPU time (µs) the broker child has used so far */
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { cpuUs: number }) => resolve(m.cpuUs));
    child.send('cpu');
  });
}

function startServer(mode: string, registryFile: string): Promise<{ port: number; child: ChildProcess }> {
  const child = fork(self, ['--serve', mode, registryFile], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ port: m.port, child }));
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

const connect = (port: number, id: string, clientId = id): Promise<MqttClient> =>
  new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username: id, password: TEST_PASSWORD(id), clientId, reconnectPeriod: 0 });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });

async function fanIn(port: number, total: number, publishers: number, qos: 0 | 1): Promise<number> {
  const sub = await connect(port, 'ingest', 'bench-ingest');
  await sub.subscribeAsync('city/v1/+/+/+', { qos });
  const pubs = await Promise.all(benchDevices(publishers).map((d) => connect(port, d.id)));
  let got = 0;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${got}/${total}`)), 120_000);
    sub.on('message', () => {
      if (++got === total) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const payload = JSON.stringify({ ts: Date.now(), lat: 18.1437, lon: -94.4339, speedKmh: 23.4, headingDeg: 181, seq: 0 }).padEnd(125, ' ');
  const per = Math.ceil(total / publishers);
  const t0 = performance.now();
  await Promise.all(
    pubs.map(async (p, i) => {
      const topic = `city/v1/truck/${benchDevices(publishers)[i]!.id}/gps`;
      const n = Math.min(per, total - i * per);
      for (let k = 0; k < n; k++) {
        if (qos === 1) await p.publishAsync(topic, payload, { qos });
        else if (!p.publish(topic, payload, { qos }) || k % 500 === 0) await new Promise((r) => setImmediate(r));
      }
    }),
  );
  await done;
  const rate = total / ((performance.now() - t0) / 1000);
  await Promise.all([sub, ...pubs].map((c) => c.endAsync()));
  return rate;
}

async function reconnectStorm(port: number, n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const c = await connect(port, 'bench-001');
    ms.push(performance.now() - t0);
    await c.endAsync();
  }
  return ms.sort((a, b) => a - b);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const [total = 200_000, publishers = 10, runs = 3, qos = 0] = process.argv.slice(2).map(Number);
  const file = writeTestRegistry(undefined, benchDevices(publishers));
  const rates: Record<string, number[]> = { bare: [], guard: [], full: [] };
  const cpu: Record<string, number[]> = { bare: [], guard: [], full: [] };
  for (let r = 0; r < runs; r++) {
    for (const mode of ['bare', 'guard', 'full']) {
      const { port, child } = await startServer(mode, file);
      const before = await cpuOf(child);
      rates[mode]!.push(await fanIn(port, total, publishers, qos as 0 | 1));
      cpu[mode]!.push((await cpuOf(child)) - before);
      child.kill();
    }
  }
  for (const [mode, xs] of Object.entries(rates)) {
    const us = cpu[mode]!.map((c) => c / total);
    console.log(
      `${mode.padEnd(5)} fan-in QoS ${qos}: median ${Math.round(median(xs))} msg/s (${xs.map((x) => Math.round(x)).join(', ')}); ` +
        `broker CPU median ${median(us).toFixed(2)} µs/msg (${us.map((u) => u.toFixed(2)).join(', ')})`,
    );
  }
  const r = (a: Record<string, number[]>, m: string) => (median(a[m]!) / median(a.bare!)).toFixed(2);
  console.log(`vs bare: throughput guard ${r(rates, 'guard')}, full ${r(rates, 'full')}; CPU per message guard ${r(cpu, 'guard')}, full ${r(cpu, 'full')}`);

  // note: the bench registry is hashed with scrypt N=1024 (test cost); production N=16384 costs ~16x more per verify
  for (const mode of ['full', 'nocache']) {
    const { port, child } = await startServer(mode, file);
    const ms = await reconnectStorm(port, 50);
    console.log(`reconnect (${mode === 'full' ? 'verify cache' : 'no cache  '}): p50 ${ms[25]!.toFixed(2)} ms, p95 ${ms[47]!.toFixed(2)} ms over 50 sequential connects`);
    child.kill();
  }
}

if (process.argv[2] === '--serve') serve(process.argv[3]!, process.argv[4]!).catch((e) => (console.error(e), process.exit(1)));
else
  main().then(
    () => process.exit(0),
    (e) => (console.error(e), process.exit(1)),
  );
