/**
 * The live hub: latest LiveState per device, plus the live-stream clients (GET /api/live).
 *
 * Updates mark a device dirty; every `tickMs` (250 ms → at most 4 deltas/s) one delta carries at
 * most one entry per dirty device, the plate reads and the alerts changed since the last tick.
 * Each delta is serialized once per audience (with / without plates). A client whose socket
 * buffer (`bufferedAmount`) is over `maxBufferedBytes` gets no deltas; once it has drained to a
 * quarter of that it is sent a fresh snapshot, so the server never queues without bound.
 */
import fp from 'fastify-plugin';
import type { WebSocket } from 'ws';
import type { LiveState } from '../../../../contract';
import type { Alert, LiveDelta, LivePlate, LiveSnapshot, Role } from '../../../shared/live';
import type { ApiMetrics } from './metrics';
import { canSeePlates } from './auth';
import { hasPlate, type AlertRedactor } from '../../lib/alert-redact';

export interface LiveHubOptions {
  tickMs?: number;
  maxBufferedBytes?: number;
  maxPlatesPerTick?: number;
}

interface Client {
  socket: WebSocket;
  plates: boolean;
  stale: boolean;
}

const OPEN = 1;

/** A LiveState without plate text (for roles that may not see plates). */
function redact(s: LiveState): LiveState {
  if (!('plate' in s.latest)) return s;
  const { plate: _p, ...latest } = s.latest;
  return { ...s, latest };
}

export class LiveHub {
  readonly states = new Map<string, LiveState>();
  private dirty = new Set<string>();
  private pendingAlerts = new Map<string, Alert>();
  private pendingPlates: LivePlate[] = [];
  private clients = new Set<Client>();
  private timer: NodeJS.Timeout;
  readonly tickMs: number;
  readonly maxBufferedBytes: number;
  private readonly maxPlatesPerTick: number;

  constructor(
    private readonly activeAlerts: () => Alert[],
    private readonly metrics: ApiMetrics,
    opts: LiveHubOptions = {},
    /** hides plates in alerts for clients that may not see them */
    private readonly privacy: Pick<AlertRedactor, 'alertsFor'>,
  ) {
    this.tickMs = opts.tickMs ?? 250;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 1024 * 1024;
    this.maxPlatesPerTick = opts.maxPlatesPerTick ?? 2000;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Merge a device's state (per stream, the newer record by event time wins). */
  updateState(s: LiveState): void {
    const prev = this.states.get(s.deviceId);
    if (!prev) {
      this.states.set(s.deviceId, s);
    } else {
      const latest = { ...prev.latest };
      for (const [k, v] of Object.entries(s.latest)) if (!latest[k] || latest[k]!.ts <= v.ts) latest[k] = v;
      this.states.set(s.deviceId, {
        ...prev,
        kind: s.kind,
        district: s.district,
        latest,
        online: s.online ?? prev.online,
        lastSeen: Math.max(prev.lastSeen, s.lastSeen),
        // ingest says why a device is not reporting (null = cleared); absent = unchanged
        ...('issue' in s ? { issue: s.issue } : 'issue' in prev ? { issue: prev.issue } : {}),
      });
    }
    this.dirty.add(s.deviceId);
  }

  presence(deviceId: string, kind: LiveState['kind'], district: string, online: boolean, at: number): void {
    const prev = this.states.get(deviceId);
    if (prev && prev.online === online) return;
    this.states.set(deviceId, prev ? { ...prev, online } : { deviceId, kind, district, latest: {}, online, lastSeen: at });
    this.dirty.add(deviceId);
  }

  plate(p: LivePlate): void {
    if (this.pendingPlates.length >= this.maxPlatesPerTick) {
      this.pendingPlates.shift();
      this.metrics.livePlatesDropped.inc();
    }
    this.pendingPlates.push(p);
  }

  alert(a: Alert): void {
    this.pendingAlerts.set(a.id, a);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  snapshot(plates: boolean): LiveSnapshot {
    const devices = [...this.states.values()];
    return { type: 'snapshot', at: Date.now(), devices: plates ? devices : devices.map(redact), alerts: this.privacy.alertsFor(this.activeAlerts(), plates) };
  }

  addClient(socket: WebSocket, role: Role): void {
    const c: Client = { socket, plates: canSeePlates(role), stale: false };
    this.clients.add(c);
    this.metrics.liveClients.set(this.clients.size);
    socket.on('close', () => {
      this.clients.delete(c);
      this.metrics.liveClients.set(this.clients.size);
    });
    socket.on('error', () => socket.terminate());
    socket.on('message', (data) => {
      // the only client message: {"type":"resync"} asks for a fresh snapshot
      try {
        if ((JSON.parse(String(data)) as { type?: string }).type === 'resync') this.sendSnapshot(c, 'resync');
      } catch {
        /* ignore anything else */
      }
    });
    this.sendSnapshot(c, 'connect');
  }

  private sendSnapshot(c: Client, reason: string): void {
    if (c.socket.readyState !== OPEN) return;
    c.socket.send(JSON.stringify(this.snapshot(c.plates)));
    this.metrics.liveSnapshots.inc({ reason });
  }

  /** Build and send one delta (called by the timer; public for tests). */
  tick(): void {
    const hasDelta = this.dirty.size > 0 || this.pendingAlerts.size > 0 || this.pendingPlates.length > 0;
    let full: string | null = null;
    let redacted: string | null = null;
    if (hasDelta) {
      const devices = [...this.dirty].map((id) => this.states.get(id)).filter((s): s is LiveState => !!s);
      const base = { type: 'delta' as const, at: Date.now(), alerts: [...this.pendingAlerts.values()] };
      const plates = this.pendingPlates;
      const dFull: LiveDelta = { ...base, devices, plates };
      const dRed: LiveDelta = { ...base, devices: devices.map(redact), plates: [], alerts: this.privacy.alertsFor(base.alerts, false) };
      full = JSON.stringify(dFull);
      const samePayload = plates.length === 0 && !devices.some((d) => 'plate' in d.latest) && !base.alerts.some(hasPlate);
      redacted = !devices.length && !base.alerts.length ? null : samePayload ? full : JSON.stringify(dRed);
      this.dirty.clear();
      this.pendingAlerts.clear();
      this.pendingPlates = [];
    }
    for (const c of this.clients) {
      if (c.socket.readyState !== OPEN) continue;
      const buffered = c.socket.bufferedAmount;
      if (c.stale) {
        if (buffered <= this.maxBufferedBytes / 4) {
          c.stale = false;
          this.sendSnapshot(c, 'caught_up');
        } else if (hasDelta) this.metrics.liveSkipped.inc();
        continue;
      }
      const msg = c.plates ? full : redacted;
      if (!msg) continue;
      if (buffered > this.maxBufferedBytes) {
        c.stale = true;
        this.metrics.liveSkipped.inc();
        continue;
      }
      c.socket.send(msg);
      this.metrics.liveDeltas.inc();
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of this.clients) c.socket.close(1001, 'server shutting down');
    this.clients.clear();
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveHub;
  }
}

export default fp(
  async (fastify, opts: LiveHubOptions) => {
    const hub = new LiveHub(() => fastify.alerts.active(), fastify.metrics, opts, fastify.alertPrivacy);
    fastify.alerts.onChange((a) => hub.alert(a));
    fastify.decorate('live', hub);
    fastify.addHook('preClose', async () => hub.close());
  },
  { name: 'live-hub', dependencies: ['alerts-repo', 'alert-privacy', 'metrics'] },
);
