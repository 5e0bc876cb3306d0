/**
 * Geofences (contract/geofences.ts): operators and planners read them, admins create, edit and
 * delete (audited; the new set is published retained on svc/geofences for ingest's rules). The
 * trucks' visits (from ingest's enter / dwell / exit events) are listed per truck, geofence and
 * day. Geometry problems answer 400 with a code naming them (E_GEOFENCE_NOT_CLOSED,
 * E_GEOFENCE_VERTICES, E_GEOFENCE_SELF_INTERSECTS, E_GEOFENCE_OUTSIDE_CITY, E_GEOFENCE_RADIUS).
 */
import crypto from 'node:crypto';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Geofence, GEOFENCE_ID_PATTERN, GEOFENCE_KINDS, GEOFENCE_LIMITS, geofenceGeometryProblem, type Geofence as GeofenceT, type GeofenceGeometry } from '../../../contract';
import { GeofenceVisitList } from '../../shared/geofences';
import { localToUtc } from '../../../norms/local-time';
import { badRequest, notFound } from '../lib/errors';
import { errors, OneOf, OptRangeQuery } from '../lib/schemas';
import type { AuditAction } from '../../shared/audit-actions';

const GeofenceSchema = Geofence;
const SetSchema = Type.Object({ version: Type.Integer(), geofences: Type.Array(GeofenceSchema) });
const LonLat = Type.Array(Type.Number(), { minItems: 2, maxItems: 2, description: '[lon, lat]' });
/** looser than the contract on purpose: what the schema would refuse in one word is told by a code here */
const GeometryBody = Type.Union([
  Type.Object(
    { type: Type.Literal('polygon'), coordinates: Type.Array(LonLat, { maxItems: 1000, description: `closed ring, ${GEOFENCE_LIMITS.minVertices}–${GEOFENCE_LIMITS.maxVertices} vertices` }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal('circle'), center: LonLat, radiusM: Type.Number({ description: `metres, ${GEOFENCE_LIMITS.minRadiusM}–${GEOFENCE_LIMITS.maxRadiusM}` }) },
    { additionalProperties: false },
  ),
]);
const Body = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: GEOFENCE_LIMITS.maxNameLength }),
    kind: OneOf(GEOFENCE_KINDS),
    geometry: GeometryBody,
    dwellLimitMin: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: GEOFENCE_LIMITS.maxDwellMin }), Type.Null()], { description: 'minutes; null, 0 or absent = no limit' })),
    active: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);
const IdParam = Type.Object({ id: Type.String({ pattern: GEOFENCE_ID_PATTERN }) });

