/**
 * The whole operations center in one process, on its embedded defaults: store, broker, ingest
 * (with the city's rules), console API + web, Node-RED, and the simulated fleet.
 *
 * Each component keeps its own `start(opts) → stop()` and can run alone (see each folder's
 * cli.ts) for a real deployment; this file only wires them together in the right order and
 * stops them in reverse, so that nothing accepted is lost on shutdown.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { mqttUrlOf, registryFileOf, type Config } from '../lib/config';
import { RegistryView } from '../firmware-config/registry';
import { openStore } from '../store/open';
import { startBroker } from '../broker/index';
import { startIngest } from '../ingest/index';
import { createRuleEngine } from '../ingest/rules/index';
import { demoHotlistFor, startApi } from '../ops-console/api/index';
import { provisionDemo, readServiceSecrets } from '../firmware-config/provision';
import { cityFileFor, loadCity, type City } from '../firmware-config/city';
import { startFleet } from '../device-sim/fleet';
import { backfillFleet, type BackfillProgress, type BackfillReport } from '../device-sim/backfill';
import { loadOrCreateSecret } from './secrets';

export interface StackOptions {
  /** run Node-RED (default: true) */
  nodeRed?: boolean;
  /** run the simulated fleet (default: cfg.SIM === 'on') */
  sim?: boolean;
  /** progress of the first start's history backfill (SIM_BACKFILL_DAYS) */
  onBackfillProgress?(p: BackfillProgress): void;
}

export interface Stack {
  ports: { mqtt: number; mqttWs: number | null; http: number; metrics: number | null; nodeRed: number | null };
  registryFile: string;
  /** the first start's history backfill, running beside the live fleet; null when none */
  backfill: Promise<BackfillReport> | null;
  stop(): Promise<void>;
}

/** Written under DATA_DIR when the history backfill starts: it runs once per installation. */
export const BACKFILL_MARKER = 'history-backfill.json';

type Stoppable = { name: string; stop: () => Promise<void> | void };

function nodeRedLogin(registry: RegistryView) {
  const svc = registry.service('nodered');
  return svc ? [{ username: 'nodered', role: 'planner' as const, passwordHash: svc.passwordHash }] : [];
}

