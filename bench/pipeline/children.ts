/**
 * The pipeline benchmark's child processes (forked through bench/harness.ts): the broker, and the
 * sinks — ingest with its store (duckdb or influx), or a plain QoS 1 subscriber (broker-alone).
 *
 *   npx tsx bench/pipeline/children.ts --role broker|ingest|subscriber --<key> <value> …
 */
import path from 'node:path';
import mqtt from 'mqtt';
import { deviceTopic, SUB_ALL_DEVICE_DATA } from '../../contract';
import { RegistryView } from '../../registry/registry';
import { createLogger } from '../../lib/log';
import { runChild, serveParent } from '../harness';
import { TEST_PASSWORD } from '../lib';
import { MARKER, watchMarker, type Cmd, type MarkerWatch } from './common';

async function childMain(role: string, args: Record<string, string>): Promise<void> {
  const log = createLogger(`bench-${role}`, 'error');
  if (role === 'broker') {
    const { startBroker } = await import('../../broker/index');
    const persistence = args.persistence === 'memory' ? { kind: 'memory' as const } : { kind: 'level' as const, dir: path.join(args.dir!, 'broker-sessions') };
    const b = await startBroker({ registry: new RegistryView(args.registry!), port: 0, log, persistence });
    serveParent(
      async (m) => {
        if (m.cmd === 'stop') await b.stop();
        return true;
      },
      { port: b.port },
    );
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
    const { startIngest } = await import('../../ingest/index');
    let store;
    if (args.store === 'duckdb') {
      const { openDuckDbStore } = await import('../../store/duckdb/index');
      store = await openDuckDbStore({ file: path.join(args.dir!, 'telemetry.duckdb'), log });
    } else {
      const { openInfluxStore } = await import('../../store/influx/index');
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
      ...(args.maxWrites ? { maxWrites: Number(args.maxWrites) } : {}),
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
  serveParent(async (c) => {
    const m = c as Cmd;
    if (m.cmd === 'count') return count(m.from);
    if (m.cmd === 'keys') return keys(m.from, m.devices);
    if (m.cmd === 'counters') return getCounters();
    if (m.cmd === 'reconnect') {
      await reconnect?.();
      return !!reconnect;
    }
    if (m.cmd === 'watch') {
      watch = watchMarker(() => markerTs(m.from));
      return true;
    }
    if (m.cmd === 'unwatch') {
      const v = watch?.stop() ?? [];
      watch = null;
      return v;
    }
    if (m.cmd === 'stop') {
      watch?.stop();
      await stop();
      return true;
    }
    return undefined;
  });
}

runChild(import.meta.url, childMain);
