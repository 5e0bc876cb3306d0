/** GET /api/live: WebSocket live stream (messages in ops-console/shared/live.ts). One-time `?ticket=` from POST /api/auth/ticket. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../lib/schemas';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/live',
    {
      websocket: true,
      config: { roles: ['operator', 'planner', 'investigator'], ticketInQuery: true },
      schema: {
        tags: ['live'],
        summary: 'WebSocket: a snapshot on connect, then coalesced deltas (≤ 4/s); plates only for plate roles',
        querystring: Type.Object({
          ticket: Type.Optional(Type.String({ maxLength: 64, description: 'one-time ticket from POST /api/auth/ticket' })),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('columnar')], { description: 'columnar: GPS-only changes as binary position frames (shared/live-positions.ts)' })),
        }),
        response: errors(401, 403),
      },
    },
    (socket, req) => {
      app.live.addClient(socket, req.user.role, { columnar: req.query.format === 'columnar' });
    },
  );
};
export default routes;
