/**
 * Open the configured telemetry store: embedded DuckDB at DATA_DIR/telemetry.duckdb, or InfluxDB
 * when INFLUX_URL is set. The store is initialised (tables / retention policies) before it is
 * returned.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/log';
import type { TelemetryStore } from './types';
import { trackWrites } from './write-health';

export const telemetryFileOf = (cfg: Config): string => path.join(cfg.DATA_DIR, 'telemetry.duckdb');

export async function openStore(cfg: Config, log: Logger): Promise<TelemetryStore> {
  let store: TelemetryStore;
  if (cfg.INFLUX_URL) {
    // each backend (and its client library) is loaded only when configured
    const { openInfluxStore } = await import('./influx/index');
    store = await openInfluxStore({
      url: cfg.INFLUX_URL,
      token: cfg.INFLUX_TOKEN,
      org: cfg.INFLUX_ORG,
      bucket: cfg.INFLUX_BUCKET,
      api: cfg.INFLUX_API,
      spillDir: path.join(cfg.DATA_DIR, 'spill'),
      log,
    });
  } else {
    const { openDuckDbStore } = await import('./duckdb/index');
    fs.mkdirSync(cfg.DATA_DIR, { recursive: true });
    store = await openDuckDbStore({ file: telemetryFileOf(cfg), log });
  }
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  log.info({ backend: store.backend }, 'telemetry store open');
  return trackWrites(store); // health() degrades while writes fail
}
