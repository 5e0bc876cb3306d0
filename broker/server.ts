/**
 * Network listeners feeding Aedes: MQTT over TCP and MQTT over WebSocket (path /mqtt).
 * Every connection goes through a FrameGuard (max packet size, framing checks, packet counts)
 * and is tracked so stop() can close connections that never authenticated.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Aedes } from 'aedes';
import type { Logger } from '../lib/log';
import { FrameGuard } from './frame-guard';
import type { BrokerMetrics } from './metrics';
import type { AuthGuard } from './auth-guard';

export const WS_PATH = '/mqtt';

export interface Listener {
  port: number;
  close(): Promise<void>;
}

interface Common {
  aedes: Aedes;
  host: string;
  port: number;
  maxPacketSize: number;
  metrics: BrokerMetrics;
  log: Logger;
  guard: AuthGuard;
}

function listen(server: net.Server | http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closeServer(server: net.Server | http.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Hand a new connection to Aedes through a FrameGuard, unless its source already holds too many
 * unauthenticated connections (auth-guard.ts): then it is closed before anything is parsed.
 */
function admit(c: Common, inner: Duplex, remoteAddress: string | undefined, req?: http.IncomingMessage): void {
  const conn = new FrameGuard(inner, { maxPacketSize: c.maxPacketSize, packetsIn: c.metrics.packetsIn, packetsOut: c.metrics.packetsOut, remoteAddress });
  if (!c.guard.opened(conn, remoteAddress ?? 'unknown')) {
    c.metrics.authFailure('too_many_pending');
    conn.destroy();
    return;
  }
  conn.once('close', () => c.guard.settled(conn));
  c.aedes.handle(conn, req);
}

export async function listenTcp(c: Common): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    socket.on('error', () => {}); // reported through the guard / Aedes
    admit(c, socket, socket.remoteAddress);
  });
  server.on('error', (err) => c.log.error({ err }, 'MQTT TCP listener error'));
  const port = await listen(server, c.port, c.host);
  c.log.info({ host: c.host, port }, 'MQTT over TCP listening');
  return {
    port,
    async close() {
      const closed = closeServer(server);
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

export async function listenWebSocket(c: Common): Promise<Listener> {
  const server = http.createServer((req, res) => {
    // only WebSocket upgrades on /mqtt are served here
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end(`MQTT over WebSocket: connect to ${WS_PATH}\n`);
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  // a WebSocket message normally carries one MQTT packet; the guard enforces the real limit
  const wss = new WebSocketServer({ server, path: WS_PATH, maxPayload: c.maxPacketSize * 4 + 1024 });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    stream.on('error', () => {}); // reported through the guard / Aedes
    admit(c, stream, req.socket.remoteAddress, req);
  });
  wss.on('error', (err) => c.log.error({ err }, 'MQTT WebSocket listener error'));
  const port = await listen(server, c.port, c.host);
  c.log.info({ host: c.host, port, path: WS_PATH }, 'MQTT over WebSocket listening');
  return {
    port,
    async close() {
      const closed = closeServer(server);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
