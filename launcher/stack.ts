/**
 * The operations center's components wired in one process: store, broker, ingest (with the
 * city's rules), console API + web, Node-RED, and the simulated fleet. `npm start` runs this
 * without the broker, Node-RED and the fleet in the "core" child process (supervisor.ts: the
 * broker, Node-RED and the fleet each have their own process, started with `startNodeRedPart` and
 * `startFleetPart` below); START_LAYOUT=single (and tests) run all of it here, broker included.
 *
 * Each component keeps its own `start(opts) → stop()` and can run alone (see each folder's
 * cli.ts) for a real deployment; this file only wires them together in the right order and
 * stops them in reverse, so that nothing accepted is lost on shutdown.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { mqttUrlOf, mqttUsernameOf, registryFileOf, rulesStateFileOf, type Config } from '../lib/config';
import { RegistryView } from '../registry/registry';
import { openStore } from '../store/open';
import type { TelemetryStore } from '../store/types';
import { brokerLimitsOf, startBroker } from '../broker/index';
import { persistenceOf } from '../broker/persistence';
import { startIngest } from '../ingest/index';
import { createRuleEngine } from '../ingest/rules/index';
import type { RuleConfigInput } from '../ingest/rules/config';
import { startApi } from '../ops-console/api/index';
import { demoGeofencesFor, demoHotlistFor } from '../demo/seeds';
import { provisionDemo, readServiceSecrets } from '../demo/provision';
import { cityFileFor, loadCity, type City } from '../city/city';
import { startFleet } from '../device-sim/fleet';
import { backfillFleet, type BackfillProgress, type BackfillReport } from '../device-sim/backfill';
import { loadOrCreateSecret } from '../lib/secrets';
import { installOnFirstContact } from '../registry/admin';
import { secureDataDir } from '../lib/data-dir';
import type { NodeRedHandle } from '../dashboards/node-red';

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
  /** a city of an installation with TENANTS: the state level's access (launcher/tenants.ts) */
  tenancy?: ReturnType<typeof import('./tenants').stateAccessOf>;
}

export interface Stack {
  ports: { mqtt: number; mqttWs: number | null; http: number; metrics: number | null; nodeRed: number | null };
  registryFile: string;
  /** child process ids (supervised layout only; null: not running, or not part of this start) */
  pids?: () => { broker: number | null; core: number | null; nodeRed: number | null; fleet: number | null };
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
    return {
      line: `City Ops Center stopped, but ${r.unwritten} accepted messages could not be written to the store; they wait in the broker's durable session (DATA_DIR/broker-sessions) and are written on the next start.${failed}`,
      exitCode: 3,
    };
  if (r.unwritten > 0)
    return {
      line: `City Ops Center stopped, but ${r.unwritten} accepted messages could not be written to the store and the broker keeps its sessions in memory (BROKER_PERSISTENCE=memory): they are lost.${failed}`,
      exitCode: 4,
    };
  if (r.failed.length) return { line: `City Ops Center stopped with errors:${failed}`, exitCode: 1 };
  return { line: 'City Ops Center stopped; all accepted data is stored.', exitCode: 0 };
}

