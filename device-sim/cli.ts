/**
 * Device simulator CLI (`npm run sim -- <command>`):
 *
 *   fleet                       every provisioned device (DATA_DIR/devices) on real MQTT
 *   device <id> [--config f]    be one provisioned device
 *   load --devices N --rate R --duration S   benchmark load from one process
 *   check <id> [--config f]     the installer's commissioning check (pass/fail checklist);
 *                               --at lat,lon (where it stands), --clock-offset s (a skewed clock)
 *
 * Faults: `--fault <target>:<fault>[:param][@afterS][+forS]` (repeatable; for `device` the target
 * may be left out: `skew:600`), or type a spec on stdin while running (`clear <target>:<fault>`
 * ends one). Listed with examples in `--help` (FAULT_HELP, from faults.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import { failCommand } from '../lib/cli';
import { loadConfig, mqttUrlOf, registryFileOf, type Config } from '../lib/config';
import { withDefaults } from '../lib/options';
import { createLogger } from '../lib/log';
import { loadCity } from '../city/city';
import { loadDeviceConfig, type DeviceConfig } from '../registry/device-config';
import { formatCheck, runCheck } from './check';
import { FAULT_HELP, FAULT_TYPES, parseFaultSpec, type FaultSpec, type FaultType } from './faults';
import { startFleet, type Fleet } from './fleet';
import { provisionLoadDevices, runLoad } from './load';
import { formatFleetStats, startStatusLine } from './status-line';

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
  return n;
};
const collect = (v: string, prev: FaultSpec[]) => {
  try {
    return [...prev, parseFaultSpec(v)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};
/** `sim device <id>`: the target is implied (`skew:600` = `<id>:skew:600`); any other target must be the id or "all" */
const collectForDevice = (v: string, prev: string[]) => [...prev, v];
function deviceFaults(id: string, specs: string[]): FaultSpec[] {
  return specs.map((v) => {
    try {
      return parseFaultSpec(v, id);
    } catch (err) {
      fail(`--fault: ${(err as Error).message}`);
    }
  });
}

function fail(msg: string, code = 1): never {
  return failCommand(`error: ${msg}`, code);
}

/** stdin control while running: a fault spec applies it; `clear <target>:<fault>` ends it. */
function stdinControl(fleet: Fleet): void {
  if (!process.stdin.readable) return;
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const l = line.trim();
    if (!l) return;
    try {
      const m = /^clear\s+([a-z0-9-]+|\*):([a-z-]+)$/.exec(l);
      if (m) {
        if (!(FAULT_TYPES as readonly string[]).includes(m[2]!)) throw new Error(`unknown fault ${m[2]}`);
        const ids = fleet.clearFault(m[1] === '*' ? 'all' : m[1]!, m[2] as FaultType);
        process.stderr.write(`\ncleared ${m[2]} on ${ids.length} device(s)\n`);
        return;
      }
      const spec = parseFaultSpec(l);
      const ids = fleet.fault(spec.target, spec.fault);
      process.stderr.write(`\nfault ${spec.fault.type} on ${ids.length ? ids.join(', ') : 'no device (unknown target)'}\n`);
    } catch (err) {
      process.stderr.write(`\n${(err as Error).message}\n`);
    }
  });
  process.stdin.on('end', () => rl.close());
}

async function runFleetUntilDone(fleet: Fleet, durationS: number | undefined): Promise<void> {
  const line = startStatusLine(() => formatFleetStats(fleet.stats()));
  stdinControl(fleet);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (durationS) setTimeout(stop, durationS * 1000).unref();
  });
  line.stop();
  await fleet.stop();
  const s = fleet.stats();
  process.stdout.write(`${JSON.stringify({ published: s.published, acked: s.acked, errors: s.errors, connectErrors: s.connectErrors, dropped: s.dropped, byStream: s.byStream })}\n`);
  process.exit(0);
}

const program = new Command('sim').description('City device simulator: real MQTT devices with their own credentials').showHelpAfterError();

/** defaults of the command line's options, from the configuration (lib/options.ts) */
const cliDefaults = (cfg: Config) => ({
  devicesDir: path.join(cfg.DATA_DIR, 'devices'),
  registry: registryFileOf(cfg),
  mqttUrl: mqttUrlOf(cfg),
  speed: cfg.SIM_SPEED,
  api: `http://127.0.0.1:${cfg.HTTP_PORT}`,
  apiUser: cfg.CHECK_API_USER,
});

