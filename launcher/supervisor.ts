/**
 * `npm start`'s process layout (START_LAYOUT=processes, the default): the broker, the core,
 * Node-RED and the simulated fleet each get their own process (the broker and ingest a core of the
 * machine each), supervised from here.
 *
 *   npm start (this process: provisioning, supervision, the merged /metrics, the banner)
 *     ├─ broker child   Aedes + durable sessions (LevelDB under DATA_DIR/broker-sessions)
 *     ├─ core child     the store owner: embedded DuckDB (or InfluxDB client), ingest, console API
 *     ├─ Node-RED       node-red/red.js with the city's flows (dashboards/node-red.ts; no IPC protocol,
 *     │                 its log lines are read here and written as ours, `process: node-red`)
 *     └─ fleet child    the simulated fleet (SIM=on) and the first start's history backfill
 *
 * The embedded DuckDB file can be opened by one process only, so the process that writes it
 * (ingest) is also the one that serves the API's reads: the core. Each child is restarted when it
 * dies (back-off 0.5 s doubling to 10 s, reset after a minute up); the broker comes back on the same
 * ports and sessions, and the core's MQTT clients reconnect to it. Children write their pino
 * lines to this process's stdout/stderr (one merged log; each line carries `process`). Ctrl-C /
 * SIGTERM: the fleet stops first (no more publishing), then Node-RED, then the core (ingest writes
 * and acknowledges what it holds, the store closes), then the broker. If this process is killed,
 * the children notice the closed IPC channel and stop on their own (Node-RED too: settings.cjs).
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import fs from 'node:fs';
import { childEnv, mqttUrlOf, tenantConfig, tenantsOf, type Config } from '../lib/config';
import { secureDataDir } from '../lib/data-dir';
import { prepareStateSecrets, STATE_USERNAME } from './tenants';
import type { ChildRole, FromChild, ToChild } from './ipc';
import { emptyStopReport, mergeStopReports, prepareDataDir, startNodeRedPart, type Stack, type StackOptions, type StopReport } from './stack';
import type { BackfillReport } from '../device-sim/backfill';
import { RegistryView } from '../registry/registry';

const CHILD = path.join(import.meta.dirname, 'child.ts');
/** A child that has not stopped after this long is killed. */
export const STOP_TIMEOUT_MS = 25_000;
/**
 * The supervisor's own deadline for a stop: the children one after the other, with room (the fleet
 * and Node-RED stop in seconds; the core and the broker may each take up to STOP_TIMEOUT_MS).
 */
export const SUPERVISOR_STOP_MS = 3 * STOP_TIMEOUT_MS + 10_000;

type Role = ChildRole | 'node-red';
type Ready<R extends ChildRole> = Extract<FromChild, { type: 'ready'; role: R }>;
type Ended = { code: number | null; signal: string | null };

/** One running process of a part. */
interface Instance {
  pid: number | null;
  /** resolves when the process has ended */
  ended: Promise<Ended>;
  /** stop it cleanly; its report (a process that had to be killed, or ended without one, counts as failed) */
  stop(): Promise<StopReport>;
}

/** A supervised part of the stack: started, watched, restarted when it dies, stopped in order. */
interface Part {
  role: Role;
  inst: Instance | null;
  /** a start under way (the first one or a restart), and how to kill what it spawned so far */
  starting: { done: Promise<unknown>; kill(): void } | null;
  restarts: number;
  startedAt: number;
  launch(): Promise<Instance>;
}

/** How long after a child's SIGTERM the supervisor waits for its own (a signal to the process group). */
const GROUP_SIGNAL_WAIT_MS = 300;

function spawnChild(role: ChildRole, tenant?: string): ChildProcess {
  return fork(CHILD, [role], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // a city's core in an installation with TENANTS: its environment has TENANT=<city>
    env: childEnv(tenant ? { TENANT: tenant } : {}),
  });
}

