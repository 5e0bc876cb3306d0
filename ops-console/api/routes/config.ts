/** GET /api/config: what the web console needs before drawing (public; no secrets). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ConsoleConfig } from '../../shared/api';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/config',
    {
      config: { roles: ['public'] },
      schema: {
        tags: ['config'],
        summary: 'city name, time zone, map style URL (empty = bundled basemap)',
        security: [],
        response: { 200: ConsoleConfig },
      },
    },
    async () => ({
      city: app.ctx.registry.registry.city,
      timezone: app.ctx.tz,
      ...(app.ctx.cfg.MAP_STYLE_URL ? { mapStyleUrl: app.ctx.cfg.MAP_STYLE_URL } : {}),
    }),
  );
};
export default routes;