program
  .command('fleet')
  .description('run every provisioned device (trucks, air and noise stations, plate cameras)')
  .option('--devices-dir <dir>', 'rendered device configs (default DATA_DIR/devices)')
  .option('--mqtt-url <url>', 'broker URL (default from the environment: MQTT_URL or mqtt://127.0.0.1:MQTT_PORT)')
  .option('--speed <x>', 'simulated time runs x times faster (replays a past window until it catches up)', num('speed'))
  .option('--backfill-hours <h>', 'past window to replay at speed > 1 (default min(24, speed) h)', num('backfill'))
  .option('--only <list>', 'only these kinds or device ids, comma-separated (e.g. truck,cam-01)')
  .option('--fault <spec>', 'fault spec, repeatable: <target>:<fault>[:param][@afterS][+forS] (see below)', collect, [] as FaultSpec[])
  .option('--duration <s>', 'stop after s seconds', num('duration'))
  .addHelpText('after', FAULT_HELP('fleet'))
  .action(async (o: { devicesDir?: string; mqttUrl?: string; speed?: number; backfillHours?: number; only?: string; fault: FaultSpec[]; duration?: number }) => {
    const cfg = loadConfig();
    const log = createLogger('device-sim', cfg.LOG_LEVEL);
    const d = withDefaults(cliDefaults(cfg), o);
    const dir = d.devicesDir;
    if (!fs.existsSync(dir)) fail(`no device configs in ${dir} (run \`npm run devices -- provision-demo\` or \`npm start\` once)`);
    const only = o.only ? new Set(String(o.only).split(',')) : null;
    try {
      const fleet = await startFleet({
        devicesDir: dir,
        mqttUrl: d.mqttUrl,
        speed: d.speed,
        backfillMs: o.backfillHours !== undefined ? o.backfillHours * 3_600_000 : undefined,
        faults: o.fault,
        log,
        only: only ? (c) => only.has(c.kind) || only.has(c.deviceId) : undefined,
      });
      await runFleetUntilDone(fleet, o.duration);
    } catch (err) {
      fail(`${(err as { code?: string }).code ?? 'E_SIM_FAILED'}: ${(err as Error).message}`);
    }
  });

function readConfig(id: string, file: string | undefined): DeviceConfig {
  const cfg = loadConfig();
  const f = file ?? path.join(cfg.DATA_DIR, 'devices', `${id}.json`);
  let c: DeviceConfig;
  try {
    c = loadDeviceConfig(f);
  } catch (err) {
    fail((err as Error).message);
  }
  if (c.deviceId !== id) fail(`${f}: field deviceId: is ${c.deviceId}, not ${id}`);
  return c;
}

program
  .command('device <id>')
  .description('be one real provisioned device from its rendered config file')
  .option('--config <file>', 'rendered config (default DATA_DIR/devices/<id>.json)')
  .option('--mqtt-url <url>', "override the config's broker URL")
  .option('--speed <x>', 'simulated time factor', num('speed'), 1)
  .option('--fault <spec>', 'fault spec, repeatable: <fault>[:param][@afterS][+forS] (the device is implied; see below)', collectForDevice, [] as string[])
  .option('--duration <s>', 'stop after s seconds', num('duration'))
  .addHelpText('after', FAULT_HELP('device'))
  .action(async (id: string, o: { config?: string; mqttUrl?: string; speed: number; fault: string[]; duration?: number }) => {
    const faults = deviceFaults(id, o.fault);
    const c = readConfig(id, o.config);
    const log = createLogger('device-sim', loadConfig().LOG_LEVEL);
    try {
      const city = c.cityFile && fs.existsSync(c.cityFile) ? loadCity(c.cityFile) : loadCity();
      const fleet = await startFleet({ configs: [c], city, mqttUrl: o.mqttUrl, speed: o.speed, faults, log, strict: true });
      await runFleetUntilDone(fleet, o.duration);
    } catch (err) {
      fail(`${(err as { code?: string }).code ?? 'E_SIM_FAILED'}: ${(err as Error).message}`);
    }
  });

