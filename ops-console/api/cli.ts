/**
 * Run the console API on its own: `tsx ops-console/api/cli.ts` (configuration from the
 * environment, lib/config.ts). Connects to the broker as the `console` service account
 * (CONSOLE_MQTT_PASSWORD, or the service secret the demo provisioning wrote). Ctrl-C / SIGTERM
 * close it gracefully (close-with-grace).
 */
import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import { loadConfig, mqttUrlOf, registryFileOf } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { secureDataDir } from '../../lib/data-dir';
import { RegistryView } from '../../registry/registry';
import { cityFileFor, loadCity } from '../../city/city';
import { openStore } from '../../store/open';
import { startApi } from './index';

const cfg = (() => {
  try {
    return loadConfig();
  } catch (err) {
    // an operator's mistake: the message names each variable; no stack trace
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
})();
secureDataDir(cfg.DATA_DIR);
const log = createLogger('console-api', cfg.LOG_LEVEL);

async function consolePassword(): Promise<string | null> {
  if (process.env.CONSOLE_MQTT_PASSWORD) return process.env.CONSOLE_MQTT_PASSWORD;
  try {
    const { readServiceSecrets } = await import('../../registry/service-secrets');
    return readServiceSecrets(path.join(cfg.DATA_DIR, 'services.json')).console?.password ?? null;
  } catch {
    return null;
  }
}

const registryFile = registryFileOf(cfg);
const registry = new RegistryView(registryFile, (err) => log.error({ err }, 'registry reload failed')).watch();
let city = null;
try {
  city = loadCity(cityFileFor(registryFile, registry.registry.cityFile));
} catch (err) {
  log.warn({ err: (err as Error).message }, 'no city data: route coverage unavailable');
}
const store = await openStore(cfg, log.child({ component: 'store' }));
const password = await consolePassword();
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

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) log.error({ err }, 'closing after an error');
  else log.info({ signal }, 'closing');
  await api.stop();
  await store.close();
  registry.close();
});
