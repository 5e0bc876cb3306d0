/**
 * Query time budgets (issue 14): a heavy read that takes longer than its budget is cancelled in
 * the store and answers 503 E_QUERY_BUDGET, counted in console_query_budget_exceeded_total{query}.
 *
 *   const rows = await withQueryBudget(app, 'series', (store) => store.series(q), { reply });
 *
 * `run` gets the store with every read bound to one AbortSignal (so a route that reads many times,
 * like route coverage's per-day tracks, shares one budget) and the signal itself. The signal
 * aborts when the budget (QUERY_BUDGET_MS, or `ms`) runs out, and, with `reply`, when the client
 * goes away before the answer: DuckDB interrupts the running query (queued ones never run),
 * InfluxDB's request is aborted. The budget counts from the call, so time spent waiting for the
 * store's read connection counts too: 16 parallel year-long requests cannot hold the store for
 * 16 budgets.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ReadOptions, TelemetryStore } from '../../../store/types';
import { ApiError } from './errors';

const READS = ['track', 'truckEvents', 'series', 'plateCounts', 'plateSearch', 'latest', 'deadLetters', 'deadLetterCounts', 'count'] as const satisfies readonly (keyof TelemetryStore)[];

/** `store` with every read bound to `signal` (a caller's own signal on a read is combined with it). */
export function storeWithSignal(store: TelemetryStore, signal: AbortSignal): TelemetryStore {
  const bound = Object.create(store) as TelemetryStore;
  for (const m of READS) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called as read.call(store, …) below
    const read = store[m] as (q: unknown, o?: ReadOptions) => Promise<unknown>;
    (bound as unknown as Record<string, unknown>)[m] = (q: unknown, o?: ReadOptions) => read.call(store, q, { ...o, signal: o?.signal ? AbortSignal.any([o.signal, signal]) : signal });
  }
  return bound;
}

export class QueryBudgetError extends ApiError {
  constructor(
    readonly query: string,
    readonly budgetMs: number,
  ) {
    super(503, 'E_QUERY_BUDGET', `the ${query} query took longer than its budget of ${budgetMs / 1000} s and was cancelled; narrow the range, pick fewer devices or use an export job`);
  }
}

export interface BudgetOptions {
  /** budget in ms; default the configuration's QUERY_BUDGET_MS */
  ms?: number;
  /** cancel too when this request's client disconnects */
  reply?: FastifyReply;
}

export async function withQueryBudget<T>(app: FastifyInstance, query: string, run: (store: TelemetryStore, signal: AbortSignal) => Promise<T>, opts: BudgetOptions = {}): Promise<T> {
  const ms = opts.ms ?? app.ctx.cfg.QUERY_BUDGET_MS;
  const ac = new AbortController();
  let overBudget = false;
  const timer = setTimeout(() => {
    overBudget = true;
    ac.abort();
  }, ms);
  const raw = opts.reply?.raw;
  const onClose = () => {
    if (!raw!.writableEnded) ac.abort();
  };
  raw?.once('close', onClose);
  const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  aborted.catch(() => undefined);
  try {
    // the race answers at the budget even if a store is slow to notice its signal
    return await Promise.race([run(storeWithSignal(app.ctx.store, ac.signal), ac.signal), aborted]);
  } catch (err) {
    if (overBudget) {
      app.metrics.queryBudgetExceeded.inc({ query });
      app.log.warn({ code: 'E_QUERY_BUDGET', query, budgetMs: ms }, 'query cancelled at its time budget');
      throw new QueryBudgetError(query, ms);
    }
    if (ac.signal.aborted) throw new ApiError(499, 'E_QUERY_CLIENT_GONE', 'the client closed the request; its query was cancelled');
    throw err;
  } finally {
    clearTimeout(timer);
    raw?.off('close', onClose);
  }
}
