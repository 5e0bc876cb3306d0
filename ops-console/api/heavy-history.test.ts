/**
 * The issue-14 attack on one event loop (issue 14, item 4): 16 parallel long series requests
 * (4 planners × 4, the per-user limit), each answering ~100,000 buckets from a real DuckDB file,
 * while a device publishes at QoS 1 to a broker IN THE SAME PROCESS (the `single` layout, harder
 * than `processes` where the broker has its own). /health must answer within 1 s (95 % of polls)
 * and neither /health nor any PUBACK may take 1 s longer than the same machine gives with no request
 * running (a quiet phase measured first: the machine is shared); RSS growth and GC pauses are
 * printed, the growth bounded. The budget is
 * raised so all 16 answers are formatted and sent (the worst case for the loop).
 * Against main before this change: /health stalled for seconds (bench/heavy-history.ts).
 */
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../../contract';
import { loadConfig } from '../../lib/config';
import { openDuckDbStore } from '../../store/duckdb/index';
import { tempDir } from '../../testing/net';
import { TEST_PASSWORD } from '../../testing/registry-fixture';
import { startConsoleStack, type ConsoleStack } from './test-support';

const MIN = 60_000;
const DAY = 86_400_000;
const DAYS = 35;
const PLANNERS = ['p1', 'p2', 'p3', 'p4'].map((u) => ({ username: u, password: `${u}-pass`, role: 'planner' as const }));

let stack: ConsoleStack;
let base: string;
const T0 = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  const dir = tempDir('heavy-history-');
  const file = path.join(dir, 'telemetry.duckdb');
  // the store's own tables, then a reading a minute for both air stations, written in bulk
  const init = await openDuckDbStore({ file });
  await init.init();
  await init.close();
  const inst = await DuckDBInstance.create(file);
  const c = await inst.connect();
  await c.run(
    `INSERT INTO t_air (device_id, ts, window_s, pm25) SELECT CASE WHEN i % 2 = 0 THEN 'air-01' ELSE 'air-99' END, ${T0} + (i // 2) * ${MIN}, 60, 10 + (i % 37) / 3.0 FROM range(0, ${2 * DAYS * 1440}) t(i)`,
  );
  c.closeSync();
  inst.closeSync();
  const store = await openDuckDbStore({ file });
  stack = await startConsoleStack('heavy-history-', { jwtSecret: 'heavy-history-test-secret', store, users: PLANNERS, cfg: loadConfig({}, { DATA_DIR: dir, QUERY_BUDGET_MS: 600_000 }) });
  base = `http://127.0.0.1:${stack.api.port}`;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('heavy history requests do not stall MQTT or /health (issue 14)', () => {
  it('16 parallel ~100,000-bucket series answers: /health within 1 s, the device’s PUBACKs within 1 s, RSS bounded', { timeout: 300_000 }, async () => {
    const tokens = await Promise.all(
      PLANNERS.map(
        async (u) =>
          (
            (await (
              await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u.username, password: u.password }) })
            ).json()) as { token: string }
          ).token,
      ),
    );
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.broker.port}`, { clientId: 'air-01', username: 'air-01', password: TEST_PASSWORD('air-01'), reconnectPeriod: 0 });
    const topic = deviceTopic('air', 'air-01', 'air');
    const url = `${base}/api/history/series?stream=air&field=pm25&from=${T0}&to=${T0 + DAYS * DAY}&windowMs=${MIN}`;

    /** /health every 100 ms and a QoS 1 publish every 100 ms while `work` runs */
    const measure = async <T>(work: () => Promise<T>) => {
      let running = true;
      const health: number[] = [];
      const notOk: string[] = [];
      const pubacks: number[] = [];
      const poll = (async () => {
        while (running) {
          const t0 = performance.now();
          const r = await fetch(`${base}/health`);
          const text = await r.text();
          health.push(performance.now() - t0);
          if (r.status !== 200) notOk.push(text);
          await new Promise((res) => setTimeout(res, 100));
        }
      })();
      const publishing = (async () => {
        while (running) {
          const t0 = performance.now();
          await device.publishAsync(topic, JSON.stringify({ ts: Date.now(), windowS: 60, pm25: 12 }), { qos: 1 });
          pubacks.push(performance.now() - t0);
          await new Promise((res) => setTimeout(res, 100));
        }
      })();
      const result = await work();
      running = false;
      await Promise.all([poll, publishing]);
      const sorted = [...health].sort((x, y) => x - y);
      return { result, notOk, polls: health.length, pubacks: pubacks.length, healthMax: sorted.at(-1)!, healthP95: sorted[Math.floor(sorted.length * 0.95)]!, pubackMax: Math.max(...pubacks) };
    };

    // the same measurement without the attack first: what this (shared, loaded) machine gives anyway
    const quiet = await measure(() => new Promise((r) => setTimeout(r, 3000)));

    const gcs: number[] = [];
    const obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => gcs.push(e.duration)));
    obs.observe({ entryTypes: ['gc'] });
    const rss0 = process.memoryUsage().rss;
    let rssPeak = rss0;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
    const attack = await measure(() =>
      Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const r = await fetch(url, { headers: { authorization: `Bearer ${tokens[i % 4]}` } });
          // this test's own client shares the loop and the heap: keep the first answer to parse after
          // the phase, only count the bytes of the others
          if (i === 0) return { status: r.status, text: await r.text(), bytes: -1 };
          let bytes = 0;
          for await (const piece of r.body as unknown as AsyncIterable<Uint8Array>) bytes += piece.byteLength;
          return { status: r.status, text: '', bytes };
        }),
      ),
    );
    clearInterval(sampler);
    obs.disconnect();
    await device.endAsync();

    const answers = attack.result;
    for (const a of answers) expect(a.status).toBe(200);
    const first = Buffer.byteLength(answers[0]!.text);
    for (const a of answers.slice(1)) expect(a.bytes).toBe(first); // 16 answers of the same size
    expect((JSON.parse(answers[0]!.text) as { buckets: unknown[] }).buckets).toHaveLength(2 * DAYS * 1440);
    const growthMB = Math.round((rssPeak - rss0) / 2 ** 20);
    const ms = (x: number) => Math.round(x);
    console.log(
      `16 answers of ${2 * DAYS * 1440} buckets: /health max ${ms(attack.healthMax)} ms (p95 ${ms(attack.healthP95)}) over ${attack.polls} polls, PUBACK max ${ms(attack.pubackMax)} ms over ${attack.pubacks}; ` +
        `quiet: /health max ${ms(quiet.healthMax)} ms (p95 ${ms(quiet.healthP95)}), PUBACK max ${ms(quiet.pubackMax)} ms; RSS +${growthMB} MB (peak ${ms(rssPeak / 2 ** 20)} MB); GC ${gcs.length} pauses, longest ${ms(Math.max(0, ...gcs))} ms`,
    );
    expect(attack.notOk).toEqual([]);
    expect(attack.polls).toBeGreaterThan(5);
    expect(attack.pubacks).toBeGreaterThan(5);
    // /health within 1 s and every PUBACK within 1 s — beyond what the machine gives with no request
    // running at all (measured just before; on an idle machine that is a few ms). Before this
    // change the same attack stalled /health for 8.6–10.3 s (bench/results/heavy-history-before.json).
    expect(attack.healthMax).toBeLessThan(1000 + quiet.healthMax);
    expect(attack.healthP95).toBeLessThan(1000);
    expect(attack.pubackMax).toBeLessThan(1000 + quiet.pubackMax);
    expect(growthMB).toBeLessThan(1024);
  });
});
