/**
 * Benchmark 1 — ingest pipeline: device → broker → ingest → store (QoS 1), for both stores,
 * against three baselines measured in the same run:
 *   broker-alone  same publishers, one plain QoS 1 subscriber (no ingest): the ceiling on this box
 *   influx-ceiling InfluxDB's own write rate: batched line protocol over HTTP /write (5,000-point
 *                  batches, 2 writers)
 *   node-red      the flow a city would build: mqtt in → function (tags, time) → influxdb out
 *                  (node-red-contrib-influxdb), same broker, same InfluxDB
 *
 *   npx tsx bench/pipeline.ts [--rounds 3] [--window 10] [--devices 500] [--only duckdb,influx,...] [--out pipeline]
 *                             [--persistence level|memory] [--max-in-flight N]
 *   BENCH_CPU_PROF=/tmp/prof npx tsx bench/pipeline.ts ...   (a CPU profile of each server process)
 *
 * --persistence: the broker's session store, as npm start runs it (level = durable, LevelDB in a
 * temp dir; the default) or in memory (the price of durability). With `level` the broker-alone
 * subscriber keeps a persistent session (clean: false, like ingest), so every message goes
 * through the same durable session queue. --max-in-flight: ingest's window of un-acknowledged
 * messages (default: ingest's own, 2 × batch size).
 *
 * Processes: the broker runs in its own child process, ingest (with its store) in another, and
 * this process is the load generator. Offered load steps up geometrically (×1.5) until a step
 * fails: the generator cannot publish at the offered rate, the store is still more than 2 s
 * behind when the window ends, or a published+acknowledged message is missing from the store
 * (loss is counted: store count vs generator acks, never assumed). Rounds 2+ start two steps
 * below round 1's result. After each round's ceiling, one more window at 80 % of it measures
 * device-timestamp-to-queryable latency (a marker device publishes at 10 Hz; the store is
 * polled every 100 ms for its fixes, so latency includes up to ~100 ms of polling granularity).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, SUB_ALL_DEVICE_DATA } from '../contract';
import { RegistryView } from '../firmware-config/registry';
import { createLogger } from '../lib/log';
import { freePort, tempDir, waitFor } from '../testing/net';
import { startInfluxd, type Influxd } from '../testing/influxd';
import {
  TEST_PASSWORD,
  fmtSpread,
  loadTrucks,
  machine,
  percentile,
  printTable,
  procDelta,
  procSample,
  round,
  sleep,
  spread,
  writeBenchRegistry,
  writeResult,
  findPid,
  parseArgs,
  type ProcSample,
} from './lib';

const self = fileURLToPath(import.meta.url);
/** child processes to kill if this run is interrupted */
const liveChildren = new Set<ChildProcess>();
/** last stderr of each child (forwarded to ours as well) */
const stderrTails = new Map<ChildProcess, string>();
function keepStderr(proc: ChildProcess): void {
  proc.stderr?.on('data', (b: Buffer) => {
    process.stderr.write(b);
    stderrTails.set(proc, ((stderrTails.get(proc) ?? '') + b.toString()).slice(-3000));
  });
}
const MARKER = 'marker-00001';
/** the broker's session directories (level persistence), removed at the end */
const brokerDirs: string[] = [];

interface MarkerWatch {
  /** stop polling; each marker fix's ts with when it first became visible */
  stop(): [number, number][];
}
/** Poll `read` (the marker's fix times) every 100 ms, remembering when each first became visible; a failed poll waits for the next. */
function watchMarker(read: () => Promise<number[]>): MarkerWatch {
  const seen = new Map<number, number>();
  let busy = false;
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- a bench harness: a rejection should end it (unhandled rejection)
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const ts = await read();
      const now = Date.now();
      for (const t of ts) if (!seen.has(t)) seen.set(t, now);
    } catch {
      /* next poll */
    } finally {
      busy = false;
    }
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return [...seen.entries()];
    },
  };
}

// ═════════════════════════════════ child processes ═══════════════════════════════════════
type Cmd = { cmd: 'count'; from: number } | { cmd: 'keys'; from: number; devices: string[] } | { cmd: 'counters' } | { cmd: 'reconnect' } | { cmd: 'watch'; from: number } | { cmd: 'unwatch' } | { cmd: 'stop' };
type Req = Cmd & { id: number };

