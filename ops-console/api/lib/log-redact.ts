/**
 * What the API's request logs must never carry: credentials in URLs. Fastify logs `req.url`
 * with its query string; `?ticket=` (one-time, short-lived) and any `?token=` a client still
 * sends are replaced by `[redacted]` before the line is written.
 */
const SECRET_PARAMS = /([?&](?:token|ticket|access_token|password)=)[^&#]*/gi;

/** the URL with secrets redacted, cut to 512 characters (a URL is remote input: no log amplification) */
export const redactUrl = (url: string): string => {
  const r = url.replace(SECRET_PARAMS, '$1[redacted]');
  return r.length > 512 ? `${r.slice(0, 512)}…(${r.length} chars)` : r;
};

/** pino serializer for Fastify's `req` (what fastify's default logs, URL redacted) */
export function reqSerializer(req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return { method: req.method, url: req.url === undefined ? undefined : redactUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}
