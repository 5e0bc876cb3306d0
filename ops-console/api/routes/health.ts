/** GET /health (broker link, telemetry store, ops DB) and GET /metrics (Prometheus). Public. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  broker: Type.Object({ configured: Type.Boolean(), connected: Type.Boolean() }),
  store: Type.Object({ ok: Type.Boolean(), backend: Type.String(), detail: Type.String(), buffered: Type.Optional(Type.Number()), spilled: Type.Optional(Type.Number()) }),
  opsDb: Type.Object({ ok: Type.Boolean() }),
  ingest: Type.Object({ lastServiceMessageAt: Type.Union([Type.Integer(), Type.Null()], { description: 'latest svc/state or svc/plate from ingest (ms); informative' }) }),
  liveClients: Type.Integer(),
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    { config: { roles: ['public'] }, schema: { tags: ['health'], summary: 'component health (503 when degraded)', security: [], response: { 200: Health, 503: Health } } },
    async (_req, reply) => {
      const store = await app.ctx.store.health().catch(() => ({ ok: false, backend: app.ctx.store.backend, detail: 'health check failed' }));
      const opsOk = await app.opsDb.ping();
      const broker = { configured: app.mqttLink.configured, connected: app.mqttLink.connected };
      const ok = store.ok && opsOk && (!broker.configured || broker.connected);
      reply.code(ok ? 200 : 503);
      return { status: ok ? ('ok' as const) : ('degraded' as const), broker, store, opsDb: { ok: opsOk }, ingest: { lastServiceMessageAt: app.mqttLink.lastServiceMessageAt }, liveClients: app.live.clientCount };
    },
  );

  app.get(
    '/metrics',
    { config: { roles: ['public'] }, schema: { tags: ['health'], summary: 'Prometheus metrics', security: [], response: { 200: Type.String() } } },
    async (_req, reply) => {
      reply.type(app.metrics.registry.contentType);
      return app.metrics.registry.metrics();
    },
  );
};
export default routes;