async function childMain(role: string, args: Record<string, string>): Promise<void> {
  const log = createLogger(`bench-${role}`, 'error');
  if (role === 'broker') {
    const { startBroker } = await import('../broker/index');
    const persistence = args.persistence === 'memory' ? { kind: 'memory' as const } : { kind: 'level' as const, dir: path.join(args.dir!, 'broker-sessions') };
    const b = await startBroker({ registry: new RegistryView(args.registry!), port: 0, log, persistence });
    process.send!({ ready: true, port: b.port });
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- a bench harness: a rejection should end it (unhandled rejection)
    process.on('message', async (m: Req) => {
      if (m.cmd === 'stop') {
        await b.stop();
        process.send!({ id: m.id, ok: true }, () => process.exit(0));
      }
    });
    return;
  }
  // sink roles: 'ingest' (with a store) or 'subscriber' (plain QoS 1 subscriber, broker-alone)
  let count: (from: number) => Promise<number>;
  /** stored message ids (`deviceId|ts`) at or after `from`, with how many rows each has */
  let keys: (from: number, devices: string[]) => Promise<[string, number][]>;
  let markerTs: (from: number) => Promise<number[]>;
  let stop: () => Promise<void>;
  const writeStats = { ms: 0, calls: 0, points: 0 };
  let getCounters: () => object = () => ({});
  let reconnect: (() => Promise<void>) | null = null;
  if (role === 'subscriber') {
    // with durable persistence the subscriber keeps a persistent session, as ingest does (same session queue)
    const c = mqtt.connect(args.mqttUrl!, { username: 'admin', password: TEST_PASSWORD('admin'), clientId: 'bench-sub', clean: args.persistence === 'memory', reconnectPeriod: 0 });
    await new Promise<void>((res, rej) => (c.once('connect', () => res()), c.once('error', rej)));
    await c.subscribeAsync(SUB_ALL_DEVICE_DATA, { qos: 1 });
    const seenTs: number[] = [];
    const buckets = new Map<number, number>(); // messages per 100 ms of device time
    const markerTopic = deviceTopic('truck', MARKER, 'gps');
    // per message id (device, ts) for the reconciliation, with how often each arrived
    const seenKeys = new Map<string, number>();
    // a plain subscriber: no JSON parsing, only the device timestamp read from the payload's
    // fixed prefix {"ts":<13 digits> (so counts can be taken per step, like the store's)
    c.on('message', (topic, payload) => {
      const ts = Number(payload.toString('latin1', 6, 19));
      const b = Math.floor(ts / 100);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
      const k = `${topic.split('/')[3]}|${ts}`;
      seenKeys.set(k, (seenKeys.get(k) ?? 0) + 1);
      if (topic === markerTopic) seenTs.push(ts);
    });
    keys = async (from) => {
      const out: [string, number][] = [];
      for (const [k, n] of seenKeys) if (Number(k.slice(k.indexOf('|') + 1)) >= from) out.push([k, n]);
      return out;
    };
    count = async (from) => {
      let n = 0;
      const fb = Math.floor(from / 100);
      for (const [b, k] of buckets) if (b >= fb) n += k;
      return n;
    };
    markerTs = async (from) => seenTs.filter((t) => t >= from);
    stop = () => c.endAsync();
  } else {
    const { startIngest } = await import('../ingest/index');
    let store;
    if (args.store === 'duckdb') {
      const { openDuckDbStore } = await import('../store/duckdb/index');
      store = await openDuckDbStore({ file: path.join(args.dir!, 'telemetry.duckdb'), log });
    } else {
      const { openInfluxStore } = await import('../store/influx/index');
      store = await openInfluxStore({ url: args.influxUrl!, bucket: args.db!, api: 'v1', spillDir: path.join(args.dir!, 'spill'), log });
    }
    await store.init();
    // time spent inside store.writeBatch (ingest writes one batch at a time): how busy the write path is
    const origWrite = store.writeBatch.bind(store);
    store.writeBatch = async (records) => {
      const t0 = performance.now();
      try {
        return await origWrite(records);
      } finally {
        writeStats.ms += performance.now() - t0;
        writeStats.calls++;
        writeStats.points += records.length;
      }
    };
    const ingestOpts = {
      registry: new RegistryView(args.registry!),
      store,
      mqttUrl: args.mqttUrl!,
      username: 'ingest',
      password: TEST_PASSWORD('ingest'),
      ...(args.maxInFlight ? { maxInFlight: Number(args.maxInFlight) } : {}),
      log,
    };
    let ingest = await startIngest(ingestOpts);
    // loss or lateness? a fresh connection on the same session makes the broker resend what it still holds for ingest
    reconnect = async () => {
      await ingest.stop();
      ingest = await startIngest(ingestOpts);
    };
    const far = () => Date.now() + 600_000;
    getCounters = () => ({ ...writeStats, inFlight: ingest.counters().inFlight, received: ingest.counters().received });
    count = (from) => store.count({ stream: 'gps', from, to: far() });
    keys = async (from, devices) => {
      const n = new Map<string, number>();
      for (const d of devices) for (const p of await store.track({ deviceId: d, from, to: far() })) n.set(`${d}|${p.ts}`, (n.get(`${d}|${p.ts}`) ?? 0) + 1);
      return [...n];
    };
    markerTs = async (from) => (await store.track({ deviceId: MARKER, from, to: far() })).map((p) => p.ts);
    stop = async () => {
      await ingest.stop();
      await store.close();
    };
  }
  let watch: MarkerWatch | null = null;
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- a bench harness: a rejection should end it (unhandled rejection)
  process.on('message', async (m: Req) => {
    try {
      if (m.cmd === 'count') process.send!({ id: m.id, value: await count(m.from) });
      else if (m.cmd === 'keys') process.send!({ id: m.id, value: await keys(m.from, m.devices) });
      else if (m.cmd === 'counters') process.send!({ id: m.id, value: getCounters() });
      else if (m.cmd === 'reconnect') {
        await reconnect?.();
        process.send!({ id: m.id, value: !!reconnect });
      }
      else if (m.cmd === 'watch') {
        watch = watchMarker(() => markerTs(m.from));
        process.send!({ id: m.id, ok: true });
      } else if (m.cmd === 'unwatch') {
        process.send!({ id: m.id, value: watch?.stop() ?? [] });
        watch = null;
      } else if (m.cmd === 'stop') {
        watch?.stop();
        await stop();
        process.send!({ id: m.id, ok: true }, () => process.exit(0));
      }
    } catch (err) {
      process.send!({ id: m.id, error: String(err) });
    }
  });
  process.send!({ ready: true });
}

// ═════════════════════════════════ parent: orchestration ═════════════════════════════════
interface Child {
  proc: ChildProcess;
  port?: number;
  call<T>(cmd: Cmd): Promise<T>;
  stop(): Promise<void>;
}

