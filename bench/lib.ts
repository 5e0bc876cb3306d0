/**
 * Shared helpers for the benchmarks: statistics, per-process CPU/RSS from /proc, machine
 * description, result files and the bench registry (many devices, low-cost scrypt hashes).
 *
 * Benchmarks are not tests: they measure, print a table and write bench/results/<name>.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPasswordSync } from '../registry/credentials';
import { saveRegistryFile } from '../registry/registry';
import type { Registry, RegistryDevice } from '../registry/schema';
import { TEST_PASSWORD, TEST_SERVICES } from '../testing/registry-fixture';
import { CITY_TZ } from '../norms/local-time';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
export { TEST_PASSWORD };

// ── statistics ───────────────────────────────────────────────────────────────────────────
export const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}
export const median = (xs: number[]) => percentile(xs, 50);

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}
export function spread(xs: number[]): Spread {
  const s = sorted(xs.filter((x) => Number.isFinite(x)));
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN, runs: xs };
  return { median: s[Math.floor((s.length - 1) / 2)]!, min: s[0]!, max: s[s.length - 1]!, runs: xs };
}
export const round = (x: number, d = 0) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
export function fmtSpread(s: Spread, d = 0, unit = ''): string {
  if (!Number.isFinite(s.median)) return 'n/a';
  return `${round(s.median, d).toLocaleString('en-US')}${unit} (${round(s.min, d).toLocaleString('en-US')}–${round(s.max, d).toLocaleString('en-US')})`;
}

// ── processes ────────────────────────────────────────────────────────────────────────────
const CLK_TCK = 100; // Linux USER_HZ
export interface ProcSample {
  pid: number;
  at: number;
  /** user + system CPU seconds */
  cpuS: number;
  rssMB: number;
}
export function procSample(pid: number): ProcSample | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return { pid, at: performance.now(), cpuS, rssMB: m ? Number(m[1]) / 1024 : NaN };
  } catch {
    return null;
  }
}
/** CPU % (1 core = 100 %) between two samples, and RSS at the second. */
export function procDelta(a: ProcSample | null, b: ProcSample | null): { cpuPct: number; rssMB: number } {
  if (!a || !b) return { cpuPct: NaN, rssMB: NaN };
  return { cpuPct: (100 * (b.cpuS - a.cpuS)) / ((b.at - a.at) / 1000), rssMB: b.rssMB };
}
/** Track peak RSS of some pids while a phase runs. */
export function rssPeaks(pids: Record<string, number>, everyMs = 500): { stop(): Record<string, number> } {
  const peaks: Record<string, number> = {};
  const tick = () => {
    for (const [k, pid] of Object.entries(pids)) {
      const s = procSample(pid);
      if (s) peaks[k] = Math.max(peaks[k] ?? 0, s.rssMB);
    }
  };
  tick();
  const t = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(t);
      tick();
      return peaks;
    },
  };
}
/** Find a pid whose command line contains `needle` (e.g. a temp dir only that process uses). */
export function findPid(needle: string): number | null {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(needle)) return Number(d);
    } catch {
      /* gone */
    }
  }
  return null;
}

// ── machine and results ──────────────────────────────────────────────────────────────────
export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memGB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadavg: os.loadavg().map((x) => round(x, 2)),
  };
}
export function writeResult(name: string, data: unknown): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ benchmark: name, date: new Date().toISOString(), machine: machine(), ...(data as object) }, null, 2) + '\n');
  return file;
}
export function printTable(rows: (string | number)[][]): void {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  for (const [k, r] of rows.entries()) {
    console.log(r.map((c, i) => String(c ?? '').padEnd(w[i]!)).join(' | '));
    if (k === 0) console.log(w.map((n) => '-'.repeat(n)).join('-|-'));
  }
}
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `--name value` pairs from the command line (a flag without a value is ''). */
export function parseArgs(argv: string[]): Record<string, string> {
  const a: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) if (argv[i]!.startsWith('--')) a[argv[i]!.slice(2)] = argv[i + 1] ?? '';
  return a;
}

// ── bench registry ───────────────────────────────────────────────────────────────────────
export type DeviceSpec = Omit<RegistryDevice, 'passwordHash'>;
export const loadTrucks = (n: number, prefix = 'load'): DeviceSpec[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${String(i + 1).padStart(5, '0')}`,
    kind: 'truck' as const,
    model: 'bench',
    district: 'Centro',
    status: 'active' as const,
    truck: { depotId: 'depot-1', routeId: 'route-01' },
    intervals: { dataS: 1, statusS: 60 },
  }));
/**
 * A registry for N load devices and the service accounts; passwords are TEST_PASSWORD(id).
 * scrypt cost 1024 (the test cost): production cost 16384 makes each connect ~16× dearer.
 */
export function writeBenchRegistry(file: string, devices: DeviceSpec[]): void {
  const reg: Registry = {
    version: 1,
    city: 'Bench city',
    timezone: CITY_TZ,
    devices: devices.map((d) => ({ ...d, passwordHash: hashPasswordSync(TEST_PASSWORD(d.id), 1024) })),
    services: TEST_SERVICES.map((s) => ({ ...s, passwordHash: hashPasswordSync(TEST_PASSWORD(s.id), 1024) })),
  };
  saveRegistryFile(file, reg);
}
