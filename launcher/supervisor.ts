/**
 * `npm start`'s process layout (START_LAYOUT=processes, the default): the broker and the core
 * each get their own process (a core of the machine each), supervised from here.
 *
 *   npm start (this process: provisioning, supervision, the merged /metrics, the banner)
 *     ├─ broker child   Aedes + durable sessions (LevelDB under DATA_DIR/broker-sessions)
 *     └─ core child     the store owner: embedded DuckDB (or InfluxDB client), ingest, console API,
 *                       Node-RED, simulated fleet
 *
 * The embedded DuckDB file can be opened by one process only, so the process that writes it
 * (ingest) is also the one that serves the API's reads: the core. Each child is restarted when it
 * dies (back-off 0.5 s doubling to 10 s, reset after a minute up); the broker comes back on the same
 * ports and sessions, and the core's MQTT clients reconnect to it. Children write their pino
 * lines to this process's stdout/stderr (one merged log; each line carries `process`). Ctrl-C /
 * SIGTERM: the core stops first (the fleet stops, ingest writes and acknowledges what it holds, the
 * store closes), then the broker. If this process is killed, the children notice the closed IPC
 * channel and stop on their own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { mqttUrlOf, type Config } from '../lib/config';
import type { ChildRole, FromChild, ToChild } from './ipc';
import { emptyStopReport, mergeStopReports, prepareDataDir, type Stack, type StackOptions, type StopReport } from './stack';
import type { BackfillReport } from '../device-sim/backfill';

const CHILD = path.join(import.meta.dirname, 'child.ts');
/** A child that has not stopped after this long is killed. */
export const STOP_TIMEOUT_MS = 25_000;
/** The supervisor's own deadline for a stop: both children, one after the other, with room. */
export const SUPERVISOR_STOP_MS = 2 * STOP_TIMEOUT_MS + 10_000;

interface Supervised {
  role: ChildRole;
  proc: ChildProcess | null;
  ready: Extract<FromChild, { type: 'ready' }> | null;
  restarts: number;
  startedAt: number;
  onSpawn?: (proc: ChildProcess) => void;
}

/** How long after a child's SIGTERM the supervisor waits for its own (a signal to the process group). */
const GROUP_SIGNAL_WAIT_MS = 300;

function spawnChild(role: ChildRole): ChildProcess {
  return fork(CHILD, [role], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: process.env,
  });
}

/**
 * A child reports the SIGTERM it got. Sent to the whole process group, the supervisor got it too
 * and is already stopping everything in order; sent to that child alone, the child is stopped
 * cleanly and, like any child that ends, restarted.
 */
function onChildSignal(s: Supervised, proc: ChildProcess, isStopping: () => boolean, log: Logger, cfg: Config): void {
  proc.on('message', (m: FromChild) => {
    if (m.type !== 'signal') return;
    setTimeout(() => {
      if (isStopping() || s.proc !== proc) return;
      log.warn({ process: s.role, pid: proc.pid }, `${s.role} process got SIGTERM on its own: stopping it cleanly (it is restarted)`);
      void stopChild(s, log, cfg);
    }, GROUP_SIGNAL_WAIT_MS);
  });
}

/** Start one child and wait for its `ready` (rejects on `failed` or an early exit). */
function startChild(s: Supervised, msg: ToChild, timeoutMs = 120_000): Promise<Extract<FromChild, { type: 'ready' }>> {
  const proc = spawnChild(s.role);
  s.onSpawn?.(proc);
  s.proc = proc;
  s.ready = null;
  s.startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${s.role} process not ready after ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`${s.role} process exited during start-up (code ${code}, signal ${signal})`), { code: 'E_CHILD_EXIT' }));
    };
    proc.once('exit', onExit);
    proc.on('message', (m: FromChild) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        proc.off('exit', onExit);
        s.ready = m;
        resolve(m);
      } else if (m.type === 'failed') {
        clearTimeout(timer);
        proc.off('exit', onExit);
        reject(Object.assign(new Error(`${s.role} process failed: ${m.message}`), { code: 'E_CHILD_START' }));
      }
    });
    proc.send(msg);
  });
}