function startChild(role: string, args: Record<string, string>): Promise<Child> {
  const argv = ['--role', role, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, v])];
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each server process (broker, ingest, subscriber), written when it exits
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.BENCH_CPU_PROF, role)}`] : [];
  const proc = fork(self, argv, { execArgv: ['--import', 'tsx', ...prof], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  keepStderr(proc);
  liveChildren.add(proc);
  proc.once('exit', () => liveChildren.delete(proc));
  let seq = 0;
  const pending = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => {
      reject(new Error(`${role} exited ${code}`));
      for (const p of pending.values()) p.rej(new Error(`${role} exited ${code}`));
    });
    proc.on('message', (m: { ready?: boolean; port?: number; id?: number; value?: unknown; error?: string }) => {
      if (m.ready) {
        const child: Child = {
          proc,
          port: m.port,
          call: <T>(cmd: Cmd) =>
            new Promise<T>((res, rej) => {
              const id = ++seq;
              pending.set(id, { res: res as (v: unknown) => void, rej });
              proc.send({ ...cmd, id });
            }),
          async stop() {
            if (proc.exitCode !== null) return;
            const exited = new Promise((r) => proc.once('exit', r));
            const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
            await Promise.race([child.call({ cmd: 'stop' }).catch(() => {}), exited]);
            await exited;
            clearTimeout(t);
          },
        };
        resolve(child);
        return;
      }
      const p = m.id !== undefined ? pending.get(m.id) : undefined;
      if (!p) return;
      pending.delete(m.id!);
      if (m.error) p.rej(new Error(m.error));
      else p.res(m.value);
    });
  });
}

// ── load generator (this process) ──────────────────────────────────────────────────────────
class Generator {
  clients: MqttClient[] = [];
  topics: string[] = [];
  lastTs: number[] = [];
  marker!: MqttClient;
  published = 0;
  acked = 0;
  failed = 0;
  next = 0;
  /** every publish by message id (`deviceId|ts`): true once acknowledged, false if its publish failed */
  outcome = new Map<string, boolean>();

  constructor(readonly ids: string[]) {}

  async connect(port: number): Promise<number> {
    const t0 = performance.now();
    const url = `mqtt://127.0.0.1:${port}`;
    const one = (id: string) =>
      new Promise<MqttClient>((res, rej) => {
        const c = mqtt.connect(url, { username: id, password: TEST_PASSWORD(id), clientId: id, reconnectPeriod: 0, keepalive: 120, connectTimeout: 60_000 });
        c.once('connect', () => res(c));
        c.once('error', rej);
      });
    for (let i = 0; i < this.ids.length; i += 50) this.clients.push(...(await Promise.all(this.ids.slice(i, i + 50).map(one))));
    this.topics = this.ids.map((id) => deviceTopic('truck', id, 'gps'));
    this.lastTs = this.ids.map(() => 0);
    this.marker = await one(MARKER);
    return performance.now() - t0;
  }

  private publishOne(i: number, ts: number): void {
    const payload = `{"ts":${ts},"lat":${(18.13 + (i % 100) * 0.0003).toFixed(5)},"lon":${(-94.45 + (ts % 1000) * 0.00001).toFixed(5)},"speedKmh":${(ts % 60) + 0.5},"heading":${ts % 360},"hdop":0.9,"sats":9}`;
    this.published++;
    const key = `${this.ids[i]}|${ts}`;
    this.clients[i]!.publish(this.topics[i]!, payload, { qos: 1 }, (err) => (this.outcome.set(key, !err), err ? this.failed++ : this.acked++));
  }

  /** Offer `rate` msg/s for `windowMs`; returns what was published and the marker timestamps. */
  async run(rate: number, windowMs: number): Promise<{ published: number; markers: number[]; publishMs: number }> {
    const p0 = this.published;
    const maxInflight = Math.max(5_000, rate); // one second of load un-acknowledged at most
    const markers: number[] = [];
    const markerTimer = setInterval(() => {
      const ts = Date.now();
      markers.push(ts);
      this.published++;
      this.marker.publish(deviceTopic('truck', MARKER, 'gps'), JSON.stringify({ ts, lat: 18.13, lon: -94.45, speedKmh: 1, heading: 0 }), { qos: 1 }, (err) => (this.outcome.set(`${MARKER}|${ts}`, !err), err ? this.failed++ : this.acked++));
    }, 100);
    const t0 = performance.now();
    let sent = 0;
    for (;;) {
      const el = performance.now() - t0;
      if (el >= windowMs) break;
      const target = Math.floor((rate * el) / 1000);
      while (sent < target && this.published - this.acked - this.failed < maxInflight) {
        const i = this.next++ % this.clients.length;
        const ts = Math.max(Date.now(), this.lastTs[i]! + 1);
        this.lastTs[i] = ts;
        this.publishOne(i, ts);
        sent++;
        if (sent % 200 === 0) break;
      }
      await new Promise((r) => setImmediate(r));
      if (sent >= target) await sleep(2);
    }
    clearInterval(markerTimer);
    return { published: this.published - p0, markers, publishMs: performance.now() - t0 };
  }

  async settle(timeoutMs = 20_000): Promise<boolean> {
    try {
      await waitFor(() => this.acked + this.failed >= this.published, timeoutMs, 20, 'acks');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients, this.marker].filter(Boolean).map((c) => c.endAsync(true).catch(() => {})));
  }
}

// ── sinks: what counts the points that landed ──────────────────────────────────────────────
interface WriteCounters {
  ms: number;
  calls: number;
  points: number;
}
interface Sink {
  count(from: number): Promise<number>;
  /** stored message ids at or after `from` with their row counts (the reconciliation per message id) */
  keys(from: number, devices: string[]): Promise<[string, number][]>;
  /** ingest only: time spent in store.writeBatch so far */
  counters?(): Promise<WriteCounters>;
  watch(from: number): Promise<void>;
  unwatch(): Promise<[number, number][]>;
  /** ingest only: reconnect on the same session (the broker resends what it still holds); false if not supported */
  reconnect?(): Promise<boolean>;
}
const childSink = (c: Child): Sink => ({
  count: (from) => c.call<number>({ cmd: 'count', from }),
  keys: (from, devices) => c.call<[string, number][]>({ cmd: 'keys', from, devices }),
  counters: () => c.call<WriteCounters>({ cmd: 'counters' }),
  watch: async (from) => void (await c.call({ cmd: 'watch', from })),
  unwatch: () => c.call<[number, number][]>({ cmd: 'unwatch' }),
  reconnect: () => c.call<boolean>({ cmd: 'reconnect' }),
});

