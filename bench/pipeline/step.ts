/** One step of offered load, and its reconciliation per message id (deviceId|ts). */
import { percentile, procDelta, procSample, round, sleep, type ProcSample } from '../lib';
import { MARKER } from './common';
import type { Generator } from './generator';
import type { Sink } from './sinks';

// ── reconciliation per message id ─────────────────────────────────────────────────────────
export interface Reconciliation {
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

export async function reconcileById(gen: Generator, sink: Sink, from: number, countAcked: number, countStored: number): Promise<Reconciliation> {
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
export interface StepResult {
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

export async function step(gen: Generator, sink: Sink, pids: Record<string, number>, rate: number, windowMs: number, drainLimitMs: number): Promise<StepResult> {
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
    ...(w0 && w1 ? { storeWriteBusyPct: round((100 * (w1.ms - w0.ms)) / publishMs), meanBatch: round((w1.points - w0.points) / Math.max(1, w1.calls - w0.calls)) } : {}),
    cpuPct,
    rssMB,
    pass: why === '',
    why,
  };
}
