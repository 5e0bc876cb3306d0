/** What counts the points that landed: a sink child (ingest, subscriber) or the Node-RED flow's database. */
import type { BenchChild } from '../harness';
import { MARKER, watchMarker, type Cmd, type MarkerWatch } from './common';

export interface WriteCounters {
  ms: number;
  calls: number;
  points: number;
}
export interface Sink {
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
export const childSink = (c: BenchChild): Sink => ({
  count: (from) => c.call<number>({ cmd: 'count', from } satisfies Cmd),
  keys: (from, devices) => c.call<[string, number][]>({ cmd: 'keys', from, devices }),
  counters: () => c.call<WriteCounters>({ cmd: 'counters' }),
  watch: async (from) => void (await c.call({ cmd: 'watch', from })),
  unwatch: () => c.call<[number, number][]>({ cmd: 'unwatch' }),
  reconnect: () => c.call<boolean>({ cmd: 'reconnect' }),
});

export async function influxQuery(url: string, db: string, q: string): Promise<{ results: { series?: { values: unknown[][] }[]; error?: string }[] }> {
  const res = await fetch(`${url}/query?db=${encodeURIComponent(db)}&epoch=ms&q=${encodeURIComponent(q)}`, { method: 'POST' });
  return (await res.json()) as { results: { series?: { values: unknown[][] }[] }[] };
}
/** Counts in the Node-RED flow's database, polled from here (the flow has no API of its own). */
export function influxSink(url: string, db: string): Sink {
  let watch: MarkerWatch | null = null;
  return {
    async count(from) {
      const r = await influxQuery(url, db, `SELECT count(lat) FROM gps WHERE time >= ${from}ms`);
      return Number(r.results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
    },
    async keys(from) {
      // the flow writes deviceId as a tag: one series per device, a point per (device, time)
      const r = (await influxQuery(url, db, `SELECT lat FROM gps WHERE time >= ${from}ms GROUP BY "deviceId"`)) as unknown as {
        results: { series?: { tags: { deviceId: string }; values: [number, unknown][] }[] }[];
      };
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
