/**
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
export const DEFAULT_MAX_SYNC_DEPTH = 32;

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
