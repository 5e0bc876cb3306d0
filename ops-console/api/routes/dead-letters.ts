/**
 * Dead letters: browse with filters (device, reason, time) and counts per reason. Raw payloads
 * of plate topics are redacted for roles that may not see plates.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DeadLetter, REJECT_REASONS } from '../../../contract';
import { errors, OptRangeQuery, OneOf } from '../lib/schemas';
import { canSeePlates } from '../plugins/app/auth';

const Reason = OneOf(REJECT_REASONS);

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/dead-letters',
    {
      config: { roles: ['operator'] },
      schema: {
        tags: ['dead letters'],
        summary: 'refused messages, newest first (commissioning test readings only with reason=commissioning)',
        querystring: Type.Object({
          deviceId: Type.Optional(Type.String({ maxLength: 40 })),
          reason: Type.Optional(Reason),
          ...OptRangeQuery,
          limit: Type.Integer({ minimum: 1, maximum: 10000, default: 200 }),
        }),
        response: { 200: Type.Object({ deadLetters: Type.Array(DeadLetter) }), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      // commissioning test readings are kept apart: listed only when asked for (reason=commissioning)
      const letters = (await app.ctx.store.deadLetters(req.query)).filter((l) => req.query.reason === 'commissioning' || l.reason !== 'commissioning');
      const plates = canSeePlates(req.user.role);
      const hasPlate = (l: { topic: string; reason: string }) => l.topic.endsWith('/plate') || (l.reason === 'commissioning' && l.topic.includes('/camera/'));
      return { deadLetters: plates ? letters : letters.map((l) => (hasPlate(l) ? { ...l, payload: '(redacted: plate data)' } : l)) };
    },
  );

  app.get(
    '/api/dead-letters/counts',
    {
      config: { roles: ['operator'] },
      schema: {
        tags: ['dead letters'],
        summary: 'dead letters counted per reason',
        querystring: Type.Object({ ...OptRangeQuery }),
        response: { 200: Type.Object({ counts: Type.Record(Type.String(), Type.Integer()) }), ...errors(400, 401, 403) },
      },
    },
    async (req) => ({ counts: (await app.ctx.store.deadLetterCounts(req.query)) as Record<string, number> }),
  );
};
export default routes;