async function influxQuery(url: string, db: string, q: string): Promise<{ results: { series?: { values: unknown[][] }[]; error?: string }[] }> {
  const res = await fetch(`${url}/query?db=${encodeURIComponent(db)}&epoch=ms&q=${encodeURIComponent(q)}`, { method: 'POST' });
  return (await res.json()) as { results: { series?: { values: unknown[][] }[] }[] };
}
/** Counts in the Node-RED flow's database, polled from here (the flow has no API of its own). */
function influxSink(url: string, db: string): Sink {
  let watch: MarkerWatch | null = null;
  return {
    async count(from) {
      const r = await influxQuery(url, db, `SELECT count(lat) FROM gps WHERE time >= ${from}ms`);
      return Number(r.results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
    },
    async keys(from) {
      // the flow writes deviceId as a tag: one series per device, a point per (device, time)
      const r = (await influxQuery(url, db, `SELECT lat FROM gps WHERE time >= ${from}ms GROUP BY "deviceId"`)) as unknown as { results: { series?: { tags: { deviceId: string }; values: [number, unknown][] }[] }[] };
      const n = new Map<string, number>();
      for (const s of r.results[0]?.series ?? []) for (const [t] of s.values) n.set(`${s.tags.deviceId}|${t}`, (n.get(`${s.tags.deviceId}|${t}`) ?? 0) + 1);
      return [...n];
    },
    async watch(from) {
      watch = watchMarker(async () => {
        const r = await influxQuery(url, db, `SELECT lat FROM gps WHERE "deviceId" = '${MARKER}' AND time >= ${from}ms`);
        return (r.results[0]?.series?.[0]?.values ?? []).map((v) => Number(v[0]));
      });
    },
    async unwatch() {
      const v = watch?.stop() ?? [];
      watch = null;
      return v;
    },
  };
}

// ── Node-RED as a child process ────────────────────────────────────────────────────────────
async function startNodeRed(mqttPort: number, influxUrl: string, db: string): Promise<{ proc: ChildProcess; stop(): Promise<void> }> {
  const dir = tempDir('bench-nodered-');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(path.resolve('node_modules/node-red-contrib-influxdb'), path.join(dir, 'node_modules/node-red-contrib-influxdb'));
  const u = new URL(influxUrl);
  const fn = `const p = msg.payload; msg.payload = [{ lat: p.lat, lon: p.lon, speedKmh: p.speedKmh, heading: p.heading, time: p.ts }, { deviceId: msg.topic.split('/')[3] }]; return msg;`;
  const flows = [
    { id: 'tab1', type: 'tab', label: 'bench' },
    { id: 'broker1', type: 'mqtt-broker', name: 'city', broker: '127.0.0.1', port: String(mqttPort), clientid: 'bench-nodered', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'in1', type: 'mqtt in', z: 'tab1', name: '', topic: 'city/v1/truck/+/gps', qos: '1', datatype: 'json', broker: 'broker1', nl: false, rap: true, rh: 0, inputs: 0, x: 100, y: 100, wires: [['fn1']] },
    { id: 'fn1', type: 'function', z: 'tab1', name: 'tags+time', func: fn, outputs: 1, x: 300, y: 100, wires: [['out1']] },
    { id: 'influx1', type: 'influxdb', hostname: u.hostname, port: u.port, protocol: 'http', database: db, name: 'influx', usetls: false, influxdbVersion: '1.x' },
    { id: 'out1', type: 'influxdb out', z: 'tab1', influxdb: 'influx1', name: '', measurement: 'gps', precision: 'ms', retentionPolicy: '', database: db, x: 500, y: 100, wires: [] },
  ];
  fs.writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(flows));
  fs.writeFileSync(path.join(dir, 'flows_cred.json'), JSON.stringify({ broker1: { user: 'admin', password: TEST_PASSWORD('admin') } }));
  fs.writeFileSync(
    path.join(dir, 'settings.js'),
    `module.exports = { uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false, logging: { console: { level: 'warn' } }, editorTheme: { tours: false }, externalModules: { autoInstall: false } };\n`,
  );
  const port = await freePort();
  const proc: ChildProcess = spawn(process.execPath, [path.resolve('node_modules/node-red/red.js'), '--userDir', dir, '--settings', path.join(dir, 'settings.js'), '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(proc);
  proc.once('exit', () => liveChildren.delete(proc));
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
  proc.stderr!.on('data', (b: Buffer) => {
    out = (out + b.toString()).slice(-4000);
    stderrTails.set(proc, out);
  });
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`node-red exited: ${out}`);
    const r = await fetch(`http://127.0.0.1:${port}/flows`).catch(() => null);
    return r?.ok;
  }, 60_000, 200, 'node-red');
  return {
    proc,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ── reconciliation per message id ─────────────────────────────────────────────────────────
interface Reconciliation {
  /** acknowledged to the device (PUBACK received) */
  acked: number;
  /** acknowledged and not in the sink: lost */
  ackedMissing: number;
  missingSample: string[];
  /** the publish reported an error (no PUBACK) yet the message is stored: at-least-once, not loss */
  failedButStored: number;
  /** in the sink with no publish of this step behind it */
  storedUnknown: number;
  /** message ids stored (or, for the plain subscriber, delivered) more than once */
  duplicateIds: number;
  /**
   * exact: every acknowledged id stored once, totals agree; counting artefact: every acknowledged id
   * is stored but the totals (acks counted vs store count) disagree; loss: an acknowledged id is missing
   */
  verdict: 'exact' | 'counting artefact' | 'loss';
}

async function reconcileById(gen: Generator, sink: Sink, from: number, countAcked: number, countStored: number): Promise<Reconciliation> {
  const stored = new Map(await sink.keys(from, [...gen.ids, MARKER]));
  let acked = 0;
  let failedButStored = 0;
  const missing: string[] = [];
  for (const [k, ok] of gen.outcome) {
    if (ok) {
      acked++;
      if (!stored.has(k)) missing.push(k);
    } else if (stored.has(k)) failedButStored++;
  }
  let storedUnknown = 0;
  let duplicateIds = 0;
  for (const [k, n] of stored) {
    if (!gen.outcome.has(k)) storedUnknown++;
    if (n > 1) duplicateIds++;
  }
  let rows = 0;
  for (const n of stored.values()) rows += n;
  // totals: acks counted since the step began (late acks of an earlier step included) vs the store's count
  const verdict = missing.length > 0 ? 'loss' : countAcked !== acked || countStored !== rows || countStored !== countAcked ? 'counting artefact' : 'exact';
  return { acked, ackedMissing: missing.length, missingSample: missing.slice(0, 5), failedButStored, storedUnknown, duplicateIds, verdict };
}

// ── one step ───────────────────────────────────────────────────────────────────────────────
interface StepResult {
  offered: number;
  /** acknowledged but not stored at the drain deadline; of those, found after ingest reconnected (late, not lost) */
  missingAfterDrain: number;
  recoveredByReconnect: number;
  publishedRate: number;
  acked: number;
  stored: number;
  loss: number;
  behindAtEnd: number;
  drainMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  markersMissing: number;
  /** the same step counted per message id (deviceId|ts), not by totals */
  reconcile: Reconciliation;
  /** ingest: share of the window spent inside store.writeBatch (one write at a time), and mean batch */
  storeWriteBusyPct?: number;
  meanBatch?: number;
  cpuPct: Record<string, number>;
  rssMB: Record<string, number>;
  pass: boolean;
  why: string;
  crashed?: string;
}

async function step(gen: Generator, sink: Sink, pids: Record<string, number>, rate: number, windowMs: number, drainLimitMs: number): Promise<StepResult> {
  const from = Date.now();
  const a0 = gen.acked;
  gen.outcome.clear(); // every earlier publish has settled (or timed out): this step's message ids only
  const before: Record<string, ProcSample | null> = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, procSample(p)]));
  await sink.watch(from);
  const w0 = await sink.counters?.();
  const { published, markers, publishMs } = await gen.run(rate, windowMs);
  const w1 = await sink.counters?.();
  const after: Record<string, ProcSample | null> = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, procSample(p)]));
  const tEnd = performance.now();
  const settled = await gen.settle();
  const acked = gen.acked - a0;
  const atEnd = await sink.count(from);
  const behindAtEnd = Math.max(0, acked - atEnd);
  let stored = atEnd;
  let drainMs = 0;
  const drainDeadline = Date.now() + Math.max(drainLimitMs * 4, 15_000);
  while (stored < acked && Date.now() < drainDeadline) {
    await sleep(200);
    stored = await sink.count(from);
  }
  drainMs = stored >= acked ? performance.now() - tEnd : NaN;
  // acknowledged but not stored after the drain deadline: lost, or held back somewhere? Reconnect
  // ingest on its session (the broker resends its queue) and count again: what appears was late
  // (undelivered in the broker's session), what does not is lost.
  let missingAfterDrain = 0;
  let recoveredByReconnect = 0;
  if (stored < acked && sink.reconnect) {
    missingAfterDrain = acked - stored;
    if (await sink.reconnect().catch(() => false)) {
      const deadline = Date.now() + 15_000;
      while (stored < acked && Date.now() < deadline) {
        await sleep(250);
        stored = await sink.count(from);
      }
      recoveredByReconnect = stored - (acked - missingAfterDrain);
    }
  }
  const reconcile = await reconcileById(gen, sink, from, acked, stored);
  await sleep(300);
  const seen = await sink.unwatch();
  const lat = seen.map(([ts, at]) => at - ts);
  const seenSet = new Set(seen.map(([ts]) => ts));
  const markersMissing = markers.filter((t) => !seenSet.has(t)).length;
  const cpuPct: Record<string, number> = {};
  const rssMB: Record<string, number> = {};
  for (const k of Object.keys(pids)) {
    const d = procDelta(before[k]!, after[k]!);
    cpuPct[k] = round(d.cpuPct);
    rssMB[k] = round(d.rssMB);
  }
  const publishedRate = published / (publishMs / 1000);
  const loss = acked - stored;
  let why = '';
  if (publishedRate < 0.97 * rate) why = `generator reached only ${Math.round(publishedRate)} msg/s (the in-flight cap of unacknowledged publishes was hit, or the generator was short of CPU)`;
  else if (!settled) why = 'publishes not acknowledged within 20 s';
  else if (reconcile.ackedMissing > 0)
    why = `${reconcile.ackedMissing} acknowledged message ids not in the sink (per-id reconciliation: lost${missingAfterDrain > 0 ? `; ${recoveredByReconnect} more appeared only after ingest reconnected on its session` : ''}; e.g. ${reconcile.missingSample.join(', ')})`;
  else if (missingAfterDrain > 0)
    why = `${missingAfterDrain} acknowledged messages not in the sink ${Math.round(Math.max(drainLimitMs * 4, 15_000) / 1000)} s after the window; all appeared after ingest reconnected on its session (late: held undelivered in the broker's session, not lost)`;
  else if (!(drainMs <= drainLimitMs)) why = `behind by ${behindAtEnd} at window end, caught up after ${Math.round(drainMs)} ms`;
  return {
    offered: rate,
    publishedRate: round(publishedRate),
    acked,
    stored,
    loss,
    missingAfterDrain,
    recoveredByReconnect,
    behindAtEnd,
    drainMs: round(drainMs),
    latencyP50Ms: round(percentile(lat, 50)),
    latencyP99Ms: round(percentile(lat, 99)),
    markersMissing,
    reconcile,
    ...(w0 && w1
      ? { storeWriteBusyPct: round((100 * (w1.ms - w0.ms)) / publishMs), meanBatch: round((w1.points - w0.points) / Math.max(1, w1.calls - w0.calls)) }
      : {}),
    cpuPct,
    rssMB,
    pass: why === '',
    why,
  };
}

