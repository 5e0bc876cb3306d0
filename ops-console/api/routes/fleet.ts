/**
 * Fleet reports for planners (and admins):
 *   GET /api/fleet/report          per truck and day, trips, stops, summaries per route and district (JSON)
 *   GET /api/fleet/report/export   the same as CSV (one table), XLSX (every table) or PDF
 *   GET /api/fleet/gpx             one truck's day as GPX (trips as track segments, stops as waypoints)
 * At most FLEET_REPORT_LIMITS.maxDays days and maxTruckDays truck-days per request (400
 * E_QUERY_RANGE_TOO_LONG), and FLEET_QUERY_LIMITS requests in flight per user and in all (429
 * E_QUERY_TOO_MANY; a big report reads the store for seconds). Downloads take the Bearer header
 * or a one-time ?ticket=.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DeviceIdList, errors, OneOf, RangeQuery, splitIds } from '../lib/schemas';
import { badRequest } from '../lib/errors';
import { localDays } from '../lib/local-days';
import { devicesOf } from '../lib/planner';
import { fleetReport, type FleetQuery } from '../lib/fleet-report';
import { withQueryBudget } from '../lib/query-budget';
import type { FastifyReply } from 'fastify';
import { fleetCsv, fleetGpx, fleetPdf, fleetXlsx } from '../lib/fleet-export';
import { FLEET_REPORT_LIMITS, FLEET_RULE_BOUNDS, FLEET_RULES, FLEET_TABLE_KEYS, FleetReport, type FleetRules } from '../../shared/fleet-report';
import { localToUtc } from '../../../norms/local-time';
import { limitInFlight } from '../lib/inflight-limit';

const ROLES = ['planner'] as const; // admins pass every role check
const RuleParams = Object.fromEntries(
  (Object.keys(FLEET_RULES) as (keyof FleetRules)[]).map((k) => [
    k,
    Type.Optional(Type.Number({ minimum: FLEET_RULE_BOUNDS[k][0], maximum: FLEET_RULE_BOUNDS[k][1], description: `default ${FLEET_RULES[k]}` })),
  ]),
) as Record<keyof FleetRules, ReturnType<typeof Type.Optional<ReturnType<typeof Type.Number>>>>;
const ReportQuery = {
  ...RangeQuery,
  deviceIds: Type.Optional(DeviceIdList),
  routeId: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })),
  district: Type.Optional(Type.String({ minLength: 1, maxLength: 80, description: 'district of the trucks’ routes' })),
  ...RuleParams,
};
const Lang = Type.Union([Type.Literal('es'), Type.Literal('en')], { default: 'es', description: 'labels (numbers and dates are Mexican either way)' });
const Ticket = Type.Optional(Type.String({ maxLength: 64, description: 'one-time ticket from POST /api/auth/ticket (browser links)' }));
const FileBody = Type.Unsafe<string | Buffer>({ type: 'string', format: 'binary', description: 'the file' });
const DateParam = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'local day YYYY-MM-DD' });

type ReportQ = { from: number; to: number; deviceIds?: string; routeId?: string; district?: string } & Partial<FleetRules>;
const toQuery = (q: ReportQ): FleetQuery => {
  const rules = Object.fromEntries((Object.keys(FLEET_RULES) as (keyof FleetRules)[]).map((k) => [k, q[k]]));
  return { from: q.from, to: q.to, deviceIds: splitIds(q.deviceIds), routeId: q.routeId, district: q.district, rules };
};

export const FLEET_QUERY_LIMITS = { perUser: 2, total: 6 };

const routes: FastifyPluginAsyncTypebox = async (app) => {
  // requests in flight, per user and in all (this plugin's routes only)
  limitInFlight(app, { ...FLEET_QUERY_LIMITS, what: 'fleet reports' });
  const checkRoute = (routeId?: string) => {
    if (routeId && app.ctx.city && !app.ctx.city.routes.some((r) => r.id === routeId)) throw badRequest('E_QUERY_UNKNOWN_ROUTE', `no route ${routeId}`);
  };
  // every store read of one report shares one time budget (QUERY_BUDGET_MS; lib/query-budget.ts)
  // with the geofence visits of the range (ops database)
  const report = async (q: FleetQuery, reply: FastifyReply) => {
    const visits = await app.geofences.visits({ from: q.from, to: q.to, limit: 10_000 });
    return withQueryBudget(app, 'fleet_report', (store) => fleetReport({ ...app.ctx, store }, q, Date.now(), visits), { reply });
  };
  const stamp = (from: number, to: number) => `${localDays(from, from + 1, app.ctx.tz)[0]!.date}_${localDays(to - 1, to, app.ctx.tz)[0]!.date}`;

  app.get(
    '/api/fleet/report',
    {
      config: { roles: ROLES },
      schema: {
        tags: ['fleet'],
        summary: `fleet report: per truck and local day (trips, stops, distance, engine hours, bins lifted, time at depot), the trips and stops with their places, summaries per route and district; at most ${FLEET_REPORT_LIMITS.maxDays} days and ${FLEET_REPORT_LIMITS.maxTruckDays} truck-days`,
        querystring: Type.Object(ReportQuery),
        response: { 200: FleetReport, ...errors(400, 401, 403, 404, 429, 503) },
      },
    },
    async (req, reply) => {
      checkRoute(req.query.routeId);
      return report(toQuery(req.query), reply);
    },
  );

  app.get(
    '/api/fleet/report/export',
    {
      config: { roles: ROLES, ticketInQuery: true },
      schema: {
        tags: ['fleet'],
        summary: 'the fleet report as a file: CSV (one table, `table`), XLSX (a sheet per table) or PDF; Spanish labels unless lang=en',
        querystring: Type.Object({
          ...ReportQuery,
          format: OneOf(['csv', 'xlsx', 'pdf'] as const),
          table: OneOf(FLEET_TABLE_KEYS, { default: 'days', description: 'CSV only' }),
          lang: Lang,
          ticket: Ticket,
        }),
        response: { 200: FileBody, ...errors(400, 401, 403, 404, 429, 503) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      checkRoute(q.routeId);
      const r = await report(toQuery(q), reply);
      const base = `${q.lang === 'en' ? 'fleet-report' : 'reporte-flota'}_${stamp(q.from, q.to)}`;
      if (q.format === 'csv') {
        reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${base}_${q.table}.csv"`);
        return '\uFEFF' + fleetCsv(r, q.table, q.lang);
      }
      if (q.format === 'xlsx') {
        reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').header('content-disposition', `attachment; filename="${base}.xlsx"`);
        return reply.send((await fleetXlsx(r, q.lang)) as never);
      }
      reply.type('application/pdf').header('content-disposition', `attachment; filename="${base}.pdf"`);
      return reply.send((await fleetPdf(r, q.lang)) as never);
    },
  );

  app.get(
    '/api/fleet/gpx',
    {
      config: { roles: ROLES, ticketInQuery: true },
      schema: {
        tags: ['fleet'],
        summary: "one truck's local day as GPX 1.1: a track segment per trip, a waypoint per stop",
        querystring: Type.Object({ deviceId: Type.String({ minLength: 1, maxLength: 40 }), date: DateParam, lang: Lang, ticket: Ticket }),
        response: { 200: FileBody, ...errors(400, 401, 403, 404, 429, 503) },
      },
    },
    async (req, reply) => {
      const [d] = devicesOf(app.ctx, ['truck'], [req.query.deviceId]);
      const date = req.query.date;
      const [y, m, dd] = date.split('-').map(Number) as [number, number, number];
      const next = new Date(Date.UTC(y, m - 1, dd + 1)).toISOString().slice(0, 10);
      let from: number, to: number;
      try {
        from = localToUtc(date, '00:00', app.ctx.tz);
        to = localToUtc(next, '00:00', app.ctx.tz);
      } catch {
        throw badRequest('E_QUERY_DATE', `${date} is not a date`);
      }
      if (!Number.isFinite(from) || new Date(Date.UTC(y, m - 1, dd)).toISOString().slice(0, 10) !== date) throw badRequest('E_QUERY_DATE', `${date} is not a date`);
      const { r, fixes } = await withQueryBudget(
        app,
        'fleet_gpx',
        async (store) => ({
          r: await fleetReport({ ...app.ctx, store }, { from, to, deviceIds: [d!.id] }, Date.now(), await app.geofences.visits({ deviceId: d!.id, from, to, limit: 10_000 })),
          fixes: await store.track({ deviceId: d!.id, from, to }),
        }),
        { reply },
      );
      reply.type('application/gpx+xml').header('content-disposition', `attachment; filename="${d!.id}_${date}.gpx"`);
      return fleetGpx(d!.id, date, fixes, r.trips, r.stops, app.ctx.tz, req.query.lang);
    },
  );
};
export default routes;
