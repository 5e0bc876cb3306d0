/**
 * The one read path: InfluxQL over `/query` (1.x natively; 2.x through its v1-compatible
 * endpoint with a DBRP mapping; 3.x natively). Results are asked for with `epoch=ms`.
 */
import { StoreError } from '../errors';
import { authHeaders, type InfluxApi } from './transport';

/** A failed InfluxQL request: the store's one error (E_STORE_QUERY, or E_STORE_CANCELLED / E_STORE_UNREACHABLE). */
const queryError = (message: string, status?: number, code: 'E_STORE_QUERY' | 'E_STORE_CANCELLED' | 'E_STORE_UNREACHABLE' = 'E_STORE_QUERY') =>
  new StoreError(code, message, undefined, status === undefined ? undefined : { status });

/** The same client with every request also bound to `signal` (a caller's time budget). */
export function withSignal(ql: QlClient, signal: AbortSignal | undefined): QlClient {
  if (!signal) return ql;
  const query: QlClient['query'] = (q, o = {}) => ql.query(q, { ...o, signal });
  return {
    query,
    async rows(q) {
      const [r] = await query(q);
      return (r?.series ?? []).flatMap(rowsOf);
    },
  };
}

export interface QlSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
export interface QlResult {
  statement_id: number;
  series?: QlSeries[];
  error?: string;
}

/** InfluxQL string literal. */
export const str = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
/** InfluxQL identifier. */
export const ident = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
/**
 * Regex literal matching `s` literally. Every character other than a letter or digit is written as
 * a `\x{..}` escape: InfluxQL's regex scanner mangles `\\` and `\/`, RE2 reads `\x{5c}` fine.
 */
export const literalRegex = (s: string, flags = '') => `/${flags ? `(?${flags})` : ''}${[...s].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `\\x{${c.codePointAt(0)!.toString(16)}}`)).join('')}/`;
/** Time literal (ns since epoch). */
export const nsTime = (ms: number) => `${BigInt(Math.trunc(ms)) * 1_000_000n}`;

/** WHERE clauses for a half-open range, either bound optional. */
export function timeRange(q: { from?: number; to?: number }): string[] {
  const out: string[] = [];
  if (q.from !== undefined) out.push(`time >= ${nsTime(q.from)}`);
  if (q.to !== undefined) out.push(`time < ${nsTime(q.to)}`);
  return out;
}

/** `(tag = 'a' OR tag = 'b')` */
export const anyOf = (key: string, values: string[]) => `(${values.map((v) => `${ident(key)} = ${str(v)}`).join(' OR ')})`;

export const where = (clauses: string[]) => (clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '');

/** Rows of one series as objects (tags merged in). */
export function rowsOf(series: QlSeries): Record<string, unknown>[] {
  return (series.values ?? []).map((v) => {
    const row: Record<string, unknown> = { ...series.tags };
    series.columns.forEach((c, i) => {
      row[c] = v[i];
    });
    return row;
  });
}

export interface QlClient {
  /** Run one or more `;`-separated statements; throws on the first statement error. */
  query(q: string, opts?: { db?: string; signal?: AbortSignal }): Promise<QlResult[]>;
  /** Rows of every series of a single-statement query. */
  rows(q: string): Promise<Record<string, unknown>[]>;
}

export function createQlClient(opts: { url: string; token: string; api: InfluxApi; db: string; timeoutMs?: number }): QlClient {
  const base = opts.url.replace(/\/$/, '');
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...authHeaders(opts.api, opts.token) };
  const query = async (q: string, o: { db?: string; signal?: AbortSignal } = {}): Promise<QlResult[]> => {
    const body = new URLSearchParams({ q, epoch: 'ms' });
    const db = o.db ?? opts.db;
    if (db) body.set('db', db);
    let res: Response;
    let text: string;
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
    const signal = o.signal ? AbortSignal.any([timeout, o.signal]) : timeout;
    try {
      if (o.signal?.aborted) throw new Error('aborted');
      res = await fetch(`${base}/query`, { method: 'POST', headers, body, signal });
      text = await res.text();
    } catch (err) {
      // closing the request makes influxd stop the query (its HTTP handler watches the connection)
      if (o.signal?.aborted) throw queryError('query cancelled by its caller', undefined, 'E_STORE_CANCELLED');
      throw queryError(`InfluxDB unreachable: ${(err as Error).message}`, undefined, 'E_STORE_UNREACHABLE');
    }
    let json: { results?: QlResult[]; error?: string } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw queryError(`InfluxDB /query answered ${res.status}: ${text.slice(0, 200)}`, res.status);
    }
    if (!res.ok || json.error) throw queryError(`InfluxDB /query ${res.status}: ${json.error ?? text.slice(0, 200)}`, res.status);
    const results = json.results ?? [];
    for (const r of results) if (r.error) throw queryError(`InfluxQL error: ${r.error} (in: ${q.slice(0, 300)})`, res.status);
    return results;
  };
  return {
    query,
    async rows(q) {
      const [r] = await query(q);
      return (r?.series ?? []).flatMap(rowsOf);
    },
  };
}
