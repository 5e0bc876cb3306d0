/**
 * Device registry CLI (`npm run devices -- <command>`):
 *
 *   validate [--registry f]                 check the registry and its devices against the city; every
 *                                           problem names file, device, field (exit 1)
 *   list                                    devices with kind, lifecycle status, district
 *   add --id --kind --model --district ...  add a device (status planned), validated against the city;
 *                                           prints its secret ONCE and writes its config (DATA_DIR/devices)
 *   render <id...> | --all [--out dir]      re-print configs with the current secret; --new-secret issues one
 *   rotate <id>                             new credentials; rewrites DATA_DIR/devices/<id>.json
 *   activate <id>                           planned/installed → active (commissioned)
 *   retire <id>                             the device can no longer connect
 *   provision-demo [--data-dir d]           the demo city under DATA_DIR (idempotent)
 *   import-osm <export.geojson> --out f     a city file from an OpenStreetMap GeoJSON export
 *   generate-demo-city [out]                regenerate demo-city/city.json (deterministic)
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, mqttUrlOf, registryFileOf, type Config } from '../lib/config';
import { withDefaults } from '../lib/options';
import { failCommand } from '../lib/cli';
import { DEVICE_KINDS, PLATE_DIRECTIONS, type DeviceKind } from '../contract';
import { activateDevice, addDevice, AdminError, cityOfRegistry, deviceSpec, renderDevice, retireDevice, rotateDevice, type DeviceOptions } from './admin';
import { cityFileFor, DEMO_CITY_FILE, saveCity } from '../city/city';
import { generateDemoCity } from '../demo/demo-city/generate';
import { renderDeviceConfig, writeDeviceConfig } from './device-config';
import { CITY_LIMITS, registryCityProblems } from './registry-city';
import { importOsmFile } from '../city/import-osm';
import { provisionDemo } from '../demo/provision';
import { loadRegistryFile, parseRegistry, RegistryError } from './registry';
import { NOISE_ZONES, type DeviceState } from './schema';

const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
};

function fail(msg: string): never {
  return failCommand(msg);
}

function guard<A extends unknown[]>(fn: (...a: A) => void | Promise<void>) {
  return async (...a: A) => {
    try {
      await fn(...a);
    } catch (err) {
      if (err instanceof RegistryError) fail(err.problems.map((p) => `error: ${p}`).join('\n'));
      const code = (err as { code?: string }).code;
      fail(`error${code ? ` ${code}` : ''}: ${(err as Error).message}`);
    }
  };
}

const cfg = () => loadConfig();
/** defaults of the command line's options, from the configuration (lib/options.ts) */
const cliDefaults = (c: Config) => ({ registry: registryFileOf(c), devicesDir: path.join(c.DATA_DIR, 'devices'), broker: mqttUrlOf(c), api: `http://127.0.0.1:${c.HTTP_PORT}`, dataDir: c.DATA_DIR });
const registryOf = (o: { registry?: string }) => withDefaults(cliDefaults(cfg()), o).registry;
const showSecret = (id: string, secret: string, file?: string) =>
  process.stdout.write(`device ${id}: secret (shown once, store it on the device now): ${secret}\n${file ? `config written to ${file} (mode 0600)\n` : ''}`);

const program = new Command('devices').description('City device registry: validate, add, render configs, rotate, retire').showHelpAfterError();
program.option('--registry <file>', 'registry file (default REGISTRY_FILE or DATA_DIR/registry.json)');

program
  .command('validate')
  .description(
    `validate the registry file and its devices against the city (district, bounds + ${CITY_LIMITS.boundsMarginM} m, stations within ${CITY_LIMITS.stationMaxFromStreetM} m of a street, depots within ${CITY_LIMITS.depotMaxFromStreetM} m, cameras within ${CITY_LIMITS.cameraMaxFromEntranceM} m of their entrance, routes)`,
  )
  .action(
    guard(() => {
      const file = registryOf(program.opts());
      if (!fs.existsSync(file)) fail(`error: ${file}: no such file`);
      const reg = parseRegistry(fs.readFileSync(file, 'utf8'), file);
      const cityProblems = registryCityProblems(reg, cityOfRegistry(file, reg), file);
      if (cityProblems.length) fail(cityProblems.map((p) => `error: ${p}`).join('\n'));
      const kinds = DEVICE_KINDS.map((k) => `${reg.devices.filter((d) => d.kind === k).length} ${k}`).join(', ');
      process.stdout.write(`${file}: valid — ${reg.devices.length} devices (${kinds}), ${reg.services.length} service accounts\n`);
    }),
  );