/** Stop one child over IPC; its report. */
function stopChild(role: Role, proc: ChildProcess, log: Logger, cfg: Config): Promise<StopReport> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(emptyStopReport(cfg));
  return new Promise((resolve) => {
    let report: StopReport | null = null;
    const onMsg = (m: FromChild) => {
      if (m.type === 'stopped') report = m.report;
    };
    proc.on('message', onMsg);
    const timer = setTimeout(() => {
      log.error({ process: role }, `${role} process did not stop in ${STOP_TIMEOUT_MS} ms; killing it`);
      proc.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    // 'close', not 'exit': the child sends its report and exits at once, and 'exit' may be emitted
    // before that last IPC message is read; 'close' comes after the channel is drained and closed
    proc.once('close', () => {
      clearTimeout(timer);
      proc.off('message', onMsg);
      resolve(report ?? { ...emptyStopReport(cfg), failed: [`${role} process`] });
    });
    if (proc.connected) proc.send({ type: 'stop' } satisfies ToChild);
    else proc.kill('SIGTERM');
  });
}

async function fetchText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
  return res.ok ? await res.text() : '';
}

/** GET /metrics on METRICS_PORT: ingest's (core) and the broker's, one text, as one process used to serve. */
async function serveMergedMetrics(cfg: Config, ports: () => number[], log: Logger): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/health') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
    if (url !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    Promise.allSettled(ports().map(fetchText)).then(
      (parts) => {
        const text = parts.map((p) => (p.status === 'fulfilled' ? p.value : '')).join('\n');
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text);
      },
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error (E_METRICS_SERVE)\n'),
    );
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.METRICS_PORT, cfg.HOST, () => resolve());
  });
  log.debug({ port: (server.address() as AddressInfo).port }, 'merged metrics listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export async function startSupervised(cfg: Config, log: Logger, opts: Pick<StackOptions, 'onBackfillProgress'> = {}): Promise<Stack> {
  // several municipalities (TENANTS): each city provisioned under DATA_DIR/tenants/<city>, its own core
  // (with its own Node-RED and fleet inside)
  const tenants = tenantsOf(cfg);
  if (tenants.length) {
    fs.mkdirSync(cfg.DATA_DIR, { recursive: true });
    secureDataDir(cfg.DATA_DIR);
  }
  const tenantFiles = tenants.map((t) => prepareDataDir(tenantConfig(cfg, t), log));
  if (tenants.length) {
    prepareStateSecrets(cfg);
    log.info({ tenants, stateLogin: STATE_USERNAME }, `several municipalities: the state login "${STATE_USERNAME}" (every city's console) has its password in DATA_DIR/secrets/state-password`);
  }
  const registryFile = tenantFiles[0] ?? prepareDataDir(cfg, log);
  let stopping = false;
  let brokerReady: Ready<'broker'> | null = null;
  let coreReady: Ready<'core'> | null = null;
  let nodeRedPort: number | null = null;
  /** the first start's history backfill (in the fleet child): its progress and end come over IPC */
  let backfill: Promise<BackfillReport> | null = null;

  const newPart = (role: Role, launch: (part: Part) => Promise<Instance>): Part => {
    const part: Part = { role, inst: null, starting: null, restarts: 0, startedAt: 0, launch: () => launch(part) };
    return part;
  };

  /**
   * A launcher/child.ts child: spawn, wait for its `ready` (rejects on `failed`, an early exit or a
   * time-out, killing what it spawned). A SIGTERM to that child alone (it reports it) stops it
   * cleanly, and it is restarted like any child that ends; sent to the whole process group, the
   * supervisor got it too and is already stopping everything in order.
   */
  const forkPart = (role: ChildRole, msg: () => ToChild, onReady: (m: Extract<FromChild, { type: 'ready' }>, proc: ChildProcess) => void, timeoutMs = 120_000, tenant?: string) =>
    newPart(role, (part) => {
      const proc = spawnChild(role, tenant);
      part.starting = { done: Promise.resolve(), kill: () => proc.kill('SIGKILL') };
      const ended = new Promise<Ended>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
      const inst: Instance = { pid: proc.pid ?? null, ended, stop: () => stopChild(role, proc, log, cfg) };
      proc.on('message', (m: FromChild) => {
        if (m.type !== 'signal') return;
        setTimeout(() => {
          if (stopping || part.inst !== inst) return;
          log.warn({ process: role, pid: proc.pid }, `${role} process got SIGTERM on its own: stopping it cleanly (it is restarted)`);
          void inst.stop();
        }, GROUP_SIGNAL_WAIT_MS);
      });
      return new Promise<Instance>((resolve, reject) => {
        const fail = (err: Error) => {
          clearTimeout(timer);
          proc.kill('SIGKILL');
          reject(err);
        };
        const timer = setTimeout(() => fail(new Error(`${role} process not ready after ${timeoutMs} ms`)), timeoutMs);
        void ended.then(({ code, signal }) => fail(Object.assign(new Error(`${role} process exited during start-up (code ${code}, signal ${signal})`), { code: 'E_CHILD_EXIT' })));
        proc.on('message', (m: FromChild) => {
          if (m.type === 'ready') {
            clearTimeout(timer);
            onReady(m, proc);
            resolve(inst);
          } else if (m.type === 'failed') fail(Object.assign(new Error(`${role} process failed: ${m.message}`), { code: 'E_CHILD_START' }));
        });
        proc.send(msg());
      });
    });

  const mqttUrl = () => cfg.MQTT_URL || mqttUrlOf({ ...cfg, MQTT_PORT: brokerReady!.mqttPort });
  const broker = forkPart(
    'broker',
    // a restarted broker listens on the first start's real ports
    () => ({ type: 'start-broker', mqttPort: brokerReady?.mqttPort ?? cfg.MQTT_PORT, wsPort: brokerReady?.wsPort ?? cfg.MQTT_WS_PORT }),
    (m) => void (brokerReady = m as Ready<'broker'>),
  );
  const core = forkPart(
    'core',
    () => ({ type: 'start-core', broker: { url: mqttUrl(), port: brokerReady!.mqttPort, wsPort: brokerReady!.wsPort } }),
    (m) => void (coreReady = m as Ready<'core'>),
    120_000,
    tenants[0],
  );
  const fleet = forkPart(
    'fleet',
    () => ({ type: 'start-fleet', mqttUrl: mqttUrl() }),
    (m, proc) => {
      if (!(m as Ready<'fleet'>).backfill || backfill) return;
      backfill = new Promise<BackfillReport>((resolve, reject) => {
        const onMsg = (x: FromChild) => {
          if (x.type === 'backfill-progress') opts.onBackfillProgress?.(x.progress);
          else if (x.type === 'backfill-done') {
            proc.off('message', onMsg);
            resolve(x.report);
          }
        };
        proc.on('message', onMsg);
        proc.once('exit', () => reject(new Error('the fleet process ended before the history backfill')));
      });
      backfill.catch(() => undefined);
    },
  );
  // Node-RED: its own program; a restart keeps the first start's port
  const nodeRed = newPart('node-red', async (part) => {
    let killed = false;
    part.starting = { done: Promise.resolve(), kill: () => void (killed = true) };
    const timezone = new RegistryView(registryFile).registry.timezone;
    const nr = await startNodeRedPart(cfg, log.child({ process: 'node-red' }), { mqttUrl: mqttUrl(), apiPort: coreReady!.http, timezone, ...(nodeRedPort ? { port: nodeRedPort } : {}) });
    if (killed) await nr.stop();
    nodeRedPort = nr.port;
    return {
      pid: nr.pid,
      ended: nr.ended,
      stop: async () => {
        try {
          await nr.stop();
          return emptyStopReport(cfg);
        } catch (err) {
          log.error({ process: 'node-red', err }, 'node-red: error while stopping');
          return { ...emptyStopReport(cfg), failed: ['node-red process'] };
        }
      },
    };
  });
  // TENANTS: the first city's core is `core`; the others follow it
  const tenantReady = new Map<string, Ready<'core'>>();
  const coreOf = (tenant: string, i: number) =>
    i === 0
      ? core
      : forkPart(
          'core',
          () => ({ type: 'start-core', broker: { url: mqttUrl(), port: brokerReady!.mqttPort, wsPort: brokerReady!.wsPort } }),
          (m) => void tenantReady.set(tenant, m as Ready<'core'>),
          120_000,
          tenant,
        );
  const cityCores = tenants.map(coreOf);
  const parts = tenants.length ? [broker, ...cityCores] : [broker, core, nodeRed, ...(cfg.SIM === 'on' ? [fleet] : [])];

  /** start a part (rejects as its launch does) and watch it: a part that dies is restarted, with back-off */
  const start = async (part: Part): Promise<void> => {
    part.startedAt = Date.now();
    const launching = part.launch();
    part.starting = { ...part.starting!, done: launching.catch(() => undefined) };
    try {
      part.inst = await launching;
    } finally {
      part.starting = null;
    }
    watch(part, part.inst);
  };
  const restartLater = (part: Part) => {
    if (Date.now() - part.startedAt > 60_000) part.restarts = 0;
    const delay = Math.min(10_000, 500 * 2 ** part.restarts++);
    setTimeout(() => {
      if (stopping) return;
      start(part).then(
        () => log.info({ process: part.role, pid: part.inst?.pid }, `${part.role} process restarted`),
        (err: Error) => {
          log.error({ process: part.role, err: err.message }, `${part.role} process restart failed; trying again`);
          if (!stopping) restartLater(part);
        },
      );
    }, delay);
    return delay;
  };
  const watch = (part: Part, inst: Instance) => {
    void inst.ended.then(({ code, signal }) => {
      // a signal to the whole process group reaches the children and this process at once: give
      // this process's own handler the moment to start the ordered stop before calling it a death
      setTimeout(() => {
        if (stopping || part.inst !== inst) return;
        part.inst = null;
        const restartInMs = restartLater(part);
        log.error({ process: part.role, exitCode: code, signal, restartInMs, code: 'E_CHILD_DIED' }, `${part.role} process died; restarting`);
      }, GROUP_SIGNAL_WAIT_MS);
    });
  };

  let metrics: { port: number; close(): Promise<void> } | undefined;
  const stopAll = async (): Promise<StopReport> => {
    stopping = true;
    let report = emptyStopReport(cfg);
    // the fleet stops publishing first, then Node-RED, the core (ingest writes what it holds), the broker
    for (const part of [...parts].reverse()) {
      if (part.starting) {
        // a start under way: let it finish (bounded), then stop what it started
        const started = part.starting;
        const late = await Promise.race([started.done.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), STOP_TIMEOUT_MS))]);
        if (late) started.kill();
      }
      if (part.inst) report = mergeStopReports(report, await part.inst.stop());
    }
    await metrics?.close();
    return report;
  };

  try {
    await start(broker);
    await start(core);
    // Node-RED needs the console API (the core); the fleet only the broker: both at once
    const rest = await Promise.allSettled(parts.slice(2).map(start));
    const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const portsNow = () => [brokerReady?.metricsPort, coreReady?.metricsPort].filter((p): p is number => typeof p === 'number');
    // (TENANTS: the merged metrics carry the first city's ingest only — the cities' series share names and carry no city label yet)
    metrics = await serveMergedMetrics(cfg, portsNow, log);
    tenants.forEach((tenant, i) => {
      const r = i === 0 ? coreReady : tenantReady.get(tenant);
      log.info({ tenant, pid: cityCores[i]?.inst?.pid, http: r?.http }, `city ${tenant}: console on port ${r?.http}`);
    });
    const pidOf = (p: Part) => (parts.includes(p) ? (p.inst?.pid ?? null) : null);
    log.info({ broker: pidOf(broker), core: pidOf(core), nodeRed: pidOf(nodeRed), fleet: pidOf(fleet) }, 'processes started');
    return {
      ports: { mqtt: brokerReady!.mqttPort, mqttWs: brokerReady!.wsPort, http: coreReady!.http, metrics: metrics.port, nodeRed: nodeRedPort },
      registryFile,
      pids: () => ({ broker: pidOf(broker), core: pidOf(core), nodeRed: pidOf(nodeRed), fleet: pidOf(fleet) }),
      backfill,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
