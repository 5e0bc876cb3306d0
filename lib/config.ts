/**
 * Configuration from the environment, validated once at start-up. Every default lives here.
 * Documented in README.md ("Configuration").
 *
 * One table, VARIABLES: each entry is the variable's TypeBox schema (type, default, description)
 * and, where the schema alone cannot say it, a `check` (URLs, host names). A bad value stops the
 * start with one line per variable: its name, the bad value and the allowed values or form.
 * Nothing is written anywhere before this passes.
 */
import path from 'node:path';
import { isIP } from 'node:net';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';

interface Variable {
  schema: TSchema;
  /** extra check on the converted value: a problem ("must be …"), or null when fine */
  check?: (value: never) => string | null;
  /** the allowed form, when the schema's own description of it is not enough */
  form?: string;
}

const Port = (def: number, description: string) => Type.Integer({ minimum: 0, maximum: 65535, default: def, description });

/** empty, or a URL whose scheme is one of `schemes` and that names a host */
export const urlCheck =
  (schemes: readonly string[]) =>
  (v: string): string | null => {
    if (v === '') return null;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return `is not a URL`;
    }
    if (!schemes.includes(u.protocol.replace(/:$/, ''))) return `has scheme "${u.protocol.replace(/:$/, '')}"`;
    if (!u.hostname) return 'names no host';
    return null;
  };
const urlForm = (schemes: readonly string[], example: string) => `empty or a ${schemes.map((s) => `${s}://`).join(' / ')} URL with a host, e.g. ${example}`;

const MQTT_SCHEMES = ['mqtt', 'mqtts', 'tcp', 'ws', 'wss'] as const;
const HTTP_SCHEMES = ['http', 'https'] as const;
const REDIS_SCHEMES = ['redis', 'rediss'] as const;
const POSTGRES_SCHEMES = ['postgres', 'postgresql'] as const;

