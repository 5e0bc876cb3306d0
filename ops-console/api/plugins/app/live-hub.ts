/**
 * The live hub: latest LiveState per device, plus the live-stream clients (GET /api/live).
 *
 * Updates mark a device dirty; every `tickMs` (250 ms → at most 4 deltas/s) one delta carries at
 * most one entry per dirty device, the plate reads and the alerts changed since the last tick.
 * Each delta is serialized once per audience (with / without plates). A client whose socket
 * buffer (`bufferedAmount`) is over `maxBufferedBytes` gets no deltas; once it has drained to a
 * quarter of that it is sent a fresh snapshot, so the server never queues without bound.
 *
 * Columnar clients (`?format=columnar`): a truck whose only change since the last tick is a GPS fix
 * goes into one binary position frame per tick (shared/live-positions.ts, 28 bytes a fix, shared by
 * every columnar client) instead of the JSON delta; everything else stays JSON.
 */
import fp from 'fastify-plugin';
import type { WebSocket } from 'ws';
import { mergeLiveState, type LiveState } from '../../../../contract';
import type { Alert, LiveDelta, LivePlate, LiveSnapshot, Role } from '../../../shared/live';
import type { ApiMetrics } from './metrics';
import { canSeePlates } from './auth';
import { hasPlate, type AlertRedactor } from '../../lib/alert-redact';
import { encodePositions, type PositionEntry } from '../../../shared/live-positions';
import type { GpsFix } from '../../../../contract';
import { withDefaults } from '../../../../lib/options';

export interface LiveHubOptions {
  tickMs?: number;
  maxBufferedBytes?: number;
  maxPlatesPerTick?: number;
}

interface Client {
  socket: WebSocket;
  plates: boolean;
  stale: boolean;
  /** receives GPS-only changes as binary position frames */
  columnar: boolean;
}

const OPEN = 1;

/** A LiveState without plate text (for roles that may not see plates). */
function redact(s: LiveState): LiveState {
  if (!('plate' in s.latest)) return s;
  const { plate: _p, ...latest } = s.latest;
  return { ...s, latest };
}

/** defaults of the options (lib/options.ts) */
export const LIVE_HUB_DEFAULTS = { tickMs: 250, maxBufferedBytes: 1024 * 1024, maxPlatesPerTick: 2000 };

export class LiveHub {
  readonly states = new Map<string, LiveState>();
  private dirty = new Set<string>();
  /** dirty devices whose only change since the last tick is a GPS fix */
  private gpsOnly = new Set<string>();
  /** position frame numbering: index → device id (stable for the hub's lifetime) */
  private readonly positionIds: string[] = [];
  private readonly positionIndex = new Map<string, number>();
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
    const o = withDefaults(LIVE_HUB_DEFAULTS, opts);
    this.tickMs = o.tickMs;
    this.maxBufferedBytes = o.maxBufferedBytes;
    this.maxPlatesPerTick = o.maxPlatesPerTick;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Merge a device's state (contract/live-state.ts: per stream, the later event time wins; ties go to the later arrival). */
  updateState(s: LiveState): void {
    const prev = this.states.get(s.deviceId);
    // GPS-only: a truck whose streams other than gps are unchanged (ingest publishes the whole
    // merged state; a device whose only news is a fix is what position frames carry)
    let gpsOnly = false;
    if (
      prev &&
      s.kind === 'truck' &&
      prev.kind === 'truck' &&
      s.district === prev.district &&
      (s.online === undefined || s.online === prev.online) &&
      'gps' in s.latest &&
      (!this.dirty.has(s.deviceId) || this.gpsOnly.has(s.deviceId))
    ) {
      gpsOnly = true;
      for (const k in s.latest) {
        if (k === 'gps') continue;
        const old = prev.latest[k];
        if (!old || old.ts < s.latest[k]!.ts) {
          // news in another stream (an equal time is the same reading republished)
          gpsOnly = false;
          break;
        }
      }
    }
    if (gpsOnly) this.gpsOnly.add(s.deviceId);
    else this.gpsOnly.delete(s.deviceId);
    // a new object: states already handed out (snapshots, deltas) stay as they were
    this.states.set(s.deviceId, prev ? mergeLiveState(prev, s) : s);
    this.dirty.add(s.deviceId);
  }

