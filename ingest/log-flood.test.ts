/**
 * Log amplification through payloads (issue 14, item 3): a device sending deeply nested JSON
 * (and JSON that does not parse) as fast as it can. Every message must still be dead-lettered
 * (nothing lost, nothing crashes), ingest must keep storing good readings, and the log must stay
 * bounded: a few lines per reason and window, not a line per message.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../contract';
import { waitFor } from '../testing/net';
import { publish, startStack, type Stack } from './test-support';

let stack: Stack;
const lines: string[] = [];
beforeAll(async () => {
  const dest = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  stack = await startStack({ log: pino({ level: 'info' }, dest) });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe('log amplification by payloads (issue 14, item 3)', () => {
  it('600 deeply nested or broken JSON payloads are all dead-lettered, a good reading is stored, and the log stays bounded', { timeout: 60_000 }, async () => {
    const dev = await stack.connect('air-01');
    const topic = deviceTopic('air', 'air-01', 'air');
    const nested = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`; // 30 kB, depth 5,000
    const arrays = `${'['.repeat(20000)}${']'.repeat(20000)}`; // depth 20,000
    const bytesBefore = lines.reduce((n, l) => n + l.length, 0);
    for (let i = 0; i < 200; i++) {
      await Promise.all([publish(dev, topic, nested), publish(dev, topic, arrays), publish(dev, topic, `{"ts": ${i}, "pm25": [${'['.repeat(100)}`)]);
    }
    const now = Date.now();
    await publish(dev, topic, JSON.stringify({ ts: now, windowS: 60, pm25: 12.5, pm10: 30, o3: 0.03, no2: 0.02, tempC: 27, rhPct: 80 }));
    await waitFor(async () => Object.values(await stack.store.deadLetterCounts({})).reduce((a, b) => a + (b ?? 0), 0) >= 600, 30_000, 100, 'every bad payload dead-lettered');
    await waitFor(async () => (await stack.store.count({ stream: 'air', deviceId: 'air-01' })) === 1, 10_000, 50, 'the good reading stored');
    const counts = await stack.store.deadLetterCounts({});
    expect(Object.values(counts).reduce((a, b) => a + (b ?? 0), 0)).toBe(600);
    const logged = lines.filter((l) => /reject|dead|invalid|E_INGEST/i.test(l));
    expect(logged.length).toBeLessThan(30); // 600 messages: a few lines per reason and 10 s window
    const bytes = lines.reduce((n, l) => n + l.length, 0) - bytesBefore;
    expect(bytes).toBeLessThan(40_000); // never the payloads themselves (600 × 30–40 kB)
    expect(stack.ingest!.counters()).toBeTruthy();
  });
});
