/**
 * Configuration from the environment, validated once at start-up. Every default lives here.
 * Documented in README.md ("Configuration").
 */
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const Port = (def: number, description: string) => Type.Integer({ minimum: 0, maximum: 65535, default: def, description });

export const ConfigSchema = Type.Object({
  DATA_DIR: Type.String({ default: './data', description: 'all state: embedded database, registry, broker sessions, spill files' }),
  HOST: Type.String({ default: '0.0.0.0', description: 'interface the servers listen on' }),
  MQTT_PORT: Port(1883, 'MQTT over TCP'),
  MQTT_WS_PORT: Port(8883, 'MQTT over WebSocket (path /mqtt)'),
  HTTP_PORT: Port(3000, 'ops-console API and web console; GET /health'),
  METRICS_PORT: Port(9464, 'ingest Prometheus metrics (/metrics)'),
  NODE_RED_PORT: Port(1880, 'Node-RED editor and flows'),
  MQTT_URL: Type.String({ default: '', description: 'broker URL for ingest/sim/console when the broker runs elsewhere; empty = mqtt://127.0.0.1:MQTT_PORT' }),
  REGISTRY_FILE: Type.String({ default: '', description: 'device registry; empty = DATA_DIR/registry.json (demo city provisioned on first start)' }),
  MAX_CLOCK_SKEW_S: Type.Integer({ minimum: 0, default: 120, description: 'readings further ahead of the server clock are rejected' }),
  MAX_AGE_DAYS: Type.Integer({ minimum: 1, default: 30, description: 'readings older than this are rejected' }),
  LATE_AFTER_S: Type.Integer({ minimum: 1, default: 60, description: 'readings arriving later than this are flagged late' }),
  BATCH_SIZE: Type.Integer({ minimum: 1, default: 5000, description: 'ingest write batch size (points)' }),
  FLUSH_MS: Type.Integer({ minimum: 10, default: 250, description: 'ingest flushes a partial batch after this long' }),
  INFLUX_URL: Type.String({ default: '', description: 'set to use InfluxDB instead of the embedded store' }),
  INFLUX_TOKEN: Type.String({ default: '', description: 'InfluxDB 2.x/3.x token, or "user:password" for 1.x' }),
  INFLUX_ORG: Type.String({ default: '', description: 'InfluxDB 2.x organisation' }),
  INFLUX_BUCKET: Type.String({ default: 'city', description: 'InfluxDB 2.x bucket, or 1.x database' }),
  INFLUX_API: Type.Union([Type.Literal('auto'), Type.Literal('v1'), Type.Literal('v2')], { default: 'auto', description: 'write API: v2 (/api/v2/write), v1 (/write), auto = probe /ping version' }),
  SIM: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'npm start runs the simulated fleet' }),
  SIM_SPEED: Type.Number({ minimum: 0.1, default: 1, description: 'simulated time runs this many times faster' }),
  SIM_BACKFILL_DAYS: Type.Integer({ minimum: 0, maximum: 30, default: 7, description: 'first start with SIM=on: days of the demo fleet’s history replayed through broker and ingest (0 = none)' }),
  PLATE_RETENTION_DAYS: Type.Integer({ minimum: 1, default: 90, description: 'plate reads older than this are purged' }),
  JWT_SECRET: Type.String({ default: '', description: 'console session signing key; empty = generated and kept in DATA_DIR' }),
  NODE_RED_CREDENTIAL_SECRET: Type.String({ default: '', description: 'Node-RED credentialSecret; empty = generated and kept in DATA_DIR' }),
  MAP_STYLE_URL: Type.String({ default: '', description: 'MapLibre style URL; empty = bundled offline basemap of the demo city' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
});
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  code = 'E_CONFIG';
}

/** Read, convert and validate configuration from an environment object. Throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw));
  const merged = { ...(converted as object), ...overrides };
  const errors = [...Value.Errors(ConfigSchema, merged)];
  if (errors.length) {
    const lines = errors.map((e) => `${e.path.slice(1)}=${JSON.stringify(e.value)}: ${e.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const cfg = merged as Config;
  cfg.DATA_DIR = path.resolve(cfg.DATA_DIR);
  return cfg;
}

export const mqttUrlOf = (cfg: Config): string => cfg.MQTT_URL || `mqtt://127.0.0.1:${cfg.MQTT_PORT}`;
export const registryFileOf = (cfg: Config): string => cfg.REGISTRY_FILE || path.join(cfg.DATA_DIR, 'registry.json');
