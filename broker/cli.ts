/**
 * Run the broker alone (a real deployment): `tsx broker/cli.ts`.
 * Configuration from the environment (lib/config.ts): HOST, MQTT_PORT, MQTT_WS_PORT (path /mqtt),
 * REGISTRY_FILE / DATA_DIR, BROKER_PERSISTENCE (sessions in DATA_DIR/broker-sessions, or Redis at
 * REDIS_URL for a cluster node, BROKER_ID), METRICS_PORT (GET /metrics, /health, /health/ready), LOG_LEVEL. The registry file is watched:
 * edits (new devices, retirements, rotated credentials) apply without a restart.
 */
import { registryFileOf } from '../lib/config';
import { runServerCli } from '../lib/cli';
import { RegistryView } from '../registry/registry';
import { brokerLimitsOf, startBroker } from './index';
import { persistenceOf } from './persistence';
import { serveMetrics } from '../lib/metrics-server';

runServerCli(
  'broker',
  async ({ cfg, log }) => {
    const file = registryFileOf(cfg);
    let registry: RegistryView;
    try {
      registry = new RegistryView(file, (err) => log.error({ err: err.message, code: (err as { code?: string }).code }, 'registry reload failed; keeping the previous registry'));
    } catch (err) {
      log.fatal({ file, code: (err as { code?: string }).code }, `cannot load the registry: ${(err as Error).message}`);
      process.exitCode = 1;
      return null;
    }
    const broker = await startBroker({
      registry,
      host: cfg.HOST,
      port: cfg.MQTT_PORT,
      wsPort: cfg.MQTT_WS_PORT,
      persistence: persistenceOf(cfg),
      id: cfg.BROKER_ID || undefined,
      log,
      ...brokerLimitsOf(cfg),
    });
    // GET /metrics, /health, /health/ready on METRICS_PORT (ready: listening, and with Redis its connection is up)
    const redis = broker.persistence.redis?.db;
    const http = await serveMetrics(broker.metricsRegistry, cfg.METRICS_PORT, cfg.HOST, log, async () =>
      redis && redis.status !== 'ready' ? { ready: false, reason: 'redis_unreachable' } : { ready: true },
    );
    log.info({ port: broker.port, wsPort: broker.wsPort, metricsPort: http.port, registry: file }, 'broker ready');
    return async () => {
      await http.close();
      await broker.stop();
      registry.close();
    };
  },
  { graceMs: 10_000 },
);
