/** What the routes need from outside: configuration, the telemetry store, the registry and the city. */
import fp from 'fastify-plugin';
import type { Config } from '../../../../lib/config';
import type { TelemetryStore } from '../../../../store/types';
import type { RegistryView } from '../../../../registry/registry';
import type { City } from '../../../../city/city';

export interface ApiContext {
  cfg: Config;
  store: TelemetryStore;
  registry: RegistryView;
  city: City | null;
  /** IANA zone of the city (registry timezone) */
  tz: string;
  /** where export files are written */
  exportDir: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: ApiContext;
  }
}

export default fp(
  async (fastify, opts: ApiContext) => {
    fastify.decorate('ctx', opts);
  },
  { name: 'context' },
);
