/** What the pipeline benchmark's processes share: the marker device, its watch, the sink commands. */
export const MARKER = 'marker-00001';

/** the commands a sink child (ingest or the plain subscriber) answers */
export type Cmd =
  | { cmd: 'count'; from: number }
  | { cmd: 'keys'; from: number; devices: string[] }
  | { cmd: 'counters' }
  | { cmd: 'reconnect' }
  | { cmd: 'watch'; from: number }
  | { cmd: 'unwatch' }
  | { cmd: 'stop' };

export interface MarkerWatch {
  /** stop polling; each marker fix's ts with when it first became visible */
  stop(): [number, number][];
}
/** Poll `read` (the marker's fix times) every 100 ms, remembering when each first became visible; a failed poll waits for the next. */
export function watchMarker(read: () => Promise<number[]>): MarkerWatch {
  const seen = new Map<number, number>();
  let busy = false;
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- a bench harness: a rejection should end it (unhandled rejection)
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const ts = await read();
      const now = Date.now();
      for (const t of ts) if (!seen.has(t)) seen.set(t, now);
    } catch {
      /* next poll */
    } finally {
      busy = false;
    }
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return [...seen.entries()];
    },
  };
}
