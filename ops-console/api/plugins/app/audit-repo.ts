/** Audit log repository: who did what, when, with which query and how many results. */
import fp from 'fastify-plugin';
import { Where, type OpsDb } from './ops-db';
import type { AuditAction } from '../../../shared/audit-actions';

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  role: string;
  action: string;
  query: Record<string, unknown>;
  resultCount: number | null;
  detail: string | null;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  from?: number;
  to?: number;
  limit: number;
}

export interface AuditRepo {
  /** only the actions the admin's screen knows (ops-console/shared/audit-actions.ts) */
  write(e: Omit<AuditEntry, 'id' | 'at' | 'action'> & { action: AuditAction; at?: number }): Promise<void>;
  list(f: AuditFilter): Promise<AuditEntry[]>;
}

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditRepo;
  }
}

export function createAuditRepo(db: OpsDb): AuditRepo {
  return {
    async write(e) {
      await db.run('INSERT INTO audit_log (at_ms, actor, role, action, query, result_count, detail) VALUES ($1,$2,$3,$4,$5,$6,$7)', [
        e.at ?? Date.now(),
        e.actor,
        e.role,
        e.action,
        JSON.stringify(e.query),
        e.resultCount,
        e.detail,
      ]);
    },
    async list(f) {
      const w = new Where();
      if (f.actor) w.add('actor = ?', f.actor);
      if (f.action) w.add('action = ?', f.action);
      if (f.from !== undefined) w.add('at_ms >= ?', f.from);
      if (f.to !== undefined) w.add('at_ms < ?', f.to);
      const rows = await db.all(`SELECT * FROM audit_log ${w.toString()} ORDER BY id DESC LIMIT ${f.limit}`, w.params);
      return rows.map((r) => ({
        id: Number(r.id),
        at: Number(r.at_ms),
        actor: String(r.actor),
        role: String(r.role),
        action: String(r.action),
        query: JSON.parse(String(r.query ?? '{}')) as Record<string, unknown>,
        resultCount: r.result_count === null ? null : Number(r.result_count),
        detail: r.detail === null ? null : String(r.detail),
      }));
    },
  };
}

export default fp(
  async (fastify) => {
    fastify.decorate('audit', createAuditRepo(fastify.opsDb));
  },
  { name: 'audit-repo', dependencies: ['ops-db'] },
);
