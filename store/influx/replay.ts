/**
 * Outage replay: while the server is down or a backlog is on disk, a loop probes `/ping` and
 * replays spill files oldest first when it answers; a file is removed only once all its lines
 * were written (a line spilled again means the server went away: the file stays for next round).
 */
import type { Logger } from '../../lib/log';
import type { SubmitResult } from './settlement';
import type { Spill } from './spill';

export async function ping(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url.replace(/\/$/, '')}/ping`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 204 || res.status === 200;
  } catch {
    return false;
  }
}

export interface ReplayOptions {
  spill: Spill;
  batchSize: number;
  log: Logger;
  /** re-send lines through the normal write path (not back into the spill) */
  resend(lines: string[]): Promise<SubmitResult>;
  closed(): boolean;
  /** lines written by the replay */
  replayed(n: number): void;
}

/** Replay spill files, oldest first. True when every file was replayed (nothing left on disk). */
export async function replaySpill(o: ReplayOptions): Promise<boolean> {
  while (!o.closed()) {
    const f = await o.spill.oldest();
    if (!f) break;
    const lines = await o.spill.read(f);
    let clean = true;
    for (let i = 0; i < lines.length && !o.closed(); i += o.batchSize) {
      const r = await o.resend(lines.slice(i, i + o.batchSize));
      o.replayed(r.written);
      if (r.spilled > 0) {
        clean = false; // the server went away again; keep this file for the next round
        break;
      }
    }
    if (!clean || o.closed()) return false;
    await o.spill.remove(f);
    o.log.info({ file: f.file, lines: lines.length, left: o.spill.lines }, 'influx: spill file replayed');
  }
  return o.spill.lines <= 0;
}
