/**
 * The one adapter around mqemitter's private `_parallel` dispatch (mqemitter pinned exactly,
 * 7.1.0, in package.json). `createPublishQueue()` creates the emitter that Aedes uses — we hand
 * it over through Aedes' documented `mq` option — and guards it; `selfTestPublishQueue()` checks
 * at broker start-up that the installed mqemitter still behaves as the guard assumes.
 *
 * Keeps Aedes's publish queue (mqemitter 7.x, `aedes.mq`) from recursing itself to death.
 *
 * mqemitter runs at most `concurrency` (Aedes: 100) publishes at once and queues the rest. When a
 * publish finishes, `released()` takes the next queued one and runs it *synchronously*; a publish
 * with no live subscriber (no matches) finishes synchronously too, and so does Aedes's publish
 * chain after it (PUBACK queued, the publisher's next socket batch read and parsed, the next
 * publish emitted...). So a backlog of publishes that nobody is subscribed to *any more* is
 * drained as one recursion, one level per message: a QoS 1 subscriber that cannot keep up fills
 * the queue with thousands of publishes for it, its connection drops (keepalive, drain timeout,
 * crash, restart), and `released -> _do -> _parallel -> released -> ...` ends in
 * `RangeError: Maximum call stack size exceeded`, killing the broker and the in-memory
 * sessions with every message it had already acknowledged.
 * (Known upstream: moscajs/aedes#193, mcollina/mqemitter#204, still open.)
 *
 * Fix: wrap the emitter's dispatch (`_parallel`, called after the slot is counted in `current`)
 * with a nesting counter; past `maxDepth` nested dispatches the call is moved to a fresh stack
 * with setImmediate. The concurrency accounting is unchanged (the slot stays taken until the
 * deferred dispatch completes), ordering is kept (nothing else runs from the queue meanwhile),
 * and the common path (no nesting) stays synchronous.
 */
import { createRequire } from 'node:module';
import { connectRedis } from '../lib/redis';

const require = createRequire(import.meta.url);

export const DEFAULT_MAX_SYNC_DEPTH = 32;
/** Aedes' default publish concurrency (aedes.js defaultOptions.concurrency) */
export const PUBLISH_CONCURRENCY = 100;

interface MqLike {
  on(topic: string, fn: (msg: unknown, done: () => void) => void, cb?: () => void): unknown;
  emit(msg: { topic: string }, cb?: (err?: Error) => void): unknown;
  close(cb: () => void): unknown;
  length: number;
}
type MqFactory = (opts: { concurrency: number; matchEmptyLevels: boolean }) => MqLike;

type Dispatch = (that: unknown, toCall: unknown, arg: unknown, done: unknown) => void;

export class PublishQueueError extends Error {
  readonly code = 'E_BROKER_MQEMITTER';
}

export function boundPublishRecursion(mq: object, maxDepth = DEFAULT_MAX_SYNC_DEPTH): void {
  const target = mq as { _parallel?: Dispatch; __boundRecursion?: true };
  if (target.__boundRecursion) return;
  const dispatch = target._parallel;
  if (typeof dispatch !== 'function') {
    // refuse to start rather than run with the stack-overflow hazard unnoticed
    throw new PublishQueueError('this mqemitter has no _parallel dispatch: broker/publish-queue.ts needs review for the installed Aedes/mqemitter');
  }
  let depth = 0;
  const run = (that: unknown, toCall: unknown, arg: unknown, done: unknown) => {
    depth++;
    try {
      dispatch.call(mq, that, toCall, arg, done);
    } finally {
      depth--;
    }
  };
  target._parallel = (that, toCall, arg, done) => {
    if (depth >= maxDepth) setImmediate(run, that, toCall, arg, done);
    else run(that, toCall, arg, done);
  };
  target.__boundRecursion = true;
}

/**
 * mqemitter-redis maps every MQTT filter a node's clients subscribe to onto a Redis channel or
 * pattern (`city/v1/truck/t1/+` → PSUBSCRIBE `city/v1/truck/t1/*`). Redis checks every PUBLISH
 * against every pattern of every connection: measured on this machine, 0.3 µs of server time per
 * PUBLISH with no patterns, 29 µs with 1,000, 616 µs with 10,000 (ingest workers subscribe one
 * filter per device: 10,000 devices would cap the whole cluster near 1,600 messages/s). So each
 * node subscribes its `city/…` traffic as ONE Redis pattern, `city/*`, and lets its local
 * mqemitter match the exact filters (which it does anyway): PUBLISH costs O(nodes), every node
 * receives every `city/` message once. `$SYS/…` (Aedes' own cluster traffic) keeps upstream's
 * mapping. The one adapter over mqemitter-redis internals (`_subTopic`, `_containsWildcard`,
 * pinned 7.2.1); refuses to start when they are missing.
 */
