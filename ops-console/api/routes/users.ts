/**
 * Console users (admin): list, create with a role, reset a password, disable / enable.
 * Any logged-in user changes their own password (POST /api/auth/password). Every change is
 * audited and takes effect at once (users.json rewritten; a disabled user's tokens stop working).
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UserRow } from '../../shared/api';
import { ApiError, badRequest, conflict } from '../lib/errors';
import { errors, OneOf, Ok } from '../lib/schemas';
import { MIN_PASSWORD_LENGTH, USER_ROLES, USERNAME_PATTERN, UsersError, type UserStore } from '../lib/users';
import type { AuditAction } from '../../shared/audit-actions';

const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 256, description: `at least ${MIN_PASSWORD_LENGTH} characters` });
const UsernameParam = Type.Object({ username: Type.String({ pattern: USERNAME_PATTERN }) });

function toApiError(err: unknown): never {
  if (err instanceof UsersError) {
    const status = err.code === 'E_USER_UNKNOWN' ? 404 : err.code === 'E_USER_DUPLICATE' || err.code === 'E_USER_SERVICE' ? 409 : 400;
    throw new ApiError(status, err.code, err.message);
  }
  throw err;
}

function managed(users: UserStore): Required<Pick<UserStore, 'create' | 'setPassword' | 'setDisabled' | 'details'>> {
  if (!users.create || !users.setPassword || !users.setDisabled || !users.details) throw conflict('E_USER_READ_ONLY', 'this user store cannot be changed');
  return users as Required<UserStore>;
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const audit = (req: { user: { sub: string; role: string }; ip: string }, action: AuditAction, query: Record<string, unknown>) =>
    app.audit.write({ actor: req.user.sub, role: req.user.role, action, query, resultCount: 1, detail: req.ip });

  app.get(
    '/api/users',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['users'], summary: 'console users with role, state and last login', response: { 200: Type.Object({ users: Type.Array(UserRow) }), ...errors(401, 403) } },
    },
    async () => {
      await app.users.refresh?.();
      const logins = new Map((await app.opsDb.all('SELECT username, last_login FROM users')).map((r) => [String(r.username), Number(r.last_login)]));
      const list = app.users.details?.() ?? app.users.list();
      return { users: list.map((u) => ({ ...u, ...(logins.get(u.username) ? { lastLogin: logins.get(u.username)! } : {}) })) };
    },
  );

  app.post(
    '/api/users',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['users'],
        summary: 'create a user with a role (can log in at once)',
        body: Type.Object({ username: Type.String({ pattern: USERNAME_PATTERN }), role: OneOf(USER_ROLES), password: Password }, { additionalProperties: false }),
        response: { 201: UserRow, ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => {
      const u = await managed(app.users).create(req.body).catch(toApiError);
      await audit(req, 'user_create', { username: u.username, role: u.role });
      return reply.code(201).send(u);
    },
  );

  app.post(
    '/api/users/:username/password',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['users'],
        summary: 'reset a user’s password',
        params: UsernameParam,
        body: Type.Object({ password: Password }, { additionalProperties: false }),
        response: { 200: UserRow, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      const u = await managed(app.users).setPassword(req.params.username, req.body.password).catch(toApiError);
      await audit(req, 'user_password_reset', { username: u.username });
      return u;
    },
  );

  app.post(
    '/api/users/:username/disable',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['users'],
        summary: 'disable (or enable again) a user; a disabled user’s sessions end at once',
        params: UsernameParam,
        body: Type.Object({ disabled: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: UserRow, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      if (req.params.username === req.user.sub && req.body.disabled) throw conflict('E_USER_SELF_DISABLE', 'you cannot disable your own user');
      const u = await managed(app.users).setDisabled(req.params.username, req.body.disabled).catch(toApiError);
      await audit(req, req.body.disabled ? 'user_disable' : 'user_enable', { username: u.username });
      return u;
    },
  );

  app.post(
    '/api/auth/password',
    {
      config: { roles: USER_ROLES, rateLimit: { max: 10, timeWindow: '1 minute' } },
      schema: {
        tags: ['auth'],
        summary: 'change your own password',
        body: Type.Object({ current: Type.String({ minLength: 1, maxLength: 256 }), password: Password }, { additionalProperties: false }),
        response: { 200: Ok, ...errors(400, 401, 409, 429) },
      },
    },
    async (req) => {
      if (!(await app.users.verify(req.user.sub, req.body.current))) throw badRequest('E_AUTH_BAD_CREDENTIALS', 'current password: wrong');
      if (req.body.current === req.body.password) throw badRequest('E_USER_SAME_PASSWORD', 'password: the new password is the current one');
      await managed(app.users).setPassword(req.user.sub, req.body.password).catch(toApiError);
      await audit(req, 'password_change', { username: req.user.sub });
      return { ok: true };
    },
  );
};
export default routes;
