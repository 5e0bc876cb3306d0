/**
 * The live stream client: WebSocket GET /api/live?ticket=… (browsers cannot set headers on a
 * WebSocket, and the session token must never be in a URL: before each connect the client asks
 * POST /api/auth/ticket for a one-time ticket). Messages go straight into the LiveModel — never
 * into React state. Reconnects with backoff; the server sends a fresh snapshot on every connect.
 */
import type { LiveMessage } from '../../../shared/live';
import type { LiveModel } from './model';

export type SocketStatus = 'connecting' | 'open' | 'closed';

export interface LiveSocket {
  readonly status: SocketStatus;
  onStatus(l: (s: SocketStatus) => void): () => void;
  close(): void;
}

export function connectLive(model: LiveModel, token: string, opts: { path?: string; onError?: (msg: string) => void } = {}): LiveSocket {
  let status: SocketStatus = 'connecting';
  let ws: WebSocket | null = null;
  let closed = false;
  let retry = 500;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const listeners = new Set<(s: SocketStatus) => void>();
  const setStatus = (s: SocketStatus) => {
    status = s;
    for (const l of listeners) l(s);
  };
  const retryLater = () => {
    if (closed) return;
    setStatus('closed');
    timer = setTimeout(open, retry);
    retry = Math.min(retry * 2, 10_000);
  };
  const open = async () => {
    const path = opts.path ?? '/api/live';
    setStatus('connecting');
    let ticket: string;
    try {
      const res = await fetch(new URL('/api/auth/ticket', location.href).href, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ path }),
      });
      if (!res.ok) throw new Error(`ticket: HTTP ${res.status}`);
      ticket = ((await res.json()) as { ticket: string }).ticket;
    } catch (err) {
      opts.onError?.(`live: ${(err as Error).message}`);
      return retryLater();
    }
    if (closed) return;
    const url = new URL(path, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', ticket);
    ws = new WebSocket(url.href);
    ws.onopen = () => {
      retry = 500;
      setStatus('open');
    };
    ws.onmessage = (ev) => {
      let msg: LiveMessage;
      try {
        msg = JSON.parse(typeof ev.data === 'string' ? ev.data : '') as LiveMessage;
      } catch {
        opts.onError?.('live: message is not JSON');
        return;
      }
      if (msg && (msg.type === 'snapshot' || msg.type === 'delta') && Array.isArray(msg.devices)) {
        if (msg.type === 'delta') {
          msg.plates ??= [];
          msg.alerts ??= [];
        } else msg.alerts ??= [];
        model.apply(msg);
      }
    };
    ws.onclose = () => {
      ws = null;
      retryLater();
    };
  };
  void open();
  return {
    get status() {
      return status;
    },
    onStatus(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      ws?.close();
      setStatus('closed');
    },
  };
}
