/**
 * Open311 GeoReport v2 (public, no login, rate-limited) under /api/open311/v2:
 *   GET  discovery.{json|xml}
 *   GET  services.{json|xml}                 the city's service codes
 *   GET  services/{service_code}.{json|xml}   service definition (attributes)
 *   POST requests.{json|xml}                  form-urlencoded (the spec) or JSON
 *   GET  requests.{json|xml}                  service_request_id, service_code, start_date, end_date, status
 *   GET  requests/{id}.{json|xml}
 *   GET  tokens/{token}.{json|xml}
 * plus an optional photo: PUT requests/{id}/media?token=… (image/jpeg or image/png, size-checked,
 * stored under DATA_DIR/open311-media) and GET /api/open311/media/{id}.
 * Errors use the spec's form: `[{ code, description }]` (XML `<errors><error>…`). Reporter contact
 * fields (email, phone, first/last name) are stored apart and never appear in any output here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Position } from '../../../city/city';
import { pointInPolygonGeometry } from '../../../contract/geo';
import { SERVICE_CODES, SERVICES, COLLECTION_SERVICES, type ServiceCode, type ServiceReport } from '../../shared/open311';
import { computeEvidence, geocodeAddress, localDay, nearestSegment } from '../lib/evidence';
import { withQueryBudget } from '../lib/query-budget';
import { requestItem, serviceDefinition, serviceListItem, toXml, type Lang } from '../lib/open311-format';
import { parseSlaHours } from '../lib/report-indicators';

const BASE = '/api/open311/v2';
const FORMATS = ['json', 'xml'] as const;
type Format = (typeof FORMATS)[number];
const DAY = 86_400_000;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9 ()-]{7,20}$/;

/** An Open311 error: HTTP status + `[{code, description}]`. */
export class Open311Error extends Error {
  constructor(
    readonly status: number,
    readonly errCode: string,
    description: string,
  ) {
    super(description);
  }
}

const ErrorList = Type.Array(Type.Object({ code: Type.Integer(), description: Type.String() }), { description: 'Open311 errors (code = HTTP status)' });
const Err = { 400: ErrorList, 404: ErrorList, 413: ErrorList, 415: ErrorList, 429: ErrorList };
const ServiceItem = Type.Object({
  service_code: Type.String(),
  service_name: Type.String(),
  description: Type.String(),
  metadata: Type.Boolean(),
  type: Type.String(),
  keywords: Type.String(),
  group: Type.String(),
});
const Definition = Type.Object({
  service_code: Type.String(),
  attributes: Type.Array(
    Type.Object({
      variable: Type.Boolean(),
      code: Type.String(),
      datatype: Type.String(),
      required: Type.Boolean(),
      datatype_description: Type.String(),
      order: Type.Integer(),
      description: Type.String(),
      values: Type.Optional(Type.Array(Type.Object({ key: Type.String(), name: Type.String() }))),
    }),
  ),
});
const RequestItem = Type.Object({
  service_request_id: Type.String(),
  status: Type.String({ enum: ['open', 'closed'] }),
  detailed_status: Type.String({ description: 'finer state (FixMyStreet): open, in_progress, action_scheduled, fixed, not_responsible, duplicate' }),
  status_notes: Type.String(),
  service_name: Type.String(),
  service_code: Type.String(),
  description: Type.String(),
  agency_responsible: Type.String(),
  service_notice: Type.String(),
  requested_datetime: Type.String({ description: 'ISO 8601 with offset' }),
  updated_datetime: Type.String(),
  expected_datetime: Type.String(),
  address: Type.String(),
  address_id: Type.String({ description: 'street segment id of the city network' }),
  zipcode: Type.String(),
  lat: Type.Number(),
  long: Type.Number(),
  media_url: Type.String(),
});
const Created = Type.Array(Type.Object({ service_request_id: Type.String(), token: Type.String(), service_notice: Type.String(), account_id: Type.Union([Type.String(), Type.Null()]) }));
const Xml = Type.String({ description: 'application/xml' });