program
  .command('list')
  .description('list devices')
  .option('--kind <kind>')
  .action(
    guard((o: { kind?: string }) => {
      const reg = loadRegistryFile(registryOf(program.opts()));
      for (const d of reg.devices.filter((x) => !o.kind || x.kind === o.kind)) {
        const where = d.location ? `${d.location.lat.toFixed(5)},${d.location.lon.toFixed(5)}` : d.truck ? `${d.truck.depotId}/${d.truck.routeId}` : '';
        process.stdout.write(`${d.id.padEnd(14)} ${d.kind.padEnd(7)} ${d.status.padEnd(9)} ${d.district.padEnd(22)} ${where}\n`);
      }
    }),
  );

program
  .command('add')
  .description('add a device (status planned: no presence alerts until its first reading); validated against the city; prints its secret once and writes its config')
  .requiredOption('--id <id>')
  .requiredOption('--kind <kind>', DEVICE_KINDS.join('|'))
  .requiredOption('--model <model>')
  .requiredOption('--district <name>')
  .option('--lat <lat>', 'fixed location (stations, cameras)', num)
  .option('--lon <lon>', '', num)
  .option('--zone <zone>', `noise zone: ${NOISE_ZONES.join('|')}`)
  .option('--road <road>', 'camera: road name')
  .option('--direction <dir>', `camera: ${PLATE_DIRECTIONS.join('|')}|both`)
  .option('--lanes <n>', 'camera: lanes', num)
  .option('--depot <id>', 'truck: depot id')
  .option('--route <id>', 'truck: route id')
  .option('--plate <plate>', 'truck: plate')
  .option('--data-s <s>', 'reporting interval (s)', num)
  .option('--status-s <s>', 'status interval (s)', num)
  .option('--status <s>', 'initial lifecycle status: planned|active', 'planned')
  .option('--out <dir>', 'also write the config here (it is always written to DATA_DIR/devices)')
  .option('--broker <url>', 'broker URL for the config')
  .option('--api <url>', 'console API URL for the commissioning check')
  .action(
    guard((o: DeviceOptions & { status: string; out?: string; broker?: string; api?: string }) => {
      const kind = o.kind as DeviceKind;
      if (!(DEVICE_KINDS as readonly string[]).includes(kind)) fail(`error: --kind: "${o.kind}" is not one of ${DEVICE_KINDS.join(', ')}`);
      if (o.status !== 'planned' && o.status !== 'active') fail(`error: --status: "${o.status}" is not one of planned, active`);
      const spec = deviceSpec(o);
      const file = registryOf(program.opts());
      const { device, secret } = addDevice(file, { ...spec, status: o.status as DeviceState });
      const reg = loadRegistryFile(file);
      const c = cfg();
      const d = withDefaults(cliDefaults(c), { broker: o.broker, api: o.api });
      const conf = renderDeviceConfig(device, {
        brokerUrl: d.broker,
        secret,
        timezone: reg.timezone,
        cityFile: cityFileFor(file, reg.cityFile),
        apiUrl: d.api,
        ...(c.TENANT ? { tenant: c.TENANT } : {}),
      });
      const simDir = d.devicesDir;
      const written = writeDeviceConfig(simDir, conf);
      const extra = o.out && path.resolve(o.out) !== path.resolve(simDir) ? writeDeviceConfig(o.out, conf) : null;
      showSecret(device.id, secret, extra ? `${written} and ${extra}` : written);
      process.stdout.write(`device ${device.id}: status ${device.status}${device.status === 'planned' ? ' (becomes installed on its first reading; `devices activate` once commissioned)' : ''}\n`);
    }),
  );

program
  .command('render [ids...]')
  .description('write device configs with their current secret (the device stays connected); --new-secret issues a new one')
  .option('--all', 'every device that is not retired')
  .option('--new-secret', 'issue a new secret (the previous one stops working; DATA_DIR/devices follows)')
  .option('--out <dir>', 'output directory (default DATA_DIR/devices)')
  .option('--broker <url>', 'broker URL for the configs')
  .option('--api <url>', 'console API URL for the commissioning check')
  .option('--quiet-secrets', 'do not print secrets (they are in the files)')
  .action(
    guard((ids: string[], o: { all?: boolean; newSecret?: boolean; out?: string; broker?: string; api?: string; quietSecrets?: boolean }) => {
      const file = registryOf(program.opts());
      const reg = loadRegistryFile(file);
      const list = o.all ? reg.devices.filter((d) => d.status !== 'retired').map((d) => d.id) : ids;
      if (!list.length) fail('error: give device ids or --all');
      const simDir = cliDefaults(cfg()).devicesDir;
      const out = withDefaults({ out: simDir }, o).out;
      for (const id of list) {
        const r = renderDevice(file, id, out, { brokerUrl: o.broker, apiUrl: o.api, devicesDir: simDir, newSecret: !!o.newSecret });
        if (!r.newSecret) process.stdout.write(`device ${id}: config written to ${r.file} (current secret, nothing revoked)\n`);
        else if (o.quietSecrets) process.stdout.write(`device ${id}: new secret issued; config written to ${r.files.join(' and ')}\n`);
        else showSecret(id, r.config.secret, r.files.join(' and '));
      }
    }),
  );

