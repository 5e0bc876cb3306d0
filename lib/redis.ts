/** One way to open a Redis connection (ioredis) for the cluster's parts: broker persistence, registry sync. */
import { Redis } from 'ioredis';

/**
 * A Redis connection named `name` (CLIENT LIST shows who is who), auto-pipelined (commands issued
 * in one tick share one write), and retrying forever while Redis is away: a command waits rather
 * than fails, so nothing is acknowledged that was not stored.
 */
export function connectRedis(url: string, name: string, opts: { pipelined?: boolean; subscriber?: boolean } = {}): Redis {
  return new Redis(url, {
    enableAutoPipelining: opts.subscriber ? false : (opts.pipelined ?? true),
    connectionName: name,
    maxRetriesPerRequest: null,
    // a subscriber connection that reconnects re-subscribes before the ready check, and INFO is
    // refused in subscriber mode (ERR only (P|S)SUBSCRIBE … allowed): no ready check there
    ...(opts.subscriber ? { enableReadyCheck: false } : {}),
  });
}

/** a Redis URL without its password, for logs and errors */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable URL>';
  }
}