export async function startStack(cfg: Config, log: Logger, opts: StackOptions = {}): Promise<Stack> {
  const started: Stoppable[] = [];
  const stopAll = async () => {
    // reverse order: the fleet stops publishing first, ingest drains and writes, the store closes last
    for (const c of started.reverse()) {
      try {
        await c.stop();
        log.debug({ component: c.name }, 'stopped');
      } catch (err) {
        log.error({ err, component: c.name }, 'error while stopping');
      }
    }
  };

  try {
    fs.mkdirSync(cfg.DATA_DIR, { recursive: true });
    const registryFile = registryFileOf(cfg);
    const devicesDir = path.join(cfg.DATA_DIR, 'devices');
    if (!fs.existsSync(registryFile)) {
      if (cfg.REGISTRY_FILE) throw Object.assign(new Error(`REGISTRY_FILE ${registryFile} does not exist`), { code: 'E_REGISTRY_MISSING' });
      log.info({ dataDir: cfg.DATA_DIR }, 'first start: provisioning the demo city (registry, device credentials)');
      provisionDemo(cfg.DATA_DIR, { brokerUrl: mqttUrlOf(cfg), apiUrl: `http://127.0.0.1:${cfg.HTTP_PORT}` });
    }
    const secrets = readServiceSecrets(path.join(cfg.DATA_DIR, 'services.json'));
    const services = { ingest: secrets.ingest.password, console: secrets.console.password, nodered: secrets.nodered.password, admin: secrets.admin.password };
    const registry = new RegistryView(registryFile, (err) => log.error({ err: err.message }, 'registry reload failed; keeping the previous registry')).watch();
    started.push({ name: 'registry', stop: () => registry.close() });

    const store = await openStore(cfg, log.child({ component: 'store' }));
    started.push({ name: 'store', stop: () => store.close() });

    const broker = await startBroker({ registry, host: cfg.HOST, port: cfg.MQTT_PORT, wsPort: cfg.MQTT_WS_PORT, log: log.child({ component: 'broker' }) });
    started.push({ name: 'broker', stop: () => broker.stop() });
    const mqttUrl = cfg.MQTT_URL || mqttUrlOf({ ...cfg, MQTT_PORT: broker.port });

    let city: City | undefined;
    try {
      city = loadCity(cityFileFor(registryFile, registry.registry.cityFile));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'no city data (streets, routes): route rules and coverage are off');
    }

    const ingest = await startIngest({
      registry,
      store,
      mqttUrl,
      username: 'ingest',
      password: services.ingest,
      metricsPort: cfg.METRICS_PORT,
      metricsHost: cfg.HOST,
      extraMetrics: [broker.metricsRegistry], // one /metrics for the process: ingest + broker
      batchSize: cfg.BATCH_SIZE,
      flushMs: cfg.FLUSH_MS,
      timePolicy: { maxFutureSkewMs: cfg.MAX_CLOCK_SKEW_S * 1000, maxAgeMs: cfg.MAX_AGE_DAYS * 86_400_000, lateAfterMs: cfg.LATE_AFTER_S * 1000 },
      rules: ({ publish }) => createRuleEngine({ registry, city, publish, log: log.child({ component: 'rules' }) }),
      log: log.child({ component: 'ingest' }),
    });
    started.push({ name: 'ingest', stop: () => ingest.stop() });

    const api = await startApi({
      cfg,
      store,
      registry,
      city,
      mqtt: { url: mqttUrl, username: 'console', password: services.console },
      // Node-RED's flows read the API with the registry's `nodered` credentials, as a planner
      serviceUsers: nodeRedLogin(registry),
      // the demo city starts with the demo hotlist (plates its simulated cameras read); first start only
      seedHotlist: demoHotlistFor(registry),
      host: cfg.HOST,
      port: cfg.HTTP_PORT,
      log: log.child({ component: 'api' }),
    });
    started.push({ name: 'api', stop: () => api.stop() });

    let nodeRedPort: number | null = null;
    if (opts.nodeRed ?? true) {
      const { startNodeRed } = await import('../dashboards/node-red');
      const nr = await startNodeRed({
        port: cfg.NODE_RED_PORT,
        userDir: path.join(cfg.DATA_DIR, 'node-red'),
        credentialSecret: cfg.NODE_RED_CREDENTIAL_SECRET || loadOrCreateSecret(cfg.DATA_DIR, 'node-red-credential-secret'),
        mqtt: { url: mqttUrl, username: 'nodered', password: services.nodered },
        apiUrl: `http://127.0.0.1:${api.port}`,
        apiUsername: 'nodered',
        apiPassword: services.nodered,
        adminPassword: services.admin,
        log: log.child({ component: 'node-red' }),
      });
      nodeRedPort = nr.port ?? cfg.NODE_RED_PORT;
      started.push({ name: 'node-red', stop: () => nr.stop() });
    }

    let backfill: Promise<BackfillReport> | null = null;
    if (opts.sim ?? cfg.SIM === 'on') {
      // the live fleet's simulation starts now (its clock is made inside startFleet): history ends here
      const liveFrom = Date.now();
      const fleet = await startFleet({ devicesDir, city, mqttUrl, speed: cfg.SIM_SPEED, log: log.child({ component: 'sim' }) });
      started.push({ name: 'sim', stop: () => fleet.stop() });
      // first start: the last SIM_BACKFILL_DAYS of history, through the real path, beside the live fleet
      const marker = path.join(cfg.DATA_DIR, BACKFILL_MARKER);
      if (cfg.SIM_BACKFILL_DAYS > 0 && city && !fs.existsSync(marker)) {
        const to = liveFrom;
        const from = to - cfg.SIM_BACKFILL_DAYS * 86_400_000;
        fs.writeFileSync(marker, JSON.stringify({ from, to, days: cfg.SIM_BACKFILL_DAYS, startedAt: Date.now() }) + '\n');
        const abort = new AbortController();
        const blog = log.child({ component: 'backfill' });
        blog.info({ days: cfg.SIM_BACKFILL_DAYS }, 'first start: replaying the fleet’s history through broker and ingest');
        backfill = backfillFleet({ configs: fleet.configs(), publish: fleet.publishHistory, city, from, to, signal: abort.signal, log: blog, onProgress: opts.onBackfillProgress });
        backfill.then(
          (r) => {
            fs.writeFileSync(marker, JSON.stringify({ from, to, days: cfg.SIM_BACKFILL_DAYS, finishedAt: Date.now(), published: r.published, acked: r.acked, aborted: r.aborted }) + '\n');
            blog.info({ published: r.published, acked: r.acked, ms: r.ms, aborted: r.aborted }, 'history backfill finished');
          },
          (err) => blog.error({ err }, 'history backfill failed'),
        );
        // stops before the fleet, ingest and the store (reverse order)
        started.push({ name: 'backfill', stop: async () => void (abort.abort(), await backfill!.catch(() => undefined)) });
      }
    }

    return {
      ports: { mqtt: broker.port, mqttWs: broker.wsPort, http: api.port, metrics: ingest.metricsPort, nodeRed: nodeRedPort },
      registryFile,
      backfill,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
