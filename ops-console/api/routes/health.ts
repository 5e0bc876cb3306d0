/**
 * GET /health: each part of the ops center with its last success — the broker link, ingest
 * (publishing on the bus, writing to the store), the telemetry store (reads and writes) and the
 * API itself (ops DB, event-loop delay) — 503 "degraded" when any part cannot do its job.
 * GET /health/ready: readiness for load balancers (200 only when this API can serve requests).
 * GET /metrics (Prometheus). All public.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

const Ms = Type.Union([Type.Integer(), Type.Null()]);
const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  /** the parts that cannot do their job now */
  failing: Type.Array(Type.String()),
  broker: Type.Object({ ok: Type.Boolean(), configured: Type.Boolean(), connected: Type.Boolean(), lastMessageAt: Ms }),
  store: Type.Object({
    ok: Type.Boolean(),
    backend: Type.String(),
    detail: Type.String(),
    buffered: Type.Optional(Type.Number()),
    spilled: Type.Optional(Type.Number()),
    lastWriteAt: Type.Optional(Ms),
    writeFailingSince: Type.Optional(Ms),
    lastWriteError: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  }),
  ingest: Type.Object({
    writing: Type.Boolean({ description: 'false while the store refuses writes' }),
    lastWriteAt: Ms,
    lastServiceMessageAt: Type.Union([Type.Integer(), Type.Null()], { description: 'latest svc/state or svc/plate from ingest (ms); informative' }),
  }),
  api: Type.Object({ ok: Type.Boolean(), opsDb: Type.Boolean(), eventLoopDelayMs: Type.Number(), checkedAt: Type.Integer() }),
  opsDb: Type.Object({ ok: Type.Boolean() }),
  liveClients: Type.Integer(),
});

/** a health answer must come quickly even when a part hangs */
const PART_TIMEOUT_MS = 2000;
const within = <T>(p: Promise<T>, fallback: T): Promise<T> => Promise.race([p.catch(() => fallback), new Promise<T>((r) => setTimeout(r, PART_TIMEOUT_MS, fallback).unref())]);

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  app.addHook('onClose', async () => loop.disable());
  /** p99 event-loop delay over the last interval, ms (reset on each check) */
  const loopDelay = () => {
    const ms = Number.isFinite(loop.percentile(99)) ? loop.percentile(99) / 1e6 : 0;
    loop.reset();
    return Math.round(ms * 10) / 10;
  };

  const check = async () => {
    const backend = app.ctx.store.backend;
    const store = await within(app.ctx.store.health(), { ok: false, backend, detail: `no answer within ${PART_TIMEOUT_MS} ms` });
    const opsOk = await within(app.opsDb.ping(), false);
    const broker = { configured: app.mqttLink.configured, connected: app.mqttLink.connected, lastMessageAt: app.mqttLink.lastMessageAt };
    const brokerOk = !broker.configured || broker.connected;
    const writing = store.writeFailingSince === null || store.writeFailingSince === undefined;
    const api = { ok: opsOk, opsDb: opsOk, eventLoopDelayMs: loopDelay(), checkedAt: Date.now() };
    const failing = [!brokerOk && 'broker', !store.ok && 'store', !writing && 'ingest', !api.ok && 'api'].filter((x): x is string => !!x);
    return {
      status: failing.length ? ('degraded' as const) : ('ok' as const),
      failing,
      broker: { ok: brokerOk, ...broker },
      store,
      ingest: { writing, lastWriteAt: store.lastWriteAt ?? null, lastServiceMessageAt: app.mqttLink.lastServiceMessageAt },
      api,
      opsDb: { ok: opsOk },
      liveClients: app.live.clientCount,
    };
  };

  app.get(
    '/health',
    {
      config: { roles: ['public'] },
      schema: { tags: ['health'], summary: 'each part with its last success (503 when any part cannot do its job)', security: [], response: { 200: Health, 503: Health } },
    },
    async (_req, reply) => {
      const h = await check();
      reply.code(h.failing.length ? 503 : 200);
      return h;
    },
  );

  app.get(
    '/health/ready',
    {
      config: { roles: ['public'] },
      schema: {
        tags: ['health'],
        summary: 'readiness for a load balancer: 200 when this API can serve (ops DB and store answer, broker linked when configured)',
        security: [],
        response: { 200: Type.Object({ ready: Type.Boolean(), failing: Type.Array(Type.String()) }), 503: Type.Object({ ready: Type.Boolean(), failing: Type.Array(Type.String()) }) },
      },
    },
    async (_req, reply) => {
      const h = await check();
      // ingest failing to write does not make this API unable to serve reads
      const failing = h.failing.filter((p) => p !== 'ingest' && !(p === 'store' && h.store.writeFailingSince));
      reply.code(failing.length ? 503 : 200);
      return { ready: failing.length === 0, failing };
    },
  );

  app.get('/metrics', { config: { roles: ['public'] }, schema: { tags: ['health'], summary: 'Prometheus metrics', security: [], response: { 200: Type.String() } } }, async (_req, reply) => {
    reply.type(app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });
};
export default routes;