export const REDIS_CITY_PATTERN = 'city/*';
function coarseRedisChannels(mq: object): void {
  const m = mq as { _subTopic?: (t: string) => string; _containsWildcard?: (t: string) => boolean };
  const sub = m._subTopic;
  const wild = m._containsWildcard;
  if (typeof sub !== 'function' || typeof wild !== 'function')
    throw new PublishQueueError('this mqemitter-redis has no _subTopic/_containsWildcard: broker/publish-queue.ts needs review for the installed version');
  const ours = (t: string) => t.startsWith('city/') || t === 'city' || t === '#' || t.startsWith('+');
  m._subTopic = function (t: string) {
    return ours(t) ? REDIS_CITY_PATTERN : sub.call(this, t);
  };
  m._containsWildcard = function (t: string) {
    return ours(t) ? true : wild.call(this, t);
  };
}

/**
 * The mqemitter instance Aedes gets as `mq`: created here, guarded (matchEmptyLevels as Aedes sets it, MQTT-4.7.1-3).
 * With `redisUrl` it is `mqemitter-redis` (pinned 7.2.1, a subclass of the same mqemitter 7.1.0, so
 * the same guard applies): every broker of a cluster publishes through Redis pub/sub and receives
 * what the others publish, so a device on node A reaches a subscriber on node B.
 */
export function createPublishQueue(concurrency = PUBLISH_CONCURRENCY, maxDepth = DEFAULT_MAX_SYNC_DEPTH, redisUrl?: string, onRedisError?: (err: Error) => void): MqLike {
  let mq: MqLike;
  if (redisUrl) {
    const mqemitterRedis = require('mqemitter-redis') as (opts: object) => MqLike;
    mq = mqemitterRedis({ concurrency, matchEmptyLevels: true, subConn: connectRedis(redisUrl, 'aedes-mq-sub', { subscriber: true }), pubConn: connectRedis(redisUrl, 'aedes-mq-pub') });
    coarseRedisChannels(mq);
    // mqemitter-redis reports connection errors on `state`; unheard, an EventEmitter 'error' kills the process
    const state = (mq as unknown as { state: NodeJS.EventEmitter }).state;
    state.on('error', (err: Error) => onRedisError?.(err));
  } else {
    const mqemitter = require('mqemitter') as MqFactory;
    mq = mqemitter({ concurrency, matchEmptyLevels: true });
  }
  boundPublishRecursion(mq, maxDepth);
  return mq;
}

/**
 * The behaviour the guard relies on, checked on a throw-away emitter (a few ms): every emit goes
 * through `_parallel`; a queued backlog is drained synchronously from `released()` (so without
 * the guard it nests one level per message); with the guard, nesting stops at maxDepth and the
 * whole backlog still completes, in order. Throws PublishQueueError when any of that fails.
 */
export async function selfTestPublishQueue(): Promise<void> {
  const mqemitter = require('mqemitter') as MqFactory;
  const mq = mqemitter({ concurrency: 1, matchEmptyLevels: true });
  const target = mq as unknown as { _parallel: Dispatch };
  const original = target._parallel;
  let dispatches = 0;
  let depth = 0;
  let maxSeen = 0;
  target._parallel = (...a) => {
    dispatches++;
    depth++;
    maxSeen = Math.max(maxSeen, depth);
    try {
      original.call(mq, ...a);
    } finally {
      depth--;
    }
  };
  const MAX = 4;
  const N = 200;
  boundPublishRecursion(mq, MAX);
  let release: (() => void) | null = null;
  mq.on('self/hold', (_m, done) => {
    release = done;
  });
  const order: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PublishQueueError('mqemitter self-test: the backlog did not drain within 2 s')), 2000);
    mq.emit({ topic: 'self/hold' }, () => order.push(-1));
    for (let i = 0; i < N; i++) {
      mq.emit({ topic: 'self/none' }, () => {
        order.push(i);
        if (i === N - 1) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    if (mq.length !== N) reject(new PublishQueueError(`mqemitter self-test: expected ${N} queued publishes behind concurrency 1, found ${mq.length}`));
    if (!release) reject(new PublishQueueError('mqemitter self-test: the subscriber was not called synchronously'));
    else (release as () => void)();
  });
  await new Promise<void>((r) => mq.close(r));
  const problems: string[] = [];
  if (dispatches !== N + 1) problems.push(`${dispatches} dispatches through _parallel for ${N + 1} emits`);
  if (maxSeen < MAX) problems.push(`the backlog drained without nesting (depth ${maxSeen}): the hazard this guard targets changed`);
  if (maxSeen > MAX + 1) problems.push(`nesting reached ${maxSeen} past the guard's ${MAX}`);
  if (order.length !== N + 1 || order.some((v, i) => v !== i - 1)) problems.push('callbacks out of order or missing');
  if (problems.length) throw new PublishQueueError(`mqemitter does not behave as broker/publish-queue.ts assumes: ${problems.join('; ')}`);
}
