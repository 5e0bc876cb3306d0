/**
 * The live stream's connection and decoding, independent of where it runs: in the stream worker
 * (stream.worker.ts, the default — the WebSocket, JSON.parse and position-frame decoding all stay
 * off the main thread) or on the main thread where Workers are unavailable. Reconnects with
 * backoff; the server sends a fresh snapshot on every connect.
 */
import type { LiveMessage } from '../../../shared/live';
import { decodePositions, type PositionsFrame } from '../../../shared/live-positions';

export type SocketStatus = 'connecting' | 'open' | 'closed';

/** What the stream hands to the model (also the worker → main thread message). */
export type StreamEvent =
  | { type: 'status'; status: SocketStatus }
  | { type: 'message'; msg: LiveMessage; decodeMs: number; bytes: number; part?: { first: boolean; last: boolean } }
  | { type: 'positions'; frame: PositionsFrame; decodeMs: number; bytes: number; part?: { first: boolean; last: boolean } }
  | { type: 'error'; message: string };

export interface StreamOptions {
  url: string;
  /** ask for binary position frames (`?format=columnar`) */
  columnar: boolean;
  /** before each connect, POST `url` {path} with the session token for a one-time `?ticket=` */
  ticket?: { url: string; token: string; path: string };
}

async function fetchTicket(t: NonNullable<StreamOptions['ticket']>): Promise<string> {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}` },
    body: JSON.stringify({ path: t.path }),
  });
  if (!res.ok) throw new Error(`ticket: HTTP ${res.status}`);
  return ((await res.json()) as { ticket: string }).ticket;
}

/** devices per snapshot part */
export const SNAPSHOT_PART = 2000;
/** fixes per position-frame part: a big fleet's frame (12,500 fixes at 50,000 trucks) is applied in several main-thread tasks */
export const POSITIONS_PART = 1000;

/**
 * Split a decoded position frame into parts of at most `part` fixes, each with its own column
 * buffers (so each can be transferred from the worker on its own); the names go with the first.
 */
export function splitPositions(f: PositionsFrame, part = POSITIONS_PART): PositionsFrame[] {
  if (f.n <= part) return [f];
  const out: PositionsFrame[] = [];
  for (let a = 0; a < f.n; a += part) {
    const b = Math.min(f.n, a + part);
    out.push({
      at: f.at,
      n: b - a,
      index: f.index.slice(a, b),
      lonE7: f.lonE7.slice(a, b),
      latE7: f.latE7.slice(a, b),
      tsOffset: f.tsOffset.slice(a, b),
      seenOffset: f.seenOffset.slice(a, b),
      speed100: f.speed100.slice(a, b),
      heading100: f.heading100.slice(a, b),
      hdop10: f.hdop10.slice(a, b),
      sats: f.sats.slice(a, b),
      flags: f.flags.slice(a, b),
      names: a === 0 ? f.names : [],
    });
  }
  return out;
}

/** The distinct buffers under a frame's columns (what the worker transfers instead of copying). */
export function frameBuffers(f: PositionsFrame): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const c of [f.index, f.lonE7, f.latE7, f.tsOffset, f.seenOffset, f.speed100, f.heading100, f.hdop10, f.sats, f.flags]) set.add(c.buffer as ArrayBuffer);
  return [...set];
}

/** Parse one WebSocket message into a stream event (never throws: bad input is an 'error' event). */
export function decodeMessage(data: unknown): StreamEvent {
  const t0 = performance.now();
  if (data instanceof ArrayBuffer) {
    try {
      const frame = decodePositions(data);
      return { type: 'positions', frame, decodeMs: performance.now() - t0, bytes: data.byteLength };
    } catch (e) {
      return { type: 'error', message: `live: ${(e as Error).message}` };
    }
  }
  let msg: LiveMessage;
  try {
    msg = JSON.parse(typeof data === 'string' ? data : '') as LiveMessage;
  } catch {
    return { type: 'error', message: 'live: message is not JSON' };
  }
  if (!msg || (msg.type !== 'snapshot' && msg.type !== 'delta') || !Array.isArray(msg.devices)) return { type: 'error', message: 'live: not a snapshot or delta' };
  if (msg.type === 'delta') {
    msg.plates ??= [];
    msg.alerts ??= [];
  } else msg.alerts ??= [];
  return { type: 'message', msg, decodeMs: performance.now() - t0, bytes: typeof data === 'string' ? data.length : 0 };
}

/** Open the stream; `emit` receives every event. Returns close(). */
export function openStream(opts: StreamOptions, emit: (e: StreamEvent) => void): () => void {
  let ws: WebSocket | null = null;
  let closed = false;
  let retry = 500;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const retryLater = () => {
    if (closed) return;
    emit({ type: 'status', status: 'closed' });
    timer = setTimeout(() => void open(), retry);
    retry = Math.min(retry * 2, 10_000);
  };
  const open = async () => {
    const url = new URL(opts.url);
    if (opts.columnar) url.searchParams.set('format', 'columnar');
    emit({ type: 'status', status: 'connecting' });
    if (opts.ticket) {
      try {
        url.searchParams.set('ticket', await fetchTicket(opts.ticket));
      } catch (err) {
        emit({ type: 'error', message: `live: ${(err as Error).message}` });
        return retryLater();
      }
      if (closed) return;
    }
    ws = new WebSocket(url.href);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      retry = 500;
      emit({ type: 'status', status: 'open' });
    };
    ws.onmessage = (ev) => {
      const e = decodeMessage(ev.data);
      // a big snapshot goes out in parts, each applied in its own main-thread task
      if (e.type === 'message' && e.msg.type === 'snapshot' && e.msg.devices.length > SNAPSHOT_PART) {
        const { devices, ...head } = e.msg;
        for (let i = 0; i < devices.length; i += SNAPSHOT_PART) {
          const first = i === 0;
          const last = i + SNAPSHOT_PART >= devices.length;
          const msg = { ...head, devices: devices.slice(i, i + SNAPSHOT_PART), alerts: first ? head.alerts : [], ...(first ? {} : { positionIds: undefined }) };
          emit({ type: 'message', msg, decodeMs: first ? e.decodeMs : 0, bytes: first ? e.bytes : 0, part: { first, last } });
        }
      } else if (e.type === 'positions' && e.frame.n > POSITIONS_PART) {
        const parts = splitPositions(e.frame);
        parts.forEach((frame, i) => emit({ type: 'positions', frame, decodeMs: i === 0 ? e.decodeMs : 0, bytes: i === 0 ? e.bytes : 0, part: { first: i === 0, last: i === parts.length - 1 } }));
      } else emit(e);
    };
    ws.onclose = () => {
      ws = null;
      retryLater();
    };
  };
  void open();
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    ws?.close();
  };
}
