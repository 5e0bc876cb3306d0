/**
 * Citizen reports beyond the Open311 standard:
 *   operators  GET /api/reports, GET /api/reports/:id (evidence refreshed), POST /api/reports/:id/state,
 *              GET /api/reports/:id/contact (personal data, audited), GET /api/reports/indicators
 *   citizens   GET /api/public/reports/:id (states, times and evidence; no contact, no usernames)
 *   open data  GET /api/open/reports/{indicators,daily}?format=json|csv, /metadata (DCAT), /dictionary
 * Closing a collection report as `fixed` when no truck pass is recorded after the report answers
 * 409 E_REPORT_NO_EVIDENCE; with `confirmWithoutEvidence: true` it closes, flagged "closed without evidence".
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { COLLECTION_SERVICES, REPORT_STATES, SERVICE_CODES, type PublicReport, type ServiceReport } from '../../shared/open311';
import { ApiError, notFound } from '../lib/errors';
import { errors, OneOf, OptRangeQuery } from '../lib/schemas';
import { computeEvidence } from '../lib/evidence';
import { withQueryBudget } from '../lib/query-budget';
import { indicators, parseSlaHours } from '../lib/report-indicators';
import { toCsv } from '../lib/csv';

const DAY = 86_400_000;
const REFRESH_MS = 60_000;
const IdParam = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,12}$' }) });
const ReportJson = Type.Unsafe<ServiceReport>({ type: 'object', additionalProperties: true, description: 'ops-console/shared/open311.ts ServiceReport' });
const PublicJson = Type.Unsafe<PublicReport>({ type: 'object', additionalProperties: true, description: 'ops-console/shared/open311.ts PublicReport' });
const Any = Type.Unsafe<object>({ type: 'object', additionalProperties: true });

const INDICATOR_FIELDS: [string, string, string, string][] = [
  ['periodFrom', 'datetime (ISO 8601, UTC)', 'inicio del periodo (reportes recibidos desde)', 'period start (reports received from)'],
  ['periodTo', 'datetime (ISO 8601, UTC)', 'fin del periodo (exclusivo)', 'period end (exclusive)'],
  ['serviceCode', 'string', 'código de servicio Open311 (missed_collection, overflowing_container, illegal_dumping, burning_waste, noise, bad_air, other)', 'service code'],
  ['district', 'string', 'colonia o distrito del reporte', 'district'],
  ['reports', 'integer', 'reportes recibidos (sin contar duplicados)', 'reports received (duplicates not counted)'],
  ['duplicates', 'integer', 'reportes vinculados a otro del mismo tramo y ventana', 'reports linked to another of the same street and window'],
  ['closed', 'integer', 'reportes concluidos', 'reports closed'],
  ['closedOnTime', 'integer', 'concluidos dentro del plazo del servicio', 'closed within the service’s SLA'],
  ['onTimeShare', 'number (0–1)', 'proporción concluida a tiempo', 'share closed on time'],
  ['slaHours', 'integer (h)', 'plazo del servicio en horas', 'service SLA, hours'],
  ['medianHoursToClose', 'number (h)', 'mediana de horas hasta concluir', 'median hours to close'],
  ['closedWithoutEvidence', 'integer', 'concluidos como atendidos sin paso de camión registrado después del reporte', 'closed as fixed with no truck pass recorded after the report'],
  ['closedWithoutEvidenceShare', 'number (0–1)', 'proporción de concluidos sin evidencia', 'share closed without evidence'],
  ['reopened', 'integer', 'reportes reabiertos', 'reports reopened'],
  ['reopenedShare', 'number (0–1)', 'proporción reabierta', 'share reopened'],
];
const DAILY_FIELDS: [string, string, string, string][] = [
  ['date', 'date (ISO 8601, AAAA-MM-DD, hora local)', 'día local de la ciudad', 'local day of the city'],
  ['serviceCode', 'string', 'código de servicio Open311', 'service code'],
  ['district', 'string', 'colonia o distrito', 'district'],
  ['opened', 'integer', 'reportes recibidos ese día', 'reports received that day'],
  ['closed', 'integer', 'reportes concluidos ese día', 'reports closed that day'],
];

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const cfg = app.ctx.cfg;
  const sla = parseSlaHours(cfg.OPEN311_SLA_HOURS);
  const evDeps = () => ({ ...app.ctx, radiusM: cfg.OPEN311_RADIUS_M, now: Date.now() });

  /**
   * Evidence is recomputed while a report is open (telemetry may arrive late), at most once a
   * minute for views and always before a state change; closed reports keep what they were closed
   * on. A store failure keeps the evidence stored (logged), it never fails the view.
   */
  const fresh = async (r: ServiceReport, force = false): Promise<ServiceReport> => {
    if (r.status === 'closed') return r;
    if (!force && r.evidence && Date.now() - r.evidence.computedAt < REFRESH_MS) return r;
    try {
      const ev = await withQueryBudget(app, 'report-evidence', (store) => computeEvidence({ ...evDeps(), store }, r.serviceCode, [r.lon, r.lat], r.requestedAt));
      await app.reports.setEvidence(r.id, ev);
      return { ...r, evidence: ev };
    } catch (err) {
      if (force) throw err;
      app.log.error({ err, code: 'E_REPORT_EVIDENCE', report: r.id }, 'report evidence could not be computed');
      return r;
    }
  };
  const get = async (id: string) => {
    const r = await app.reports.get(id);
    if (!r) throw notFound('E_REPORT_UNKNOWN', `no report ${id}`);
    return r;
  };
  const range = (q: { from?: number; to?: number }) => {
    const to = q.to ?? Date.now() + 1;
    const from = q.from ?? to - 90 * DAY;
    if (to <= from) throw new ApiError(400, 'E_QUERY_RANGE', '`to` must be after `from`');
    if (to - from > 366 * DAY) throw new ApiError(400, 'E_QUERY_RANGE_TOO_LONG', 'at most 366 days per request');
    return { from, to };
  };
  const computeIndicators = async (q: { from?: number; to?: number }) => {
    const { from, to } = range(q);
    const list = await app.reports.list({ from, to, limit: 1_000_000 });
    return indicators(list, sla, app.ctx.tz, from, to);
  };

  app.get(
    '/api/reports',
    {
      config: { roles: ['operator', 'planner'] },
      schema: {
        tags: ['reports'],
        summary: 'citizen reports, newest first, with their evidence',
        querystring: Type.Object({
          ...OptRangeQuery,
          state: Type.Optional(OneOf(REPORT_STATES)),
          service: Type.Optional(OneOf(SERVICE_CODES)),
          district: Type.Optional(Type.String({ maxLength: 80 })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
        }),
        response: { 200: Type.Object({ reports: Type.Array(ReportJson) }), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const q = req.query;
      return {
        reports: await app.reports.list({ from: q.from, to: q.to, states: q.state ? [q.state] : undefined, serviceCodes: q.service ? [q.service] : undefined, district: q.district, limit: q.limit }),
      };
    },
  );

  app.get(
    '/api/reports/indicators',
    {
      config: { roles: ['operator', 'planner'] },
      schema: { tags: ['reports'], summary: 'indicators per service and district, daily series', querystring: Type.Object({ ...OptRangeQuery }), response: { 200: Any, ...errors(400, 401, 403) } },
    },
    async (req) => computeIndicators(req.query),
  );

  app.get(
    '/api/reports/:id',
    {
      config: { roles: ['operator', 'planner'] },
      schema: { tags: ['reports'], summary: 'one report with its history and evidence (recomputed while open)', params: IdParam, response: { 200: ReportJson, ...errors(401, 403, 404) } },
    },
    async (req) => fresh(await get(req.params.id)),
  );

  app.post(
    '/api/reports/:id/state',
    {
      config: { roles: ['operator'] },
      schema: {
        tags: ['reports'],
        summary: 'change the state (recorded with who, when and why); fixed without a truck pass needs confirmWithoutEvidence',
        params: IdParam,
        body: Type.Object(
          { state: OneOf(REPORT_STATES), note: Type.String({ minLength: 1, maxLength: 2000 }), confirmWithoutEvidence: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: { 200: ReportJson, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      const cur = await fresh(await get(req.params.id), true);
      const { state, note, confirmWithoutEvidence } = req.body;
      if (state === cur.state) throw new ApiError(409, 'E_REPORT_STATE', `report ${cur.id} is already ${state}`);
      const noPass = state === 'fixed' && COLLECTION_SERVICES.includes(cur.serviceCode) && !cur.evidence?.passAfterReport;
      if (noPass && !confirmWithoutEvidence) {
        app.metrics.errors.inc({ code: 'E_REPORT_NO_EVIDENCE' });
        throw new ApiError(
          409,
          'E_REPORT_NO_EVIDENCE',
          `no truck pass within ${cfg.OPEN311_RADIUS_M} m is recorded after report ${cur.id}; send confirmWithoutEvidence: true to close it anyway (it will be flagged "closed without evidence")`,
        );
      }
      const updated = await app.reports.setState(cur.id, { state, by: req.user.sub, role: req.user.role, note, withoutEvidence: noPass });
      req.log.info({ report: cur.id, state, withoutEvidence: noPass, by: req.user.sub }, 'report state changed');
      return updated;
    },
  );

  app.get(
    '/api/reports/:id/contact',
    {
      config: { roles: ['operator'] },
      schema: {
        tags: ['reports'],
        summary: 'the reporter’s contact data (personal data; every read is audited)',
        params: IdParam,
        response: {
          200: Type.Object({
            email: Type.Union([Type.String(), Type.Null()]),
            phone: Type.Union([Type.String(), Type.Null()]),
            firstName: Type.Union([Type.String(), Type.Null()]),
            lastName: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errors(401, 403, 404),
        },
      },
    },
    async (req) => {
      await get(req.params.id);
      const c = await app.reports.contact(req.params.id);
      await app.audit.write({ actor: req.user.sub, role: req.user.role, action: 'report_contact', query: { id: req.params.id }, resultCount: c ? 1 : 0, detail: null });
      if (!c) throw notFound('E_REPORT_NO_CONTACT', `report ${req.params.id} has no contact data (none given, or removed after ${cfg.OPEN311_CONTACT_RETENTION_DAYS} days)`);
      return c;
    },
  );

  // ── the citizen's status page ──────────────────────────────────────────────────────────────
  app.get(
    '/api/public/reports/:id',
    {
      config: { roles: ['public'], rateLimit: { max: 120, timeWindow: '1 minute' } },
      schema: { tags: ['reports'], summary: 'a report’s states, times and evidence, for the citizen (public)', security: [], params: IdParam, response: { 200: PublicJson, ...errors(404, 429) } },
    },
    async (req): Promise<PublicReport> => {
      const r = await fresh(await get(req.params.id));
      const { hasContact: _c, history, ...rest } = r;
      return { ...rest, history: history.map(({ by: _b, ...h }) => h) };
    },
  );

  // ── open data: aggregates only ─────────────────────────────────────────────────────────────
  const Fmt = Type.Object({ ...OptRangeQuery, format: Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }) });
  const open = { roles: ['public' as const], rateLimit: { max: 120, timeWindow: '1 minute' } };
  app.get(
    '/api/open/reports/indicators',
    {
      config: open,
      schema: {
        tags: ['open data'],
        summary: 'citizen-report indicators per service and district (public; JSON or UTF-8 CSV)',
        security: [],
        querystring: Fmt,
        response: { 200: Type.Union([Any, Type.String()]), ...errors(400, 429) },
      },
    },
    async (req, reply) => {
      const ind = await computeIndicators(req.query);
      if (req.query.format === 'csv') {
        reply.type('text/csv; charset=utf-8').header('content-disposition', 'inline; filename="reportes-indicadores.csv"');
        const h = INDICATOR_FIELDS.map((f) => f[0]);
        const period = { periodFrom: new Date(ind.from).toISOString(), periodTo: new Date(ind.to).toISOString() };
        return toCsv(
          h,
          ind.rows.map((r) => {
            const row: Record<string, unknown> = { ...period, ...r };
            return h.map((k) => row[k]);
          }),
        );
      }
      return { from: new Date(ind.from).toISOString(), to: new Date(ind.to).toISOString(), rows: ind.rows };
    },
  );
  app.get(
    '/api/open/reports/daily',
    {
      config: open,
      schema: {
        tags: ['open data'],
        summary: 'citizen reports opened and closed per local day, service and district (public; JSON or UTF-8 CSV)',
        security: [],
        querystring: Fmt,
        response: { 200: Type.Union([Any, Type.String()]), ...errors(400, 429) },
      },
    },
    async (req, reply) => {
      const ind = await computeIndicators(req.query);
      if (req.query.format === 'csv') {
        reply.type('text/csv; charset=utf-8').header('content-disposition', 'inline; filename="reportes-diarios.csv"');
        const h = DAILY_FIELDS.map((f) => f[0]);
        return toCsv(
          h,
          ind.daily.map((r) => h.map((k) => (r as unknown as Record<string, unknown>)[k])),
        );
      }
      return { from: new Date(ind.from).toISOString(), to: new Date(ind.to).toISOString(), rows: ind.daily };
    },
  );
  app.get(
    '/api/open/reports/dictionary',
    {
      config: open,
      schema: { tags: ['open data'], summary: 'data dictionary of the citizen-report datasets (UTF-8 CSV)', security: [], response: { 200: Type.String(), ...errors(429) } },
    },
    async (_req, reply) => {
      reply.type('text/csv; charset=utf-8').header('content-disposition', 'inline; filename="reportes-diccionario.csv"');
      return toCsv(['recurso', 'campo', 'tipo', 'descripcion', 'description'], [...INDICATOR_FIELDS.map((f) => ['indicadores', ...f]), ...DAILY_FIELDS.map((f) => ['diarios', ...f])]);
    },
  );
  app.get(
    '/api/open/reports/metadata',
    {
      config: open,
      schema: { tags: ['open data'], summary: 'DCAT metadata of the citizen-report datasets (datos.gob.mx fields, JSON-LD)', security: [], response: { 200: Any, ...errors(429) } },
    },
    async (req) => {
      const base = `${req.protocol}://${req.host}/`;
      const url = (p: string) => new URL(p, base).href;
      const city = app.ctx.registry.registry.city;
      const dist = (title: string, path: string, format: string, mediaType: string, description: string) => ({
        '@type': 'dcat:Distribution',
        'dct:title': title,
        'dct:description': description,
        'dcat:downloadURL': url(path),
        'dct:format': format,
        'dcat:mediaType': mediaType,
        'dct:license': 'https://datos.gob.mx/libreusomx',
      });
      return {
        '@context': { dcat: 'http://www.w3.org/ns/dcat#', dct: 'http://purl.org/dc/terms/', foaf: 'http://xmlns.com/foaf/0.1/', vcard: 'http://www.w3.org/2006/vcard/ns#' },
        '@type': 'dcat:Dataset',
        'dct:identifier': `${city}-reportes-ciudadanos`,
        'dct:title': `Reportes ciudadanos de servicios públicos — ${city}`,
        'dct:description':
          'Indicadores agregados de los reportes ciudadanos (Open311): reportes por servicio y colonia, proporción concluida a tiempo frente al plazo de cada servicio, mediana de tiempo de atención, proporción concluida sin evidencia de paso del camión y proporción reabierta; serie diaria. Solo agregados: nunca datos de contacto.',
        'dct:publisher': { '@type': 'foaf:Organization', 'foaf:name': `Municipio de ${city}` },
        'dcat:contactPoint': { '@type': 'vcard:Organization', 'vcard:fn': 'Servicios Públicos Municipales' },
        'dcat:keyword': ['reportes ciudadanos', 'Open311', 'recolección de basura', 'servicios públicos', 'ruido', 'calidad del aire'],
        'dcat:theme': 'Servicios públicos',
        'dct:language': 'es',
        'dct:accrualPeriodicity': 'R/P1D',
        'dct:issued': '2026-12-01',
        'dct:modified': new Date().toISOString(),
        'dct:spatial': city,
        'dct:temporal': 'últimos 90 días por defecto (from/to en ms desde época)',
        'dct:license': 'https://datos.gob.mx/libreusomx',
        'dct:conformsTo': 'http://wiki.open311.org/GeoReport_v2',
        'dcat:distribution': [
          dist('Indicadores por servicio y colonia (CSV)', 'api/open/reports/indicators?format=csv', 'CSV', 'text/csv', 'UTF-8, separador coma, una fila por servicio y colonia'),
          dist('Indicadores por servicio y colonia (JSON)', 'api/open/reports/indicators', 'JSON', 'application/json', 'los mismos campos en JSON'),
          dist('Serie diaria (CSV)', 'api/open/reports/daily?format=csv', 'CSV', 'text/csv', 'UTF-8; fechas ISO 8601 (día local)'),
          dist('Diccionario de datos (CSV)', 'api/open/reports/dictionary', 'CSV', 'text/csv', 'campo, tipo y descripción de cada recurso'),
        ],
      };
    },
  );
};
export default routes;
