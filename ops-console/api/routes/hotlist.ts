/**
 * The plate hotlist (admin, investigator; CSV export admin only): list, add/replace an entry, delete, CSV import/export. Every change
 * is audited and the new hotlist is published retained on svc/hotlist (contract Hotlist).
 * CSV columns: plate,reason,direction,active_from,active_to,expires_at (ISO 8601 or ms).
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Compile } from 'typebox/compile';
import { HotlistEntry, schemaProblems, type HotlistEntry as Entry } from '../../../contract';
import { badRequest, notFound } from '../lib/errors';
import { parseCsv, toCsv } from '../lib/csv';
import { errors } from '../lib/schemas';
import type { AuditAction } from '../../shared/audit-actions';

const EntrySchema = HotlistEntry;
const HotlistSchema = Type.Object({ version: Type.Integer(), entries: Type.Array(EntrySchema) });
const EntryBody = Type.Object(
  {
    reason: Type.String({ minLength: 1, maxLength: 200 }),
    direction: Type.Optional(Type.Union([Type.Literal('entering'), Type.Literal('leaving')])),
    activeHours: Type.Optional(Type.Object({ from: Type.Integer({ minimum: 0, maximum: 23 }), to: Type.Integer({ minimum: 0, maximum: 24 }) })),
    expiresAt: Type.Optional(Type.Integer({ description: 'ms since epoch' })),
  },
  { additionalProperties: false, description: 'a HotlistEntry (contract) without its plate, which is in the path' },
);
const checkEntry = Compile(HotlistEntry);
const PlateParam = Type.Object({ plate: Type.String({ pattern: '^[A-Z0-9-]{3,10}$' }) });
const CSV_HEADER = ['plate', 'reason', 'direction', 'active_from', 'active_to', 'expires_at'];

export function entriesFromCsv(text: string): Entry[] {
  const rows = parseCsv(text);
  if (!rows.length) throw badRequest('E_HOTLIST_CSV', 'empty CSV');
  const header = rows[0]!.map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  if (col('plate') < 0 || col('reason') < 0) throw badRequest('E_HOTLIST_CSV', 'CSV header must name at least plate,reason');
  const out: Entry[] = [];
  rows.slice(1).forEach((r, i) => {
    const line = i + 2;
    const get = (name: string) => (col(name) >= 0 ? (r[col(name)] ?? '').trim() : '');
    const e: Record<string, unknown> = { plate: get('plate').toUpperCase(), reason: get('reason') };
    if (get('direction')) e.direction = get('direction');
    if (get('active_from') || get('active_to')) e.activeHours = { from: Number(get('active_from')), to: Number(get('active_to')) };
    const exp = get('expires_at');
    if (exp) e.expiresAt = /^\d+$/.test(exp) ? Number(exp) : Date.parse(exp);
    if (!checkEntry.Check(e)) {
      const err = schemaProblems(checkEntry, e, 1)[0];
      throw badRequest('E_HOTLIST_CSV', `line ${line}: ${err?.path.slice(1) || 'entry'}: ${err?.message}`);
    }
    out.push(e);
  });
  return out;
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 }, (_req, body, done) => done(null, body));
  const audit = (actor: string, role: string, action: AuditAction, query: Record<string, unknown>, count: number) => app.audit.write({ actor, role, action, query, resultCount: count, detail: null });

  app.get(
    '/api/hotlist',
    { config: { roles: ['admin', 'investigator'] }, schema: { tags: ['hotlist'], summary: 'the active plate hotlist', response: { 200: HotlistSchema, ...errors(401, 403) } } },
    async () => app.hotlist.current(),
  );

  app.put(
    '/api/hotlist/entries/:plate',
    {
      config: { roles: ['admin', 'investigator'] },
      schema: { tags: ['hotlist'], summary: 'add or replace one entry', params: PlateParam, body: EntryBody, response: { 200: HotlistSchema, ...errors(400, 401, 403) } },
    },
    async (req) => {
      const entry = { ...req.body, plate: req.params.plate } as Entry;
      const h = await app.hotlist.upsert([entry], req.user.sub);
      await audit(req.user.sub, req.user.role, 'hotlist_upsert', { ...entry }, 1);
      return h;
    },
  );

  app.get(
    '/api/hotlist/entries/:plate',
    { config: { roles: ['admin', 'investigator'] }, schema: { tags: ['hotlist'], summary: 'one entry', params: PlateParam, response: { 200: EntrySchema, ...errors(400, 401, 403, 404) } } },
    async (req) => {
      const e = await app.hotlist.get(req.params.plate);
      if (!e) throw notFound('E_HOTLIST_UNKNOWN_PLATE', `${req.params.plate} is not on the hotlist`);
      return e;
    },
  );

  app.delete(
    '/api/hotlist/entries/:plate',
    { config: { roles: ['admin', 'investigator'] }, schema: { tags: ['hotlist'], summary: 'remove one entry', params: PlateParam, response: { 200: HotlistSchema, ...errors(400, 401, 403, 404) } } },
    async (req) => {
      const h = await app.hotlist.remove(req.params.plate);
      if (!h) throw notFound('E_HOTLIST_UNKNOWN_PLATE', `${req.params.plate} is not on the hotlist`);
      await audit(req.user.sub, req.user.role, 'hotlist_delete', { plate: req.params.plate }, 1);
      return h;
    },
  );

  app.get(
    '/api/hotlist.csv',
    { config: { roles: ['admin'] }, schema: { tags: ['hotlist'], summary: 'export the hotlist as CSV', produces: ['text/csv'], response: { 200: Type.String() } } },
    async (req, reply) => {
      const h = await app.hotlist.current();
      await audit(req.user.sub, req.user.role, 'hotlist_export', {}, h.entries.length);
      reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="hotlist.csv"');
      return toCsv(
        CSV_HEADER,
        h.entries.map((e) => [e.plate, e.reason, e.direction ?? '', e.activeHours?.from ?? '', e.activeHours?.to ?? '', e.expiresAt ? new Date(e.expiresAt).toISOString() : '']),
      );
    },
  );

  app.post(
    '/api/hotlist/import',
    {
      config: { roles: ['admin', 'investigator'] },
      schema: {
        tags: ['hotlist'],
        summary: 'import entries from CSV (text/csv body); mode=replace drops entries not in the file',
        consumes: ['text/csv'],
        querystring: Type.Object({ mode: Type.Union([Type.Literal('merge'), Type.Literal('replace')], { default: 'merge' }) }),
        body: Type.String({ maxLength: 10 * 1024 * 1024 }),
        response: { 200: Type.Object({ imported: Type.Integer(), hotlist: HotlistSchema }), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const entries = entriesFromCsv(req.body);
      const h = await app.hotlist.upsert(entries, req.user.sub, req.query.mode === 'replace');
      await audit(req.user.sub, req.user.role, 'hotlist_import', { mode: req.query.mode }, entries.length);
      return { imported: entries.length, hotlist: h };
    },
  );
};
export default routes;
