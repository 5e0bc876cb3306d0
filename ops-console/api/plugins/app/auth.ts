/**
 * Authentication and authorization. Every route declares `config.roles` (checked at start-up:
 * a route without it refuses to register). 'public' routes need no token; the others need a JWT
 * (Authorization: Bearer) whose role is listed, or — on routes with `config.ticketInQuery`, the
 * WebSocket and download links, because browsers cannot set headers there — a one-time
 * `?ticket=` from POST /api/auth/ticket (plugins/app/tickets.ts). A session token is never
 * accepted in a URL. Admin may use every route.
 */
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../../../shared/live';
import { ApiError, forbidden, unauthorized } from '../../lib/errors';
import type { UserStore } from '../../lib/users';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** who may call this route; 'public' = no login */
    roles?: readonly Role[];
    /** accept a one-time `?ticket=` (WebSocket, download links); never the session token */
    ticketInQuery?: boolean;
  }
  interface FastifyInstance {
    users: UserStore;
  }
}
declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; role: Role };
    user: { sub: string; role: Role };
  }
}

/** Roles that may see plate text (live plate reads, plate search, plate payloads in dead letters). */
export const PLATE_ROLES: readonly Role[] = ['admin', 'investigator'];
export const canSeePlates = (role: Role | undefined): boolean => !!role && PLATE_ROLES.includes(role);

/** Paths the API serves itself: these must declare roles. Docs and the static console are exempt. */
const needsRoles = (url: string) => url.startsWith('/api') || url.startsWith('/health') || url === '/metrics';

export default fp(
  async (fastify, opts: { users: UserStore }) => {
    fastify.decorate('users', opts.users);

    fastify.addHook('onRoute', (route) => {
      if (needsRoles(route.url) && !route.config?.roles?.length) {
        throw new Error(`route ${String(route.method)} ${route.url} declares no roles (config.roles)`);
      }
    });

    fastify.addHook('onRequest', async (req: FastifyRequest) => {
      const roles = req.routeOptions.config?.roles;
      if (!roles || roles.includes('public')) return;
      const h = req.headers.authorization;
      const ticket = req.routeOptions.config.ticketInQuery ? (req.query as { ticket?: string } | undefined)?.ticket : undefined;
      if (h?.startsWith('Bearer ')) {
        try {
          req.user = fastify.jwt.verify<{ sub: string; role: Role }>(h.slice(7));
        } catch {
          throw unauthorized('invalid or expired token');
        }
      } else if (ticket) {
        const u = await fastify.tickets.redeem(ticket, req.url.split('?')[0]!);
        if (!u) throw new ApiError(401, 'E_AUTH_BAD_TICKET', 'invalid, used or expired ticket; ask POST /api/auth/ticket for a new one');
        req.user = u;
      } else throw unauthorized();
      // a disabled (or deleted) user's tokens stop working at once
      // (a shared user store reloads once first: the user may be new, made on another API node)
      const users = fastify.users;
      if (users.isActive && !users.isActive(req.user.sub) && !(users.refresh && (await users.refresh(), users.isActive(req.user.sub)))) throw unauthorized('user disabled');
      if (req.user.role !== 'admin' && !roles.includes(req.user.role)) throw forbidden(`role ${req.user.role} may not use ${req.routeOptions.url}`);
    });
  },
  { name: 'auth' },
);
