/**
 * Run the console API on its own: `tsx ops-console/api/cli.ts` (configuration from the
 * environment, lib/config.ts). Connects to the broker as the `console` service account
 * (CONSOLE_MQTT_PASSWORD, or the service secret the demo provisioning wrote). Ctrl-C / SIGTERM
 * close it gracefully (close-with-grace).
 */
import path from 'node:path';
import { mqttUrlOf, registryFileOf, type Config } from '../../lib/config';
import { runServerCli } from '../../lib/cli';
import { RegistryView } from '../../registry/registry';
import { cityFileFor, loadCity } from '../../city/city';
import { openStore } from '../../store/open';
import { startApi } from './index';

async function consolePassword(cfg: Config): Promise<string | null> {
  if (cfg.CONSOLE_MQTT_PASSWORD) return cfg.CONSOLE_MQTT_PASSWORD;
  try {
    const { readServiceSecrets } = await import('../../registry/service-secrets');
    return readServiceSecrets(path.join(cfg.DATA_DIR, 'services.json')).console?.password ?? null;
  } catch {
    return null;
  }
}

runServerCli(
  'console API',
  async ({ cfg, log }) => {
    const registryFile = registryFileOf(cfg);
    const registry = new RegistryView(registryFile, (err) => log.error({ err }, 'registry reload failed')).watch();
    let city = null;
    try {
      city = loadCity(cityFileFor(registryFile, registry.registry.cityFile));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'no city data: route coverage unavailable');
    }
    const store = await openStore(cfg, log.child({ component: 'store' }));
    const password = await consolePassword(cfg);
    const api = await startApi({
      cfg,
      store,
      registry,
      city,
      mqtt: password ? { url: mqttUrlOf(cfg), username: 'console', password } : null,
      port: cfg.HTTP_PORT,
      host: cfg.HOST,
      log: log as never,
    });
    log.info({ port: api.port }, 'console API listening');
    return async () => {
      await api.stop();
      await store.close();
      registry.close();
    };
  },
  { graceMs: 10_000, logName: 'console-api' },
);
