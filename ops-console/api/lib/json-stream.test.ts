import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { CHUNK, sendJsonArray } from './json-stream';

describe('sendJsonArray', () => {
  it('a big answer is streamed in chunks and parses to exactly the same JSON; a small one goes out as a plain object', async () => {
    const app = Fastify();
    const big = Array.from({ length: CHUNK * 3 + 17 }, (_, i) => ({ deviceId: `air-${i % 6}`, t: i * 1000, mean: i / 3, min: 0, max: i, count: 1 }));
    app.get('/big', async (_req, reply) => sendJsonArray(reply, 'points', big, { deviceId: 'truck-01' }));
    app.get('/small', async (_req, reply) => sendJsonArray(reply, 'buckets', big.slice(0, 3)));
    app.get('/edge', async (_req, reply) => sendJsonArray(reply, 'rows', big.slice(0, CHUNK + 1)));
    const r = await app.inject('/big');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    expect(r.headers['content-length']).toBeUndefined(); // chunked, not one string
    expect(r.json()).toEqual({ deviceId: 'truck-01', points: big });
    expect((await app.inject('/small')).json()).toEqual({ buckets: big.slice(0, 3) });
    expect((await app.inject('/edge')).json()).toEqual({ rows: big.slice(0, CHUNK + 1) });
    await app.close();
  });
});
