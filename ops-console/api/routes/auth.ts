/**
 * POST /api/auth/login → { token, role }, GET /api/auth/me, POST /api/auth/ticket (one-time
 * ticket for a WebSocket or download URL, plugins/app/tickets.ts).
 *
 * Failed logins are limited per (user name, client address): `loginRateLimit` failures a minute,
 * then 429 for that user from that address until the minute has passed — other users at the
 * same address (a control room behind one NAT) still log in. All attempts from one address are
 * capped at 10× that (user-name spraying). Unknown user names cost a scrypt run like a wrong
 * password (lib/users.ts), so response times do not tell which names exist.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiError } from '../lib/errors';
import { errors, RoleSchema } from '../lib/schemas';
import { ROLES } from '../../shared/live';
import { TICKET_TTL_MS } from '../plugins/app/tickets';

const WINDOW_MS = 60_000;
/** the URLs a ticket may open */
export const TICKET_PATH = '^/api/live$|^/api/exports/[0-9a-f-]{36}/download$|^/api/fleet/report/export$|^/api/fleet/gpx$';

export function createFailureLimiter(max: number, now: () => number = Date.now) {
  const fails = new Map<string, number[]>();
  const recent = (key: string) => (fails.get(key) ?? []).filter((t) => now() - t < WINDOW_MS);
  return {
    /** ms until `key` may try again, or 0 */
    blockedFor(key: string): number {
      const r = recent(key);
      if (r.length === 0) fails.delete(key);
      return r.length >= max ? WINDOW_MS - (now() - r[0]!) : 0;
    },
    failed(key: string): void {
      if (fails.size > 100_000) for (const k of fails.keys()) if (recent(k).length === 0) fails.delete(k);
      fails.set(key, [...recent(key), now()].slice(-max));
    },
  };
}

const routes: FastifyPluginAsyncTypebox<{ loginRateLimit?: number }> = async (app, opts) => {
  const max = opts.loginRateLimit ?? 10;
  const limiter = createFailureLimiter(max);

  app.post(
    '/api/auth/login',
    {
      config: { roles: ['public'], rateLimit: { max: max * 10, timeWindow: '1 minute' } },
      schema: {
        tags: ['auth'],
        summary: 'log in; returns a bearer token',
        security: [],
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ token: Type.String(), role: RoleSchema, username: Type.String() }), ...errors(400, 401, 429) },
      },
    },
    async (req, reply) => {
      const key = `${req.ip}|${req.body.username.toLowerCase()}`;
      const wait = limiter.blockedFor(key);
      if (wait > 0) {
        app.metrics.loginFailures.inc();
        reply.header('retry-after', Math.ceil(wait / 1000));
        throw new ApiError(429, 'E_REQUEST_RATE_LIMITED', `too many failed logins for this user from your address; retry in ${Math.ceil(wait / 1000)} s`);
      }
      const u = await app.users.verify(req.body.username, req.body.password);
      if (!u) {
        limiter.failed(key);
        app.metrics.loginFailures.inc();
        throw new ApiError(401, 'E_AUTH_BAD_CREDENTIALS', 'wrong username or password');
      }
      await app.opsDb.run('INSERT INTO users (username, role, last_login) VALUES ($1, $2, $3) ON CONFLICT (username) DO UPDATE SET role = EXCLUDED.role, last_login = EXCLUDED.last_login', [
        u.username,
        u.role,
        Date.now(),
      ]);
      const token = app.jwt.sign({ sub: u.username, role: u.role });
      return { token, role: u.role, username: u.username };
    },
  );

  app.get(
    '/api/auth/me',
    {
      config: { roles: ROLES.filter((r) => r !== 'public') },
      schema: { tags: ['auth'], summary: 'who the token belongs to', response: { 200: Type.Object({ username: Type.String(), role: RoleSchema }), ...errors(401) } },
    },
    async (req) => ({ username: req.user.sub, role: req.user.role }),
  );

  app.post(
    '/api/auth/ticket',
    {
      config: { roles: ROLES.filter((r) => r !== 'public') },
      schema: {
        tags: ['auth'],
        summary: `a one-time ticket (valid ${TICKET_TTL_MS / 1000} s, for one path) to put in a WebSocket or download URL as ?ticket= instead of the session token`,
        body: Type.Object(
          { path: Type.String({ pattern: TICKET_PATH, maxLength: 80, description: '/api/live, /api/exports/<id>/download, /api/fleet/report/export or /api/fleet/gpx' }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ ticket: Type.String(), expiresAt: Type.Integer(), url: Type.String() }), ...errors(400, 401) },
      },
    },
    async (req) => {
      const { ticket, expiresAt } = await app.tickets.issue(req.user, req.body.path);
      return { ticket, expiresAt, url: `${req.body.path}?ticket=${ticket}` };
    },
  );
};
export default routes;
