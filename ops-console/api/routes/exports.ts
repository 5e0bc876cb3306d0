/**
 * Export jobs: POST /api/exports → 202 { job }, GET /api/exports(/:id), POST /api/exports/:id/cancel,
 * GET /api/exports/:id/download. Range limit per kind (EXPORT_MAX_DAYS), per-user queue limit.
 */
import fs from 'node:fs';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AIR_FIELDS, NOISE_FIELDS } from '../../../contract';
import { badRequest, conflict, notFound } from '../lib/errors';
import { errors, RangeQuery, OneOf } from '../lib/schemas';
import { devicesOf } from '../lib/planner';
import { EXPORT_FORMATS, EXPORT_KINDS, EXPORT_MAX_DAYS, type ExportJob } from '../plugins/app/exports';

const ROLES = ['planner', 'operator'] as const;
const JobSchema = Type.Object({
  id: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.Integer(),
  kind: Type.String(),
  format: Type.String(),
  params: Type.Record(Type.String(), Type.Unknown()),
  state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('cancelled')]),
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  rows: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.Integer(), Type.Null()]),
  downloadUrl: Type.Union([Type.String(), Type.Null()]),
});
const IdParam = Type.Object({ id: Type.String({ format: 'uuid' }) });
const FORMATS_OF: Record<string, readonly string[]> = { track: ['csv', 'geojson', 'gpx'], series: ['csv', 'json'], 'plate-counts': ['csv', 'json'], events: ['csv', 'json'] };

const view = (j: ExportJob) => {
  const { file: _f, ...rest } = j;
  return { ...rest, params: { ...j.params }, downloadUrl: j.state === 'done' ? `/api/exports/${j.id}/download` : null };
};

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const own = async (id: string, user: { sub: string; role: string }) => {
    const j = await app.exportJobs.get(id);
    if (!j || (j.createdBy !== user.sub && user.role !== 'admin')) throw notFound('E_EXPORT_UNKNOWN', `no export ${id}`);
    return j;
  };

  app.post(
    '/api/exports',
    {
      config: { roles: ROLES },
      schema: {
        tags: ['exports'],
        summary: `start a background export (no point caps; at most ${Object.entries(EXPORT_MAX_DAYS)
          .map(([k, d]) => `${d} days of ${k}`)
          .join(', ')}; 3 queued or running per user); poll the job, then download`,
        body: Type.Object(
          {
            kind: OneOf(EXPORT_KINDS),
            format: OneOf(EXPORT_FORMATS),
            ...RangeQuery,
            deviceIds: Type.Optional(Type.Array(Type.String({ maxLength: 40 }), { maxItems: 5000 })),
            stream: Type.Optional(Type.Union([Type.Literal('air'), Type.Literal('noise')])),
            field: Type.Optional(Type.String({ maxLength: 20 })),
            windowMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 31 * 86_400_000 })),
          },
          { additionalProperties: false },
        ),
        response: { 202: JobSchema, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (req, reply) => {
      const { kind, format, ...params } = req.body;
      if (params.to <= params.from) throw badRequest('E_QUERY_RANGE', '`to` must be after `from`');
      const maxDays = EXPORT_MAX_DAYS[kind];
      if (params.to - params.from > maxDays * 86_400_000) throw badRequest('E_QUERY_RANGE_TOO_LONG', `a ${kind} export covers at most ${maxDays} days; split the range`);
      if (!FORMATS_OF[kind]!.includes(format)) throw badRequest('E_EXPORT_FORMAT', `${kind} exports as ${FORMATS_OF[kind]!.join(', ')}`);
      if (kind === 'series') {
        if (!params.stream || !params.field) throw badRequest('E_QUERY_FIELD', 'series exports need stream and field');
        const fields: readonly string[] = params.stream === 'air' ? AIR_FIELDS : NOISE_FIELDS;
        if (!fields.includes(params.field)) throw badRequest('E_QUERY_FIELD', `${params.field} is not a field of ${params.stream} readings`);
      }
      if (params.deviceIds) {
        const kinds = kind === 'series' ? [params.stream!] : kind === 'plate-counts' ? (['camera'] as const) : (['truck'] as const);
        devicesOf(app.ctx, [...kinds], params.deviceIds);
      }
      const job = await app.exportJobs.create(req.user.sub, kind, format, params);
      await app.audit.write({ actor: req.user.sub, role: req.user.role, action: 'export', query: { kind, format, ...params }, resultCount: null, detail: job.id });
      reply.code(202);
      return view(job);
    },
  );

  app.get(
    '/api/exports',
    { config: { roles: ROLES }, schema: { tags: ['exports'], summary: 'your export jobs (all, for admins)', response: { 200: Type.Object({ jobs: Type.Array(JobSchema) }), ...errors(401, 403) } } },
    async (req) => ({ jobs: (await app.exportJobs.list(req.user.role === 'admin' ? undefined : req.user.sub)).map(view) }),
  );

  app.get(
    '/api/exports/:id',
    { config: { roles: ROLES }, schema: { tags: ['exports'], summary: 'one job: state, progress, download link', params: IdParam, response: { 200: JobSchema, ...errors(400, 401, 403, 404) } } },
    async (req) => view(await own(req.params.id, req.user)),
  );

  app.post(
    '/api/exports/:id/cancel',
    {
      config: { roles: ROLES },
      schema: { tags: ['exports'], summary: 'cancel a queued or running export (its partial file is removed)', params: IdParam, response: { 200: JobSchema, ...errors(400, 401, 403, 404, 409) } },
    },
    async (req) => {
      const j = await own(req.params.id, req.user);
      if (!(await app.exportJobs.cancel(j.id))) throw conflict('E_EXPORT_FINISHED', `export is already ${j.state}`);
      await app.audit.write({ actor: req.user.sub, role: req.user.role, action: 'export_cancel', query: { id: j.id }, resultCount: null, detail: j.id });
      return view((await app.exportJobs.get(j.id))!);
    },
  );

  app.get(
    '/api/exports/:id/download',
    {
      config: { roles: ROLES, ticketInQuery: true },
      schema: {
        tags: ['exports'],
        summary: 'the exported file (Bearer header, or a one-time ?ticket= from POST /api/auth/ticket for browser links)',
        params: IdParam,
        querystring: Type.Object({ ticket: Type.Optional(Type.String({ maxLength: 64 })) }),
        ...{ response: errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const j = await own(req.params.id, req.user);
      if (j.state !== 'done' || !j.file) throw conflict('E_EXPORT_NOT_READY', `export is ${j.state}`);
      if (!fs.existsSync(j.file)) throw notFound('E_EXPORT_GONE', 'the export file is no longer there');
      const type = { csv: 'text/csv; charset=utf-8', geojson: 'application/geo+json', gpx: 'application/gpx+xml', json: 'application/x-ndjson' }[j.format];
      const ext = j.file.split('.').pop();
      reply.type(type).header('content-disposition', `attachment; filename="${j.kind}-${j.id.slice(0, 8)}.${ext}"`);
      return reply.send(fs.createReadStream(j.file) as never);
    },
  );
};
export default routes;