/** Stop one child; its report (a child that had to be killed, or exited without one, counts as failed). */
function stopChild(s: Supervised, log: Logger, cfg: Config): Promise<StopReport> {
  const proc = s.proc;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(emptyStopReport(cfg));
  return new Promise((resolve) => {
    let report: StopReport | null = null;
    const onMsg = (m: FromChild) => {
      if (m.type === 'stopped') report = m.report;
    };
    proc.on('message', onMsg);
    const timer = setTimeout(() => {
      log.error({ process: s.role }, `${s.role} process did not stop in ${STOP_TIMEOUT_MS} ms; killing it`);
      proc.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    // 'close', not 'exit': the child sends its report and exits at once, and 'exit' may be emitted
    // before that last IPC message is read; 'close' comes after the channel is drained and closed
    proc.once('close', () => {
      clearTimeout(timer);
      proc.off('message', onMsg);
      resolve(report ?? { ...emptyStopReport(cfg), failed: [`${s.role} process`] });
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
    Promise.allSettled(ports().map(fetchText)).then((parts) => {
      const text = parts.map((p) => (p.status === 'fulfilled' ? p.value : '')).join('\n');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text);
    }, () => res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error (E_METRICS_SERVE)\n'));
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.METRICS_PORT, cfg.HOST, () => resolve());
  });
  log.debug({ port: (server.address() as AddressInfo).port }, 'merged metrics listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

export async function startSupervised(cfg: Config, log: Logger, opts: Pick<StackOptions, 'onBackfillProgress'> = {}): Promise<Stack> {
  const registryFile = prepareDataDir(cfg, log);
  const broker: Supervised = { role: 'broker', proc: null, ready: null, restarts: 0, startedAt: 0 };
  const core: Supervised = { role: 'core', proc: null, ready: null, restarts: 0, startedAt: 0 };
  let stopping = false;
  for (const s of [broker, core]) s.onSpawn = (proc) => onChildSignal(s, proc, () => stopping, log, cfg);

  const brokerMsg = (): ToChild => {
    const r = broker.ready as Extract<FromChild, { role: 'broker' }> | null;
    return { type: 'start-broker', mqttPort: r?.mqttPort ?? cfg.MQTT_PORT, wsPort: r?.wsPort ?? cfg.MQTT_WS_PORT };
  };
  const coreMsg = (): ToChild => {
    const r = broker.ready as Extract<FromChild, { role: 'broker' }>;
    return { type: 'start-core', broker: { url: cfg.MQTT_URL || mqttUrlOf({ ...cfg, MQTT_PORT: r.mqttPort }), port: r.mqttPort, wsPort: r.wsPort } };
  };

  /** restart a child that died, with back-off */
  const watch = (s: Supervised, msg: () => ToChild) => {
    const proc = s.proc!;
    proc.once('exit', (code, signal) => {
      if (stopping || s.proc !== proc) return;
      const upMs = Date.now() - s.startedAt;
      if (upMs > 60_000) s.restarts = 0;
      const delay = Math.min(10_000, 500 * 2 ** s.restarts++);
      log.error({ process: s.role, exitCode: code, signal, restartInMs: delay, code: 'E_CHILD_DIED' }, `${s.role} process died; restarting`);
      setTimeout(() => {
        if (stopping) return;
        startChild(s, msg()).then(
          () => {
            log.info({ process: s.role, pid: s.proc?.pid }, `${s.role} process restarted`);
            watch(s, msg);
          },
          (err: Error) => {
            log.error({ process: s.role, err: err.message }, `${s.role} process restart failed`);
            if (s.proc) watch(s, msg);
          },
        );
      }, delay);
    });
  };

  const stopAll = async (): Promise<StopReport> => {
    stopping = true;
    const fromCore = await stopChild(core, log, cfg);
    const fromBroker = await stopChild(broker, log, cfg);
    await metrics?.close();
    return mergeStopReports(fromCore, fromBroker);
  };

  let metrics: { port: number; close(): Promise<void> } | undefined;
  try {
    const b = (await startChild(broker, brokerMsg())) as Extract<FromChild, { role: 'broker' }>;
    watch(broker, brokerMsg);
    const c = (await startChild(core, coreMsg())) as Extract<FromChild, { role: 'core' }>;
    watch(core, coreMsg);
    // the first start's history backfill runs in the core: its progress and end come over IPC
    let backfill: Promise<BackfillReport> | null = null;
    if (c.backfill) {
      const proc = core.proc!;
      backfill = new Promise<BackfillReport>((resolve, reject) => {
        const onMsg = (m: FromChild) => {
          if (m.type === 'backfill-progress') opts.onBackfillProgress?.(m.progress);
          else if (m.type === 'backfill-done') {
            proc.off('message', onMsg);
            resolve(m.report);
          }
        };
        proc.on('message', onMsg);
        proc.once('exit', () => reject(new Error('the core process ended before the history backfill')));
      });
      backfill.catch(() => undefined);
    }
    const portsNow = () =>
      [(broker.ready as Extract<FromChild, { role: 'broker' }> | null)?.metricsPort, (core.ready as Extract<FromChild, { role: 'core' }> | null)?.metricsPort].filter(
        (p): p is number => typeof p === 'number',
      );
    metrics = await serveMergedMetrics(cfg, portsNow, log);
    log.info({ broker: broker.proc?.pid, core: core.proc?.pid }, 'processes started');
    return {
      ports: { mqtt: b.mqttPort, mqttWs: b.wsPort, http: c.http, metrics: metrics.port, nodeRed: c.nodeRed },
      registryFile,
      pids: () => ({ broker: broker.proc?.pid ?? null, core: core.proc?.pid ?? null }),
      backfill,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