type Config = 'broker-alone' | 'duckdb' | 'influx' | 'node-red';

interface RoundResult {
  sustained: number;
  sustainedStep: StepResult | null;
  at80: StepResult | null;
  steps: StepResult[];
  /** server processes that died during the round (with the step's rate) */
  crashes: string[];
}

interface Env {
  broker: Child;
  sinkChild: Child | null;
  nodeRed: Awaited<ReturnType<typeof startNodeRed>> | null;
  sink: Sink;
  pids: Record<string, number>;
  gen: Generator;
}

const errorLine = (tail: string) => {
  const lines = tail.split('\n').map((l) => l.trim());
  const i = lines.findIndex((l) => /^\w*Error\b|Error:/.test(l));
  return i < 0 ? (lines.filter(Boolean).slice(-1)[0] ?? '') : lines.slice(i, i + 3).join(' | ').slice(0, 300);
};

/** The name and stderr tail of a server process that died during the run, if any. */
function crashed(env: Env): string | null {
  for (const [name, c] of [['broker', env.broker.proc], ['ingest/subscriber', env.sinkChild?.proc], ['node-red', env.nodeRed?.proc]] as const) {
    if (c && c.exitCode !== null) return `${name} process died (exit ${c.exitCode}): ${errorLine(stderrTails.get(c) ?? '')}`;
  }
  return null;
}

