/**
 * A tiny HTTP server for a component's GET /metrics, /health and /health/ready (the broker,
 * ingest and the launcher's cores serve theirs with it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './log';

/** What GET /health/ready answers: ready, or not with a reason code (never an internal error text). */
export type ReadyCheck = () => Promise<{ ready: true } | { ready: false; reason: string }>;

/**
 * Serve GET /metrics (Prometheus text), GET /health (liveness: the process answers) and, with
 * `ready`, GET /health/ready (200 `{"ok":true}` / 503 `{"ok":false,"reason":…}`: a load balancer
 * or systemd watchdog takes the process out of service while it cannot do its work) on
 * 127.0.0.1-or-host:port (0 = free port).
 */
export async function serveMetrics(registry: Registry, port: number, host: string, log: Logger, ready?: ReadyCheck): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => {
          log.error({ err, code: 'E_METRICS_SERVE' }, 'metrics collection failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error (E_METRICS_SERVE)\n');
        },
      );
      return;
    }
    if (url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
      return;
    }
    if (url === '/health/ready' && ready) {
      ready().then(
        (r) => res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r.ready ? { ok: true } : { ok: false, reason: r.reason }) + '\n'),
        (err: unknown) => {
          log.warn({ err, code: 'E_READY_CHECK' }, 'readiness check failed');
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"ok":false,"reason":"check_failed"}\n');
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
