/** GET /api/users: the console's people (not service logins), for the alert assignee picker. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors, RoleSchema } from '../lib/schemas';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/users',
    {
      config: { roles: ['operator'] },
      schema: {
        tags: ['auth'],
        summary: 'console users (username and role) an alert can be assigned to; no service accounts, no hashes',
        response: { 200: Type.Object({ users: Type.Array(Type.Object({ username: Type.String(), role: RoleSchema })) }), ...errors(401, 403) },
      },
    },
    async () => ({ users: app.users.people().map((u) => ({ username: u.username, role: u.role })) }),
  );
};
export default routes;