async function runConfig(cfg: Config, o: Opts, registry: string, influx: Influxd, roundNo: number, startRate: number): Promise<RoundResult> {
  const dir = tempDir(`bench-pipe-${cfg}-`);
  const db = `bench_${cfg.replace('-', '_')}_r${roundNo}`;
  const influxPid = findPid(influx.dir);
  if (cfg === 'node-red') await influxQuery(influx.url, db, `CREATE DATABASE ${db}`);
  const setup = async (): Promise<Env> => {
    const brokerDir = tempDir(`bench-pipe-broker-`);
    brokerDirs.push(brokerDir);
    const broker = await startChild('broker', { registry, persistence: o.persistence, dir: brokerDir });
    const mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
    const env: Env = { broker, sinkChild: null, nodeRed: null, sink: null as unknown as Sink, pids: { broker: broker.proc.pid!, generator: process.pid }, gen: null as unknown as Generator };
    if (cfg === 'broker-alone') {
      env.sinkChild = await startChild('subscriber', { mqttUrl, persistence: o.persistence });
      env.pids.subscriber = env.sinkChild.proc.pid!;
      env.sink = childSink(env.sinkChild);
    } else if (cfg === 'node-red') {
      env.nodeRed = await startNodeRed(broker.port!, influx.url, db);
      env.pids.nodeRed = env.nodeRed.proc.pid!;
      if (influxPid) env.pids.influxd = influxPid;
      env.sink = influxSink(influx.url, db);
    } else {
      env.sinkChild = await startChild('ingest', { registry, mqttUrl, store: cfg, dir, influxUrl: influx.url, db, ...(o.maxInFlight ? { maxInFlight: String(o.maxInFlight) } : {}) });
      env.pids.ingest = env.sinkChild.proc.pid!;
      if (cfg === 'influx' && influxPid) env.pids.influxd = influxPid;
      env.sink = childSink(env.sinkChild);
    }
    env.gen = new Generator(Array.from({ length: o.devices }, (_, i) => `load-${String(i + 1).padStart(5, '0')}`));
    const connectMs = await env.gen.connect(broker.port!);
    console.log(`  [${cfg} r${roundNo}] ${o.devices + 1} publishers connected in ${Math.round(connectMs)} ms`);
    await sleep(1000);
    return env;
  };
  const teardown = async (env: Env | null) => {
    if (!env) return;
    await env.gen?.close().catch(() => {});
    await env.sinkChild?.stop().catch(() => {});
    await env.nodeRed?.stop().catch(() => {});
    await env.broker.stop().catch(() => {});
  };
  let env: Env | null = null;
  const crashes: string[] = [];
  const run = async (rate: number): Promise<StepResult> => {
    const s = await step(env!.gen, env!.sink, env!.pids, rate, o.windowMs, o.drainLimitMs);
    const c = crashed(env!);
    if (c) {
      s.pass = false;
      s.why = `${c}${s.loss > 0 ? `; ${s.loss} acknowledged messages lost` : ''}`;
      s.crashed = c;
      crashes.push(`at ${rate} msg/s: ${c}`);
    }
    return s;
  };
  try {
    env = await setup();
    const steps: StepResult[] = [];
    let rate = startRate;
    let best: StepResult | null = null;
    for (;;) {
      const s = await run(rate);
      steps.push(s);
      if (!s.pass && !best && !s.crashed && rate / 2 >= o.minRate) {
        // the first step already failed: step down until one passes
        console.log(`  [${cfg} r${roundNo}] offered ${rate} msg/s → FAIL (${s.why}); stepping down`);
        rate = Math.round(rate / 2);
        await sleep(3000);
        continue;
      }
      console.log(
        `  [${cfg} r${roundNo}] offered ${rate} msg/s → ${s.pass ? 'ok  ' : 'FAIL'} published ${Math.round(s.publishedRate)}/s, acked ${s.acked}, stored ${s.stored}, loss ${s.loss} (per id: ${s.reconcile.verdict}, ${s.reconcile.ackedMissing} missing, ${s.reconcile.duplicateIds} dup), drain ${s.drainMs} ms, p50/p99 ${s.latencyP50Ms}/${s.latencyP99Ms} ms, cpu ${JSON.stringify(s.cpuPct)}${s.storeWriteBusyPct !== undefined ? `, store write busy ${s.storeWriteBusyPct} % (mean batch ${s.meanBatch})` : ''} ${s.why}`,
      );
      if (!s.pass) break;
      best = s;
      rate = Math.round(rate * 1.5);
      if (rate > o.maxRate) break;
      await sleep(1500);
    }
    const fresh = async () => {
      if (crashed(env!)) {
        await teardown(env);
        env = null;
        env = await setup();
      } else await sleep(3000);
    };
    // one bisection step between the last pass and the first fail
    const last = steps[steps.length - 1]!;
    if (best && !last.pass) {
      const mid = Math.round(Math.sqrt(best.offered * last.offered));
      await fresh();
      const s = await run(mid);
      steps.push(s);
      console.log(`  [${cfg} r${roundNo}] bisect ${mid} msg/s → ${s.pass ? 'ok' : 'FAIL'} loss ${s.loss} (per id: ${s.reconcile.verdict}, ${s.reconcile.ackedMissing} missing), drain ${s.drainMs} ms ${s.why}`);
      if (s.pass) best = s;
    }
    let at80: StepResult | null = null;
    if (best) {
      await fresh();
      at80 = await run(Math.round(0.8 * best.offered));
      console.log(`  [${cfg} r${roundNo}] 80 % = ${at80.offered} msg/s → latency p50 ${at80.latencyP50Ms} ms, p99 ${at80.latencyP99Ms} ms, loss ${at80.loss} (per id: ${at80.reconcile.verdict}, ${at80.reconcile.ackedMissing} missing) ${at80.why}`);
    }
    return { sustained: best?.offered ?? 0, sustainedStep: best, at80, steps, crashes };
  } finally {
    await teardown(env);
    if (cfg !== 'broker-alone' && cfg !== 'duckdb') await influxQuery(influx.url, db, `DROP DATABASE ${db}`).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** InfluxDB's own write ceiling: 2 writers, 5,000-point batches of line protocol, for `ms`. */
async function influxCeiling(influx: Influxd, ms: number, roundNo: number): Promise<{ pointsPerS: number; influxCpuPct: number; influxRssMB: number }> {
  const db = `bench_ceiling_r${roundNo}`;
  await influxQuery(influx.url, db, `CREATE DATABASE ${db}`);
  const pid = findPid(influx.dir);
  let ts = Date.now() - 3_600_000;
  const batch = () => {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const dev = `load-${String((i % 1000) + 1).padStart(5, '0')}`;
      ts++;
      lines.push(`gps,deviceId=${dev},kind=truck,district=Centro lat=${18.13 + (i % 100) * 0.0003},lon=${-94.45 + (ts % 1000) * 0.00001},speedKmh=${ts % 60},heading=${ts % 360}i ${ts}`);
    }
    return lines.join('\n');
  };
  let points = 0;
  const s0 = pid ? procSample(pid) : null;
  const t0 = performance.now();
  const writer = async () => {
    while (performance.now() - t0 < ms) {
      const body = batch();
      const r = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body });
      await r.arrayBuffer();
      if (r.status !== 204) throw new Error(`influx /write ${r.status}`);
      points += 5000;
    }
  };
  await Promise.all([writer(), writer()]);
  const el = (performance.now() - t0) / 1000;
  const d = procDelta(s0, pid ? procSample(pid) : null);
  const r = await influxQuery(influx.url, db, `SELECT count(lat) FROM gps`);
  const stored = Number(r.results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
  if (stored !== points) console.log(`  [influx-ceiling] WARNING wrote ${points}, counted ${stored}`);
  await influxQuery(influx.url, db, `DROP DATABASE ${db}`);
  return { pointsPerS: points / el, influxCpuPct: round(d.cpuPct), influxRssMB: round(d.rssMB) };
}