  presence(deviceId: string, kind: LiveState['kind'], district: string, online: boolean, at: number): void {
    const prev = this.states.get(deviceId);
    if (prev && prev.online === online) return;
    this.states.set(deviceId, prev ? { ...prev, online } : { deviceId, kind, district, latest: {}, online, lastSeen: at });
    this.gpsOnly.delete(deviceId);
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

  snapshot(plates: boolean, columnar = false): LiveSnapshot {
    const devices = [...this.states.values()];
    const snap: LiveSnapshot = { type: 'snapshot', at: Date.now(), devices: plates ? devices : devices.map(redact), alerts: this.privacy.alertsFor(this.activeAlerts(), plates) };
    if (columnar) snap.positionIds = this.positionIds;
    return snap;
  }

  private positionIndexOf(id: string, names: [number, string][]): number {
    let i = this.positionIndex.get(id);
    if (i === undefined) {
      i = this.positionIds.length;
      this.positionIds.push(id);
      this.positionIndex.set(id, i);
      names.push([i, id]);
    }
    return i;
  }

  addClient(socket: WebSocket, role: Role, opts: { columnar?: boolean } = {}): void {
    const c: Client = { socket, plates: canSeePlates(role), stale: false, columnar: !!opts.columnar };
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
        if ((JSON.parse((data as Buffer).toString('utf8')) as { type?: string }).type === 'resync') this.sendSnapshot(c, 'resync');
      } catch {
        /* ignore anything else */
      }
    });
    this.sendSnapshot(c, 'connect');
  }

  private sendSnapshot(c: Client, reason: string): void {
    if (c.socket.readyState !== OPEN) return;
    c.socket.send(JSON.stringify(this.snapshot(c.plates, c.columnar)));
    this.metrics.liveSnapshots.inc({ reason });
  }

  /** Build and send one delta (called by the timer; public for tests). */
  tick(): void {
    const hasDelta = this.dirty.size > 0 || this.pendingAlerts.size > 0 || this.pendingPlates.length > 0;
    let json: { full: string | null; redacted: string | null } = { full: null, redacted: null };
    let col: { full: string | null; redacted: string | null } = { full: null, redacted: null };
    let frame: Uint8Array | null = null;
    if (hasDelta) {
      const at = Date.now();
      const alerts = [...this.pendingAlerts.values()];
      const devices: LiveState[] = [];
      const other: LiveState[] = [];
      const fixes: LiveState[] = [];
      for (const id of this.dirty) {
        const st = this.states.get(id);
        if (!st) continue;
        devices.push(st);
        if (this.gpsOnly.has(id) && st.latest.gps) fixes.push(st);
        else other.push(st);
      }
      const plates = this.pendingPlates;
      let columnar = false;
      let plain = false;
      for (const c of this.clients) {
        if (c.columnar) columnar = true;
        else plain = true;
      }
      // serialize only for the audiences connected (a big fleet's JSON delta costs tens of ms)
      if (plain) json = this.serialize(at, devices, plates, alerts);
      if (columnar) {
        col = fixes.length || !plain ? this.serialize(at, other, plates, alerts) : json;
        if (fixes.length) {
          const names: [number, string][] = [];
          const entries: PositionEntry[] = fixes.map((st) => ({
            index: this.positionIndexOf(st.deviceId, names),
            fix: st.latest.gps!.data as GpsFix,
            late: st.latest.gps!.late,
            lastSeen: st.lastSeen,
          }));
          frame = encodePositions(at, entries, names);
        }
      }
      this.dirty.clear();
      this.gpsOnly.clear();
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
      const set = c.columnar ? col : json;
      const msg = c.plates ? set.full : set.redacted;
      const bin = c.columnar ? frame : null;
      if (!msg && !bin) continue;
      if (buffered > this.maxBufferedBytes) {
        c.stale = true;
        this.metrics.liveSkipped.inc();
        continue;
      }
      if (bin) c.socket.send(bin, { binary: true });
      if (msg) c.socket.send(msg);
      this.metrics.liveDeltas.inc();
    }
  }

  /** One delta, serialized once per audience (with / without plates); null when it would be empty. */
  private serialize(at: number, devices: LiveState[], plates: LivePlate[], alerts: Alert[]): { full: string | null; redacted: string | null } {
    const empty = !devices.length && !alerts.length;
    const dFull: LiveDelta = { type: 'delta', at, alerts, devices, plates };
    const full = empty && !plates.length ? null : JSON.stringify(dFull);
    const samePayload = plates.length === 0 && !devices.some((d) => 'plate' in d.latest) && !alerts.some(hasPlate);
    const redacted = empty
      ? null
      : samePayload
        ? full
        : JSON.stringify({ type: 'delta', at, devices: devices.map(redact), plates: [], alerts: this.privacy.alertsFor(alerts, false) } satisfies LiveDelta);
    return { full, redacted };
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