program
  .command('load')
  .description('benchmark load: N devices from one process at a target total rate')
  .requiredOption('--devices <n>', 'devices (connections)', num('devices'))
  .requiredOption('--rate <r>', 'total messages per second (0 = as fast as possible)', num('rate'))
  .requiredOption('--duration <s>', 'seconds', num('duration'))
  .option('--registry <file>', 'registry to add load-NNNN devices to (default DATA_DIR/registry.json)')
  .option('--kind <kind>', 'device kind of the load devices (air, noise, truck, camera)', 'air')
  .option('--qos <q>', 'QoS 0 or 1', num('qos'), 1)
  .option('--mqtt-url <url>', 'broker URL')
  .option('--json', 'print the report as JSON only')
  .action(async (o: { devices: number; rate: number; duration: number; registry?: string; kind: string; qos: number; mqttUrl?: string; json?: boolean }) => {
    const cfg = loadConfig();
    const d = withDefaults(cliDefaults(cfg), o);
    const file = d.registry;
    if (!fs.existsSync(file)) fail(`no registry at ${file}`);
    if (!['air', 'noise', 'truck', 'camera'].includes(o.kind)) fail(`--kind must be air, noise, truck or camera`);
    const url = d.mqttUrl;
    const configs = provisionLoadDevices(file, o.devices, { kind: o.kind as 'air' | 'noise' | 'truck' | 'camera', brokerUrl: url }); // checked above
    const report = await runLoad({
      mqttUrl: url,
      configs,
      rate: o.rate,
      durationS: o.duration,
      qos: o.qos === 0 ? 0 : 1,
      onProgress: o.json
        ? undefined
        : (p) =>
            process.stderr.write(
              `${p.elapsedS.toFixed(0).padStart(4)} s  ${p.ratePerSec.toFixed(0).padStart(6)} msg/s  sent ${p.sent}  acked ${p.acked}  errors ${p.errors}  connected ${p.connected}\n`,
            ),
    });
    if (o.json) process.stdout.write(JSON.stringify(report) + '\n');
    else
      process.stdout.write(
        `load: ${report.connected}/${report.devices} devices, target ${report.targetRate} msg/s, achieved ${report.achievedRate} msg/s over ${report.durationS} s; sent ${report.sent}, acked ${report.acked}, errors ${report.errors}, unacked ${report.unacked}; ack latency p50 ${report.ackLatencyMs.p50} ms p95 ${report.ackLatencyMs.p95} ms p99 ${report.ackLatencyMs.p99} ms\n`,
      );
    process.exit(report.connected === report.devices && report.errors === 0 && report.unacked === 0 ? 0 : 1);
  });

function initialPassword(dataDir: string, user: string): string | undefined {
  try {
    const text = fs.readFileSync(path.join(dataDir, 'initial-passwords.txt'), 'utf8');
    const m = new RegExp(`^${user} \\([a-z]+\\): (\\S+)$`, 'm').exec(text);
    return m?.[1];
  } catch {
    return undefined;
  }
}

program
  .command('check <id>')
  .description("commissioning check: connect with the device's credentials, publish a test reading, confirm end to end")
  .option('--config <file>', 'rendered config (default DATA_DIR/devices/<id>.json)')
  .option('--mqtt-url <url>', "override the config's broker URL")
  .option('--api <url>', 'console API (default the config apiUrl, else http://127.0.0.1:HTTP_PORT)')
  .option('--api-user <u>', 'console user (default CHECK_API_USER or operador)')
  .option('--api-password <p>', 'console password (default CHECK_API_PASSWORD, else DATA_DIR/initial-passwords.txt)')
  .option('--at <lat,lon>', 'where the device is installed (default: the config location); for a truck, where its GPS fix is')
  .option('--clock-offset <s>', "the device clock's offset from true time, in seconds (e.g. 600 = 10 min ahead)", (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError('must be a number of seconds (negative = behind)');
    return n;
  })
  .option('--timeout <s>', 'seconds to wait for the reading to show up', num('timeout'), 15)
  .option('--json', 'print the result as JSON')
  .action(async (id: string, o: { config?: string; mqttUrl?: string; api?: string; apiUser?: string; apiPassword?: string; at?: string; clockOffset?: number; timeout: number; json?: boolean }) => {
    const cfg = loadConfig();
    const c = readConfig(id, o.config);
    let at: { lat: number; lon: number } | undefined;
    if (o.at) {
      const [lat, lon] = String(o.at).split(',').map(Number);
      if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat!) > 90 || Math.abs(lon!) > 180) fail(`--at: "${o.at}" is not lat,lon (e.g. --at 18.1412,-94.4589)`);
      at = { lat: lat!, lon: lon! };
    }
    const d = withDefaults(cliDefaults(cfg), { apiUser: o.apiUser });
    const user = d.apiUser;
    const city = c.cityFile && fs.existsSync(c.cityFile) ? loadCity(c.cityFile) : loadCity();
    const r = await runCheck({
      config: c,
      city,
      mqttUrl: o.mqttUrl,
      apiUrl: o.api ?? c.apiUrl ?? d.api,
      apiUser: user,
      apiPassword: o.apiPassword ?? (cfg.CHECK_API_PASSWORD || initialPassword(cfg.DATA_DIR, user)),
      at,
      clockOffsetMs: o.clockOffset !== undefined ? o.clockOffset * 1000 : undefined,
      timeoutMs: o.timeout * 1000,
    });
    process.stdout.write((o.json ? JSON.stringify(r) : formatCheck(r)) + '\n');
    process.exit(r.ok ? 0 : 1);
  });

program.parseAsync(process.argv).catch((err) => fail((err as Error).message));