interface Opts {
  rounds: number;
  windowMs: number;
  devices: number;
  drainLimitMs: number;
  maxRate: number;
  minRate: number;
  only: Config[];
  persistence: 'level' | 'memory';
  maxInFlight: number | null;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const o: Opts = {
    rounds: Number(a.rounds ?? 3),
    windowMs: Number(a.window ?? 10) * 1000,
    devices: Number(a.devices ?? 500),
    drainLimitMs: 2000,
    maxRate: Number(a.maxRate ?? 80_000),
    minRate: 30,
    only: (a.only ? a.only.split(',') : ['broker-alone', 'duckdb', 'influx', 'node-red']) as Config[],
    persistence: a.persistence === 'memory' ? 'memory' : 'level',
    maxInFlight: a['max-in-flight'] ? Number(a['max-in-flight']) : null,
  };
  const startRates: Record<Config, number> = { 'broker-alone': 250, duckdb: 250, influx: 250, 'node-red': 125 };
  console.log(`pipeline bench: ${o.rounds} rounds, ${o.windowMs / 1000} s windows, ${o.devices} publishers + 1 marker, QoS 1, broker persistence ${o.persistence}${o.maxInFlight ? `, ingest in-flight window ${o.maxInFlight}` : ''}; machine ${JSON.stringify(machine())}`);
  const loadavgAtStart = machine().loadavg;
  const regDir = tempDir('bench-pipe-reg-');
  const registry = path.join(regDir, 'registry.json');
  writeBenchRegistry(registry, [...loadTrucks(o.devices), ...loadTrucks(1, 'marker')]);
  const influx = await startInfluxd();
  const onSignal = () => {
    for (const c of liveChildren) c.kill('SIGKILL');
    void influx.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: Record<string, RoundResult[]> = {};
  const ceiling: { pointsPerS: number; influxCpuPct: number; influxRssMB: number }[] = [];
  try {
    for (let r = 1; r <= o.rounds; r++) {
      console.log(`round ${r}`);
      ceiling.push(await influxCeiling(influx, o.windowMs, r));
      console.log(`  [influx-ceiling r${r}] ${Math.round(ceiling[r - 1]!.pointsPerS)} points/s, influxd CPU ${ceiling[r - 1]!.influxCpuPct} %`);
      for (const cfg of o.only) {
        const prev = results[cfg]?.[0]?.sustained;
        const start = prev ? Math.max(startRates[cfg], Math.round(prev / 2.25)) : startRates[cfg];
        (results[cfg] ??= []).push(await runConfig(cfg, o, registry, influx, r, start));
      }
    }
  } finally {
    await influx.stop();
    fs.rmSync(regDir, { recursive: true, force: true });
    for (const d of brokerDirs) fs.rmSync(d, { recursive: true, force: true });
  }

  // ── summary ──────────────────────────────────────────────────────────────────────────────
  const sus = (cfg: Config) => spread((results[cfg] ?? []).map((x) => x.sustained));
  const ratios = (cfg: Config, base: Config) =>
    spread((results[cfg] ?? []).map((x, i) => (results[base]?.[i]?.sustained ? x.sustained / results[base]![i]!.sustained : NaN)));
  const lat = (cfg: Config, k: 'latencyP50Ms' | 'latencyP99Ms') => spread((results[cfg] ?? []).map((x) => x.at80?.[k] ?? NaN));
  const cpu = (cfg: Config) => {
    const keys = new Set((results[cfg] ?? []).flatMap((x) => Object.keys(x.sustainedStep?.cpuPct ?? {})));
    return [...keys].map((k) => `${k} ${round(spread((results[cfg] ?? []).map((x) => x.sustainedStep?.cpuPct[k] ?? NaN)).median)} %/${round(spread((results[cfg] ?? []).map((x) => x.sustainedStep?.rssMB[k] ?? NaN)).median)} MB`).join(', ');
  };
  const summary: Record<string, unknown> = {
    influxCeiling: { pointsPerS: spread(ceiling.map((c) => c.pointsPerS)), influxCpuPct: spread(ceiling.map((c) => c.influxCpuPct)), influxRssMB: spread(ceiling.map((c) => c.influxRssMB)) },
  };
  const rows: (string | number)[][] = [['configuration', 'sustained msg/s, zero loss: median (min–max)', 'vs broker-alone', 'vs Node-RED', 'p50 / p99 latency at 80 % (ms)', 'CPU / RSS per process at the sustained step']];
  for (const cfg of o.only) {
    summary[cfg] = {
      sustained: sus(cfg),
      vsBrokerAlone: ratios(cfg, 'broker-alone'),
      vsNodeRed: ratios(cfg, 'node-red'),
      latencyAt80: { p50: lat(cfg, 'latencyP50Ms'), p99: lat(cfg, 'latencyP99Ms') },
      cpuPctAtSustained: Object.fromEntries(
        [...new Set((results[cfg] ?? []).flatMap((x) => Object.keys(x.sustainedStep?.cpuPct ?? {})))].map((k) => [k, spread((results[cfg] ?? []).map((x) => x.sustainedStep?.cpuPct[k] ?? NaN))]),
      ),
      rssMBAtSustained: Object.fromEntries(
        [...new Set((results[cfg] ?? []).flatMap((x) => Object.keys(x.sustainedStep?.rssMB ?? {})))].map((k) => [k, spread((results[cfg] ?? []).map((x) => x.sustainedStep?.rssMB[k] ?? NaN))]),
      ),
      crashes: (results[cfg] ?? []).flatMap((x, i) => x.crashes.map((c) => `round ${i + 1} ${c}`)),
      storeWriteBusyPctAtSustained: spread((results[cfg] ?? []).map((x) => x.sustainedStep?.storeWriteBusyPct ?? NaN)),
      storeWriteBusyPctAtFirstFail: spread((results[cfg] ?? []).map((x) => x.steps.find((st) => !st.pass)?.storeWriteBusyPct ?? NaN)),
    };
    rows.push([cfg, fmtSpread(sus(cfg)), fmtSpread(ratios(cfg, 'broker-alone'), 2, '×'), fmtSpread(ratios(cfg, 'node-red'), 1, '×'), `${fmtSpread(lat(cfg, 'latencyP50Ms'))} / ${fmtSpread(lat(cfg, 'latencyP99Ms'))}`, cpu(cfg)]);
  }
  rows.push(['influx-ceiling (points/s)', fmtSpread(spread(ceiling.map((c) => c.pointsPerS))), '', '', '', `influxd ${round(spread(ceiling.map((c) => c.influxCpuPct)).median)} %`]);
  console.log('');
  printTable(rows);
  for (const cfg of o.only) for (const c of (summary[cfg] as { crashes: string[] }).crashes) console.log(`CRASH ${cfg}: ${c}`);
  const file = writeResult(a.out || 'pipeline', {
    options: { ...o, loadavgAtStart, note: `windows of ${o.windowMs / 1000} s per step (the issue asks 30 s; shortened to keep the run bounded)` },
    summary,
    rounds: results,
    influxCeilingRounds: ceiling,
  });
  console.log(`\nwritten ${file}`);
}

const argv = process.argv.slice(2);
if (argv[0] === '--role') {
  const a = parseArgs(argv.slice(2));
  childMain(argv[1]!, a).catch((e) => (console.error(e), process.exit(1)));
} else {
  main().then(
    () => process.exit(0),
    (e) => (console.error(e), process.exit(1)),
  );
}