const hostCheck = (v: string): string | null =>
  isIP(v) || /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(v) ? null : 'is not an IP address or host name';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const VARIABLES = {
  DATA_DIR: { schema: Type.String({ default: './data', minLength: 1, description: 'all state: embedded database, registry, broker sessions, spill files' }) },
  HOST: {
    schema: Type.String({ default: '0.0.0.0', description: 'interface the servers listen on' }),
    check: hostCheck,
    form: 'an IP address (0.0.0.0 = every interface, 127.0.0.1 = this machine only) or a host name',
  },
  MQTT_PORT: { schema: Port(1883, 'MQTT over TCP') },
  MQTT_WS_PORT: { schema: Port(8883, 'MQTT over WebSocket (path /mqtt)') },
  HTTP_PORT: { schema: Port(3000, 'ops-console API and web console; GET /health') },
  METRICS_PORT: { schema: Port(9464, 'ingest Prometheus metrics (/metrics)') },
  NODE_RED_PORT: { schema: Port(1880, 'Node-RED editor and flows') },
  MQTT_CONNECT_TIMEOUT_S: { schema: Type.Integer({ minimum: 1, maximum: 60, default: 5, description: 'a connection must send its CONNECT within this long' }) },
  MQTT_MAX_PENDING_PER_IP: { schema: Type.Integer({ minimum: 1, default: 256, description: 'unauthenticated MQTT connections per source address; more are closed at accept' }) },
  MQTT_MAX_PENDING: { schema: Type.Integer({ minimum: 1, default: 2000, description: 'unauthenticated MQTT connections in total' }) },
  MQTT_AUTH_CONCURRENCY: { schema: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'password verifications (scrypt) running at once; the queue is fair between source addresses' }) },
  BROKER_PERSISTENCE: {
    schema: Type.Union([Type.Literal('level'), Type.Literal('memory'), Type.Literal('redis')], {
      default: 'level',
      description:
        'broker sessions: level = durable on disk under DATA_DIR/broker-sessions (a PUBACK means stored), redis = in Redis at REDIS_URL, shared by a cluster of brokers (a PUBACK means stored in Redis), memory = lost on a crash',
    }),
  },
  REDIS_URL: {
    schema: Type.String({
      default: '',
      description: 'Redis for a broker cluster (BROKER_PERSISTENCE=redis): sessions, QoS 1 queues, retained messages, messages between brokers, the shared registry; required with redis',
    }),
    check: urlCheck(REDIS_SCHEMES),
    form: urlForm(REDIS_SCHEMES, 'redis://:password@redis.example:6379/0'),
  },
  BROKER_ID: {
    schema: Type.String({ default: '', pattern: '^[A-Za-z0-9_-]{0,64}$', description: 'this broker’s id in a cluster (logs, Redis keys); empty = a random one per start' }),
    form: 'empty or up to 64 letters, digits, - or _ (no colon: it separates Redis key parts), e.g. broker-a',
  },
  INGEST_WORKERS: {
    schema: Type.Integer({ minimum: 1, maximum: 256, default: 1, description: 'ingest workers sharing the devices (each owns the devices whose id hashes to it); 1 = one worker takes every device' }),
  },
  INGEST_WORKER: {
    schema: Type.Integer({ minimum: 0, maximum: 255, default: 0, description: 'this ingest worker’s number, 0 … INGEST_WORKERS−1 (its MQTT session is ingest-<n+1> unless INGEST_CLIENT_ID is set)' }),
  },
  MQTT_URL: {
    schema: Type.String({ default: '', description: 'broker URL for ingest/sim/console when the broker runs elsewhere; empty = mqtt://127.0.0.1:MQTT_PORT' }),
    check: urlCheck(MQTT_SCHEMES),
    form: urlForm(MQTT_SCHEMES, 'mqtt://broker.example:1883'),
  },
  REGISTRY_FILE: { schema: Type.String({ default: '', description: 'device registry; empty = DATA_DIR/registry.json (demo city provisioned on first start)' }) },
  MAX_CLOCK_SKEW_S: { schema: Type.Integer({ minimum: 0, default: 120, description: 'readings further ahead of the server clock are rejected' }) },
  MAX_AGE_DAYS: { schema: Type.Integer({ minimum: 1, default: 30, description: 'readings older than this are rejected' }) },
  LATE_AFTER_S: { schema: Type.Integer({ minimum: 1, default: 60, description: 'readings arriving later than this are flagged late' }) },
  BATCH_SIZE: { schema: Type.Integer({ minimum: 1, default: 5000, description: 'ingest write batch size (points)' }) },
  FLUSH_MS: { schema: Type.Integer({ minimum: 10, default: 250, description: 'ingest flushes a partial batch after this long' }) },
  INFLUX_URL: {
    schema: Type.String({ default: '', description: 'set to use InfluxDB instead of the embedded store' }),
    check: urlCheck(HTTP_SCHEMES),
    form: urlForm(HTTP_SCHEMES, 'http://influx:8086'),
  },
  INFLUX_TOKEN: { schema: Type.String({ default: '', description: 'InfluxDB 2.x/3.x token, or "user:password" for 1.x' }) },
  INFLUX_ORG: { schema: Type.String({ default: '', description: 'InfluxDB 2.x organisation' }) },
  INFLUX_BUCKET: { schema: Type.String({ default: 'city', minLength: 1, description: 'InfluxDB 2.x bucket, or 1.x database' }) },
  INFLUX_API: {
    schema: Type.Union([Type.Literal('auto'), Type.Literal('v1'), Type.Literal('v2')], { default: 'auto', description: 'write API: v2 (/api/v2/write), v1 (/write), auto = probe /ping version' }),
  },
  START_LAYOUT: {
    schema: Type.Union([Type.Literal('processes'), Type.Literal('single')], {
      default: 'processes',
      description: 'npm start: processes = broker, core (store, ingest, API), Node-RED and the fleet in their own supervised processes; single = everything in one process',
    }),
  },
  SIM: { schema: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'npm start runs the simulated fleet' }) },
  SIM_SPEED: { schema: Type.Number({ minimum: 0.1, default: 1, description: 'simulated time runs this many times faster' }) },
  SIM_BACKFILL_DAYS: {
    schema: Type.Integer({ minimum: 0, maximum: 30, default: 7, description: 'first start with SIM=on: days of the demo fleet’s history replayed through broker and ingest (0 = none)' }),
  },
  QUERY_BUDGET_MS: {
    schema: Type.Integer({
      minimum: 100,
      maximum: 600_000,
      default: 15_000,
      description: 'time budget of one history, plate-search, coverage or open-data query (ms, queueing included); over it the store cancels the query and the API answers 503 E_QUERY_BUDGET',
    }),
  },
  PLATE_RETENTION_DAYS: { schema: Type.Integer({ minimum: 1, default: 90, description: 'plate reads older than this are purged' }) },
  OPS_DB_URL: {
    schema: Type.String({
      default: '',
      description:
        'the console ops database on PostgreSQL, shared by several API nodes (alerts, users, one-time tickets, audit, hotlist, geofences, exports, citizen reports); empty = the embedded DuckDB file DATA_DIR/ops.duckdb (one API process)',
    }),
    check: urlCheck(POSTGRES_SCHEMES),
    form: urlForm(POSTGRES_SCHEMES, 'postgres://ops:password@db.example:5432/ops'),
  },
  JWT_SECRET: {
    schema: Type.String({ default: '', description: 'console session signing key; empty = generated and kept in DATA_DIR' }),
    check: (v: string) => (v && v.length < 16 ? `is ${v.length} characters long` : null),
    form: 'empty or at least 16 characters',
  },
  NODE_RED_CREDENTIAL_SECRET: { schema: Type.String({ default: '', description: 'Node-RED credentialSecret; empty = generated and kept in DATA_DIR' }) },
  NODE_RED_EDITOR: {
    schema: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'off', description: 'Node-RED editor and admin API (flows run either way); on = behind its own login' }),
  },
  NODE_RED_ADMIN_PASSWORD: { schema: Type.String({ default: '', description: 'Node-RED editor login (user admin) when NODE_RED_EDITOR=on; empty = generated and kept in DATA_DIR/secrets' }) },
  ESCALATION_WEBHOOK_URL: {
    schema: Type.String({ default: '', description: 'Node-RED POSTs every escalated alert (AlertEvent JSON) here; empty = escalate on MQTT only' }),
    check: urlCheck(HTTP_SCHEMES),
    form: urlForm(HTTP_SCHEMES, 'https://guardia.example/escalar'),
  },
  ESCALATION_DELAY_MIN: { schema: Type.Number({ minimum: 0.1, maximum: 1440, default: 10, description: 'a critical alert not acknowledged within this many minutes escalates' }) },
  DAILY_REPORT_AT: {
    schema: Type.String({ default: '22:30', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'local time (HH:MM, 24 h) Node-RED writes the daily operations report' }),
    form: 'a local time HH:MM on the 24-hour clock, e.g. 22:30',
  },
  MAP_STYLE_URL: {
    schema: Type.String({ default: '', description: 'MapLibre style URL; empty = bundled offline basemap of the demo city' }),
    check: (v: string) => (v.startsWith('/') && !v.startsWith('//') ? null : urlCheck(HTTP_SCHEMES)(v)),
    form: `${urlForm(HTTP_SCHEMES, 'https://tiles.example/styles/city/style.json')}, or a path on the console's server starting with /`,
  },
  OPEN311_RADIUS_M: { schema: Type.Number({ minimum: 1, maximum: 500, default: 30, description: 'citizen reports: a bin lift, stop or pass within this many metres of the report is evidence' }) },
  OPEN311_PHOTO_MAX_KB: { schema: Type.Integer({ minimum: 1, maximum: 20480, default: 5120, description: 'citizen reports: largest photo accepted (JPEG or PNG), KiB' }) },
  OPEN311_CONTACT_RETENTION_DAYS: { schema: Type.Integer({ minimum: 1, default: 180, description: "citizen reports: a reporter's e-mail/phone/name is deleted this many days after the report" }) },
  OPEN311_SLA_HOURS: {
    schema: Type.String({
      default: 'missed_collection=24,overflowing_container=48,illegal_dumping=72,burning_waste=24,noise=24,bad_air=48,other=120',
      pattern: '^[a-z_]+=[0-9]+(,[a-z_]+=[0-9]+)*$',
      description: 'citizen reports: hours to close each service on time (service_code=hours, comma-separated; services left out use `other`)',
    }),
  },
  TENANTS: {
    schema: Type.String({
      default: '',
      pattern: '^([a-z][a-z0-9-]{0,39}(,[a-z][a-z0-9-]{0,39})*)?$',
      description: 'several municipalities on one installation: their ids, comma-separated (each its registry, topics, users, data and console under DATA_DIR/tenants/<id>); empty = one city',
    }),
    form: 'empty (one city) or city ids (lower-case letters, digits, -) separated by commas, e.g. coatzacoalcos,minatitlan',
  },
  TENANT: {
    schema: Type.String({
      default: '',
      pattern: '^([a-z][a-z0-9-]{0,39})?$',
      description: 'the city this process serves, one of TENANTS (npm start sets it on each city core; set it by hand for a city’s ingest or API run alone)',
    }),
    form: 'empty or one of the ids in TENANTS, e.g. coatzacoalcos',
  },
  LOG_LEVEL: { schema: Type.Enum(LOG_LEVELS, { default: 'info', description: 'pino log level; debug also prints stack traces of start-up errors' }) },
  LOG_FORMAT: { schema: Type.Enum(['auto', 'json'], { default: 'auto', description: 'log lines: json = one JSON object per line always; auto = pretty-printed on a terminal, JSON otherwise' }) },
  INGEST_USERNAME: { schema: Type.String({ default: 'ingest', description: 'ingest/cli.ts: the ingest service account’s user name' }) },
  INGEST_PASSWORD: { schema: Type.String({ default: '', description: 'ingest/cli.ts: the ingest service account’s password (required there; npm start provisions it)' }) },
  INGEST_CLIENT_ID: { schema: Type.String({ default: '', description: 'ingest/cli.ts: MQTT client id of the persistent session; empty = ingest-<INGEST_WORKER+1>' }) },
  INGEST_RULES: { schema: Type.Enum(['on', 'off'], { default: 'on', description: 'ingest/cli.ts: run the alert rules in this ingest worker' }) },
  CHECK_API_USER: { schema: Type.String({ default: 'operador', description: 'npm run sim -- check: the console user it signs in as (--api-user overrides)' }) },
  CHECK_API_PASSWORD: { schema: Type.String({ default: '', description: 'npm run sim -- check: that user’s password; empty = the initial password kept in DATA_DIR (--api-password overrides)' }) },
  CONSOLE_MQTT_PASSWORD: { schema: Type.String({ default: '', description: 'ops-console/api/cli.ts: the console service account’s MQTT password; empty = read from DATA_DIR/services.json' }) },
  API_URL: {
    schema: Type.String({ default: 'http://127.0.0.1:3000', description: 'web console dev server (vite): the API its /api proxy forwards to' }),
    check: urlCheck(HTTP_SCHEMES),
    form: urlForm(HTTP_SCHEMES, 'http://127.0.0.1:3000'),
  },
  CITY_FILE: { schema: Type.String({ default: '', description: 'web console build: the city whose offline basemap is bundled; empty = the demo city' }) },
  CHROMIUM: { schema: Type.String({ default: '/usr/bin/chromium', minLength: 1, description: 'web console build (glyphs): the Chromium that renders the basemap fonts' }) },
} satisfies Record<string, Variable>;

