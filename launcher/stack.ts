/**
 * The operations center's components wired in one process: store, broker, ingest (with the
 * city's rules), console API + web, Node-RED, and the simulated fleet. `npm start` runs this
 * without the broker in the "core" child process (supervisor.ts: the broker has its own process);
 * START_LAYOUT=single (and tests) run all of it here, broker included.
 *
 * Each component keeps its own `start(opts) → stop()` and can run alone (see each folder's
 * cli.ts) for a real deployment; this file only wires them together in the right order and
 * stops them in reverse, so that nothing accepted is lost on shutdown.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { mqttUrlOf, registryFileOf, rulesStateFileOf, type Config } from '../lib/config';
import { RegistryView } from '../firmware-config/registry';
import { openStore } from '../store/open';
import type { TelemetryStore } from '../store/types';
import { brokerLimitsOf, startBroker } from '../broker/index';
import { persistenceOf } from '../broker/persistence';
import { startIngest } from '../ingest/index';
import { createRuleEngine } from '../ingest/rules/index';
import type { RuleConfigInput } from '../ingest/rules/config';
import { demoGeofencesFor, demoHotlistFor, startApi } from '../ops-console/api/index';
import { provisionDemo, readServiceSecrets } from '../firmware-config/provision';
import { cityFileFor, loadCity, type City } from '../firmware-config/city';
import { startFleet } from '../device-sim/fleet';
import { backfillFleet, type BackfillProgress, type BackfillReport } from '../device-sim/backfill';
import { loadOrCreateSecret } from './secrets';
import { installOnFirstContact } from '../firmware-config/admin';
import { secureDataDir } from '../lib/data-dir';


export interface StackOptions {
  /**
   * the broker runs in another process (the supervised layout, launcher/supervisor.ts): connect to
   * it instead of starting one here
   */
  externalBroker?: { url: string; port: number; wsPort: number | null };
  /** ingest's metrics port (default cfg.METRICS_PORT; the supervisor passes 0 and serves the merged /metrics itself) */
  metricsPort?: number;
  /** run Node-RED (default: true) */
  nodeRed?: boolean;
  /** run the simulated fleet (default: cfg.SIM === 'on') */
  sim?: boolean;
  /** tests: wrap the real store (fault injection: a disk that fills up) */
  wrapStore?: (store: TelemetryStore) => TelemetryStore;
  /** ingest's clean-stop wait for the last writes (default 10 s) */
  ingestStopTimeoutMs?: number;
  /** the platform clock for ingest and the rules (default Date.now; the alert-quality scenario runs it faster) */
  clock?: () => number;
  /** rule configuration over the defaults (the scenario scales its latency allowances) */
  rules?: RuleConfigInput;
  /** progress of the first start's history backfill (SIM_BACKFILL_DAYS) */
  onBackfillProgress?: (p: BackfillProgress) => void;
}

export interface Stack {
  ports: { mqtt: number; mqttWs: number | null; http: number; metrics: number | null; nodeRed: number | null };
  registryFile: string;
  /** child process ids (supervised layout only) */
  pids?: () => { broker: number | null; core: number | null };
  /** the first start's history backfill, running beside the live fleet; null when none */
  backfill: Promise<BackfillReport> | null;
  /** stop in order; says honestly what could not be written and what failed to stop */
  stop(): Promise<StopReport>;
}

/** Written under DATA_DIR when the history backfill starts: it runs once per installation. */
export const BACKFILL_MARKER = 'history-backfill.json';

/** What a stop achieved: the launcher's last line and exit code come from it. */
export interface StopReport {
  /** messages ingest held but could not write (left un-acknowledged in the broker's session) */
  unwritten: number;
  /** the broker's sessions are on disk (BROKER_PERSISTENCE=level): unwritten messages wait for the next start */
  durableBroker: boolean;
  /** components (or processes) that failed to stop cleanly */
  failed: string[];
}

export const emptyStopReport = (cfg: Pick<Config, 'BROKER_PERSISTENCE'>): StopReport => ({ unwritten: 0, durableBroker: cfg.BROKER_PERSISTENCE === 'level', failed: [] });

/** Merge the reports of several processes. */
export function mergeStopReports(a: StopReport, b: StopReport): StopReport {
  return { unwritten: a.unwritten + b.unwritten, durableBroker: a.durableBroker && b.durableBroker, failed: [...a.failed, ...b.failed] };
}

/** The launcher's last line for a stop, and its exit code (0 only when everything accepted is stored). */
export function stopSummary(r: StopReport): { line: string; exitCode: number } {
  const failed = r.failed.length ? ` ${r.failed.join(', ')} did not stop cleanly (see the log).` : '';
  if (r.unwritten > 0 && r.durableBroker)
    return { line: `City Ops Center stopped, but ${r.unwritten} accepted messages could not be written to the store; they wait in the broker's durable session (DATA_DIR/broker-sessions) and are written on the next start.${failed}`, exitCode: 3 };
  if (r.unwritten > 0)
    return { line: `City Ops Center stopped, but ${r.unwritten} accepted messages could not be written to the store and the broker keeps its sessions in memory (BROKER_PERSISTENCE=memory): they are lost.${failed}`, exitCode: 4 };
  if (r.failed.length) return { line: `City Ops Center stopped with errors:${failed}`, exitCode: 1 };
  return { line: 'City Ops Center stopped; all accepted data is stored.', exitCode: 0 };
}

type Stoppable = { name: string; stop: () => Promise<unknown> | void };

function nodeRedLogin(registry: RegistryView) {
  const svc = registry.service('nodered');
  return svc ? [{ username: 'nodered', role: 'planner' as const, passwordHash: svc.passwordHash }] : [];
}

