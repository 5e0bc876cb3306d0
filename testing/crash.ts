/**
 * Crash-test helpers (launcher/crash.test.ts, bench/kill9.ts): run `npm start` as a user does,
 * publish a burst of QoS 1 GPS fixes as a provisioned truck, and find the launcher's children.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import type { GpsFix } from '../contract';
import { freePort, waitFor } from './net';

const gpsFix = (ts: number, lat: number): GpsFix => ({ ts, lat, lon: -94.43, speedKmh: 25, heading: 180, hdop: 0.9, sats: 9 });

export interface Launched {
  child: ChildProcess;
  out(): string;
  exited: Promise<number | null>;
}

/** Environment for `npm start` on free loopback ports (fleet off unless `extra` says otherwise). */
export async function launcherEnv(dataDir: string, extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  return {
    ...process.env,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    MQTT_PORT: String(await freePort()),
    MQTT_WS_PORT: String(await freePort()),
    HTTP_PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
    NODE_RED_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    SIM: 'off',
    ...extra,
  };
}

/** `npm start` (launcher/start.ts) in its own process group, so that the whole group can be killed at once. */
export function launch(env: NodeJS.ProcessEnv, cwd: string): Launched {
  const child = spawn(process.execPath, ['--import', 'tsx', 'launcher/start.ts'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

/** Until "is running": a first start provisions the demo city (scrypt per device); measured 152 s at load 27, ~20 s on a quiet box. */
export async function running(l: Launched, timeoutMs = 240_000): Promise<void> {
  await waitFor(() => l.out().includes('is running') || l.child.exitCode !== null, timeoutMs, 100, `start-up (output so far: ${l.out().slice(-1500)})`);
  if (!l.out().includes('is running')) throw new Error(`npm start exited: ${l.out().slice(-3000)}`);
}

/** kill -9 the whole process group (the scenario: supervisor and children at once). */
export function killGroup(l: Launched): void {
  try {
    process.kill(-l.child.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Child process ids of `pid` (Linux /proc), with their command lines. */
export function childrenOf(pid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    let ids = '';
    try {
      ids = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const id of ids.trim().split(/\s+/).filter(Boolean)) {
      let cmd = '';
      try {
        cmd = fs.readFileSync(`/proc/${id}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        continue;
      }
      out.push({ pid: Number(id), cmd });
    }
  }
  return out;
}

/** The pid of the launcher's `broker` or `core` child. */
export function childPid(l: Launched, role: 'broker' | 'core'): number {
  const c = childrenOf(l.child.pid!).find((p) => p.cmd.includes('launcher/child.ts') && p.cmd.trim().endsWith(` ${role}`));
  if (!c) throw new Error(`no ${role} child under pid ${l.child.pid}`);
  return c.pid;
}

export interface Truck {
  deviceId: string;
  url: string;
  username: string;
  clientId: string;
  secret: string;
  topic: string;
}

/** The first provisioned truck of the demo city (its rendered config under DATA_DIR/devices). */
export function firstTruck(dataDir: string, mqttPort: number): Truck {
  const dir = path.join(dataDir, 'devices');
  for (const f of fs.readdirSync(dir).sort()) {
    const c = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    if (c.kind === 'truck') {
      return { deviceId: c.deviceId, url: `mqtt://127.0.0.1:${mqttPort}`, username: c.username, clientId: c.clientId, secret: c.secret, topic: c.topics.publish.gps };
    }
  }
  throw new Error(`no truck in ${dir}`);
}

export interface Burst {
  /** event times of the fixes the broker acknowledged (PUBACK received) */
  acked: number[];
  failed: number;
  firstTs: number;
  /** PUBACK packets received per message id (each publish of the burst has its own id: all must be 1) */
  pubacks: Map<number, number>;
}

/** Message ids of a burst acknowledged other than exactly once (none: every publish got one PUBACK). */
export function pubackAnomalies(b: Burst): { ids: number; notOnce: number[] } {
  return { ids: b.pubacks.size, notOnce: [...b.pubacks].filter(([, n]) => n !== 1).map(([id]) => id) };
}

/**
 * Publish `n` QoS 1 GPS fixes (distinct event times 1 ms apart) as fast as the broker takes them;
 * resolves when every publish is acknowledged or failed. `onLastAck` runs synchronously on the
 * last PUBACK (where a crash test kills).
 */
export async function publishBurst(t: Pick<Truck, 'url' | 'username' | 'secret' | 'clientId' | 'topic'>, n: number, onLastAck?: () => void, firstTs = Date.now() - 5 * 60_000): Promise<Burst> {
  const c = mqtt.connect(t.url, { username: t.username, password: t.secret, clientId: t.clientId, reconnectPeriod: 0, connectTimeout: 10_000, clean: true });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
    c.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
  c.on('error', () => {});
  const pubacks = new Map<number, number>();
  c.on('packetreceive', (p) => {
    if (p.cmd === 'puback') pubacks.set(p.messageId!, (pubacks.get(p.messageId!) ?? 0) + 1);
  });
  const acked: number[] = [];
  let failed = 0;
  await new Promise<void>((resolve) => {
    let settled = 0;
    for (let i = 0; i < n; i++) {
      const ts = firstTs + i;
      c.publish(t.topic, JSON.stringify(gpsFix(ts, 18.14 + i * 1e-6)), { qos: 1 }, (err) => {
        if (err) failed++;
        else acked.push(ts);
        if (++settled === n) {
          onLastAck?.();
          resolve();
        }
      });
    }
  });
  c.end(true);
  return { acked, failed, firstTs, pubacks };
}

/** Log in to the console API as the demo operator (password from DATA_DIR/initial-passwords.txt). */
export async function operatorToken(dataDir: string, httpPort: number): Promise<string> {
  const text = fs.readFileSync(path.join(dataDir, 'initial-passwords.txt'), 'utf8');
  const m = /^\s*(\S+) \(operator\): (\S+)/m.exec(text);
  if (!m) throw new Error('no operator in initial-passwords.txt');
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: m[1], password: m[2] }),
  });
  if (!res.ok) throw new Error(`login: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/** Event times of the truck's stored GPS fixes in [from, to), through the console API (GET /api/history/track). */
export async function storedTs(httpPort: number, token: string, deviceId: string, from: number, to: number): Promise<number[]> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/history/track?deviceId=${deviceId}&from=${from}&to=${to}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`track: HTTP ${res.status}`);
  return ((await res.json()) as { points: { ts: number }[] }).points.map((p) => p.ts);
}

/** Connect-and-publish, retrying the connection while the broker is (re)starting. */
// 120 s: a killed broker or core is restarted by the supervisor; on a loaded box (load 20) that took over 30 s
export async function publishBurstWhenUp(t: Truck, n: number, onLastAck?: () => void, firstTs?: number, timeoutMs = 120_000): Promise<Burst> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await publishBurst(t, n, onLastAck, firstTs);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
