/**
 * One-time tickets for the URLs a browser cannot put a header on (the WebSocket live stream,
 * export download links). A logged-in client asks POST /api/auth/ticket { path } and gets a
 * random ticket valid for TICKET_TTL_MS, for that path only, usable once; the URL then carries
 * `?ticket=…` instead of the 12-hour session token, so a URL that reaches a log, a proxy or the
 * browser history is worth nothing. Tickets live in memory (a restart voids them; clients ask
 * again) — or, with a shared ops DB (OPS_DB_URL, several API nodes behind one balancer), in its
 * `tickets` table, so a ticket issued by one node is redeemed on another; redeeming is one
 * DELETE … RETURNING, so a ticket is used once even when two nodes race for it.
 */
import { randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';
import type { Role } from '../../../shared/live';
import type { OpsDb } from './ops-db';

export const TICKET_TTL_MS = 30_000;
const MAX_TICKETS = 10_000;

export interface Ticket {
  sub: string;
  role: Role;
  path: string;
  expiresAt: number;
}

export interface Tickets {
  issue(user: { sub: string; role: Role }, path: string): Promise<{ ticket: string; expiresAt: number }>;
  /** the ticket's user when it is valid for `path` (it is used up either way) */
  redeem(ticket: string, path: string): Promise<{ sub: string; role: Role } | null>;
}

declare module 'fastify' {
  interface FastifyInstance {
    tickets: Tickets;
  }
}

export function createTickets(now: () => number = Date.now): Tickets {
  const live = new Map<string, Ticket>();
  const sweep = () => {
    const t = now();
    for (const [k, v] of live) if (v.expiresAt <= t) live.delete(k);
  };
  return {
    async issue(user, path) {
      if (live.size >= MAX_TICKETS) sweep();
      if (live.size >= MAX_TICKETS) live.delete(live.keys().next().value!); // oldest first
      const ticket = randomBytes(24).toString('base64url');
      const expiresAt = now() + TICKET_TTL_MS;
      live.set(ticket, { sub: user.sub, role: user.role, path, expiresAt });
      return { ticket, expiresAt };
    },
    async redeem(ticket, path) {
      const t = live.get(ticket);
      if (!t) return null;
      live.delete(ticket);
      if (t.expiresAt <= now() || t.path !== path) return null;
      return { sub: t.sub, role: t.role };
    },
  };
}

/** Tickets in the ops DB's `tickets` table: shared by every API node on that database. */
export function createDbTickets(db: OpsDb, now: () => number = Date.now): Tickets {
  let issued = 0;
  return {
    async issue(user, path) {
      // now and then, drop the expired ones (a ticket never redeemed stays until then)
      if (++issued % 100 === 1) await db.run('DELETE FROM tickets WHERE expires_at <= $1', [now()]);
      const ticket = randomBytes(24).toString('base64url');
      const expiresAt = now() + TICKET_TTL_MS;
      await db.run('INSERT INTO tickets (ticket, sub, role, path, expires_at) VALUES ($1,$2,$3,$4,$5)', [ticket, user.sub, user.role, path, expiresAt]);
      return { ticket, expiresAt };
    },
    async redeem(ticket, path) {
      const [t] = await db.all('DELETE FROM tickets WHERE ticket = $1 RETURNING sub, role, path, expires_at', [ticket]);
      if (!t || Number(t.expires_at) <= now() || t.path !== path) return null;
      return { sub: String(t.sub), role: t.role as Role };
    },
  };
}

export default fp(
  async (fastify, opts: { shared?: boolean }) => {
    fastify.decorate('tickets', opts.shared ? createDbTickets(fastify.opsDb) : createTickets());
  },
  { name: 'tickets', dependencies: ['ops-db'] },
);
