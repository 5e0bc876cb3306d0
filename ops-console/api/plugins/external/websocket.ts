/** WebSocket routes (@fastify/websocket) with a bounded message size (clients only send tiny requests). */
import fp from 'fastify-plugin';
import websocket from '@fastify/websocket';

export default fp(
  async (fastify) => {
    await fastify.register(websocket, { options: { maxPayload: 4096 } });
  },
  { name: 'websocket' },
);