type Schemas = { [K in keyof typeof VARIABLES]: (typeof VARIABLES)[K]['schema'] };
const schemas = Object.fromEntries(Object.entries(VARIABLES).map(([k, v]) => [k, v.schema])) as Schemas;

export const ConfigSchema = Type.Object(schemas);
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  code = 'E_CONFIG_INVALID';
  constructor(
    message: string,
    /** one entry per bad variable */
    readonly problems: { variable: string; value: unknown; message: string }[] = [],
  ) {
    super(message);
  }
}

/** The allowed values or form of a variable, in words. */
export function allowedForm(name: keyof typeof VARIABLES): string {
  const v = VARIABLES[name] as Variable;
  if (v.form) return v.form;
  const s = v.schema as TSchema & { anyOf?: { const: string }[]; enum?: string[]; minimum?: number; maximum?: number; type?: string; minLength?: number; pattern?: string; default?: unknown };
  if (s.anyOf) return `one of ${s.anyOf.map((x) => x.const).join(', ')}`;
  if (s.enum) return `one of ${s.enum.join(', ')}`;
  const range = s.minimum !== undefined && s.maximum !== undefined ? ` from ${s.minimum} to ${s.maximum}` : s.minimum !== undefined ? ` ≥ ${s.minimum}` : '';
  if (s.type === 'integer') return `a whole number${range}`;
  if (s.type === 'number') return `a number${range}`;
  if (s.type === 'string' && s.pattern) return `a text of the form ${s.pattern}${s.default ? `, e.g. ${JSON.stringify(s.default)}` : ''}`;
  if (s.type === 'string') return s.minLength ? 'a non-empty text' : 'a text';
  return 'a valid value';
}

