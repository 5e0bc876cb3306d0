import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/log';
import { influxdSuiteGate, startInfluxd } from '../testing/influxd';
import { tempDir } from '../testing/net';
import { record } from '../testing/store-contract-suite';
import { openStore, telemetryFileOf } from './open';

const log = createLogger('store-open-test', 'warn');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const TS = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;

describe('openStore', () => {
  it('opens DuckDB under DATA_DIR by default, initialised; a restart carries on with the data', async () => {
    const dir = tempDir('open-store-');
    dirs.push(dir);
    const cfg = loadConfig({ DATA_DIR: path.join(dir, 'data') });
    const a = await openStore(cfg, log);
    expect(a.backend).toBe('duckdb');
    expect(fs.existsSync(telemetryFileOf(cfg))).toBe(true);
    expect(await a.writeBatch([record('noise', 'open-noise-1', { ts: TS, windowS: 60, laeq: 55, lamax: 70, lamin: 41 })])).toEqual({ written: 1, duplicates: 0 });
    await a.close();
    const b = await openStore(cfg, log);
    expect(await b.count({ deviceId: 'open-noise-1' })).toBe(1);
    expect((await b.latest({}))[0]).toMatchObject({ deviceId: 'open-noise-1', stream: 'noise', ts: TS });
    await b.close();
  });

  const influxOk = influxdSuiteGate('store/open influx branch');
  it.skipIf(!influxOk)('opens InfluxDB when INFLUX_URL is set, initialised, spill under DATA_DIR', async () => {
    const influx = await startInfluxd();
    const dir = tempDir('open-store-influx-');
    dirs.push(dir);
    try {
      const cfg = loadConfig({ DATA_DIR: dir, INFLUX_URL: influx.url, INFLUX_BUCKET: 'opentest' });
      const s = await openStore(cfg, log);
      try {
        expect(s.backend).toBe('influx');
        expect(await s.writeBatch([record('noise', 'open-noise-2', { ts: TS, windowS: 60, laeq: 55, lamax: 70, lamin: 41 })])).toEqual({ written: 1, duplicates: 0 });
        expect(await s.count({ deviceId: 'open-noise-2' })).toBe(1);
        expect((await s.health()).ok).toBe(true);
        expect(fs.existsSync(telemetryFileOf(cfg))).toBe(false);
      } finally {
        await s.close();
      }
    } finally {
      await influx.stop();
    }
  });
});
