/** Prometheus metrics of the API on its own prom-client registry (served at GET /metrics). */
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'console_' });
  const m = {
    registry,
    httpRequests: new Counter({ name: 'console_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'] as const, registers: [registry] }),
    httpDuration: new Histogram({
      name: 'console_http_request_seconds',
      help: 'HTTP request duration',
      labelNames: ['route'] as const,
      buckets: [0.005, 0.02, 0.1, 0.5, 2, 10],
      registers: [registry],
    }),
    errors: new Counter({ name: 'console_errors_total', help: 'errors returned by code', labelNames: ['code'] as const, registers: [registry] }),
    loginFailures: new Counter({ name: 'console_login_failures_total', help: 'failed logins', registers: [registry] }),
    mqttMessages: new Counter({ name: 'console_mqtt_messages_total', help: 'service messages received by type', labelNames: ['type'] as const, registers: [registry] }),
    mqttRejected: new Counter({ name: 'console_mqtt_rejected_total', help: 'service messages refused (bad JSON or schema) by type', labelNames: ['type'] as const, registers: [registry] }),
    mqttConnected: new Gauge({ name: 'console_mqtt_connected', help: '1 when connected to the broker', registers: [registry] }),
    liveClients: new Gauge({ name: 'console_live_clients', help: 'connected live-stream clients', registers: [registry] }),
    liveDeltas: new Counter({ name: 'console_live_deltas_total', help: 'delta messages sent', registers: [registry] }),
    liveSnapshots: new Counter({ name: 'console_live_snapshots_total', help: 'snapshots sent, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    liveSkipped: new Counter({ name: 'console_live_skipped_deltas_total', help: 'deltas not sent to a client that fell behind (replaced by a snapshot)', registers: [registry] }),
    livePlatesDropped: new Counter({ name: 'console_live_plates_dropped_total', help: 'plate reads dropped from the live stream because a tick overflowed', registers: [registry] }),
    plateSearches: new Counter({ name: 'console_plate_searches_total', help: 'plate searches (each audited)', registers: [registry] }),
    platesPurged: new Counter({ name: 'console_plates_purged_total', help: 'plate reads purged by retention', registers: [registry] }),
    queryBudgetExceeded: new Counter({
      name: 'console_query_budget_exceeded_total',
      help: 'queries cancelled at their time budget (QUERY_BUDGET_MS), by query',
      labelNames: ['query'] as const,
      registers: [registry],
    }),
    exportJobs: new Counter({ name: 'console_export_jobs_total', help: 'export jobs by final state', labelNames: ['state'] as const, registers: [registry] }),
  };
  return m;
}
export type ApiMetrics = ReturnType<typeof createApiMetrics>;

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ApiMetrics;
  }
  interface FastifyRequest {
    startedAt?: number;
  }
}

export default fp(
  async (fastify) => {
    const m = createApiMetrics();
    fastify.decorate('metrics', m);
    fastify.addHook('onRequest', async (req) => {
      req.startedAt = performance.now();
    });
    fastify.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? 'unmatched';
      m.httpRequests.inc({ route, status: String(reply.statusCode) });
      if (req.startedAt !== undefined) m.httpDuration.observe({ route }, (performance.now() - req.startedAt) / 1000);
    });
  },
  { name: 'metrics' },
);