/**
 * One string variable on its own, for code that runs before (or without) loadConfig — the logger:
 * its value when set and valid, else its default (loadConfig reports a bad value where it runs).
 */
export function readVariable<K extends keyof Config>(name: K, env: Record<string, string | undefined> = process.env): Config[K] {
  const schema = VARIABLES[name].schema as unknown as TSchema & { default: Config[K] };
  const v = env[name];
  return v !== undefined && v !== '' && Value.Check(schema, v) ? (v as Config[K]) : schema.default;
}

/** Read, convert and validate configuration from an environment object. Throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const raw: Record<string, unknown> = {};
  const given: Record<string, string> = {};
  for (const key of Object.keys(VARIABLES)) {
    const v = env[key];
    if (v === undefined || v === '') continue;
    given[key] = v;
    const type = (VARIABLES[key as keyof typeof VARIABLES].schema as { type?: string }).type;
    // numbers converted here, not by Value.Convert (which would turn "94.64" into 94 for an integer)
    raw[key] = type === 'integer' || type === 'number' ? (/^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v) : v;
  }
  const problems: ConfigError['problems'] = [];
  const merged: Record<string, unknown> = { ...(Value.Default(ConfigSchema, { ...raw }) as object), ...overrides };
  for (const [name, def] of Object.entries(VARIABLES) as [keyof typeof VARIABLES, Variable][]) {
    const value = merged[name];
    const shown = name in overrides ? value : (given[name] ?? value);
    let why: string | null = null;
    if (!Value.Check(ConfigSchema.properties[name], value)) {
      const s = def.schema as { type?: string; minimum?: number; maximum?: number; anyOf?: unknown[]; enum?: unknown[] };
      why =
        s.anyOf || s.enum
          ? 'is not an allowed value'
          : (s.type === 'integer' || s.type === 'number') && typeof value !== 'number'
            ? 'is not a number'
            : s.type === 'integer' && !Number.isInteger(value)
              ? 'is not a whole number'
              : typeof value === 'number' && s.minimum !== undefined && value < s.minimum
                ? `is below ${s.minimum}`
                : typeof value === 'number' && s.maximum !== undefined && value > s.maximum
                  ? `is above ${s.maximum}`
                  : typeof value === 'string' && (def.schema as { pattern?: string }).pattern
                    ? 'does not have the expected form'
                    : 'is not allowed';
    } else if (def.check) {
      why = def.check(value as never);
    }
    if (why) problems.push({ variable: name, value: shown, message: `${name}=${JSON.stringify(shown)} ${why}; expected ${allowedForm(name)}` });
  }
  // ports must differ (0 = pick a free one, may repeat)
  const ports = (['MQTT_PORT', 'MQTT_WS_PORT', 'HTTP_PORT', 'METRICS_PORT', 'NODE_RED_PORT'] as const).filter((p) => typeof merged[p] === 'number' && merged[p] !== 0);
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      if (merged[ports[i]!] === merged[ports[j]!]) {
        problems.push({ variable: ports[j]!, value: merged[ports[j]!], message: `${ports[j]}=${String(merged[ports[j]!])} is the same port as ${ports[i]}; every server needs its own port` });
      }
    }
  }
  if (merged.BROKER_PERSISTENCE === 'redis' && !merged.REDIS_URL) {
    problems.push({ variable: 'REDIS_URL', value: '', message: `REDIS_URL is empty but BROKER_PERSISTENCE=redis needs it; expected ${allowedForm('REDIS_URL')}` });
  }
  if (
    typeof merged.INGEST_WORKER === 'number' &&
    typeof merged.INGEST_WORKERS === 'number' &&
    merged.INGEST_WORKER >= merged.INGEST_WORKERS &&
    !problems.some((p) => p.variable.startsWith('INGEST_WORKER'))
  ) {
    problems.push({
      variable: 'INGEST_WORKER',
      value: merged.INGEST_WORKER,
      message: `INGEST_WORKER=${merged.INGEST_WORKER} is not below INGEST_WORKERS=${merged.INGEST_WORKERS}; expected a worker number from 0 to ${(merged.INGEST_WORKERS as number) - 1}`,
    });
  }
  const tenants = typeof merged.TENANTS === 'string' && merged.TENANTS ? merged.TENANTS.split(',') : [];
  if (new Set(tenants).size !== tenants.length && !problems.some((p) => p.variable === 'TENANTS'))
    problems.push({ variable: 'TENANTS', value: merged.TENANTS, message: `TENANTS=${JSON.stringify(merged.TENANTS)} names a city twice; expected each city once` });
  if (merged.TENANT && !tenants.includes(merged.TENANT as string) && !problems.some((p) => p.variable === 'TENANT'))
    problems.push({
      variable: 'TENANT',
      value: merged.TENANT,
      message: `TENANT=${JSON.stringify(merged.TENANT)} is not one of TENANTS=${JSON.stringify(merged.TENANTS)}; expected ${allowedForm('TENANT')}`,
    });
  if (tenants.length && merged.BROKER_PERSISTENCE === 'redis')
    problems.push({
      variable: 'TENANTS',
      value: merged.TENANTS,
      message: `TENANTS with BROKER_PERSISTENCE=redis is not supported yet (the cluster shares one registry); expected TENANTS empty or BROKER_PERSISTENCE=level`,
    });
  if (tenants.length && merged.START_LAYOUT === 'single')
    problems.push({ variable: 'START_LAYOUT', value: 'single', message: `START_LAYOUT=single cannot serve TENANTS (each city has its own core process); expected START_LAYOUT=processes` });
  if (tenants.length && merged.REGISTRY_FILE)
    problems.push({ variable: 'REGISTRY_FILE', value: merged.REGISTRY_FILE, message: `REGISTRY_FILE must be empty with TENANTS: each city's registry is DATA_DIR/tenants/<city>/registry.json` });
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.map((p) => p.message).join('\n  ')}`, problems);
  const cfg = merged as Config;
  cfg.DATA_DIR = path.resolve(cfg.DATA_DIR);
  return cfg;
}

export const mqttUrlOf = (cfg: Config): string => cfg.MQTT_URL || `mqtt://127.0.0.1:${cfg.MQTT_PORT}`;
export const registryFileOf = (cfg: Config): string => cfg.REGISTRY_FILE || path.join(cfg.DATA_DIR, 'registry.json');
/** the rule engine's open alerts and truck ignitions, taken over by the next start (ingest/rules/takeover.ts) */
export const rulesStateFileOf = (cfg: Pick<Config, 'DATA_DIR'>): string => path.join(cfg.DATA_DIR, 'rules-state.json');