export type Stoppable = { name: string; stop: () => Promise<unknown> | void };

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
    provisionDemo(cfg.DATA_DIR, { brokerUrl: mqttUrlOf(cfg), apiUrl: `http://127.0.0.1:${cfg.HTTP_PORT}`, ...(cfg.TENANT ? { tenant: cfg.TENANT } : {}) });
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
    const secrets = readServiceSecrets(path.join(cfg.DATA_DIR, 'services.json'));
    const services = { ingest: secrets.ingest.password, console: secrets.console.password };
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
      const broker = await startBroker({
        registry,
        host: cfg.HOST,
        port: cfg.MQTT_PORT,
        wsPort: cfg.MQTT_WS_PORT,
        persistence: persistenceOf(cfg),
        log: log.child({ component: 'broker' }),
        ...brokerLimitsOf(cfg),
      });
      started.push({ name: 'broker', stop: () => broker.stop() });
      brokerPorts = broker;
      brokerMetrics = [broker.metricsRegistry]; // one /metrics for the process: ingest + broker
      mqttUrl = cfg.MQTT_URL || mqttUrlOf({ ...cfg, MQTT_PORT: broker.port });
    }

    const city = cityOf(registryFile, registry, log);

    const ingest = await startIngest({
      registry,
      store,
      mqttUrl,
      username: mqttUsernameOf(cfg, 'ingest'),
      password: services.ingest,
      metricsPort: opts.metricsPort ?? cfg.METRICS_PORT,
      metricsHost: opts.metricsPort === undefined ? cfg.HOST : '127.0.0.1',
      extraMetrics: brokerMetrics,
      batchSize: cfg.BATCH_SIZE,
      flushMs: cfg.FLUSH_MS,
      timePolicy: { maxFutureSkewMs: cfg.MAX_CLOCK_SKEW_S * 1000, maxAgeMs: cfg.MAX_AGE_DAYS * 86_400_000, lateAfterMs: cfg.LATE_AFTER_S * 1000 },
      // the open alerts survive restarts: the next engine takes them over (ingest/rules/takeover.ts)
      rules: ({ publish, publishGeofence }) =>
        createRuleEngine({
          registry,
          city,
          publish,
          publishGeofence,
          log: log.child({ component: 'rules' }),
          stateFile: rulesStateFileOf(cfg),
          ...(opts.clock ? { now: opts.clock } : {}),
          ...(opts.rules ? { config: opts.rules } : {}),
        }),
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
      mqtt: { url: mqttUrl, username: mqttUsernameOf(cfg, 'console'), password: services.console },
      // Node-RED's flows read the API with the registry's `nodered` credentials, as a planner
      serviceUsers: [...nodeRedLogin(registry), ...(opts.tenancy?.stateUsers ?? [])],
      ...(opts.tenancy ? { state: opts.tenancy.state } : {}),
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
      const nr = await startNodeRedPart(cfg, log, { mqttUrl, apiPort: api.port, timezone: registry.registry.timezone });
      nodeRedPort = nr.port ?? cfg.NODE_RED_PORT;
      started.push({ name: 'node-red', stop: () => nr.stop() });
    }

    let backfill: Promise<BackfillReport> | null = null;
    if (opts.sim ?? cfg.SIM === 'on') {
      const fleet = await startFleetPart(cfg, log, { mqttUrl, city, onBackfillProgress: opts.onBackfillProgress });
      started.push(...fleet.parts);
      backfill = fleet.backfill;
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

/**
 * Node-RED with the stack's settings (its own process: dashboards/node-red.ts spawns it): the
 * `nodered` MQTT account, the console API at `apiPort` with the same account, the city's time zone.
 * START_LAYOUT=single runs it from the core; the supervised layout from the supervisor itself, so
 * that it is restarted when it dies (launcher/supervisor.ts).
 */
export async function startNodeRedPart(cfg: Config, log: Logger, o: { mqttUrl: string; apiPort: number; timezone?: string; port?: number }): Promise<NodeRedHandle> {
  const { startNodeRed } = await import('../dashboards/node-red');
  const secrets = readServiceSecrets(path.join(cfg.DATA_DIR, 'services.json'));
  return startNodeRed({
    port: o.port ?? cfg.NODE_RED_PORT,
    userDir: path.join(cfg.DATA_DIR, 'node-red'),
    credentialSecret: cfg.NODE_RED_CREDENTIAL_SECRET || loadOrCreateSecret(cfg.DATA_DIR, 'node-red-credential-secret'),
    mqtt: { url: o.mqttUrl, username: mqttUsernameOf(cfg, 'nodered'), password: secrets.nodered.password },
    apiUrl: `http://127.0.0.1:${o.apiPort}`,
    apiUsername: 'nodered',
    apiPassword: secrets.nodered.password,
    // the editor has its own login, never the MQTT admin secret; off unless NODE_RED_EDITOR=on
    adminPassword: cfg.NODE_RED_EDITOR === 'on' ? cfg.NODE_RED_ADMIN_PASSWORD || loadOrCreateSecret(cfg.DATA_DIR, 'node-red-editor-password') : null,
    ...(cfg.ESCALATION_WEBHOOK_URL ? { webhookUrl: cfg.ESCALATION_WEBHOOK_URL } : {}),
    escalateAfterMin: cfg.ESCALATION_DELAY_MIN,
    reportAt: cfg.DAILY_REPORT_AT,
    timezone: o.timezone,
    log, // startNodeRed adds component: node-red
  });
}

/**
 * The simulated fleet and, on the first start, the history backfill beside it. Returns the parts to
 * stop in reverse order (the backfill before the fleet). START_LAYOUT=single runs it in the core;
 * the supervised layout in its own `fleet` child (launcher/child.ts).
 */
export async function startFleetPart(
  cfg: Config,
  log: Logger,
  o: { mqttUrl: string; city: City | undefined; onBackfillProgress?: (p: BackfillProgress) => void },
): Promise<{ parts: Stoppable[]; backfill: Promise<BackfillReport> | null }> {
  const { city } = o;
  const parts: Stoppable[] = [];
  // the live fleet's simulation starts now (its clock is made inside startFleet): history ends here
  const liveFrom = Date.now();
  const fleet = await startFleet({ devicesDir: path.join(cfg.DATA_DIR, 'devices'), city, mqttUrl: o.mqttUrl, speed: cfg.SIM_SPEED, log: log.child({ component: 'sim' }) });
  parts.push({ name: 'sim', stop: () => fleet.stop() });
  let backfill: Promise<BackfillReport> | null = null;
  // first start: the last SIM_BACKFILL_DAYS of history, through the real path, beside the live fleet
  const marker = path.join(cfg.DATA_DIR, BACKFILL_MARKER);
  if (cfg.SIM_BACKFILL_DAYS > 0 && city && !fs.existsSync(marker)) {
    const to = liveFrom;
    const from = to - cfg.SIM_BACKFILL_DAYS * 86_400_000;
    fs.writeFileSync(marker, JSON.stringify({ from, to, days: cfg.SIM_BACKFILL_DAYS, startedAt: Date.now() }) + '\n');
    const abort = new AbortController();
    const blog = log.child({ component: 'backfill' });
    blog.info({ days: cfg.SIM_BACKFILL_DAYS }, 'first start: replaying the fleet’s history through broker and ingest');
    const running = backfillFleet({ configs: fleet.configs(), publish: fleet.publishHistory, city, from, to, signal: abort.signal, log: blog, onProgress: o.onBackfillProgress });
    backfill = running;
    running.then(
      (r) => {
        fs.writeFileSync(marker, JSON.stringify({ from, to, days: cfg.SIM_BACKFILL_DAYS, finishedAt: Date.now(), published: r.published, acked: r.acked, aborted: r.aborted }) + '\n');
        blog.info({ published: r.published, acked: r.acked, ms: r.ms, aborted: r.aborted }, 'history backfill finished');
      },
      (err) => blog.error({ err }, 'history backfill failed'),
    );
    // stops before the fleet, ingest and the store (reverse order)
    parts.push({ name: 'backfill', stop: async () => void (abort.abort(), await running.catch(() => undefined)) });
  }
  return { parts, backfill };
}

/** The city data (streets, routes) named by the registry, or undefined (route rules and coverage off). */
export function cityOf(registryFile: string, registry: RegistryView, log: Logger): City | undefined {
  try {
    return loadCity(cityFileFor(registryFile, registry.registry.cityFile));
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'no city data (streets, routes): route rules and coverage are off');
    return undefined;
  }
}