/** Create DATA_DIR and, on a first start, provision the demo city. Returns the registry file. */
export function prepareDataDir(cfg: Config, log: Logger): string {
  fs.mkdirSync(cfg.DATA_DIR, { recursive: true });
  secureDataDir(cfg.DATA_DIR); // 0700; files this process creates are 0600
  const registryFile = registryFileOf(cfg);
  if (!fs.existsSync(registryFile)) {
    if (cfg.REGISTRY_FILE) throw Object.assign(new Error(`REGISTRY_FILE ${registryFile} does not exist`), { code: 'E_REGISTRY_MISSING' });
    log.info({ dataDir: cfg.DATA_DIR }, 'first start: provisioning the demo city (registry, device credentials)');
    provisionDemo(cfg.DATA_DIR, { brokerUrl: mqttUrlOf(cfg), apiUrl: `http://127.0.0.1:${cfg.HTTP_PORT}` });
  }
  return registryFile;
}

export async function startStack(cfg: Config, log: Logger, opts: StackOptions = {}): Promise<Stack> {
  const started: Stoppable[] = [];
  const stopAll = async (): Promise<StopReport> => {
    const report = emptyStopReport(cfg);
    // reverse order: the fleet stops publishing first, ingest drains and writes, the store closes last
    for (const c of started.reverse()) {
      try {
        // a component that held accepted messages (ingest) says how many it could not write
        const r = (await c.stop()) as { unwritten?: number } | undefined;
        report.unwritten += r?.unwritten ?? 0;
        log.debug({ component: c.name }, 'stopped');
      } catch (err) {
        report.failed.push(c.name);
        log.error({ err, component: c.name }, 'error while stopping');
      }
    }
    return report;
  };

  try {
    const registryFile = prepareDataDir(cfg, log);
    const devicesDir = path.join(cfg.DATA_DIR, 'devices');
    const secrets = readServiceSecrets(path.join(cfg.DATA_DIR, 'services.json'));
    const services = { ingest: secrets.ingest.password, console: secrets.console.password, nodered: secrets.nodered.password, admin: secrets.admin.password };
    const registry = new RegistryView(registryFile, (err) => log.error({ err: err.message }, 'registry reload failed; keeping the previous registry')).watch();
    started.push({ name: 'registry', stop: () => registry.close() });

    const opened = await openStore(cfg, log.child({ component: 'store' }));
    const store = opts.wrapStore ? opts.wrapStore(opened) : opened;
    started.push({ name: 'store', stop: () => store.close() });

    let brokerPorts: { port: number; wsPort: number | null };
    let brokerMetrics: Registry[] = [];
    let mqttUrl: string;
    if (opts.externalBroker) {
      brokerPorts = opts.externalBroker;
      mqttUrl = opts.externalBroker.url;
    } else {
      const broker = await startBroker({ registry, host: cfg.HOST, port: cfg.MQTT_PORT, wsPort: cfg.MQTT_WS_PORT, persistence: persistenceOf(cfg), log: log.child({ component: 'broker' }), ...brokerLimitsOf(cfg) });
      started.push({ name: 'broker', stop: () => broker.stop() });
      brokerPorts = broker;
      brokerMetrics = [broker.metricsRegistry]; // one /metrics for the process: ingest + broker
      mqttUrl = cfg.MQTT_URL || mqttUrlOf({ ...cfg, MQTT_PORT: broker.port });
    }

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
      metricsPort: opts.metricsPort ?? cfg.METRICS_PORT,
      metricsHost: opts.metricsPort === undefined ? cfg.HOST : '127.0.0.1',
      extraMetrics: brokerMetrics,
      batchSize: cfg.BATCH_SIZE,
      flushMs: cfg.FLUSH_MS,
      timePolicy: { maxFutureSkewMs: cfg.MAX_CLOCK_SKEW_S * 1000, maxAgeMs: cfg.MAX_AGE_DAYS * 86_400_000, lateAfterMs: cfg.LATE_AFTER_S * 1000 },
      // the open alerts survive restarts: the next engine takes them over (ingest/rules/takeover.ts)
      rules: ({ publish, publishGeofence }) =>
        createRuleEngine({ registry, city, publish, publishGeofence, log: log.child({ component: 'rules' }), stateFile: rulesStateFileOf(cfg), ...(opts.clock ? { now: opts.clock } : {}), ...(opts.rules ? { config: opts.rules } : {}) }),
      ...(opts.clock ? { clock: opts.clock } : {}),
      // lifecycle: a planned device's first real reading makes it "installed" (presence alerts from then on)
      onFirstContact: installOnFirstContact(registryFile, log),
      ...(opts.ingestStopTimeoutMs !== undefined ? { stopTimeoutMs: opts.ingestStopTimeoutMs } : {}),
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
      // the city's depots (and the demo landfill) as geofences; first start only
      seedGeofences: demoGeofencesFor(registry, city),
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
        // the editor has its own login, never the MQTT admin secret; off unless NODE_RED_EDITOR=on
        adminPassword: cfg.NODE_RED_EDITOR === 'on' ? cfg.NODE_RED_ADMIN_PASSWORD || loadOrCreateSecret(cfg.DATA_DIR, 'node-red-editor-password') : null,
        ...(cfg.ESCALATION_WEBHOOK_URL ? { webhookUrl: cfg.ESCALATION_WEBHOOK_URL } : {}),
        escalateAfterMin: cfg.ESCALATION_DELAY_MIN,
        reportAt: cfg.DAILY_REPORT_AT,
        timezone: registry.registry.timezone,
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
      ports: { mqtt: brokerPorts.port, mqttWs: brokerPorts.wsPort, http: api.port, metrics: ingest.metricsPort, nodeRed: nodeRedPort },
      registryFile,
      backfill,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