// ── several municipalities (TENANTS; README "Several municipalities", broker/tenant.ts) ─────────
/** the installation's cities, in TENANTS order; [] = one city (today's layout) */
export const tenantsOf = (cfg: Pick<Config, 'TENANTS'>): string[] => (cfg.TENANTS ? cfg.TENANTS.split(',') : []);
/** a city's own data: registry, device configs, telemetry store, ops DB, users */
export const tenantDataDir = (root: string, tenant: string): string => path.join(root, 'tenants', tenant);
/** a port of city number `i` (TENANTS order): the base port plus i (0 stays 0 = pick a free one) */
const nth = (base: number, i: number): number => (base === 0 ? 0 : base + i);

/**
 * The configuration of one city's core in an installation with TENANTS (`cfg` = the
 * installation's): its own DATA_DIR (DATA_DIR/tenants/<city>), its console on HTTP_PORT + i and
 * Node-RED on NODE_RED_PORT + i (i = its place in TENANTS, from 0), TENANT set. Broker ports and
 * MQTT_URL are the installation's: one broker serves every city.
 */
export function tenantConfig(cfg: Config, tenant: string): Config {
  // (call it once, on the installation's configuration: DATA_DIR is the installation's)
  const i = tenantsOf(cfg).indexOf(tenant);
  if (i < 0)
    throw new ConfigError(`TENANT=${JSON.stringify(tenant)} is not one of TENANTS=${JSON.stringify(cfg.TENANTS)}`, [
      { variable: 'TENANT', value: tenant, message: `TENANT=${JSON.stringify(tenant)} is not one of TENANTS` },
    ]);
  return { ...cfg, TENANT: tenant, DATA_DIR: tenantDataDir(cfg.DATA_DIR, tenant), HTTP_PORT: nth(cfg.HTTP_PORT, i), NODE_RED_PORT: nth(cfg.NODE_RED_PORT, i) };
}

/** the MQTT user name of a registry id in this process's city (`<city>:<id>` with TENANT set, else the id) */
export const mqttUsernameOf = (cfg: Pick<Config, 'TENANT'>, id: string): string => (cfg.TENANT ? `${cfg.TENANT}:${id}` : id);

/** prefix of the console users' initial passwords, `CONSOLE_PASSWORD_<USER>` (ops-console/api/lib/users.ts) */
export const CONSOLE_PASSWORD_PREFIX = 'CONSOLE_PASSWORD_';

/** The `CONSOLE_PASSWORD_<USER>` variables that are set (one per user name, so not in VARIABLES). */
export function consolePasswordsOf(env: Record<string, string | undefined> = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith(CONSOLE_PASSWORD_PREFIX) && e[1] !== undefined));
}

/** The environment a child process of the stack inherits (the launcher's cores), with `extra` set over it. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

/** The program search path (PATH) a child given a clean environment keeps (Node-RED). */
export const systemPath = (env: Record<string, string | undefined> = process.env): string => env.PATH ?? '';
