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
 * With REDIS_URL set, the registry follows the cluster's (registry/registry-sync.ts).
 *   INGEST_RULES      on | off: evaluate the alert rules in this worker (default on)
 * Ctrl-C / SIGTERM: stop taking messages, write and acknowledge what is held, disconnect.
 */
import { cityFileFor, loadCity, type City } from '../city/city';
import { RegistryView } from '../registry/registry';
import { mqttUrlOf, registryFileOf, rulesStateFileOf } from '../lib/config';
import { runServerCli, type CliContext } from '../lib/cli';
import { openStore } from '../store/open';
import { installOnFirstContact } from '../registry/admin';
import { startRegistrySync } from '../registry/registry-sync';
import { connectRedis } from '../lib/redis';
import { startIngest } from './index';
import { createRuleEngine } from './rules/index';

async function start({ cfg, log }: CliContext): Promise<() => Promise<void>> {
  const password = cfg.INGEST_PASSWORD;
  if (!password) throw Object.assign(new Error('INGEST_PASSWORD is not set (password of the ingest service account)'), { code: 'E_CONFIG_INVALID' });
  const file = registryFileOf(cfg);
  const registry = new RegistryView(file, (err) => log.error({ err: err.message, code: (err as { code?: string }).code }, 'registry reload failed; keeping the previous registry')).watch();
  // in a cluster (REDIS_URL set) the registry follows the cluster's (registry/registry-sync.ts): devices added on any node reach this worker
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
    username: cfg.INGEST_USERNAME || 'ingest',
    password,
    clientId: cfg.INGEST_CLIENT_ID || `ingest-${cfg.INGEST_WORKER + 1}`,
    partition: { index: cfg.INGEST_WORKER, count: cfg.INGEST_WORKERS },
    metricsPort: cfg.METRICS_PORT,
    metricsHost: cfg.HOST,
    timePolicy: { maxFutureSkewMs: cfg.MAX_CLOCK_SKEW_S * 1000, maxAgeMs: cfg.MAX_AGE_DAYS * 86_400_000, lateAfterMs: cfg.LATE_AFTER_S * 1000 },
    batchSize: cfg.BATCH_SIZE,
    flushMs: cfg.FLUSH_MS,
    rules: cfg.INGEST_RULES === 'off' ? undefined : ({ publish, publishGeofence }) => createRuleEngine({ registry, city, publish, publishGeofence, log, stateFile: rulesStateFileOf(cfg) }),
    log,
  });
  log.info({ mqtt: mqttUrlOf(cfg), metricsPort: ingest.metricsPort, store: store.backend }, 'ingest ready');
  return async () => {
    await ingest.stop();
    await sync?.stop();
    await store.close();
    registry.close();
  };
}

runServerCli('ingest', start, { graceMs: 15_000 });
