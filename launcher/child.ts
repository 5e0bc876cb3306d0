/**
 * A child process of `npm start` (launcher/supervisor.ts): `child.ts broker` runs the MQTT broker
 * with its durable sessions, `child.ts core` the store owner — embedded store, ingest, console API
 * (launcher/stack.ts without the broker, Node-RED and the fleet), `child.ts fleet` the simulated
 * fleet and the first start's history backfill. Told what to start over
 * the IPC channel; Ctrl-C in the terminal is left to the supervisor (it stops the core first, then
 * the broker); when the supervisor is gone (the IPC channel closes) the child stops on its own.
 */
import { ConfigError, loadConfig, type Config } from '../lib/config';
import { createLogger } from '../lib/log';
import { RegistryView } from '../registry/registry';
import { brokerLimitsOf, startBroker } from '../broker/index';
import { secureDataDir } from '../lib/data-dir';
import { persistenceOf } from '../broker/persistence';
import { serveMetrics } from '../lib/metrics-server';
import { registryFileOf, tenantConfig, tenantsOf } from '../lib/config';
import type { ChildRole, FromChild, ToChild } from './ipc';
import { cityOf, emptyStopReport, startFleetPart, startStack, type StopReport } from './stack';
import { stateAccessOf } from './tenants';

const role = process.argv[2] as ChildRole;
if (role !== 'broker' && role !== 'core' && role !== 'fleet') {
  console.error('usage: child.ts broker|core|fleet (started by launcher/supervisor.ts)');
  process.exit(2);
}
if (!process.send) {
  console.error('launcher/child.ts is started by npm start (launcher/supervisor.ts), not by hand: use broker/cli.ts, ingest/cli.ts, ops-console/api/cli.ts');
  process.exit(2);
}

let cfg: Config | undefined;
let tenancy: ReturnType<typeof stateAccessOf> | undefined;
try {
  cfg = loadConfig();
  // several municipalities: a city's core (TENANT set by the supervisor) runs on that city's data and ports
  if (role === 'core' && cfg.TENANT) {
    tenancy = stateAccessOf(cfg, cfg.TENANT);
    cfg = tenantConfig(cfg, cfg.TENANT);
  }
} catch (err) {
  console.error((err as ConfigError).message);
  process.exit(2);
}
const log = createLogger('city-ops', cfg.LOG_LEVEL).child({ process: role });
const send = (m: FromChild) => process.send?.(m);

let stopFn: (() => Promise<StopReport | void>) | null = null;
let stopping = false;
async function stop(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ why }, `${role} process stopping`);
  let report: StopReport = emptyStopReport(cfg!);
  try {
    report = (await stopFn?.()) ?? report;
  } catch (err) {
    report = { ...report, failed: [...report.failed, role] };
    log.error({ err }, `${role} process: error while stopping`);
  }
  // tell the supervisor what the stop achieved, then exit once the message is out
  if (process.connected) process.send!({ type: 'stopped', report } satisfies FromChild, () => process.exit(0));
  else process.exit(0);
}

// the terminal's Ctrl-C reaches the whole process group: the supervisor orders the stop
process.on('SIGINT', () => {});
// so does `kill -- -PGID` or systemd's SIGTERM to the control group: a broker that stopped on its
// own would leave the core unable to acknowledge what it still writes. With the supervisor there,
// it orders the stop (core first, then broker); without it, stop now.
process.on('SIGTERM', () => {
  if (process.connected) send({ type: 'signal', signal: 'SIGTERM' });
  else void stop('SIGTERM');
});
process.on('disconnect', () => void stop('supervisor gone'));

async function startBrokerRole(m: Extract<ToChild, { type: 'start-broker' }>): Promise<void> {
  secureDataDir(cfg!.DATA_DIR); // 0700; files this process creates (broker sessions) are 0600
  const onReloadError = (err: Error) => log.error({ err: err.message }, 'registry reload failed; keeping the previous registry');
  // several municipalities (TENANTS): every city's registry, clients log in as <city>:<id> (broker/tenant.ts)
  const tenants = new Map(tenantsOf(cfg!).map((t) => [t, new RegistryView(registryFileOf(tenantConfig(cfg!, t)), onReloadError)] as const));
  const registry = tenants.values().next().value ?? new RegistryView(registryFileOf(cfg!), onReloadError);
  const broker = await startBroker({
    registry,
    ...(tenants.size ? { tenants } : {}),
    host: cfg!.HOST,
    port: m.mqttPort,
    wsPort: m.wsPort,
    persistence: persistenceOf(cfg!),
    log: log.child({ component: 'broker' }),
    ...brokerLimitsOf(cfg!),
  });
  // internal, loopback only: the supervisor merges it into the one /metrics
  const metrics = await serveMetrics(broker.metricsRegistry, 0, '127.0.0.1', log);
  stopFn = async () => {
    await metrics.close();
    await broker.stop();
    registry.close();
    for (const r of tenants.values()) r.close();
  };
  send({ type: 'ready', role: 'broker', mqttPort: broker.port, wsPort: broker.wsPort, metricsPort: metrics.port });
}

async function startCoreRole(m: Extract<ToChild, { type: 'start-core' }>): Promise<void> {
  // Node-RED and the fleet have their own processes (the supervisor starts them after the core);
  // a city's core of an installation with TENANTS keeps its own Node-RED and fleet inside
  const stack = tenancy
    ? await startStack(cfg!, log, { externalBroker: m.broker, metricsPort: 0, tenancy, onBackfillProgress: (progress) => send({ type: 'backfill-progress', progress }) })
    : await startStack(cfg!, log, { externalBroker: m.broker, metricsPort: 0, nodeRed: false, sim: false });
  stopFn = () => stack.stop();
  send({ type: 'ready', role: 'core', http: stack.ports.http, metricsPort: stack.ports.metrics });
}

async function startFleetRole(m: Extract<ToChild, { type: 'start-fleet' }>): Promise<void> {
  const registryFile = registryFileOf(cfg!);
  const registry = new RegistryView(registryFile, (err) => log.error({ err: err.message }, 'registry read failed'));
  const { parts, backfill } = await startFleetPart(cfg!, log, {
    mqttUrl: m.mqttUrl,
    city: cityOf(registryFile, registry, log),
    onBackfillProgress: (progress) => send({ type: 'backfill-progress', progress }),
  });
  stopFn = async () => {
    // the backfill first, then the devices
    for (const p of [...parts].reverse()) await p.stop();
    registry.close();
  };
  send({ type: 'ready', role: 'fleet', backfill: !!backfill });
  backfill?.then(
    (report) => send({ type: 'backfill-done', report }),
    () => undefined,
  );
}

process.on('message', (m: ToChild) => {
  if (m.type === 'stop') return void stop('supervisor');
  const run =
    m.type === 'start-broker' && role === 'broker'
      ? startBrokerRole(m)
      : m.type === 'start-core' && role === 'core'
        ? startCoreRole(m)
        : m.type === 'start-fleet' && role === 'fleet'
          ? startFleetRole(m)
          : null;
  run?.catch((err: Error & { code?: string }) => {
    log.fatal({ err, code: err.code }, `${role} process could not start: ${err.message}`);
    const m: FromChild = { type: 'failed', message: `${err.code ? `[${err.code}] ` : ''}${err.message}` };
    if (process.send) process.send(m, () => process.exit(1));
    else process.exit(1);
  });
});
