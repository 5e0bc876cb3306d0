/** Rate limits, opt-in per route (`config.rateLimit`): login and the public open-data routes. */
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';

export default fp(
  async (fastify) => {
    await fastify.register(rateLimit, {
      global: false,
      errorResponseBuilder: (_req, ctx) => ({
        statusCode: ctx.statusCode,
        code: 'E_REQUEST_RATE_LIMITED',
        error: 'Too Many Requests',
        message: `too many requests; retry in ${ctx.after}`,
      }),
    });
  },
  { name: 'rate-limit' },
);
