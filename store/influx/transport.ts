/**
 * One write path for InfluxDB 1.x and 2.x/3.x: the client's WriteApi always targets
 * `/api/v2/write?org=…&bucket=…&precision=…`. InfluxDB before 1.8 has no such endpoint (404,
 * and the client drops the points), so for `api: 'v1'` we wrap the client's own Node transport
 * (the documented `transport` option) and rewrite that request to
 * `/write?db=<bucket>&rp=<rp>&precision=<p>` with basic auth from a "user:password" token.
 * Everything else (batching, retries, back-off, gzip, the retry buffer) stays the client's.
 */
import { InfluxDB, type Transport } from '@influxdata/influxdb-client';

export type InfluxApi = 'v1' | 'v2';

export interface TransportOptions {
  url: string;
  token: string;
  api: InfluxApi;
  /** 1.x retention policy for writes; empty = the database's default */
  rp?: string;
  timeoutMs?: number;
}

/** Headers for `/query` and other direct requests, by API flavour. */
export function authHeaders(api: InfluxApi, token: string): Record<string, string> {
  if (!token) return {};
  if (api === 'v1') {
    // 1.x: "user:password" → basic auth
    return { authorization: `Basic ${Buffer.from(token.includes(':') ? token : `${token}:`).toString('base64')}` };
  }
  return { authorization: `Token ${token}` };
}

/** Rewrite a v2 write path to the 1.x `/write` endpoint; other paths pass unchanged. */
export function v1WritePath(path: string, rp = ''): string {
  if (!path.startsWith('/api/v2/write')) return path;
  const q = new URLSearchParams(path.slice(path.indexOf('?') + 1));
  const out = new URLSearchParams();
  out.set('db', q.get('bucket') ?? '');
  if (rp) out.set('rp', rp);
  out.set('precision', q.get('precision') ?? 'ns');
  const consistency = q.get('consistency');
  if (consistency) out.set('consistency', consistency);
  return `/write?${out.toString()}`;
}

/** The client's Node transport, rewritten for 1.x when asked. */
export function createTransport(opts: TransportOptions): Transport {
  const base = new InfluxDB({
    url: opts.url,
    // 1.6 does not understand "Authorization: Token …": we add basic auth ourselves
    token: opts.api === 'v2' ? opts.token : undefined,
    timeout: opts.timeoutMs ?? 10_000,
  }).transport;
  if (opts.api === 'v2') return base;
  const extra = authHeaders('v1', opts.token);
  return {
    send(path, body, options, callbacks) {
      base.send(v1WritePath(path, opts.rp), body, { ...options, headers: { ...options.headers, ...extra } }, callbacks);
    },
    request(path, body, options, responseStarted) {
      return base.request(v1WritePath(path, opts.rp), body, { ...options, headers: { ...options.headers, ...extra } }, responseStarted);
    },
    iterate(path, body, options) {
      return base.iterate(v1WritePath(path, opts.rp), body, { ...options, headers: { ...options.headers, ...extra } });
    },
    chunkCombiner: base.chunkCombiner,
  };
}

/** Probe `/ping`: the X-Influxdb-Version header picks the API (1.x → v1, 2.x/3.x → v2). */
export async function probeVersion(url: string, timeoutMs = 3000): Promise<{ version: string; api: InfluxApi }> {
  const res = await fetch(`${url.replace(/\/$/, '')}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  const version = res.headers.get('x-influxdb-version') ?? '';
  const major = Number(/^v?(\d+)/.exec(version)?.[1] ?? NaN);
  if (!(res.status === 204 || res.status === 200)) throw new Error(`/ping answered ${res.status}`);
  return { version, api: major === 1 ? 'v1' : 'v2' };
}
