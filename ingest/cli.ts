/**
 * Run an ingest worker alone (a real deployment): `tsx ingest/cli.ts`.
 *
 * Configuration from the environment (lib/config.ts): MQTT_URL / MQTT_PORT, DATA_DIR or
 * INFLUX_URL (store/open.ts), REGISTRY_FILE, METRICS_PORT and HOST (GET /metrics), BATCH_SIZE,
 * FLUSH_MS, MAX_CLOCK_SKEW_S, MAX_AGE_DAYS, LATE_AFTER_S, LOG_LEVEL. Plus, for this process only:
 *   INGEST_PASSWORD   password of the `ingest` service account (required)
 *   INGEST_USERNAME   service account (default ingest)
 *   INGEST_CLIENT_ID  MQTT client id = the broker's persistent session (default ingest-<INGEST_WORKER+1>);
 *                     keep it stable across restarts, distinct per worker
 * Several workers in parallel (lib/config.ts INGEST_WORKERS, INGEST_WORKER; ingest/partition.ts):
 * worker n of N takes only the devices whose id hashes to n; a replacement for a dead worker
 * runs with the same INGEST_WORKER (and so the same client id) and resumes its session.
 * With REDIS_URL set, the registry follows the cluster's (firmware-config/registry-sync.ts).
 *   INGEST_RULES      on | off: evaluate the alert rules in this worker (default on)
 * Ctrl-C / SIGTERM: stop taking messages, write and acknowledge what is held, disconnect.
 */
import closeWithGrace from 'close-with-grace';
import { cityFileFor, loadCity, type City } from '../firmware-config/city';
import { RegistryView } from '../firmware-config/registry';
import { ConfigError, loadConfig, type Config, mqttUrlOf, registryFileOf, rulesStateFileOf } from '../lib/config';
import { createLogger } from '../lib/log';
import { startErrorLine } from '../lib/preflight';
import { secureDataDir } from '../lib/data-dir';
import { openStore } from '../store/open';
import { installOnFirstContact } from '../firmware-config/admin';
import { startRegistrySync } from '../firmware-config/registry-sync';
import { connectRedis } from '../lib/redis';
import { startIngest } from './index';
import { createRuleEngine } from './rules/index';

async function main(): Promise<void> {
  const cfg = loadConfig();
  secureDataDir(cfg.DATA_DIR);
  const log = createLogger('ingest', cfg.LOG_LEVEL);
  const password = process.env.INGEST_PASSWORD;
  if (!password) throw Object.assign(new Error('INGEST_PASSWORD is not set (password of the ingest service account)'), { code: 'E_CONFIG' });
  const file = registryFileOf(cfg);
  const registry = new RegistryView(file, (err) =>
    log.error({ err: err.message, code: (err as { code?: string }).code }, 'registry reload failed; keeping the previous registry'),
  ).watch();
  // in a cluster (REDIS_URL set) the registry follows the cluster's (firmware-config/registry-sync.ts): devices added on any node reach this worker
  const sync = cfg.REDIS_URL ? await startRegistrySync({ registry, connect: (name, o) => connectRedis(cfg.REDIS_URL, name, o), log }) : null;
  let city: City | undefined;
  if (registry.registry.cityFile) {
    try {
      city = loadCity(cityFileFor(file, registry.registry.cityFile));
    } catch (err) {
      log.warn({ err: (err as Error).message, code: 'E_INGEST_CITY' }, 'city data not loaded; route rules are off');
    }
  }
  const store = await openStore(cfg, log);
  const ingest = await startIngest({
    registry,
    store,
    // lifecycle: a planned device's first real reading makes it "installed" (presence alerts from then on)
    onFirstContact: installOnFirstContact(file, log),
    mqttUrl: mqttUrlOf(cfg),
    username: process.env.INGEST_USERNAME || 'ingest',
    password,
    clientId: process.env.INGEST_CLIENT_ID || `ingest-${cfg.INGEST_WORKER + 1}`,
    partition: { index: cfg.INGEST_WORKER, count: cfg.INGEST_WORKERS },
    metricsPort: cfg.METRICS_PORT,
    metricsHost: cfg.HOST,
    timePolicy: { maxFutureSkewMs: cfg.MAX_CLOCK_SKEW_S * 1000, maxAgeMs: cfg.MAX_AGE_DAYS * 86_400_000, lateAfterMs: cfg.LATE_AFTER_S * 1000 },
    batchSize: cfg.BATCH_SIZE,
    flushMs: cfg.FLUSH_MS,
    rules: process.env.INGEST_RULES === 'off' ? undefined : ({ publish, publishGeofence }) => createRuleEngine({ registry, city, publish, publishGeofence, log, stateFile: rulesStateFileOf(cfg) }),
    log,
  });
  log.info({ mqtt: mqttUrlOf(cfg), metricsPort: ingest.metricsPort, store: store.backend }, 'ingest ready');
  closeWithGrace({ delay: 15_000 }, async ({ err, signal }) => {
    if (err) log.error({ err }, 'stopping after an error');
    else log.info({ signal }, 'stopping');
    await ingest.stop();
    await sync?.stop();
    await store.close();
    registry.close();
  });
}

main().catch((err: Error & { code?: string }) => {
  // an operator's mistake (bad variable, port in use, unwritable DATA_DIR) is one line naming the variable
  let cfg: Config | undefined;
  try {
    cfg = loadConfig();
  } catch {
    cfg = undefined;
  }
  const line = startErrorLine(err, cfg);
  console.error(`ingest failed to start: ${line ?? `${err.code ? `[${err.code}] ` : ''}${err.message}`}`);
  if (cfg?.LOG_LEVEL === 'debug' || cfg?.LOG_LEVEL === 'trace') console.error(err.stack);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
