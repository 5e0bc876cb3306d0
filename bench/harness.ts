/**
 * The one child-process harness of the benchmarks: each server (broker, ingest, the console API,
 * WebSocket clients, …) runs in its own child process (its own event loop), forked with tsx and
 * driven over IPC with numbered request/response messages.
 *
 * Parent:
 *   const c = await forkChild<{ port: number }>(script, 'broker', { registry });
 *   c.info.port; await c.call<number>({ cmd: 'count', from });  await c.stop();
 * Child (the same or another script, run with `--role <role> --<key> <value> …`):
 *   const { role, args } = childRole()!;            // null when not started as a child
 *   serveParent(async (m) => …reply…, { port });     // 'stop' replies, then the child exits
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ForkOptions {
  /** extra node flags (e.g. --cpu-prof) */
  execArgv?: string[];
  /** 'pipe': forwarded to this process's stderr and its tail kept for crash reports (default 'inherit') */
  stderr?: 'inherit' | 'pipe';
  /** SIGKILL a child that has not exited this long after 'stop' (default 20 s) */
  stopTimeoutMs?: number;
}

export interface Command {
  cmd: string;
  [k: string]: unknown;
}

export interface BenchChild<Info = Record<string, unknown>> {
  proc: ChildProcess;
  pid: number;
  /** what the child sent with its ready message (e.g. its port) */
  info: Info;
  call<T>(cmd: Command): Promise<T>;
  /** ask the child to stop ('stop'), SIGKILL it past the timeout; resolves once it has exited */
  stop(): Promise<void>;
  /** the last 3,000 characters of its stderr (stderr: 'pipe') */
  stderrTail(): string;
}

/** child processes still running, killed on an interrupted run */
const live = new Set<ChildProcess>();
const tails = new Map<ChildProcess, string>();

/** Kill every child still running (on an interrupted run). */
export function killAllChildren(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** Track a child started otherwise (spawn): killed by killAllChildren, its stderr tail kept. */
export function trackChild(proc: ChildProcess, keepStderr = false): void {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  if (keepStderr) proc.stderr?.on('data', (b: Buffer) => tails.set(proc, ((tails.get(proc) ?? '') + b.toString()).slice(-3000)));
}

export function stderrTailOf(proc: ChildProcess): string {
  return tails.get(proc) ?? '';
}

export function forkChild<Info = Record<string, unknown>>(script: string, role: string, args: Record<string, string> = {}, o: ForkOptions = {}): Promise<BenchChild<Info>> {
  const argv = ['--role', role, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, v])];
  const proc = fork(path.resolve(script), argv, { execArgv: ['--import', 'tsx', ...(o.execArgv ?? [])], stdio: ['ignore', 'inherit', o.stderr ?? 'inherit', 'ipc'] });
  trackChild(proc);
  if (o.stderr === 'pipe') {
    proc.stderr?.on('data', (b: Buffer) => {
      process.stderr.write(b);
      tails.set(proc, ((tails.get(proc) ?? '') + b.toString()).slice(-3000));
    });
  }
  let seq = 0;
  const pending = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => {
      reject(new Error(`${role} exited ${code}`));
      for (const p of pending.values()) p.rej(new Error(`${role} exited ${code}`));
      pending.clear();
    });
    proc.on('message', (m: { ready?: boolean; info?: Info; id?: number; value?: unknown; error?: string }) => {
      if (m.ready) {
        const child: BenchChild<Info> = {
          proc,
          pid: proc.pid!,
          info: (m.info ?? {}) as Info,
          call: <T>(cmd: Command) =>
            new Promise<T>((res, rej) => {
              if (proc.exitCode !== null || proc.signalCode !== null) return rej(new Error(`${role} has exited`));
              const id = ++seq;
              pending.set(id, { res: res as (v: unknown) => void, rej });
              proc.send({ ...cmd, id });
            }),
          async stop() {
            if (proc.exitCode !== null || proc.signalCode !== null) return;
            const exited = new Promise((r) => proc.once('exit', r));
            const t = setTimeout(() => proc.kill('SIGKILL'), o.stopTimeoutMs ?? 20_000);
            await Promise.race([child.call({ cmd: 'stop' }).catch(() => {}), exited]);
            await exited;
            clearTimeout(t);
          },
          stderrTail: () => tails.get(proc) ?? '',
        };
        resolve(child);
        return;
      }
      const p = m.id !== undefined ? pending.get(m.id) : undefined;
      if (!p) return;
      pending.delete(m.id!);
      if (m.error) p.rej(new Error(m.error));
      else p.res(m.value);
    });
  });
}

// ── child half ─────────────────────────────────────────────────────────────────────────────

/** This process's role and its `--key value` arguments when started by forkChild; else null. */
export function childRole(argv = process.argv.slice(2)): { role: string; args: Record<string, string> } | null {
  if (argv[0] !== '--role' || !argv[1]) return null;
  const args: Record<string, string> = {};
  const rest = argv.slice(2);
  for (let i = 0; i < rest.length; i++) if (rest[i]!.startsWith('--')) args[rest[i]!.slice(2)] = rest[i + 1] ?? '';
  return { role: argv[1], args };
}

/**
 * Answer the parent's commands and tell it this child is ready. The handler's value is the reply
 * (a throw becomes an error reply); after the reply to 'stop', the child exits.
 */
export function serveParent(handle: (m: Command) => unknown, info: Record<string, unknown> = {}): void {
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- a bench child: handle() errors become replies below; anything else should end it
  process.on('message', async (m: Command & { id: number }) => {
    try {
      const value = await handle(m);
      if (m.cmd === 'stop') process.send!({ id: m.id, value }, () => process.exit(0));
      else process.send!({ id: m.id, value });
    } catch (err) {
      if (m.cmd === 'stop') process.send!({ id: m.id, error: String(err) }, () => process.exit(1));
      else process.send!({ id: m.id, error: String(err) });
    }
  });
  process.send!({ ready: true, info });
}

/**
 * Run a child's main when `moduleUrl` (the caller's import.meta.url) is the script this process
 * was started with as a child; an error is printed and the child exits 1.
 */
export function runChild(moduleUrl: string, main: (role: string, args: Record<string, string>) => Promise<void>): boolean {
  const c = childRole();
  if (!c || !process.argv[1] || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return false;
  main(c.role, c.args).catch((e) => (console.error(e), process.exit(1)));
  return true;
}