const slug = (s: string) =>
  s
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30)
    .replace(/-+$/, '');

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const audit = (actor: string, role: string, action: AuditAction, query: Record<string, unknown>) => app.audit.write({ actor, role, action, query, resultCount: 1, detail: null });

  /** the body as a stored geofence, or a 400 naming what is wrong */
  const geofenceOf = (
    id: string,
    b: { name: string; kind: GeofenceT['kind']; geometry: { type: string; coordinates?: number[][]; center?: number[]; radiusM?: number }; dwellLimitMin?: number | null; active?: boolean },
  ): GeofenceT => {
    const geometry = b.geometry as GeofenceGeometry;
    if (geometry.type === 'polygon' && geometry.coordinates.length < 2) throw badRequest('E_GEOFENCE_VERTICES', `a polygon has ${GEOFENCE_LIMITS.minVertices}–${GEOFENCE_LIMITS.maxVertices} vertices`);
    const bbox = app.ctx.city?.bbox ?? [-180, -90, 180, 90];
    const p = geofenceGeometryProblem(geometry, bbox);
    if (p) throw badRequest(p.code, p.message);
    const name = b.name.trim();
    if (!name) throw badRequest('E_GEOFENCE_NAME', 'the name is empty');
    return { id, name, kind: b.kind, geometry, ...(b.dwellLimitMin ? { dwellLimitMin: b.dwellLimitMin } : {}), active: b.active ?? true };
  };

  app.get(
    '/api/geofences',
    {
      config: { roles: ['operator', 'planner'] },
      schema: { tags: ['geofences'], summary: 'every geofence (active or not) and the version published to the rules', response: { 200: SetSchema, ...errors(401, 403) } },
    },
    async () => app.geofences.current(),
  );

  app.get(
    '/api/geofences/visits',
    {
      config: { roles: ['operator', 'planner'] },
      schema: {
        tags: ['geofences'],
        summary: 'trucks’ visits to geofences overlapping a time range (or a local day of the city), newest first',
        querystring: Type.Object({
          deviceId: Type.Optional(Type.String({ maxLength: 40 })),
          geofenceId: Type.Optional(Type.String({ maxLength: 40 })),
          date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'local day (YYYY-MM-DD) in the city’s time zone; overrides from/to' })),
          ...OptRangeQuery,
          limit: Type.Integer({ minimum: 1, maximum: 10000, default: 500 }),
        }),
        response: { 200: GeofenceVisitList, ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const q = req.query;
      let { from, to } = q;
      if (q.date) {
        const day = Date.parse(`${q.date}T00:00:00Z`);
        if (!Number.isFinite(day) || new Date(day).toISOString().slice(0, 10) !== q.date) throw badRequest('E_QUERY_DATE', `${q.date} is not a date`);
        from = localToUtc(q.date, '00:00', app.ctx.tz);
        to = localToUtc(new Date(day + 86_400_000).toISOString().slice(0, 10), '00:00', app.ctx.tz);
      }
      if (from !== undefined && to !== undefined && to <= from) throw badRequest('E_QUERY_RANGE', 'to must be after from');
      return { visits: await app.geofences.visits({ deviceId: q.deviceId, geofenceId: q.geofenceId, from, to, limit: q.limit }) };
    },
  );

  app.get(
    '/api/geofences/:id',
    { config: { roles: ['operator', 'planner'] }, schema: { tags: ['geofences'], summary: 'one geofence', params: IdParam, response: { 200: GeofenceSchema, ...errors(400, 401, 403, 404) } } },
    async (req) => {
      const g = await app.geofences.get(req.params.id);
      if (!g) throw notFound('E_GEOFENCE_UNKNOWN', `no geofence ${req.params.id}`);
      return g;
    },
  );

  app.post(
    '/api/geofences',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['geofences'], summary: 'create a geofence (polygon or circle); its id is made from the name', body: Body, response: { 201: GeofenceSchema, ...errors(400, 401, 403) } },
    },
    async (req, reply) => {
      const base = slug(req.body.name);
      const id = `${base.length >= 2 ? base : 'geocerca'}-${crypto.randomBytes(3).toString('hex')}`;
      const g = geofenceOf(id, req.body);
      await app.geofences.put(g, req.user.sub);
      await audit(req.user.sub, req.user.role, 'geofence_create', { id, name: g.name, kind: g.kind, shape: g.geometry.type });
      return reply.code(201).send(g);
    },
  );

  app.put(
    '/api/geofences/:id',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['geofences'],
        summary: 'edit a geofence (name, kind, shape, dwell limit, active)',
        params: IdParam,
        body: Body,
        response: { 200: GeofenceSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      if (!(await app.geofences.get(req.params.id))) throw notFound('E_GEOFENCE_UNKNOWN', `no geofence ${req.params.id}`);
      const g = geofenceOf(req.params.id, req.body);
      await app.geofences.put(g, req.user.sub);
      await audit(req.user.sub, req.user.role, 'geofence_update', { id: g.id, name: g.name, kind: g.kind, shape: g.geometry.type, active: g.active });
      return g;
    },
  );

  app.delete(
    '/api/geofences/:id',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['geofences'], summary: 'delete a geofence (its visits stay in the reports)', params: IdParam, response: { 200: SetSchema, ...errors(400, 401, 403, 404) } },
    },
    async (req) => {
      const s = await app.geofences.remove(req.params.id);
      if (!s) throw notFound('E_GEOFENCE_UNKNOWN', `no geofence ${req.params.id}`);
      await audit(req.user.sub, req.user.role, 'geofence_delete', { id: req.params.id });
      return s;
    },
  );
};
export default routes;
