/** Live summary for long runs: a throttled, rewritten line on a TTY; plain periodic lines otherwise. */
import type { FleetStats } from './fleet';

export function formatFleetStats(s: FleetStats): string {
  const lag = s.lagMs > 1000 ? ` catching up ${(s.lagMs / 3_600_000).toFixed(1)} h behind` : ' live';
  const sim = new Date(s.simTime).toISOString().slice(0, 16).replace('T', ' ');
  const kinds = Object.entries(s.byKind)
    .map(([k, v]) => `${k} ${v!.online}/${v!.devices}`)
    .join(' ');
  return `${s.msgsPerSec.toFixed(0).padStart(5)} msg/s · online ${s.online}/${s.devices} (${kinds}) · sent ${s.published} acked ${s.acked} · errors ${s.errors + s.connectErrors} dropped ${s.dropped} buffered ${s.buffered} · sim ${sim} UTC ×${s.speed}${lag}`;
}

export interface StatusLine {
  stop(): void;
}

export function startStatusLine(get: () => string, out: NodeJS.WriteStream = process.stderr, tty = !!out.isTTY): StatusLine {
  const every = tty ? 1000 : 10_000;
  const timer = setInterval(() => {
    const line = get();
    if (tty) out.write(`\r\x1b[2K${line.slice(0, (out.columns ?? 160) - 1)}`);
    else out.write(`${new Date().toISOString()} ${line}\n`);
  }, every);
  return {
    stop() {
      clearInterval(timer);
      if (tty) out.write('\n');
    },
  };
}