program
  .command('rotate <id>')
  .description('new credentials for a device (prints the secret once; the old one stops working); rewrites DATA_DIR/devices/<id>.json so the simulator reconnects')
  .option('--out <dir>', 'also write the config here')
  .option('--broker <url>')
  .action(
    guard((id: string, o: { out?: string; broker?: string }) => {
      const file = registryOf(program.opts());
      const r = rotateDevice(file, id, cliDefaults(cfg()).devicesDir, { outDir: o.out, brokerUrl: o.broker });
      showSecret(id, r.config.secret, r.files.join(' and '));
    }),
  );

program
  .command('activate <id>')
  .description('mark a planned or installed device as active (commissioned: its check passed)')
  .action(
    guard((id: string) => {
      const d = activateDevice(registryOf(program.opts()), id);
      process.stdout.write(`device ${d.id}: ${d.status}\n`);
    }),
  );

program
  .command('retire <id>')
  .description('retire a device (it can no longer connect; its data stays)')
  .option('--devices-dir <dir>', 'remove its rendered config from here (default DATA_DIR/devices)')
  .action(
    guard((id: string, o: { devicesDir?: string }) => {
      retireDevice(registryOf(program.opts()), id, withDefaults(cliDefaults(cfg()), o).devicesDir);
      process.stdout.write(`device ${id}: retired\n`);
    }),
  );

program
  .command('provision-demo')
  .description('provision the demo city under DATA_DIR (keeps an existing registry)')
  .option('--data-dir <dir>')
  .option('--cost <n>', 'scrypt N', num)
  .option('--broker <url>')
  .action(
    guard((o: { dataDir?: string; cost?: number; broker?: string }) => {
      const d = withDefaults(cliDefaults(cfg()), o);
      const r = provisionDemo(d.dataDir, { cost: d.cost, brokerUrl: d.broker, apiUrl: d.api });
      process.stdout.write(
        `${r.created ? 'provisioned' : 'kept'} ${r.registryFile}; device configs in ${r.devicesDir}; service secrets in ${r.servicesFile}${r.issued.length ? `; issued: ${r.issued.join(', ')}` : ''}\n`,
      );
    }),
  );

program
  .command('import-osm <geojson>')
  .description('build a city file from an OpenStreetMap GeoJSON export (highway LineStrings → street segments)')
  .requiredOption('--out <file>', 'city file to write (point the registry cityFile at it)')
  .option('--name <name>', 'city name', 'Imported city')
  .option('--depot <lat,lon>', 'a depot (repeatable)', (v: string, prev: [number, number][]) => [...prev, v.split(',').map(Number) as [number, number]], [] as [number, number][])
  .option('--routes <n>', 'truck routes to build', num, 0)
  .option('--include-service', 'include highway=service roads')
  .action(
    guard((input: string, o: { out: string; name: string; depot: [number, number][]; routes: number; includeService?: boolean }) => {
      const r = importOsmFile(input, o.out, { name: o.name, depots: o.depot, routes: o.routes, includeService: !!o.includeService });
      const skipped = Object.entries(r.skipped)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      process.stdout.write(
        `${o.out}: ${r.city.streets.features.length} street segments from ${r.ways} ways, ${r.city.districts.features.length} districts, ${r.city.water.features.length} water polygons, ${r.city.routes.length} routes${skipped ? `; skipped ${skipped}` : ''}\n`,
      );
    }),
  );

program
  .command('generate-demo-city [out]')
  .description('regenerate the demo city (deterministic)')
  .action(
    guard((out?: string) => {
      const city = generateDemoCity();
      saveCity(out ?? DEMO_CITY_FILE, city);
      process.stdout.write(`${out ?? DEMO_CITY_FILE}: ${city.streets.features.length} segments, ${city.routes.length} routes\n`);
    }),
  );

program.parseAsync(process.argv).catch((err) => fail(err instanceof AdminError ? `error ${err.code}: ${err.message}` : (err as Error).message));
