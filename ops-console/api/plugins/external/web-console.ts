/**
 * Serves the built web console (ops-console/web/dist, built by Vite) when it exists, with an SPA
 * fallback: unknown GET paths outside /api, /docs, /health, /metrics and /fonts return index.html.
 */
import fs from 'node:fs';
import path from 'node:path';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';

/** the API's paths; and the bundled glyphs, so that a missing range is a 404, never index.html read as a PBF */
export const isApiPath = (url: string) => /^\/(api|docs|health|metrics|fonts)(\/|\?|$)/.test(url);

export default fp(
  async (fastify, opts: { root: string }) => {
    const hasWeb = fs.existsSync(path.join(opts.root, 'index.html'));
    if (hasWeb) await fastify.register(fastifyStatic, { root: opts.root, wildcard: false, index: ['index.html'] });
    fastify.setNotFoundHandler((req, reply) => {
      if (hasWeb && req.method === 'GET' && !isApiPath(req.url)) return reply.type('text/html').sendFile('index.html');
      return reply.code(404).send({ statusCode: 404, code: 'E_REQUEST_NOT_FOUND', error: 'Not Found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
    });
  },
  { name: 'web-console' },
);
