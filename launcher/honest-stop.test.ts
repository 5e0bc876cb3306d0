/**
 * A clean stop with a failing store (#14, finding 1): the disk fills up while devices publish,
 * Ctrl-C comes, ingest cannot write what it holds. The stop must not claim "all accepted data is
 * stored": it reports how many acknowledged messages wait, exits non-zero, and those messages —
 * kept un-acknowledged in the broker's durable session — are stored exactly once on the next start.
 * Real broker (LevelDB sessions), real ingest, real DuckDB file; the "full disk" is the real store
 * wrapped so that writeBatch fails with ENOSPC, as a full disk answers.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/log';
import { firstTruck, operatorToken, publishBurst, storedTs } from '../testing/crash';
import { tempDir, waitFor } from '../testing/net';
import { startStack, stopSummary, type Stack } from './stack';
import type { TelemetryStore } from '../store/types';

const dirs: string[] = [];
const stacks: Stack[] = [];
afterAll(async () => {
  for (const s of stacks) await s.stop().catch(() => undefined);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** the real store, whose writes fail with ENOSPC while `full.on` */
function fillableDisk(full: { on: boolean; refused: number }) {
  return (real: TelemetryStore): TelemetryStore => {
    const disk = Object.create(real) as TelemetryStore;
    disk.writeBatch = async (records) => {
      if (full.on) {
        full.refused++;
        throw Object.assign(new Error('IO Error: No space left on device'), { code: 'ENOSPC' });
      }
      return real.writeBatch(records);
    };
    return disk;
  };
}

describe('a clean stop while the store cannot write', () => {
  it('says how many acknowledged messages wait, exits non-zero, and stores them all on the next start', async () => {
    const dataDir = tempDir('cityops-honest-stop-');
    dirs.push(dataDir);
    const cfg = loadConfig({
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      MQTT_PORT: '0',
      MQTT_WS_PORT: '0',
      HTTP_PORT: '0',
      METRICS_PORT: '0',
      NODE_RED_PORT: '0',
      SIM: 'off',
      LOG_LEVEL: 'silent',
      BROKER_PERSISTENCE: 'level',
    });
    const log = createLogger('honest-stop', 'silent');
    const full = { on: false, refused: 0 };
    const first = await startStack(cfg, log, { nodeRed: false, sim: false, wrapStore: fillableDisk(full), ingestStopTimeoutMs: 1500 });
    stacks.push(first);
    const truck = firstTruck(dataDir, first.ports.mqtt);
    const base = Date.now() - 10 * 60_000;

    // 1. a healthy burst is stored
    const ok = await publishBurst(truck, 200, undefined, base);
    expect(ok.acked.length).toBe(200);
    const token1 = await operatorToken(dataDir, first.ports.http);
    await waitFor(async () => (await storedTs(first.ports.http, token1, truck.deviceId, base, base + 1000)).length === 200, 20_000, 100, 'the healthy burst stored');
    // 2. the disk fills up; the broker still acknowledges (its session is on its own disk)
    full.on = true;
    const held = await publishBurst(truck, 300, undefined, base + 1000);
    expect(held.acked.length).toBe(300);
    await waitFor(() => full.refused > 0, 20_000, 50, 'ingest tried to write the held messages');

    // 3. Ctrl-C: the stop reports what it could not write, and the launcher's line says so
    const report = await first.stop();
    stacks.splice(stacks.indexOf(first), 1);
    expect(report.unwritten).toBeGreaterThan(0);
    expect(report.unwritten).toBe(300); // all of the held burst: fewer than ingest's in-flight window
    expect(report.durableBroker).toBe(true);
    const summary = stopSummary(report);
    expect(summary.exitCode).not.toBe(0);
    expect(summary.line).toContain(`${report.unwritten} accepted messages could not be written`);
    expect(summary.line).not.toContain('all accepted data is stored');

    // 4. next start, the disk has room again: every acknowledged message is stored exactly once
    const second = await startStack(cfg, log, { nodeRed: false, sim: false });
    stacks.push(second);
    const token = await operatorToken(dataDir, second.ports.http);
    const all = [...ok.acked, ...held.acked];
    let ts: number[] = [];
    await waitFor(async () => (ts = await storedTs(second.ports.http, token, truck.deviceId, base, base + 2000)).length >= all.length, 30_000, 200, `all ${all.length} acknowledged fixes stored`);
    expect(ts.length).toBe(all.length);
    expect(new Set(ts)).toEqual(new Set(all));
    const r2 = await second.stop();
    stacks.splice(stacks.indexOf(second), 1);
    expect(stopSummary(r2)).toEqual({ line: 'City Ops Center stopped; all accepted data is stored.', exitCode: 0 });
  }, 120_000);
});

describe('stopSummary', () => {
  it('claims everything stored only when it is', () => {
    expect(stopSummary({ unwritten: 0, durableBroker: true, failed: [] })).toEqual({ line: 'City Ops Center stopped; all accepted data is stored.', exitCode: 0 });
    expect(stopSummary({ unwritten: 12, durableBroker: true, failed: [] }).exitCode).toBe(3);
    expect(stopSummary({ unwritten: 12, durableBroker: false, failed: [] }).line).toMatch(/12 accepted messages .* they are lost/);
    expect(stopSummary({ unwritten: 0, durableBroker: true, failed: ['core process'] })).toMatchObject({ exitCode: 1 });
  });
});
