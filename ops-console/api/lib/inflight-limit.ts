/**
 * Requests in flight per user and in all, for one plugin's routes (a preHandler hook: it applies to
 * the routes of the plugin that calls it). Over either limit: 429 E_QUERY_TOO_MANY.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors';

export interface InFlightLimit {
  perUser: number;
  total: number;
  /** what is limited, for the message: "history requests", "fleet reports" */
  what: string;
}

export function limitInFlight(app: FastifyInstance, limit: InFlightLimit): void {
  const inflight = new Map<string, number>();
  let total = 0;
  app.addHook('preHandler', async (req, reply) => {
    const who = req.user?.sub ?? req.ip;
    const mine = inflight.get(who) ?? 0;
    if (mine >= limit.perUser || total >= limit.total) {
      throw new ApiError(
        429,
        'E_QUERY_TOO_MANY',
        mine >= limit.perUser ? `at most ${limit.perUser} ${limit.what} at a time per user; wait for one to finish` : `the server is answering too many ${limit.what}; retry shortly`,
      );
    }
    inflight.set(who, mine + 1);
    total++;
    reply.raw.once('close', () => {
      total--;
      const n = (inflight.get(who) ?? 1) - 1;
      if (n <= 0) inflight.delete(who);
      else inflight.set(who, n);
    });
  });
}
