/** Signed session tokens (@fastify/jwt), 12 h by default. */
import fp from 'fastify-plugin';
import jwt from '@fastify/jwt';

export default fp(
  async (fastify, opts: { secret: string; expiresIn?: string }) => {
    await fastify.register(jwt, { secret: opts.secret, sign: { expiresIn: opts.expiresIn ?? '12h' } });
  },
  { name: 'jwt' },
);
