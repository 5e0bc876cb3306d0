/**
 * Plate search (admin, investigator): exact or partial plate over a time range, with a required
 * reason. Every search is written to the audit log (who, when, query, reason, result count) before
 * the results are returned.
 * GET /api/audit: the audit log, admins only.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AuditRow, PlateReadRow as PlateRow } from '../../shared/api';
import { badRequest } from '../lib/errors';
import { withQueryBudget } from '../lib/query-budget';
import { DeviceIdList, errors, OptRangeQuery, RangeQuery, splitIds } from '../lib/schemas';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/plates/search',
    {
      config: { roles: ['investigator'] },
      schema: {
        tags: ['plates'],
        summary: 'search plate reads (audited)',
        querystring: Type.Object({
          plate: Type.String({ minLength: 2, maxLength: 10, pattern: '^[A-Za-z0-9-]+$' }),
          partial: Type.Boolean({ default: false }),
          reason: Type.String({ minLength: 3, maxLength: 200, description: 'why you search (case number, request); recorded in the audit log' }),
          ...RangeQuery,
          cameraIds: Type.Optional(DeviceIdList),
          limit: Type.Integer({ minimum: 1, maximum: 10000, default: 1000 }),
        }),
        response: { 200: Type.Object({ reads: Type.Array(PlateRow), count: Type.Integer() }), ...errors(400, 401, 403, 503) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      if (q.to <= q.from) throw badRequest('E_QUERY_RANGE', '`to` must be after `from`');
      const query = { plate: q.plate.toUpperCase(), partial: q.partial, from: q.from, to: q.to, cameraIds: splitIds(q.cameraIds), limit: q.limit };
      const reads = await withQueryBudget(app, 'plate-search', (store) => store.plateSearch(query), { reply });
      app.metrics.plateSearches.inc();
      await app.audit.write({ actor: req.user.sub, role: req.user.role, action: 'plate_search', query: { ...query, reason: q.reason }, resultCount: reads.length, detail: req.ip });
      return { reads, count: reads.length };
    },
  );

  app.get(
    '/api/audit',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['plates'],
        summary: 'the audit log (plate searches, hotlist changes, purges, exports)',
        querystring: Type.Object({
          actor: Type.Optional(Type.String({ maxLength: 64 })),
          action: Type.Optional(Type.String({ maxLength: 40 })),
          ...OptRangeQuery,
          limit: Type.Integer({ minimum: 1, maximum: 10000, default: 500 }),
        }),
        response: { 200: Type.Object({ entries: Type.Array(AuditRow) }), ...errors(400, 401, 403) },
      },
    },
    async (req) => ({ entries: await app.audit.list(req.query) }),
  );
};
export default routes;
