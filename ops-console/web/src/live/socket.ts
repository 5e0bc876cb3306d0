/**
 * The live stream client: WebSocket GET /api/live?ticket=… (browsers cannot set headers on a
 * WebSocket, and the session token must never be in a URL: before each connect the stream asks
 * POST /api/auth/ticket for a one-time ticket, stream.ts). By default the socket lives in a Web Worker (stream.worker.ts) and asks for
 * columnar position frames, so neither JSON.parse nor frame decoding runs on the main thread;
 * decoded messages go straight into the LiveModel — never into React state.
 */
import type { LiveModel } from './model';
import { openStream, type SocketStatus, type StreamEvent, type StreamOptions } from './stream';
import { withDefaults } from '../../../../lib/options';

export type { SocketStatus };

export interface LiveSocket {
  readonly status: SocketStatus;
  onStatus(l: (s: SocketStatus) => void): () => void;
  close(): void;
  /** main-thread cost of applying what arrived, and the bytes received (bench, diagnostics) */
  readonly stats: LiveSocketStats;
}

export interface LiveSocketStats {
  messages: number;
  frames: number;
  bytes: number;
  /** time spent decoding (in the worker when it runs there) */
  decodeMs: number[];
  /** main-thread time applying each message/frame to the model */
  applyMs: number[];
}

export interface ConnectOptions {
  path?: string;
  onError?: (msg: string) => void;
  /** binary position frames for GPS fixes (default true) */
  columnar?: boolean;
  /** decode in a Web Worker (default: when Worker exists) */
  worker?: boolean;
  /** keep per-message timings in stats (bench) */
  keepTimings?: boolean;
  /** fetch a one-time ticket before each connect (default true; the map bench's bare hub has no auth) */
  ticket?: boolean;
}

/** defaults of the options (lib/options.ts); `worker` applies only where Worker exists */
export const CONNECT_DEFAULTS = { path: '/api/live', columnar: true, worker: true };

export function connectLive(model: LiveModel, token: string, options: ConnectOptions = {}): LiveSocket {
  const opts = withDefaults(CONNECT_DEFAULTS, options);
  let status: SocketStatus = 'connecting';
  const listeners = new Set<(s: SocketStatus) => void>();
  const stats: LiveSocketStats = { messages: 0, frames: 0, bytes: 0, decodeMs: [], applyMs: [] };
  const url = new URL(opts.path, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const streamOpts: StreamOptions = {
    url: url.href,
    columnar: opts.columnar,
    ...(opts.ticket === false ? {} : { ticket: { url: new URL('/api/auth/ticket', location.href).href, token, path: url.pathname } }),
  };
  let partMs = 0;
  let partDecodeMs = 0;
  const onEvent = (e: StreamEvent) => {
    if (e.type === 'status') {
      status = e.status;
      for (const l of listeners) l(e.status);
      return;
    }
    if (e.type === 'error') {
      opts.onError?.(e.message);
      return;
    }
    const t0 = performance.now();
    if (e.type === 'message') {
      if (e.part && e.msg.type === 'snapshot') model.applySnapshotPart(e.msg, e.part);
      else model.apply(e.msg);
    } else model.applyPositions(e.frame);
    stats.bytes += e.bytes;
    // a frame or snapshot in parts counts once, its parts' times summed
    partMs += performance.now() - t0;
    partDecodeMs += e.decodeMs;
    if (e.part && !e.part.last) return;
    if (e.type === 'message') stats.messages++;
    else stats.frames++;
    if (opts.keepTimings) {
      stats.applyMs.push(partMs);
      stats.decodeMs.push(partDecodeMs);
    }
    partMs = partDecodeMs = 0;
  };
  let close: () => void;
  if (opts.worker && typeof Worker !== 'undefined') {
    const w = new Worker(new URL('./stream.worker.ts', import.meta.url), { type: 'module' });
    w.onmessage = (ev: MessageEvent<StreamEvent>) => onEvent(ev.data);
    w.onerror = (ev) => opts.onError?.(`live worker: ${ev.message}`);
    w.postMessage({ open: streamOpts });
    close = () => {
      w.postMessage({ close: true });
      setTimeout(() => w.terminate(), 100);
    };
  } else close = openStream(streamOpts, onEvent);
  return {
    get status() {
      return status;
    },
    stats,
    onStatus(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close() {
      close();
      status = 'closed';
      for (const l of listeners) l('closed');
    },
  };
}
