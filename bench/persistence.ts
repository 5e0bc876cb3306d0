/**
 * The broker's LevelDB session queue, O(1) per message: the cost of one message through ingest's
 * queue (enqueue at the back, deliver = `outgoingUpdate` and PUBACK = `outgoingClearMessageId` at
 * the front) with 1,000 vs 20,000 messages already queued — for the group-commit queue (the
 * default, batched-level-persistence.ts) and upstream's aedes-persistence-level 9.2.0, same disk,
 * same run, alternating rounds. Flat = the 20k/1k ratio stays near 1.
 *
 *   npm run bench:persistence -- [--rounds 3] [--n 3000] [--small 1000] [--large 20000]
 *
 * Writes bench/results/persistence.json.
 */
import { createRequire } from 'node:module';
import { BatchedLevelPersistence, type LevelDb } from '../broker/batched-level-persistence';
import { tempDir } from '../testing/net';
import { fmtSpread, machine, parseArgs, printTable, round, spread, writeResult } from './lib';

const require = createRequire(import.meta.url);
const { Level } = require('level') as { Level: new (dir: string) => LevelDb & { open(): Promise<void>; close(): Promise<void> } };
const UpstreamLevel = require('aedes-persistence-level/asyncPersistence.js') as new (db: object) => Queue;

interface Queue {
  setup(b: object): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], p: object): Promise<void>;
  outgoingUpdate(c: { id: string }, p: object): Promise<void>;
  outgoingClearMessageId(c: { id: string }, p: { messageId: number }): Promise<unknown>;
}

const args = parseArgs(process.argv.slice(2));
const rounds = Number(args.rounds ?? 3);
const n = Number(args.n ?? 3000);
const sizes = [Number(args.small ?? 1000), Number(args.large ?? 20000)] as const;
const GROUP = 500; // messages in flight at once (publishers awaiting their enqueue, ingest's window)
const broker = { id: 'bench-broker' };
const packet = (counter: number) => ({
  cmd: 'publish',
  topic: 'city/v1/truck/t1/gps',
  payload: Buffer.alloc(120, counter % 256),
  qos: 1,
  retain: false,
  dup: false,
  brokerId: broker.id,
  brokerCounter: counter,
});
const msgId = (i: number) => (i % 65000) + 1;

async function open(kind: 'batched' | 'upstream'): Promise<{ q: Queue; flush: () => Promise<void>; close: () => Promise<void> }> {
  const db = new Level(tempDir(`bench-persistence-${kind}-`));
  await db.open();
  const b = kind === 'batched' ? new BatchedLevelPersistence(db) : null;
  const q = (b ?? new UpstreamLevel(db)) as unknown as Queue;
  await q.setup(broker);
  return { q, flush: async () => b?.flush(), close: () => db.close() };
}

/** µs per message (enqueue + deliver + PUBACK) for `n` messages through a queue holding `queued` before them. */
async function costAt(kind: 'batched' | 'upstream', queued: number): Promise<number> {
  const { q, flush, close } = await open(kind);
  const client = { id: `ingest-${queued}` };
  const sub = [{ clientId: client.id }];
  try {
    for (let base = 1; base <= queued; base += GROUP) {
      await Promise.all(Array.from({ length: Math.min(GROUP, queued - base + 1) }, (_, i) => q.outgoingEnqueueCombi(sub, packet(base + i))));
    }
    await flush();
    const t0 = process.hrtime.bigint();
    // steady state: each group enqueued at the back while as many from the front are delivered and acknowledged
    for (let done = 0; done < n; done += GROUP) {
      const k = Math.min(GROUP, n - done);
      const front = Array.from({ length: k }, (_, i) => done + i + 1);
      await Promise.all(front.map((c) => q.outgoingEnqueueCombi(sub, packet(queued + c))));
      await Promise.all(front.map((c) => q.outgoingUpdate(client, { ...packet(c), messageId: msgId(c) })));
      await Promise.all(front.map((c) => q.outgoingClearMessageId(client, { messageId: msgId(c) })));
    }
    await flush();
    return Number(process.hrtime.bigint() - t0) / 1000 / n;
  } finally {
    await close();
  }
}

async function main() {
  const kinds = ['batched', 'upstream'] as const;
  const runs: Record<string, number[]> = {};
  for (const k of kinds) for (const s of sizes) runs[`${k}@${s}`] = [];
  await costAt('batched', 500); // warm-up
  await costAt('upstream', 500);
  for (let r = 0; r < rounds; r++) {
    for (const k of kinds) for (const s of sizes) runs[`${k}@${s}`]!.push(await costAt(k, s));
  }
  const rows: (string | number)[][] = [['queue', `µs/msg @${sizes[0]}`, `µs/msg @${sizes[1]}`, `ratio ${sizes[1] / 1000}k/${sizes[0] / 1000}k (per round)`]];
  const result: Record<string, unknown> = {};
  for (const k of kinds) {
    const a = runs[`${k}@${sizes[0]}`]!;
    const b = runs[`${k}@${sizes[1]}`]!;
    const ratio = spread(a.map((x, i) => b[i]! / x));
    rows.push([k, fmtSpread(spread(a), 1), fmtSpread(spread(b), 1), fmtSpread(ratio, 2, '×')]);
    result[k] = { small: spread(a), large: spread(b), ratioLargeToSmall: ratio };
  }
  const speedup = spread(runs[`upstream@${sizes[1]}`]!.map((u, i) => u / runs[`batched@${sizes[1]}`]![i]!));
  const m = machine();
  console.log(`LevelDB session queue, enqueue + deliver + PUBACK, ${n} messages × ${rounds} rounds, load average ${m.loadavg.join(' ')}`);
  printTable(rows);
  console.log(`group commits vs upstream @${sizes[1]}: ${fmtSpread(speedup, 2, '×')} cheaper per message`);
  const file = writeResult('persistence', {
    n,
    rounds,
    sizes,
    group: GROUP,
    ...result,
    batchedSpeedupAtLarge: speedup,
    unit: 'µs per message',
    ratios: { batched: round((result.batched as { ratioLargeToSmall: { median: number } }).ratioLargeToSmall.median, 2) },
  });
  console.log(`→ ${file}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
