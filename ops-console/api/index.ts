/**
 * Ops-console API entry.
 *
 *   const app = await buildApp({ cfg, store, registry, users: [...] });   // app.inject(...) in tests
 *   const api = await startApi({ cfg, store, registry, city, mqtt, port: 3000, host: '0.0.0.0' });
 *   await api.stop();
 */
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { consolePasswordsOf, type Config } from '../../lib/config';
import type { TelemetryStore } from '../../store/types';
import type { RegistryView } from '../../registry/registry';
import type { City } from '../../city/city';
import type { Geofence, HotlistEntry } from '../../contract';
import { loadOrCreateSecret } from '../../lib/secrets';
import type { Role } from '../shared/live';
import { consoleApp } from './app';
import { reqSerializer } from './lib/log-redact';
import type { StateOptions } from './routes/state';
import { loadOrCreateUsers, loadOrCreateUsersInDb, usersFromList, usersInDbFromList, withServiceUsers, type UserRecord } from './lib/users';
import { openPgOpsDb, type OpsDb } from './plugins/app/ops-db';
import type { MqttOptions } from './plugins/app/mqtt-link';
import type { LiveHubOptions } from './plugins/app/live-hub';
import { CITY_TZ } from '../../norms/local-time';
import { withDefaults } from '../../lib/options';

export const WEB_DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'web', 'dist');

export interface BuildAppOptions {
  cfg: Config;
  store: TelemetryStore;
  registry: RegistryView;
  city?: City | null;
  mqtt?: MqttOptions | null;
  /** default `${DATA_DIR}/ops.duckdb`; ':memory:' in tests; unused when cfg.OPS_DB_URL is set (PostgreSQL) */
  opsDbFile?: string;
  log?: Logger;
  /** users given in clear (tests); default users.json under DATA_DIR */
  users?: { username: string; password: string; role: Role }[];
  /** service logins with hashed passwords (e.g. Node-RED's registry account as a planner) */
  serviceUsers?: UserRecord[];
  /** default cfg.JWT_SECRET, else a secret kept under DATA_DIR */
  jwtSecret?: string;
  /** default `${DATA_DIR}/exports` */
  exportDir?: string;
  /** default ops-console/web/dist */
  webRoot?: string;
  live?: LiveHubOptions;
  /** login attempts per minute per client (default 10) */
  loginRateLimit?: number;
  /** hotlist entries inserted on first start only (ops DB hotlist never set), audited as `system` */
  seedHotlist?: readonly HotlistEntry[];
  /** geofences inserted on first start only (ops DB geofences never set), audited as `system` */
  seedGeofences?: readonly Geofence[];
  /** several municipalities: the other cities and the installation's state token (routes/state.ts) */
  state?: StateOptions;
}

/** defaults of the options (lib/options.ts); the paths under DATA_DIR and the JWT secret come from cfg */
export const APP_DEFAULTS = { city: null as City | null, mqtt: null as MqttOptions | null, serviceUsers: [] as UserRecord[], webRoot: WEB_DIST };

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const opts = withDefaults(APP_DEFAULTS, options);
  const { cfg } = opts;
  const app = Fastify({
    // tokens and tickets never reach the log through a URL
    loggerInstance: opts.log?.child({}, { serializers: { req: reqSerializer } }),
    ...(opts.log ? {} : { logger: false }),
    // the device contract annotates numbers with their unit (`x-unit`)
    ajv: { customOptions: { keywords: ['x-unit'], removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    // start-up migrates and seeds the ops DB; on a shared PostgreSQL under load that can pass Fastify's 10 s default
    pluginTimeout: 60_000,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // a shared ops DB (PostgreSQL) is opened first: the users live in it
  const sharedDb: OpsDb | undefined = cfg.OPS_DB_URL
    ? await openPgOpsDb(cfg.OPS_DB_URL, { onError: (err) => opts.log?.warn({ err, code: 'E_OPSDB_POOL' }, 'ops DB connection lost; the pool reconnects') })
    : undefined;
  const announce = (msg: string) => (opts.log ? opts.log.warn(msg) : console.log(msg));
  let users;
  try {
    users = withServiceUsers(
      sharedDb
        ? opts.users
          ? await usersInDbFromList(sharedDb, opts.users)
          : await loadOrCreateUsersInDb(sharedDb, cfg.DATA_DIR, consolePasswordsOf(), announce)
        : opts.users
          ? await usersFromList(opts.users)
          : await loadOrCreateUsers(cfg.DATA_DIR, consolePasswordsOf(), announce),
      opts.serviceUsers,
    );
  } catch (err) {
    await sharedDb?.close();
    throw err;
  }
  const userStore = users;
  app.addHook('onClose', async () => userStore.close?.());
  const jwtSecret = opts.jwtSecret ?? (cfg.JWT_SECRET || loadOrCreateSecret(cfg.DATA_DIR, 'console-jwt-secret'));
  const opsDbFile = opts.opsDbFile ?? path.join(cfg.DATA_DIR, 'ops.duckdb');
  const exportDir = opts.exportDir ?? (opsDbFile === ':memory:' ? fs.mkdtempSync(path.join(os.tmpdir(), 'console-exports-')) : path.join(cfg.DATA_DIR, 'exports'));

  await app.register(fp(consoleApp), {
    ctx: { cfg, store: opts.store, registry: opts.registry, city: opts.city, tz: opts.registry.registry.timezone || CITY_TZ, exportDir },
    users,
    jwtSecret,
    opsDbFile,
    opsDb: sharedDb,
    webRoot: opts.webRoot,
    mqtt: opts.mqtt,
    live: opts.live,
    loginRateLimit: opts.loginRateLimit,
    seedHotlist: opts.seedHotlist,
    seedGeofences: opts.seedGeofences,
    state: opts.state,
  });
  await app.ready();
  return app as unknown as FastifyInstance;
}

export interface StartApiOptions extends BuildAppOptions {
  port: number;
  host?: string;
}

/** defaults of the options (lib/options.ts) besides buildApp's */
export const API_DEFAULTS = { host: '127.0.0.1' };

export async function startApi(options: StartApiOptions): Promise<{ port: number; app: FastifyInstance; stop(): Promise<void> }> {
  const opts = withDefaults(API_DEFAULTS, options);
  const app = await buildApp(opts);
  await app.listen({ port: opts.port, host: opts.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  let stopped: Promise<void> | null = null;
  return {
    port,
    app,
    stop: () => (stopped ??= app.close()),
  };
}
