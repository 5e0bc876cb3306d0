/**
 * Big JSON answers written in chunks (issue 14): `{ "<key>": [ …items… ], …rest }` as a stream
 * of pieces of `CHUNK` items each, yielding to the event loop between pieces, so formatting
 * 200,000 buckets never holds the loop that serves MQTT and /health (one JSON.stringify of the
 * whole answer took seconds and a 15 MB string per request). The shape is exactly what the
 * route's response schema documents; Fastify does not re-serialise a stream.
 *
 *   return sendJsonArray(reply, 'buckets', buckets);
 */
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

export const CHUNK = 2000;

async function* pieces(key: string, items: readonly unknown[], rest: Record<string, unknown>): AsyncGenerator<string> {
  const head = Object.keys(rest).length ? `${JSON.stringify(rest).slice(0, -1)},` : '{';
  yield `${head}${JSON.stringify(key)}:[`;
  for (let i = 0; i < items.length; i += CHUNK) {
    const part = JSON.stringify(items.slice(i, i + CHUNK));
    yield (i ? ',' : '') + part.slice(1, -1);
    await new Promise((r) => setImmediate(r));
  }
  yield ']}';
}

/**
 * Send `{ ...rest, [key]: items }` in chunks (small answers go out as usual). Typed as the answer
 * itself so routes keep their response types; when streamed, the value returned is the reply
 * (Fastify then sends nothing more).
 */
export function sendJsonArray<K extends string, T, R extends Record<string, unknown> = Record<never, never>>(reply: FastifyReply, key: K, items: T[], rest?: R): { [k in K]: T[] } & R {
  if (items.length <= CHUNK) return { ...(rest ?? {}), [key]: items } as { [k in K]: T[] } & R;
  reply.type('application/json; charset=utf-8');
  return reply.send(Readable.from(pieces(key, items, rest ?? {}), { objectMode: false })) as never;
}