const PostBody = Type.Object(
  {
    api_key: Type.Optional(Type.String()),
    jurisdiction_id: Type.Optional(Type.String()),
    service_code: Type.Optional(Type.String()),
    lat: Type.Optional(Type.String()),
    long: Type.Optional(Type.String()),
    address_string: Type.Optional(Type.String()),
    address_id: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
    device_id: Type.Optional(Type.String()),
    account_id: Type.Optional(Type.String()),
    first_name: Type.Optional(Type.String()),
    last_name: Type.Optional(Type.String()),
    phone: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    media_url: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'Open311 POST requests fields; attributes as attribute[code]=value (or an `attribute` object in JSON)' },
);

function langOf(req: FastifyRequest): Lang {
  const q = (req.query as { lang?: string } | undefined)?.lang;
  if (q === 'en' || q === 'es') return q;
  return /^en\b/i.test(req.headers['accept-language'] ?? '') ? 'en' : 'es';
}

function send(reply: FastifyReply, format: Format, root: string, body: unknown) {
  if (format === 'xml') return reply.type('application/xml; charset=utf-8').send(toXml(root, body));
  return reply.send(body);
}

/** Split a file part like `1001.json` into id and format (404 when the extension is not json/xml). */
function idAndFormat(file: string): { id: string; format: Format } {
  const m = /^(.+)\.(json|xml)$/.exec(file);
  if (!m) throw new Open311Error(404, 'E_OPEN311_FORMAT', 'use .json or .xml');
  return { id: decodeURIComponent(m[1]!), format: m[2] as Format };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v.trim() || undefined : typeof v === 'number' ? String(v) : undefined);

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const cfg = app.ctx.cfg;
  const sla = parseSlaHours(cfg.OPEN311_SLA_HOURS);
  const mediaDir = path.join(cfg.DATA_DIR, 'open311-media');
  const maxPhoto = cfg.OPEN311_PHOTO_MAX_KB * 1024;
  const rate = { max: 120, timeWindow: '1 minute' };

  // the spec posts application/x-www-form-urlencoded
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const out: Record<string, unknown> = {};
    const attrs: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(body as string)) {
      const m = /^attribute\[([^\]]+)\]$/.exec(k);
      if (m) attrs[m[1]!] = v;
      else out[k] = v;
    }
    if (Object.keys(attrs).length) out.attribute = attrs;
    done(null, out);
  });
  app.addContentTypeParser(['image/jpeg', 'image/png'], { parseAs: 'buffer', bodyLimit: maxPhoto }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string; validation?: unknown }, req, reply) => {
    const fmt: Format = /\.xml(\?|$)/.test(req.url) ? 'xml' : 'json';
    let status = 500;
    let code = 'E_API_INTERNAL';
    let description = 'internal error; see the server log';
    if (err instanceof Open311Error) ({ status, errCode: code, message: description } = err);
    else if (err.validation) {
      status = 400;
      code = 'E_REQUEST_VALIDATION';
      description = err.message;
    } else if (err.statusCode && err.statusCode < 500) {
      status = err.statusCode;
      code = err.code ?? 'E_REQUEST_INVALID';
      description = status === 413 ? `photo larger than ${cfg.OPEN311_PHOTO_MAX_KB} KiB` : err.message;
    }
    if (status >= 500) req.log.error({ err, code }, 'open311 request failed');
    app.metrics.errors.inc({ code });
    void reply.code(status);
    return send(reply, fmt, 'errors', [{ code: status, description }]);
  });

  const absolute = (req: FastifyRequest) => `${req.protocol}://${req.host}/`;
  const item = (r: ServiceReport, req: FastifyRequest) => requestItem(r, langOf(req), app.ctx.tz, sla[r.serviceCode], absolute(req));

  for (const format of FORMATS) {
    app.get(
      `${BASE}/discovery.${format}`,
      {
        config: { roles: ['public'], rateLimit: rate },
        schema: {
          tags: ['open311'],
          summary: 'Open311 discovery',
          security: [],
          response: {
            200: Type.Union([
              Type.Object({
                changeset: Type.String(),
                contact: Type.String(),
                key_service: Type.String(),
                endpoints: Type.Array(Type.Object({ specification: Type.String(), url: Type.String(), changeset: Type.String(), type: Type.String(), formats: Type.Array(Type.String()) })),
              }),
              Xml,
            ]),
          },
        },
      },
      async (req, reply) =>
        send(reply, format, 'discovery', {
          changeset: '2026-12-01T00:00:00Z',
          contact: app.ctx.registry.registry.city,
          key_service: 'no api_key needed',
          endpoints: [
            {
              specification: 'http://wiki.open311.org/GeoReport_v2',
              url: new URL(BASE.slice(1), absolute(req)).href,
              changeset: '2026-12-01T00:00:00Z',
              type: 'production',
              formats: ['application/json', 'text/xml'],
            },
          ],
        }),
    );

    app.get(
      `${BASE}/services.${format}`,
      {
        config: { roles: ['public'], rateLimit: rate },
        schema: {
          tags: ['open311'],
          summary: 'the city’s service codes (Open311 GET services)',
          security: [],
          querystring: Type.Object({ jurisdiction_id: Type.Optional(Type.String()), lang: Type.Optional(Type.String()) }),
          response: { 200: Type.Union([Type.Array(ServiceItem), Xml]), ...Err },
        },
      },
      async (req, reply) =>
        send(
          reply,
          format,
          'services',
          SERVICE_CODES.map((c) => serviceListItem(c, langOf(req))),
        ),
    );

    app.post(
      `${BASE}/requests.${format}`,
      {
        config: { roles: ['public'], rateLimit: { max: 30, timeWindow: '1 minute' } },
        schema: { tags: ['open311'], summary: 'file a service request (Open311 POST requests)', security: [], body: PostBody, response: { 201: Type.Union([Created, Xml]), ...Err } },
      },
      async (req, reply) => {
        const b = req.body as Record<string, unknown>;
        const lang = langOf(req);
        const code = str(b.service_code);
        if (!code) throw new Open311Error(400, 'E_OPEN311_SERVICE_CODE', 'service_code is required');
        if (!(SERVICE_CODES as readonly string[]).includes(code)) throw new Open311Error(400, 'E_OPEN311_SERVICE_CODE', `service_code ${code} not found (see services.${format})`);
        const service = code as ServiceCode;
        const city = app.ctx.city;
        const address = str(b.address_string) ?? null;
        let lat = str(b.lat) !== undefined ? Number(str(b.lat)) : undefined;
        let lon = str(b.long) !== undefined ? Number(str(b.long)) : undefined;
        if ((lat === undefined) !== (lon === undefined)) throw new Open311Error(400, 'E_OPEN311_LOCATION', 'give both lat and long');
        if (lat !== undefined && (!Number.isFinite(lat) || !Number.isFinite(lon!) || Math.abs(lat) > 90 || Math.abs(lon!) > 180))
          throw new Open311Error(400, 'E_OPEN311_LOCATION', 'lat and long must be decimal degrees (WGS84)');
        let addressSegment: string | undefined;
        if (lat === undefined) {
          if (!address && !str(b.address_id)) throw new Open311Error(400, 'E_OPEN311_LOCATION', 'a location is required: lat and long, address_string or address_id');
          if (!city) throw new Open311Error(400, 'E_OPEN311_LOCATION', 'this city has no street network loaded: give lat and long');
          const byId = str(b.address_id) ? city.streets.features.find((f) => f.properties.segmentId === str(b.address_id)) : undefined;
          if (str(b.address_id) && !byId) throw new Open311Error(400, 'E_OPEN311_ADDRESS', `address_id ${str(b.address_id)} is not a street segment of the city`);
          const geo = byId
            ? {
                lon: (byId.geometry.coordinates[0]![0] + byId.geometry.coordinates[1]![0]) / 2,
                lat: (byId.geometry.coordinates[0]![1] + byId.geometry.coordinates[1]![1]) / 2,
                segmentId: byId.properties.segmentId,
              }
            : geocodeAddress(city, address!);
          if (!geo) throw new Open311Error(400, 'E_OPEN311_ADDRESS', `no street of the city network found in address_string "${address}"`);
          ({ lat, lon } = geo);
          addressSegment = geo.segmentId;
        }
        if (city) {
          const [x0, y0, x1, y1] = city.bbox;
          if (lon! < x0 || lon! > x1 || lat! < y0 || lat! > y1) throw new Open311Error(400, 'E_OPEN311_LOCATION', `lat/long ${lat},${lon} is outside the city (${city.name})`);
        }
        const description = str(b.description) ?? '';
        if (description.length > 4000) throw new Open311Error(400, 'E_OPEN311_DESCRIPTION', 'description longer than 4000 characters');
        const email = str(b.email) ?? null;
        if (email && (!EMAIL.test(email) || email.length > 200)) throw new Open311Error(400, 'E_OPEN311_EMAIL', 'email is not an e-mail address');
        const phone = str(b.phone) ?? null;
        if (phone && !PHONE.test(phone)) throw new Open311Error(400, 'E_OPEN311_PHONE', 'phone: digits, spaces, +, - and parentheses, 7–20 characters');
        // attributes per the service definition
        const given = (b.attribute && typeof b.attribute === 'object' ? (b.attribute as Record<string, unknown>) : {}) as Record<string, unknown>;
        const attributes: Record<string, string> = {};
        for (const a of SERVICES[service].attributes) {
          const v = str(given[a.code]);
          if (v === undefined) {
            if (a.required) throw new Open311Error(400, 'E_OPEN311_ATTRIBUTE', `attribute[${a.code}] is required for ${service}`);
            continue;
          }
          if (a.values && !a.values.some((x) => x.key === v)) throw new Open311Error(400, 'E_OPEN311_ATTRIBUTE', `attribute[${a.code}]: ${v} is not one of ${a.values.map((x) => x.key).join(', ')}`);
          attributes[a.code] = v.slice(0, 200);
        }
        const unknown = Object.keys(given).filter((k) => !SERVICES[service].attributes.some((a) => a.code === k));
        if (unknown.length) throw new Open311Error(400, 'E_OPEN311_ATTRIBUTE', `unknown attribute(s) for ${service}: ${unknown.join(', ')}`);

        const point: Position = [lon!, lat!];
        const now = Date.now();
        const hit = city ? nearestSegment(city, point) : null;
        const segmentId = addressSegment ?? hit?.feature.properties.segmentId ?? null;
        const district = city?.districts.features.find((d) => pointInPolygonGeometry(point, d.geometry as never))?.properties.name ?? hit?.feature.properties.district ?? null;
        // the report is kept even when the telemetry store cannot answer now (evidence follows on the next view)
        const evidence = await withQueryBudget(app, 'report-evidence', (store) => computeEvidence({ ...app.ctx, store, radiusM: cfg.OPEN311_RADIUS_M, now }, service, point, now)).catch(
          (err: unknown) => {
            req.log.error({ err, code: 'E_REPORT_EVIDENCE' }, 'report evidence could not be computed');
            app.metrics.errors.inc({ code: 'E_REPORT_EVIDENCE' });
            return null;
          },
        );
        const due = COLLECTION_SERVICES.includes(service) && evidence?.collection?.routes.length ? evidence.collection.window : segmentId ? localDay(now, app.ctx.tz) : null;
        const created = await app.reports.create({
          serviceCode: service,
          description,
          lat: lat!,
          lon: lon!,
          address,
          segmentId,
          district,
          requestedAt: now,
          attributes,
          evidence,
          due,
          contact: { email, phone, firstName: str(b.first_name)?.slice(0, 80) ?? null, lastName: str(b.last_name)?.slice(0, 80) ?? null },
        });
        const notice = created.duplicateOf
          ? lang === 'es'
            ? `Ya teníamos este reporte (#${created.duplicateOf}); quedó vinculado a él.`
            : `We already had this report (#${created.duplicateOf}); yours is linked to it.`
          : lang === 'es'
            ? `Plazo de atención: ${sla[service]} h.`
            : `Expected within ${sla[service]} h.`;
        void reply.code(201);
        return send(reply, format, 'service_requests', [{ service_request_id: created.id, token: created.token, service_notice: notice, account_id: null }]);
      },
    );

    app.get(
      `${BASE}/requests.${format}`,
      {
        config: { roles: ['public'], rateLimit: rate },
        schema: {
          tags: ['open311'],
          summary: 'service requests (Open311 GET requests; no contact data)',
          security: [],
          querystring: Type.Object({
            jurisdiction_id: Type.Optional(Type.String()),
            service_request_id: Type.Optional(Type.String({ pattern: '^[0-9]+(,[0-9]+)*$' })),
            service_code: Type.Optional(Type.String({ pattern: '^[a-z_]+(,[a-z_]+)*$' })),
            start_date: Type.Optional(Type.String({ description: 'ISO 8601' })),
            end_date: Type.Optional(Type.String({ description: 'ISO 8601' })),
            status: Type.Optional(Type.String({ pattern: '^(open|closed)(,(open|closed))*$' })),
            lang: Type.Optional(Type.String()),
          }),
          response: { 200: Type.Union([Type.Array(RequestItem), Xml]), ...Err },
        },
      },
      async (req, reply) => {
        const q = req.query;
        const date = (s: string | undefined, name: string) => {
          if (s === undefined) return undefined;
          const t = Date.parse(s);
          if (!Number.isFinite(t)) throw new Open311Error(400, 'E_OPEN311_DATE', `${name} is not an ISO 8601 date-time`);
          return t;
        };
        const ids = q.service_request_id?.split(',');
        let to = date(q.end_date, 'end_date');
        let from = date(q.start_date, 'start_date');
        if (!ids) {
          // the spec: the last 90 days by default, at most 90 days per query
          to ??= (from ?? Date.now()) + (from !== undefined ? 90 * DAY : 1);
          from ??= to - 90 * DAY;
          if (to - from > 90 * DAY) throw new Open311Error(400, 'E_OPEN311_DATE', 'at most 90 days between start_date and end_date');
        }
        const statuses = q.status?.split(',');
        const list = await app.reports.list({ ids, serviceCodes: q.service_code?.split(','), from: ids ? undefined : from, to: ids ? undefined : to, limit: 1000 });
        const out = list.filter((r) => !statuses || statuses.includes(r.status)).map((r) => item(r, req));
        return send(reply, format, 'service_requests', out);
      },
    );
  }

  app.get(
    `${BASE}/services/:file`,
    {
      config: { roles: ['public'], rateLimit: rate },
      schema: {
        tags: ['open311'],
        summary: 'service definition (Open311 GET services/{service_code}.{format})',
        security: [],
        params: Type.Object({ file: Type.String({ maxLength: 80 }) }),
        response: { 200: Type.Union([Definition, Xml]), ...Err },
      },
    },
    async (req, reply) => {
      const { id, format } = idAndFormat(req.params.file);
      if (!(SERVICE_CODES as readonly string[]).includes(id)) throw new Open311Error(404, 'E_OPEN311_SERVICE_CODE', `service_code ${id} not found`);
      return send(reply, format, 'service_definition', serviceDefinition(id as ServiceCode, langOf(req)));
    },
  );

  app.get(
    `${BASE}/requests/:file`,
    {
      config: { roles: ['public'], rateLimit: rate },
      schema: {
        tags: ['open311'],
        summary: 'one service request (Open311 GET requests/{id}.{format})',
        security: [],
        params: Type.Object({ file: Type.String({ maxLength: 80 }) }),
        querystring: Type.Object({ jurisdiction_id: Type.Optional(Type.String()), lang: Type.Optional(Type.String()) }),
        response: { 200: Type.Union([Type.Array(RequestItem), Xml]), ...Err },
      },
    },
    async (req, reply) => {
      const { id, format } = idAndFormat(req.params.file);
      const r = await app.reports.get(id);
      if (!r) throw new Open311Error(404, 'E_OPEN311_REQUEST', `service_request_id ${id} not found`);
      return send(reply, format, 'service_requests', [item(r, req)]);
    },
  );

  app.get(
    `${BASE}/tokens/:file`,
    {
      config: { roles: ['public'], rateLimit: rate },
      schema: {
        tags: ['open311'],
        summary: 'service request id from a token (Open311 GET tokens/{token}.{format})',
        security: [],
        params: Type.Object({ file: Type.String({ maxLength: 80 }) }),
        response: { 200: Type.Union([Type.Array(Type.Object({ service_request_id: Type.String(), token: Type.String() })), Xml]), ...Err },
      },
    },
    async (req, reply) => {
      const { id: token, format } = idAndFormat(req.params.file);
      const id = await app.reports.byToken(token);
      if (!id) throw new Open311Error(404, 'E_OPEN311_TOKEN', 'token not found');
      return send(reply, format, 'service_requests', [{ service_request_id: id, token }]);
    },
  );

  app.put(
    `${BASE}/requests/:id/media`,
    {
      config: { roles: ['public'], rateLimit: { max: 30, timeWindow: '1 minute' } },
      schema: {
        tags: ['open311'],
        summary: `attach a photo (image/jpeg or image/png, at most OPEN311_PHOTO_MAX_KB) with the token POST requests returned`,
        security: [],
        params: Type.Object({ id: Type.String({ pattern: '^[0-9]{1,12}$' }) }),
        querystring: Type.Object({ token: Type.String({ minLength: 10, maxLength: 80 }) }),
        response: { 200: Type.Object({ media_url: Type.String() }), ...Err },
      },
    },
    async (req) => {
      const tok = await app.reports.tokenOf(req.params.id);
      if (!tok || tok !== req.query.token) throw new Open311Error(404, 'E_OPEN311_REQUEST', `service_request_id ${req.params.id} not found for that token`);
      const ct = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim();
      if (ct !== 'image/jpeg' && ct !== 'image/png') throw new Open311Error(415, 'E_OPEN311_MEDIA_TYPE', `the photo must be image/jpeg or image/png, not ${ct || 'no content type'}`);
      const buf = req.body as Buffer;
      const isJpeg = buf.length > 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
      const isPng = buf.length > 8 && buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      if ((ct === 'image/jpeg' && !isJpeg) || (ct === 'image/png' && !isPng)) throw new Open311Error(415, 'E_OPEN311_MEDIA_TYPE', `the photo is not a ${ct === 'image/png' ? 'PNG' : 'JPEG'} image`);
      fs.mkdirSync(mediaDir, { recursive: true });
      const name = `${req.params.id}.${isPng ? 'png' : 'jpg'}`;
      const tmp = path.join(mediaDir, `.${name}.${process.pid}.tmp`);
      const fd = fs.openSync(tmp, 'w');
      try {
        fs.writeSync(fd, buf);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, path.join(mediaDir, name));
      await app.reports.setMedia(req.params.id, name);
      return { media_url: new URL(`api/open311/media/${req.params.id}`, absolute(req)).href };
    },
  );

  app.get(
    '/api/open311/media/:id',
    {
      config: { roles: ['public'], rateLimit: rate },
      schema: { tags: ['open311'], summary: 'a report’s photo', security: [], params: Type.Object({ id: Type.String({ pattern: '^[0-9]{1,12}$' }) }), response: { 200: Type.Any(), ...Err } },
    },
    async (req, reply) => {
      const file = await app.reports.mediaFile(req.params.id);
      if (!file) throw new Open311Error(404, 'E_OPEN311_MEDIA', 'no photo for that request');
      return reply.type(file.endsWith('.png') ? 'image/png' : 'image/jpeg').send(fs.readFileSync(path.join(mediaDir, file)));
    },
  );
};
export default routes;
