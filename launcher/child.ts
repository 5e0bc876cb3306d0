/**
 * A child process of `npm start` (launcher/supervisor.ts): `child.ts broker` runs the MQTT broker
 * with its durable sessions, `child.ts core` the store owner — embedded store, ingest, console API,
 * Node-RED and the simulated fleet (launcher/stack.ts without the broker). Told what to start over
 * the IPC channel; Ctrl-C in the terminal is left to the supervisor (it stops the core first, then
 * the broker); when the supervisor is gone (the IPC channel closes) the child stops on its own.
 */
import { ConfigError, loadConfig, type Config } from '../lib/config';
import { createLogger } from '../lib/log';
import { RegistryView } from '../firmware-config/registry';
import { brokerLimitsOf, startBroker } from '../broker/index';
import { secureDataDir } from '../lib/data-dir';
import { persistenceOf } from '../broker/persistence';
import { serveMetrics } from '../ingest/metrics';
import { registryFileOf } from '../lib/config';
import type { ChildRole, FromChild, ToChild } from './ipc';
import { emptyStopReport, startStack, type StopReport } from './stack';

const role = process.argv[2] as ChildRole;
if (role !== 'broker' && role !== 'core') {
  console.error('usage: child.ts broker|core (started by launcher/supervisor.ts)');
  process.exit(2);
}
if (!process.send) {
  console.error('launcher/child.ts is started by npm start (launcher/supervisor.ts), not by hand: use broker/cli.ts, ingest/cli.ts, ops-console/api/cli.ts');
  process.exit(2);
}

let cfg: Config | undefined;
try {
  cfg = loadConfig();
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
  const registry = new RegistryView(registryFileOf(cfg!), (err) => log.error({ err: err.message }, 'registry reload failed; keeping the previous registry'));
  const broker = await startBroker({
    registry,
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
  };
  send({ type: 'ready', role: 'broker', mqttPort: broker.port, wsPort: broker.wsPort, metricsPort: metrics.port });
}

async function startCoreRole(m: Extract<ToChild, { type: 'start-core' }>): Promise<void> {
  const stack = await startStack(cfg!, log, { externalBroker: m.broker, metricsPort: 0, onBackfillProgress: (progress) => send({ type: 'backfill-progress', progress }) });
  stopFn = () => stack.stop();
  send({ type: 'ready', role: 'core', http: stack.ports.http, metricsPort: stack.ports.metrics, nodeRed: stack.ports.nodeRed, backfill: !!stack.backfill });
  stack.backfill?.then((report) => send({ type: 'backfill-done', report }), () => undefined);
}

process.on('message', (m: ToChild) => {
  if (m.type === 'stop') return void stop('supervisor');
  const run = m.type === 'start-broker' && role === 'broker' ? startBrokerRole(m) : m.type === 'start-core' && role === 'core' ? startCoreRole(m) : null;
  run?.catch((err: Error & { code?: string }) => {
    log.fatal({ err, code: err.code }, `${role} process could not start: ${err.message}`);
    const m: FromChild = { type: 'failed', message: `${err.code ? `[${err.code}] ` : ''}${err.message}` };
    if (process.send) process.send(m, () => process.exit(1));
    else process.exit(1);
  });
});
