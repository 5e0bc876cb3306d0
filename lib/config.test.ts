import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, VARIABLES } from './config';

/** one bad value per variable that can be wrong, and what the message must say it expected */
const BAD: [keyof typeof VARIABLES, string, RegExp][] = [
  ['HOST', 'not a host!', /expected an IP address .* or a host name/],
  ['MQTT_PORT', 'abc', /is not a number; expected a whole number from 0 to 65535/],
  ['MQTT_WS_PORT', '70000', /is above 65535; expected a whole number from 0 to 65535/],
  ['HTTP_PORT', '-1', /is below 0; expected a whole number from 0 to 65535/],
  ['METRICS_PORT', '94.64', /is not a whole number; expected a whole number from 0 to 65535/],
  ['NODE_RED_PORT', 'eighteen', /expected a whole number from 0 to 65535/],
  ['MQTT_URL', 'localhost:1883', /has scheme "localhost"; expected empty or a mqtt:\/\/ \/ mqtts:\/\/ \/ tcp:\/\/ \/ ws:\/\/ \/ wss:\/\/ URL/],
  ['MQTT_URL', 'http://broker:1883', /has scheme "http"; expected empty or a mqtt:\/\//],
  ['MQTT_URL', 'not a url', /is not a URL; expected/],
  ['MAX_CLOCK_SKEW_S', '-5', /is below 0; expected a whole number ≥ 0/],
  ['MAX_AGE_DAYS', '0', /is below 1; expected a whole number ≥ 1/],
  ['LATE_AFTER_S', 'soon', /is not a number/],
  ['BATCH_SIZE', '0', /expected a whole number ≥ 1/],
  ['FLUSH_MS', '5', /is below 10; expected a whole number ≥ 10/],
  ['INFLUX_URL', 'influx:8086', /expected empty or a http:\/\/ \/ https:\/\/ URL with a host/],
  ['INFLUX_API', 'v3', /is not an allowed value; expected one of auto, v1, v2/],
  ['SIM', 'yes', /is not an allowed value; expected one of on, off/],
  ['INGEST_RULES', 'no', /is not an allowed value; expected one of on, off/],
  ['LOG_FORMAT', 'xml', /is not an allowed value; expected one of auto, json/],
  ['SIM_SPEED', '0', /is below 0.1; expected a number ≥ 0.1/],
  ['PLATE_RETENTION_DAYS', '0', /expected a whole number ≥ 1/],
  ['QUERY_BUDGET_MS', '50', /is below 100; expected a whole number from 100 to 600000/],
  ['QUERY_BUDGET_MS', '1.5s', /is not a number; expected a whole number from 100 to 600000/],
  ['JWT_SECRET', 'short', /is 5 characters long; expected empty or at least 16 characters/],
  ['MAP_STYLE_URL', 'tiles/style.json', /is not a URL; expected empty or a http:\/\/ \/ https:\/\/ URL/],
  ['MAP_STYLE_URL', 'ftp://tiles.example/style.json', /has scheme "ftp"/],
  ['API_URL', 'localhost:3000', /has scheme "localhost"; expected empty or a http:\/\/ \/ https:\/\/ URL/],
  ['OPEN311_RADIUS_M', '0', /is below 1; expected a number from 1 to 500/],
  ['OPEN311_PHOTO_MAX_KB', '99999', /is above 20480; expected a whole number from 1 to 20480/],
  ['OPEN311_CONTACT_RETENTION_DAYS', 'never', /is not a number; expected a whole number ≥ 1/],
  ['OPEN311_SLA_HOURS', 'noise:24', /does not have the expected form; expected a text of the form/],
  ['BROKER_PERSISTENCE', 'mongodb', /is not an allowed value; expected one of level, memory, redis/],
  ['REDIS_URL', 'redis.example:6379', /has scheme "redis.example"; expected empty or a redis:\/\/ \/ rediss:\/\/ URL with a host/],
  ['REDIS_URL', 'http://redis.example:6379', /has scheme "http"; expected empty or a redis:\/\//],
  ['OPS_DB_URL', 'mysql://db.example/ops', /has scheme "mysql"; expected empty or a postgres:\/\/ \/ postgresql:\/\/ URL with a host/],
  ['OPS_DB_URL', 'postgres:///ops', /names no host/],
  ['BROKER_ID', 'node:1', /does not have the expected form; expected empty or up to 64 letters, digits, - or _ \(no colon/],
  ['INGEST_WORKERS', '0', /is below 1; expected a whole number from 1 to 256/],
  ['INGEST_WORKER', '-1', /is below 0; expected a whole number from 0 to 255/],
  ['START_LAYOUT', 'cluster', /is not an allowed value; expected one of processes, single/],
  ['MQTT_CONNECT_TIMEOUT_S', '0', /is below 1; expected a whole number from 1 to 60/],
  ['MQTT_MAX_PENDING_PER_IP', '0', /is below 1; expected a whole number ≥ 1/],
  ['MQTT_MAX_PENDING', 'lots', /is not a number; expected a whole number ≥ 1/],
  ['MQTT_AUTH_CONCURRENCY', '100', /is above 64; expected a whole number from 1 to 64/],
  ['NODE_RED_EDITOR', 'yes', /is not an allowed value; expected one of on, off/],
  ['ESCALATION_WEBHOOK_URL', 'ftp://x', /has scheme "ftp"; expected empty or a http:\/\/ \/ https:\/\/ URL/],
  ['ESCALATION_DELAY_MIN', '0', /is below 0.1; expected a number from 0.1 to 1440/],
  ['DAILY_REPORT_AT', '25:00', /does not have the expected form; expected a local time HH:MM on the 24-hour clock/],
  ['SIM_BACKFILL_DAYS', '31', /is above 30; expected a whole number from 0 to 30/],
  ['TENANTS', 'Coatza,Mina', /does not have the expected form; expected empty \(one city\) or city ids/],
  ['TENANT', 'a:b', /does not have the expected form; expected empty or one of the ids in TENANTS/],
  ['LOG_LEVEL', 'verbose', /is not an allowed value; expected one of fatal, error, warn, info, debug, trace, silent/],
];

describe('configuration errors name the variable, the bad value and what is allowed', () => {
  it.each(BAD)('%s=%s', (name, value, expected) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    expect(msg).toContain(`${name}=${JSON.stringify(value)}`);
    expect(msg).toMatch(expected);
    expect((err as ConfigError).problems.map((p) => p.variable)).toEqual([name]);
    expect(msg).not.toMatch(/Expected union value|at Object\.|\n\s+at /);
  });

  it('every variable that has a constraint is in the table above', () => {
    const free = [
      'DATA_DIR',
      'REGISTRY_FILE',
      'INFLUX_TOKEN',
      'INFLUX_ORG',
      'INFLUX_BUCKET',
      'NODE_RED_CREDENTIAL_SECRET',
      'NODE_RED_ADMIN_PASSWORD',
      'INGEST_USERNAME',
      'INGEST_PASSWORD',
      'CHECK_API_USER',
      'CHECK_API_PASSWORD',
      'INGEST_CLIENT_ID',
      'CONSOLE_MQTT_PASSWORD',
      'CITY_FILE',
      'CHROMIUM',
    ];
    const covered = new Set(BAD.map((b) => b[0]));
    for (const name of Object.keys(VARIABLES)) if (!free.includes(name)) expect(covered.has(name as keyof typeof VARIABLES), name).toBe(true);
  });

  it('reports every bad variable at once, and two servers on one port', () => {
    let err: ConfigError | undefined;
    try {
      loadConfig({ SIM: 'maybe', HTTP_PORT: '1883' });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.problems.map((p) => p.variable).sort()).toEqual(['HTTP_PORT', 'SIM']);
    expect(err?.message).toMatch(/HTTP_PORT=1883 is the same port as MQTT_PORT/);
  });

  it('accepts the defaults and good values', () => {
    expect(loadConfig({ MAP_STYLE_URL: '/styles/city.json' }).MAP_STYLE_URL).toBe('/styles/city.json');
    const cfg = loadConfig({ MQTT_URL: 'mqtts://broker.example:8883', MAP_STYLE_URL: 'https://tiles.example/style.json', INFLUX_URL: 'http://127.0.0.1:8086', HOST: '127.0.0.1', MQTT_PORT: ' 1999 ' });
    expect(cfg.MQTT_PORT).toBe(1999);
    expect(loadConfig({}).LOG_LEVEL).toBe('info');
  });
});

describe('cluster configuration', () => {
  it('BROKER_PERSISTENCE=redis needs REDIS_URL; a worker number is below the worker count', () => {
    expect(() => loadConfig({ BROKER_PERSISTENCE: 'redis' })).toThrow(/REDIS_URL is empty but BROKER_PERSISTENCE=redis needs it; expected empty or a redis:\/\//);
    expect(() => loadConfig({ INGEST_WORKERS: '2', INGEST_WORKER: '2' })).toThrow(/INGEST_WORKER=2 is not below INGEST_WORKERS=2; expected a worker number from 0 to 1/);
    expect(loadConfig({ BROKER_PERSISTENCE: 'redis', REDIS_URL: 'redis://:secret@127.0.0.1:6379/0', BROKER_ID: 'broker-a', INGEST_WORKERS: '4', INGEST_WORKER: '3' })).toMatchObject({
      BROKER_PERSISTENCE: 'redis',
      BROKER_ID: 'broker-a',
      INGEST_WORKERS: 4,
      INGEST_WORKER: 3,
    });
    expect(loadConfig({})).toMatchObject({ BROKER_PERSISTENCE: 'level', REDIS_URL: '', INGEST_WORKERS: 1, INGEST_WORKER: 0 });
  });
});

describe('escalation and report configuration', () => {
  it('defaults and valid values', () => {
    expect(loadConfig({})).toMatchObject({ ESCALATION_WEBHOOK_URL: '', ESCALATION_DELAY_MIN: 10, DAILY_REPORT_AT: '22:30' });
    expect(loadConfig({ ESCALATION_WEBHOOK_URL: 'https://hooks.example.mx/alertas', ESCALATION_DELAY_MIN: '2.5', DAILY_REPORT_AT: '06:05' })).toMatchObject({
      ESCALATION_WEBHOOK_URL: 'https://hooks.example.mx/alertas',
      ESCALATION_DELAY_MIN: 2.5,
      DAILY_REPORT_AT: '06:05',
    });
  });
});
