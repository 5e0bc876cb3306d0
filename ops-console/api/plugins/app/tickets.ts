/**
 * One-time tickets for the URLs a browser cannot put a header on (the WebSocket live stream,
 * export download links). A logged-in client asks POST /api/auth/ticket { path } and gets a
 * random ticket valid for TICKET_TTL_MS, for that path only, usable once; the URL then carries
 * `?ticket=…` instead of the 12-hour session token, so a URL that reaches a log, a proxy or the
 * browser history is worth nothing. Tickets live in memory (a restart voids them; clients ask again).
 */
import { randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';
import type { Role } from '../../../shared/live';

export const TICKET_TTL_MS = 30_000;
const MAX_TICKETS = 10_000;

export interface Ticket {
  sub: string;
  role: Role;
  path: string;
  expiresAt: number;
}

export interface Tickets {
  issue(user: { sub: string; role: Role }, path: string): { ticket: string; expiresAt: number };
  /** the ticket's user when it is valid for `path` (it is used up either way) */
  redeem(ticket: string, path: string): { sub: string; role: Role } | null;
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
    issue(user, path) {
      if (live.size >= MAX_TICKETS) sweep();
      if (live.size >= MAX_TICKETS) live.delete(live.keys().next().value!); // oldest first
      const ticket = randomBytes(24).toString('base64url');
      const expiresAt = now() + TICKET_TTL_MS;
      live.set(ticket, { sub: user.sub, role: user.role, path, expiresAt });
      return { ticket, expiresAt };
    },
    redeem(ticket, path) {
      const t = live.get(ticket);
      if (!t) return null;
      live.delete(ticket);
      if (t.expiresAt <= now() || t.path !== path) return null;
      return { sub: t.sub, role: t.role };
    },
  };
}

export default fp(
  async (fastify) => {
    fastify.decorate('tickets', createTickets());
  },
  { name: 'tickets' },
);
