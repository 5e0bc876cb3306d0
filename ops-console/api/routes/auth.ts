/** POST /api/auth/login → { token, role } (rate-limited), GET /api/auth/me. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiError } from '../lib/errors';
import { errors, RoleSchema } from '../lib/schemas';
import { ROLES } from '../../shared/live';

const routes: FastifyPluginAsyncTypebox<{ loginRateLimit?: number }> = async (app, opts) => {
  app.post(
    '/api/auth/login',
    {
      config: { roles: ['public'], rateLimit: { max: opts.loginRateLimit ?? 10, timeWindow: '1 minute' } },
      schema: {
        tags: ['auth'],
        summary: 'log in; returns a bearer token',
        security: [],
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ token: Type.String(), role: RoleSchema, username: Type.String() }), ...errors(400, 401, 429) },
      },
    },
    async (req) => {
      const u = await app.users.verify(req.body.username, req.body.password);
      if (!u) {
        app.metrics.loginFailures.inc();
        throw new ApiError(401, 'E_BAD_CREDENTIALS', 'wrong username or password');
      }
      await app.opsDb.run('INSERT OR REPLACE INTO users VALUES ($1, $2, $3)', [u.username, u.role, Date.now()]);
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
};
export default routes;
