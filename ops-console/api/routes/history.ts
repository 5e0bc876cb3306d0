/**
 * History for planners: track (JSON/GeoJSON), truck events, sensor series by window, Índice AIRE Y
 * SALUD per station per hour, NOM-081 noise exceedances by day/night, plate counts per camera per
 * hour and direction, route coverage per truck per day, data completeness per station per day.
 * Long ranges: series over hour-or-wider windows are answered from the store's hourly rollup;
 * for months of raw data use an export job.
 *
 * Bounded per user (issue 14): at most QUERY_LIMITS.perUser history requests in flight per user
 * and QUERY_LIMITS.total in all (429 E_QUERY_TOO_MANY), ranges per route (checkRange), and at
 * most MAX_BUCKETS buckets per series answer over all its stations, and a time budget per request
 * (lib/query-budget.ts, QUERY_BUDGET_MS: cancelled in the store, 503 E_QUERY_BUDGET). Big answers
 * are read from the store a chunk at a time and sent in chunks (lib/json-stream.ts), yielding to
 * the event loop in between, so they never stall /health or ingest in the same process.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AIR_FIELDS, NOISE_FIELDS } from '../../../contract';
import { badRequest } from '../lib/errors';
import { DeviceIdList, errors, RangeQuery, splitIds, OneOf } from '../lib/schemas';
import { trackGeoJson } from '../lib/formats';
import { withQueryBudget } from '../lib/query-budget';
import { sendJsonArray } from '../lib/json-stream';
import { airIndex, completeness, devicesOf, noiseExceedances, routeCoverage } from '../lib/planner';
import { AirIndexRow, CoverageRow, NoiseExceedanceRow, PlateCountRow } from '../../shared/api';
import { limitInFlight } from '../lib/inflight-limit';

const ROLES = ['planner', 'operator'] as const;
const MAX_BUCKETS = 200_000;
const MAX_DAYS = 400;

export function checkRange(q: { from: number; to: number }, maxDays = MAX_DAYS): void {
  if (q.to <= q.from) throw badRequest('E_QUERY_RANGE', '`to` must be after `from`');
  if (q.to - q.from > maxDays * 86_400_000) throw badRequest('E_QUERY_RANGE_TOO_LONG', `range longer than ${maxDays} days; use an export job`);
}

const TrackPoint = Type.Object({
  ts: Type.Integer(),
  lat: Type.Number(),
  lon: Type.Number(),
  speedKmh: Type.Number(),
  heading: Type.Number(),
  hdop: Type.Optional(Type.Number()),
  sats: Type.Optional(Type.Integer()),
});

export const QUERY_LIMITS = { perUser: 4, total: 16 };

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const pctx = () => app.ctx;

  // requests in flight, per user and in all (this plugin's routes only)
  limitInFlight(app, { ...QUERY_LIMITS, what: 'history requests' });

  app.get(
    '/api/history/track',
    {
      config: { roles: ROLES },
      schema: {
        tags: ['history'],
        summary: "a truck's track for replay (JSON points or a GeoJSON LineString)",
        querystring: Type.Object({ deviceId: Type.String({ minLength: 1, maxLength: 40 }), ...RangeQuery, format: Type.Union([Type.Literal('json'), Type.Literal('geojson')], { default: 'json' }) }),
        response: {
          200: Type.Union([
            Type.Object({ deviceId: Type.String(), points: Type.Array(TrackPoint) }),
            Type.Object({ type: Type.Literal('Feature'), geometry: Type.Unknown(), properties: Type.Unknown() }),
          ]),
          ...errors(400, 401, 403, 404, 429, 503),
        },
      },
    },
    async (req, reply) => {
      checkRange(req.query, 31);
      const [d] = devicesOf(pctx(), ['truck'], [req.query.deviceId]);
      const points = await withQueryBudget(app, 'track', (store) => store.track({ deviceId: d!.id, from: req.query.from, to: req.query.to }), { reply });
      return req.query.format === 'geojson' ? trackGeoJson(d!.id, points) : sendJsonArray(reply, 'points', points, { deviceId: d!.id });
    },
  );

  app.get(
    '/api/history/events',
    {
      config: { roles: ROLES },
      schema: {
        tags: ['history'],
        summary: 'truck events (bin lifts, ignition, unload)',
        querystring: Type.Object({ deviceIds: Type.Optional(DeviceIdList), ...RangeQuery }),
        response: {
          200: Type.Object({
            events: Type.Array(
              Type.Object({
                deviceId: Type.String(),
                ts: Type.Integer(),
                type: Type.String(),
                lat: Type.Optional(Type.Number()),
                lon: Type.Optional(Type.Number()),
                binId: Type.Optional(Type.String()),
                weightKg: Type.Optional(Type.Number()),
              }),
            ),
          }),
          ...errors(400, 401, 403, 404, 429, 503),
        },
      },
    },
    async (req, reply) => {
      checkRange(req.query, 31);
      const ids = splitIds(req.query.deviceIds);
      if (ids) devicesOf(pctx(), ['truck'], ids);
      return sendJsonArray(reply, 'events', await withQueryBudget(app, 'events', (store) => store.truckEvents({ deviceIds: ids, from: req.query.from, to: req.query.to }), { reply }));
    },
  );

  app.get(
    '/api/history/series',
    {
      config: { roles: ROLES },
      schema: {
        tags: ['history'],
        summary: 'air or noise field aggregated by window (mean/min/max/count per bucket)',
        querystring: Type.Object({
          stream: Type.Union([Type.Literal('air'), Type.Literal('noise')]),
          field: OneOf([...AIR_FIELDS, ...NOISE_FIELDS] as const),
          deviceIds: Type.Optional(DeviceIdList),
          ...RangeQuery,
          windowMs: Type.Integer({ minimum: 1000, maximum: 31 * 86_400_000, default: 3_600_000, 'x-unit': 'ms' }),
        }),
        response: {
          200: Type.Object({ buckets: Type.Array(Type.Object({ deviceId: Type.String(), t: Type.Integer(), mean: Type.Number(), min: Type.Number(), max: Type.Number(), count: Type.Integer() })) }),
          ...errors(400, 401, 403, 404, 429, 503),
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      checkRange(q);
      const fields: readonly string[] = q.stream === 'air' ? AIR_FIELDS : NOISE_FIELDS;
      if (!fields.includes(q.field)) throw badRequest('E_QUERY_FIELD', `${q.field} is not a field of ${q.stream} readings (${fields.join(', ')})`);
      const ids = splitIds(q.deviceIds);
      const stations = devicesOf(pctx(), [q.stream], ids);
      if (((q.to - q.from) / q.windowMs) * Math.max(1, stations.length) > MAX_BUCKETS)
        throw badRequest('E_QUERY_TOO_MANY_BUCKETS', `more than ${MAX_BUCKETS} buckets over ${stations.length} station(s); widen windowMs, pick fewer stations or use an export job`);
      const buckets = await withQueryBudget(app, 'series', (store) => store.series({ stream: q.stream, field: q.field as never, deviceIds: ids, from: q.from, to: q.to, windowMs: q.windowMs }), {
        reply,
      });
      return sendJsonArray(reply, 'buckets', buckets);
    },
  );

  app.get(
    '/api/history/air-index',
    {
      config: { roles: ROLES },
      schema: {
        tags: ['history'],
        summary: 'Índice AIRE Y SALUD (NOM-172-SEMARNAT-2023) category per station per hour',
        querystring: Type.Object({ deviceIds: Type.Optional(DeviceIdList), ...RangeQuery }),
        response: {
          200: Type.Object({
            rows: Type.Array(AirIndexRow),
          }),
          ...errors(400, 401, 403, 404, 429, 503),
        },
      },
    },
    async (req, reply) => {
      checkRange(req.query, 93);
      return { rows: await withQueryBudget(app, 'air-index', (store) => airIndex({ ...pctx(), store }, { ...req.query, deviceIds: splitIds(req.query.deviceIds) }), { reply }) };
    },
  );

  app.get(
    '/api/history/noise-exceedances',
    {
      config: { roles: ROLES },
      schema: {
        tags: ['history'],
        summary: 'noise per station per day and night vs its NOM-081 limit (indicative)',
        querystring: Type.Object({ deviceIds: Type.Optional(DeviceIdList), ...RangeQuery }),
        response: {
          200: Type.Object({
            note: Type.String(),
            rows: Type.Array(NoiseExceedanceRow),
          }),
          ...errors(400, 401, 403, 404, 429, 503),
        },
      },
    },
    async (req, reply) => {
      checkRange(req.query);
      return withQueryBudget(app, 'noise-exceedances', (store) => noiseExceedances({ ...pctx(), store }, { ...req.query, deviceIds: splitIds(req.query.deviceIds) }), { reply });
    },
  );

  app.get(
    '/api/history/plate-counts',
    {
      config: { roles: ROLES },
      schema: {
        tags: ['history'],
        summary: 'plate reads counted per camera per hour in each direction (no plates)',
        querystring: Type.Object({ cameraIds: Type.Optional(DeviceIdList), ...RangeQuery }),
        response: { 200: Type.Object({ rows: Type.Array(PlateCountRow) }), ...errors(400, 401, 403, 404, 429, 503) },
      },
    },
    async (req, reply) => {
      checkRange(req.query);
      const ids = splitIds(req.query.cameraIds);
      if (ids) devicesOf(pctx(), ['camera'], ids);
      return sendJsonArray(reply, 'rows', await withQueryBudget(app, 'plate-counts', (store) => store.plateCounts({ cameraIds: ids, from: req.query.from, to: req.query.to }), { reply }));
    },
  );

  app.get(
    '/api/history/coverage',
    {
      config: { roles: ROLES },
      schema: {
        tags: ['history'],
        summary: 'route coverage per truck per day: share of planned collection segments served (track within 25 m) and the missed ones',
        querystring: Type.Object({
          deviceIds: Type.Optional(DeviceIdList),
          routeId: Type.Optional(Type.String({ maxLength: 80 })),
          ...RangeQuery,
          radiusM: Type.Number({ minimum: 5, maximum: 200, default: 25, 'x-unit': 'm' }),
        }),
        response: { 200: Type.Object({ rows: Type.Array(CoverageRow) }), ...errors(400, 401, 403, 404, 409, 429, 503) },
      },
    },
    async (req, reply) => {
      checkRange(req.query, 93);
      return { rows: await withQueryBudget(app, 'coverage', (store) => routeCoverage({ ...pctx(), store }, { ...req.query, deviceIds: splitIds(req.query.deviceIds) }), { reply }) };
    },
  );

  app.get(
    '/api/history/completeness',
    {
      config: { roles: ROLES },
      schema: {
        tags: ['history'],
        summary: 'readings received vs expected (from the station interval) per station per day',
        querystring: Type.Object({ deviceIds: Type.Optional(DeviceIdList), ...RangeQuery }),
        response: {
          200: Type.Object({
            rows: Type.Array(
              Type.Object({ deviceId: Type.String(), kind: Type.String(), stream: Type.String(), date: Type.String(), received: Type.Integer(), expected: Type.Integer(), ratio: Type.Number() }),
            ),
          }),
          ...errors(400, 401, 403, 404, 429, 503),
        },
      },
    },
    async (req, reply) => {
      checkRange(req.query, 93);
      return { rows: await withQueryBudget(app, 'completeness', (store) => completeness({ ...pctx(), store }, { ...req.query, deviceIds: splitIds(req.query.deviceIds) }), { reply }) };
    },
  );
};
export default routes;
