import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, mqttUsernameOf, tenantConfig, tenantsOf } from './config';

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems.map((p) => p.message);
  }
};

describe('TENANTS: several municipalities (lib/config.ts)', () => {
  it('the default is one city, exactly as before: no tenants, plain MQTT user names', () => {
    const cfg = loadConfig({});
    expect(cfg.TENANTS).toBe('');
    expect(cfg.TENANT).toBe('');
    expect(tenantsOf(cfg)).toEqual([]);
    expect(mqttUsernameOf(cfg, 'ingest')).toBe('ingest');
  });

  it("each city's core: its own DATA_DIR, console and Node-RED ports in TENANTS order, the one broker", () => {
    const cfg = loadConfig({ TENANTS: 'coatzacoalcos,minatitlan', DATA_DIR: '/srv/estado', HTTP_PORT: '3000', NODE_RED_PORT: '1880' });
    expect(tenantsOf(cfg)).toEqual(['coatzacoalcos', 'minatitlan']);
    const mina = tenantConfig(cfg, 'minatitlan');
    expect(mina).toMatchObject({ TENANT: 'minatitlan', DATA_DIR: path.join('/srv/estado', 'tenants', 'minatitlan'), HTTP_PORT: 3001, NODE_RED_PORT: 1881, MQTT_PORT: cfg.MQTT_PORT });
    expect(tenantConfig(cfg, 'coatzacoalcos')).toMatchObject({ HTTP_PORT: 3000, NODE_RED_PORT: 1880 });
    expect(mqttUsernameOf(mina, 'ingest')).toBe('minatitlan:ingest');
    expect(() => tenantConfig(cfg, 'veracruz')).toThrow(ConfigError);
    expect(tenantConfig(loadConfig({ TENANTS: 'a,b', HTTP_PORT: '0' }), 'b').HTTP_PORT).toBe(0);
  });

  it('refuses what it cannot serve, one line per variable', () => {
    expect(problems({ TENANTS: 'Coatza' })[0]).toMatch(/^TENANTS="Coatza" does not have the expected form; expected empty \(one city\) or city ids/);
    expect(problems({ TENANTS: 'a,a' })[0]).toMatch(/names a city twice/);
    expect(problems({ TENANTS: 'a,b', TENANT: 'c' })[0]).toMatch(/^TENANT="c" is not one of TENANTS="a,b"/);
    expect(problems({ TENANTS: 'a,b', BROKER_PERSISTENCE: 'redis', REDIS_URL: 'redis://r:6379' })[0]).toMatch(/BROKER_PERSISTENCE=redis is not supported yet/);
    expect(problems({ TENANTS: 'a,b', START_LAYOUT: 'single' })[0]).toMatch(/START_LAYOUT=single cannot serve TENANTS/);
    expect(problems({ TENANTS: 'a,b', REGISTRY_FILE: '/x.json' })[0]).toMatch(/REGISTRY_FILE must be empty with TENANTS/);
  });
});
