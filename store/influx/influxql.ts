/**
 * The one read path: InfluxQL over `/query` (1.x natively; 2.x through its v1-compatible
 * endpoint with a DBRP mapping; 3.x natively). Results are asked for with `epoch=ms`.
 */
import { authHeaders, type InfluxApi } from './transport';

export class InfluxQueryError extends Error {
  code = 'E_INFLUX_QUERY';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
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
export const literalRegex = (s: string, flags = '') =>
  `/${flags ? `(?${flags})` : ''}${[...s].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `\\x{${c.codePointAt(0)!.toString(16)}}`)).join('')}/`;
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
  query(q: string, opts?: { db?: string }): Promise<QlResult[]>;
  /** Rows of every series of a single-statement query. */
  rows(q: string): Promise<Record<string, unknown>[]>;
}

export function createQlClient(opts: { url: string; token: string; api: InfluxApi; db: string; timeoutMs?: number }): QlClient {
  const base = opts.url.replace(/\/$/, '');
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...authHeaders(opts.api, opts.token) };
  const query = async (q: string, o: { db?: string } = {}): Promise<QlResult[]> => {
    const body = new URLSearchParams({ q, epoch: 'ms' });
    const db = o.db ?? opts.db;
    if (db) body.set('db', db);
    let res: Response;
    try {
      res = await fetch(`${base}/query`, { method: 'POST', headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) });
    } catch (err) {
      throw new InfluxQueryError(`InfluxDB unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    let json: { results?: QlResult[]; error?: string } = {};
    try {
      json = JSON.parse(text);
    } catch {
      throw new InfluxQueryError(`InfluxDB /query answered ${res.status}: ${text.slice(0, 200)}`, res.status);
    }
    if (!res.ok || json.error) throw new InfluxQueryError(`InfluxDB /query ${res.status}: ${json.error ?? text.slice(0, 200)}`, res.status);
    const results = json.results ?? [];
    for (const r of results) if (r.error) throw new InfluxQueryError(`InfluxQL error: ${r.error} (in: ${q.slice(0, 300)})`, res.status);
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
