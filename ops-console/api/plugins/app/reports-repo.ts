/**
 * Citizen reports (Open311 service requests) on the ops DB: the requests, every status change
 * (who, when, why), and the reporters' contact data in a table of its own (personal data: only
 * `contact()` reads it, the routes audit each read, `purgeContacts()` deletes it after the
 * retention period). Decorates `fastify.reports`.
 */
import crypto from 'node:crypto';
import fp from 'fastify-plugin';
import type { OpsDb, Row } from './ops-db';
import { statements, Where } from './ops-db';
import { CLOSED_STATES, open311Status, type Evidence, type ReportState, type ServiceCode, type ServiceReport, type StatusChange } from '../../../shared/open311';

export const SCHEMA = `
CREATE SEQUENCE IF NOT EXISTS open311_seq START 1001;
CREATE TABLE IF NOT EXISTS open311_requests (
  id VARCHAR PRIMARY KEY, token VARCHAR UNIQUE, service_code VARCHAR, description VARCHAR, lat DOUBLE PRECISION, lon DOUBLE PRECISION,
  address VARCHAR, segment_id VARCHAR, district VARCHAR, state VARCHAR, requested_at BIGINT, updated_at BIGINT,
  closed_at BIGINT, media_file VARCHAR, duplicate_of VARCHAR, closed_without_evidence BOOLEAN, reopened INTEGER,
  attributes VARCHAR, evidence VARCHAR, due_from BIGINT, due_to BIGINT);
CREATE TABLE IF NOT EXISTS open311_history (
  request_id VARCHAR, at_ms BIGINT, state VARCHAR, by_whom VARCHAR, role VARCHAR, note VARCHAR, without_evidence BOOLEAN);
CREATE TABLE IF NOT EXISTS open311_contacts (
  request_id VARCHAR PRIMARY KEY, email VARCHAR, phone VARCHAR, first_name VARCHAR, last_name VARCHAR, created_at BIGINT);
CREATE SEQUENCE IF NOT EXISTS open311_history_seq;
ALTER TABLE open311_history ADD COLUMN IF NOT EXISTS seq BIGINT DEFAULT nextval('open311_history_seq');
`;
/** open311_history's columns but the ordering `seq` (filled by its default) */
const HISTORY_INSERT = 'INSERT INTO open311_history (request_id, at_ms, state, by_whom, role, note, without_evidence) VALUES';

export interface NewReport {
  serviceCode: ServiceCode;
  description: string;
  lat: number;
  lon: number;
  address: string | null;
  segmentId: string | null;
  district: string | null;
  requestedAt: number;
  attributes: Record<string, string>;
  evidence: Evidence | null;
  due: { from: number; to: number } | null;
  contact: Contact | null;
}

export interface Contact {
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
}

export interface ReportFilter {
  ids?: string[];
  serviceCodes?: string[];
  states?: ReportState[];
  from?: number;
  to?: number;
  district?: string;
  limit: number;
}

export interface ReportsRepo {
  create(r: NewReport): Promise<{ id: string; token: string; duplicateOf: string | null }>;
  get(id: string): Promise<ServiceReport | null>;
  byToken(token: string): Promise<string | null>;
  list(f: ReportFilter): Promise<ServiceReport[]>;
  setState(id: string, change: { state: ReportState; by: string; role: string; note: string; withoutEvidence: boolean; at?: number }): Promise<ServiceReport>;
  setEvidence(id: string, ev: Evidence): Promise<void>;
  setMedia(id: string, file: string): Promise<void>;
  contact(id: string): Promise<Contact | null>;
  /** delete contact rows of reports requested before `before`; returns how many */
  purgeContacts(before: number): Promise<number>;
  /** token secret used to decide whether a caller may attach a photo */
  tokenOf(id: string): Promise<string | null>;
  mediaFile(id: string): Promise<string | null>;
}

declare module 'fastify' {
  interface FastifyInstance {
    reports: ReportsRepo;
  }
}

const str = (v: Row[string]): string | null => (v === null || v === undefined ? null : String(v));

export function createReportsRepo(db: OpsDb): ReportsRepo {
  const history = async (ids: string[]): Promise<Map<string, StatusChange[]>> => {
    const out = new Map<string, StatusChange[]>();
    if (!ids.length) return out;
    const w = new Where();
    w.in('request_id', ids);
    for (const r of await db.all(`SELECT * FROM open311_history ${w.toString()} ORDER BY at_ms, seq`, w.params)) {
      const id = String(r.request_id);
      const list = out.get(id) ?? [];
      list.push({
        at: Number(r.at_ms),
        state: String(r.state) as ReportState,
        by: String(r.by_whom),
        role: String(r.role),
        note: String(r.note ?? ''),
        ...(r.without_evidence ? { withoutEvidence: true } : {}),
      });
      out.set(id, list);
    }
    return out;
  };
  const hydrate = async (rows: Row[]): Promise<ServiceReport[]> => {
    const ids = rows.map((r) => String(r.id));
    const hist = await history(ids);
    const dups = new Map<string, string[]>();
    const contacts = new Set<string>();
    if (ids.length) {
      const w = new Where();
      w.in('duplicate_of', ids);
      for (const r of await db.all(`SELECT id, duplicate_of FROM open311_requests ${w.toString()} ORDER BY id`, w.params)) {
        const k = String(r.duplicate_of);
        dups.set(k, [...(dups.get(k) ?? []), String(r.id)]);
      }
      const c = new Where();
      c.in('request_id', ids);
      for (const r of await db.all(`SELECT request_id FROM open311_contacts ${c.toString()}`, c.params)) contacts.add(String(r.request_id));
    }
    return rows.map((r) => {
      const state = String(r.state) as ReportState;
      const id = String(r.id);
      return {
        id,
        serviceCode: String(r.service_code) as ServiceCode,
        description: String(r.description ?? ''),
        lat: Number(r.lat),
        lon: Number(r.lon),
        address: str(r.address),
        segmentId: str(r.segment_id),
        district: str(r.district),
        state,
        status: open311Status(state),
        requestedAt: Number(r.requested_at),
        updatedAt: Number(r.updated_at),
        closedAt: r.closed_at === null ? null : Number(r.closed_at),
        mediaUrl: r.media_file ? `/api/open311/media/${id}` : null,
        duplicateOf: str(r.duplicate_of),
        duplicates: dups.get(id) ?? [],
        closedWithoutEvidence: !!r.closed_without_evidence,
        reopened: Number(r.reopened ?? 0),
        attributes: JSON.parse(String(r.attributes ?? '{}')) as Record<string, string>,
        hasContact: contacts.has(id),
        history: hist.get(id) ?? [],
        evidence: r.evidence ? (JSON.parse(String(r.evidence)) as Evidence) : null,
      };
    });
  };

  const repo: ReportsRepo = {
    async create(r) {
      const [seq] = await db.all(`SELECT nextval('open311_seq') AS n`);
      const id = String(seq!.n);
      const token = crypto.randomUUID();
      // a report of the same collection service on the same street and due window is a duplicate
      let duplicateOf: string | null = null;
      if (r.segmentId && r.due) {
        const [d] = await db.all(
          `SELECT id FROM open311_requests WHERE service_code = $1 AND segment_id = $2 AND due_from = $3 AND duplicate_of IS NULL AND state NOT IN ('duplicate','not_responsible') ORDER BY requested_at LIMIT 1`,
          [r.serviceCode, r.segmentId, r.due.from],
        );
        duplicateOf = d ? String(d.id) : null;
      }
      const state: ReportState = duplicateOf ? 'duplicate' : 'open';
      await db.run(`INSERT INTO open311_requests VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,NULL,$14,false,0,$15,$16,$17,$18)`, [
        id,
        token,
        r.serviceCode,
        r.description,
        r.lat,
        r.lon,
        r.address,
        r.segmentId,
        r.district,
        state,
        r.requestedAt,
        r.requestedAt,
        duplicateOf ? r.requestedAt : null,
        duplicateOf,
        JSON.stringify(r.attributes),
        r.evidence ? JSON.stringify(r.evidence) : null,
        r.due?.from ?? null,
        r.due?.to ?? null,
      ]);
      await db.run(`${HISTORY_INSERT} ($1,$2,$3,$4,$5,$6,false)`, [id, r.requestedAt, 'open', 'ciudadano', 'public', '']);
      if (duplicateOf) await db.run(`${HISTORY_INSERT} ($1,$2,$3,$4,$5,$6,false)`, [id, r.requestedAt, 'duplicate', 'sistema', 'system', `duplicate_of:${duplicateOf}`]);
      const c = r.contact;
      if (c && (c.email || c.phone || c.firstName || c.lastName)) {
        await db.run('INSERT INTO open311_contacts VALUES ($1,$2,$3,$4,$5,$6)', [id, c.email, c.phone, c.firstName, c.lastName, r.requestedAt]);
      }
      return { id, token, duplicateOf };
    },
    async get(id) {
      const rows = await db.all('SELECT * FROM open311_requests WHERE id = $1', [id]);
      return (await hydrate(rows))[0] ?? null;
    },
    async byToken(token) {
      const [r] = await db.all('SELECT id FROM open311_requests WHERE token = $1', [token]);
      return r ? String(r.id) : null;
    },
    async tokenOf(id) {
      const [r] = await db.all('SELECT token FROM open311_requests WHERE id = $1', [id]);
      return r ? String(r.token) : null;
    },
    async mediaFile(id) {
      const [r] = await db.all('SELECT media_file FROM open311_requests WHERE id = $1', [id]);
      return r ? str(r.media_file) : null;
    },
    async list(f) {
      const w = new Where();
      if (f.ids?.length) w.in('id', f.ids);
      if (f.serviceCodes?.length) w.in('service_code', f.serviceCodes);
      if (f.states?.length) w.in('state', f.states);
      if (f.from !== undefined) w.add('requested_at >= ?', f.from);
      if (f.to !== undefined) w.add('requested_at < ?', f.to);
      if (f.district) w.add('district = ?', f.district);
      const rows = await db.all(`SELECT * FROM open311_requests ${w.toString()} ORDER BY requested_at DESC, id DESC LIMIT ${Math.floor(f.limit)}`, w.params);
      return hydrate(rows);
    },
    async setState(id, ch) {
      const cur = await repo.get(id);
      if (!cur) throw new Error(`no report ${id}`);
      const at = ch.at ?? Date.now();
      const closing = CLOSED_STATES.includes(ch.state);
      const reopening = cur.status === 'closed' && !closing;
      await db.run(`UPDATE open311_requests SET state = $2, updated_at = $3, closed_at = $4, closed_without_evidence = $5, reopened = reopened + $6 WHERE id = $1`, [
        id,
        ch.state,
        at,
        closing ? at : null,
        closing ? ch.withoutEvidence : false,
        reopening ? 1 : 0,
      ]);
      await db.run(`${HISTORY_INSERT} ($1,$2,$3,$4,$5,$6,$7)`, [id, at, ch.state, ch.by, ch.role, ch.note, ch.withoutEvidence]);
      return (await repo.get(id))!;
    },
    async setEvidence(id, ev) {
      await db.run('UPDATE open311_requests SET evidence = $2 WHERE id = $1', [id, JSON.stringify(ev)]);
    },
    async setMedia(id, file) {
      await db.run('UPDATE open311_requests SET media_file = $2 WHERE id = $1', [id, file]);
    },
    async contact(id) {
      const [r] = await db.all('SELECT * FROM open311_contacts WHERE request_id = $1', [id]);
      return r ? { email: str(r.email), phone: str(r.phone), firstName: str(r.first_name), lastName: str(r.last_name) } : null;
    },
    async purgeContacts(before) {
      const [r] = await db.all('SELECT count(*) AS n FROM open311_contacts WHERE created_at < $1', [before]);
      await db.run('DELETE FROM open311_contacts WHERE created_at < $1', [before]);
      return Number(r?.n ?? 0);
    },
  };
  return repo;
}

export default fp(
  async (fastify) => {
    for (const stmt of statements(SCHEMA)) await fastify.opsDb.run(stmt);
    // DuckDB: the ALTERs out of the write-ahead log (replaying an ALTER after a kill -9 aborts the process); PostgreSQL may refuse CHECKPOINT to a non-superuser: nothing to do there
    await fastify.opsDb.run('CHECKPOINT').catch(() => undefined);
    fastify.decorate('reports', createReportsRepo(fastify.opsDb));
  },
  { name: 'reports-repo', dependencies: ['ops-db'] },
);
