/**
 * The live model: every device's merged state, open alerts, recent plate reads and truck trails,
 * kept OUTSIDE React. The WebSocket feeds it messages; the map pulls merged state from it on a
 * throttle (see throttle.ts), and React only subscribes to low-rate change signals (alerts).
 *
 * Merging is per device: a newer reading of a stream replaces the older one (by event time), so
 * any number of messages between two map updates cost one feature update per device.
 */
import type { LiveMessage, LiveSnapshot, LiveState, Alert, LivePlate } from '../../../shared/live';
import { mergeLiveState, type GpsFix, type PlateRead } from '../../../../contract';
import { fixAt, type PositionsFrame } from '../../../shared/live-positions';
import { withDefaults } from '../../../../lib/options';

export type LayerKey = 'truck' | 'air' | 'noise' | 'camera';

/** Registry data the map needs for devices that report no position (stations, cameras). */
export interface DeviceMeta {
  id: string;
  kind: LayerKey;
  district: string;
  model?: string;
  status?: string;
  location?: { lat: number; lon: number };
  noiseZone?: 'residential' | 'industrial_commercial' | 'school' | 'entertainment';
  camera?: { road: string; direction: string; lanes: number };
  truck?: { routeId: string; depotId: string; plate?: string };
}

/** The one LiveState merge (contract/live-state.ts), in place: the model owns its merged states (no per-message allocation). */
export const mergeState = (prev: LiveState | undefined, next: LiveState): LiveState => mergeLiveState(prev, next, { inPlace: true });

/** A truck's recent positions as a flat [lon, lat, ts, ...] array, trimmed to a time window. */
export class Trail {
  readonly pts: number[] = [];
  constructor(
    private readonly windowMs: number,
    private readonly minSpacingMs: number,
  ) {}
  /** time of the last point pushed (not of the head kept current since): spacing counts from it */
  private anchorTs = -Infinity;
  /** Returns true when the trail changed. */
  push(lon: number, lat: number, ts: number): boolean {
    const n = this.pts.length;
    if (n >= 3) {
      const lastTs = this.pts[n - 1]!;
      if (ts <= lastTs) return false;
      // measured from the last pushed point: a device reporting more often than the spacing still grows a trail
      if (ts - this.anchorTs < this.minSpacingMs) {
        // keep the head current without growing the trail
        this.pts[n - 3] = lon;
        this.pts[n - 2] = lat;
        this.pts[n - 1] = ts;
        this.trim(ts);
        return true;
      }
    }
    this.pts.push(lon, lat, ts);
    this.anchorTs = ts;
    this.trim(ts);
    return true;
  }
  private trim(now: number) {
    let cut = 0;
    while (cut + 3 < this.pts.length && this.pts[cut + 2]! < now - this.windowMs) cut += 3;
    if (cut) this.pts.splice(0, cut);
  }
  get length(): number {
    return this.pts.length / 3;
  }
  coordinates(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.pts.length; i += 3) out.push([this.pts[i]!, this.pts[i + 1]!]);
    return out;
  }
}

export interface LiveModelOptions {
  trailMs?: number;
  trailSpacingMs?: number;
  platesPerCamera?: number;
}

type Listener = () => void;

/** defaults of the options (lib/options.ts) */
export const LIVE_MODEL_DEFAULTS = { trailMs: 5 * 60_000, trailSpacingMs: 5_000, platesPerCamera: 5 };

export class LiveModel {
  readonly devices = new Map<string, LiveState>();
  readonly alerts = new Map<string, Alert>();
  readonly plates = new Map<string, PlateRead[]>();
  readonly trails = new Map<string, Trail>();
  readonly meta = new Map<string, DeviceMeta>();
  /** devices changed since the map last took them, per layer */
  private readonly dirty: Record<LayerKey, Set<string>> = { truck: new Set(), air: new Set(), noise: new Set(), camera: new Set() };
  private trailsDirty = false;
  private alertsVersion = 0;
  private devicesVersion = 0;
  private readonly alertListeners = new Set<Listener>();
  private readonly deviceListeners = new Set<Listener>();
  private readonly changeListeners = new Set<Listener>();
  messages = 0;
  lastMessageAt = 0;
  /** columnar position frames applied */
  positionFrames = 0;
  /** position-frame fixes for an index the model has no device for (counted, skipped) */
  unknownPositions = 0;
  /** the stream's position-frame numbering (index → device id) */
  private positionIds: string[] = [];
  private readonly trailMs: number;
  private readonly trailSpacingMs: number;
  private readonly platesPerCamera: number;

  constructor(options: LiveModelOptions = {}) {
    const opts = withDefaults(LIVE_MODEL_DEFAULTS, options);
    this.trailMs = opts.trailMs;
    this.trailSpacingMs = opts.trailSpacingMs;
    this.platesPerCamera = opts.platesPerCamera;
  }

  setMeta(list: DeviceMeta[]): void {
    this.meta.clear();
    for (const m of list) {
      this.meta.set(m.id, m);
      this.dirty[m.kind]?.add(m.id);
    }
    this.notify(this.changeListeners);
  }

  apply(msg: LiveMessage): void {
    this.messages++;
    this.lastMessageAt = msg.at;
    if (msg.type === 'snapshot') {
      this.messages--;
      this.applySnapshotPart(msg, { first: true, last: true });
      return;
    } else {
      for (const s of msg.devices) this.upsert(s);
      for (const p of msg.plates) this.addPlate(p);
      if (msg.alerts.length) {
        for (const a of msg.alerts) this.alerts.set(a.id, a);
        this.bumpAlerts();
      }
    }
    this.devicesVersion++;
    this.notify(this.changeListeners);
  }

  /**
   * Apply a snapshot in parts (the stream worker splits a big fleet's snapshot so that no single
   * main-thread task applies 50,000 states): the first part replaces devices and alerts, every
   * part adds its devices, the last drops trails of devices that are gone.
   */
  applySnapshotPart(msg: LiveSnapshot, part: { first: boolean; last: boolean }): void {
    this.lastMessageAt = msg.at;
    if (part.first) {
      for (const id of this.devices.keys()) this.dirty[this.devices.get(id)!.kind as LayerKey]?.add(id);
      this.devices.clear();
      this.alerts.clear();
      for (const a of msg.alerts) this.alerts.set(a.id, a);
      if (msg.positionIds) this.positionIds = msg.positionIds;
    }
    for (const s of msg.devices) this.upsert(s);
    if (part.last) {
      this.messages++;
      for (const id of [...this.trails.keys()]) if (!this.devices.has(id)) this.trails.delete(id);
      this.trailsDirty = true;
      this.bumpAlerts();
    }
    this.devicesVersion++;
    this.notify(this.changeListeners);
  }

  /**
   * Apply a columnar position frame (shared/live-positions.ts): each fix is written into the
   * device's merged state in place (no object per fix once a device has a fix), marked dirty for
   * the map and pushed to its trail.
   */
  applyPositions(f: PositionsFrame): void {
    this.messages++;
    this.positionFrames++;
    this.lastMessageAt = f.at;
    for (const [i, id] of f.names) this.positionIds[i] = id;
    const trucks = this.dirty.truck;
    for (let k = 0; k < f.n; k++) {
      const id = this.positionIds[f.index[k]!];
      const s = id === undefined ? undefined : this.devices.get(id);
      if (!s) {
        this.unknownPositions++;
        continue;
      }
      const ts = f.at + f.tsOffset[k]!;
      const seen = f.at + f.seenOffset[k]!;
      if (seen > s.lastSeen) s.lastSeen = seen;
      const g = s.latest.gps;
      if (g && g.ts > ts) continue;
      const lon = f.lonE7[k]! / 1e7;
      const lat = f.latE7[k]! / 1e7;
      if (!g) s.latest.gps = { ts, late: (f.flags[k]! & 1) === 1, data: fixAt(f, k) };
      else {
        g.ts = ts;
        g.late = (f.flags[k]! & 1) === 1;
        const d = g.data as GpsFix;
        d.ts = ts;
        d.lon = lon;
        d.lat = lat;
        d.speedKmh = f.speed100[k]! / 100;
        d.heading = f.heading100[k]! / 100;
        // `delete` only when a field goes away: deleting turns the object into a slow dictionary
        if (f.hdop10[k] !== 0xffff) d.hdop = f.hdop10[k]! / 10;
        else if (d.hdop !== undefined) delete d.hdop;
        if (f.sats[k] !== 0xff) d.sats = f.sats[k]!;
        else if (d.sats !== undefined) delete d.sats;
      }
      trucks.add(id!);
      let tr = this.trails.get(id!);
      if (!tr) this.trails.set(id!, (tr = new Trail(this.trailMs, this.trailSpacingMs)));
      if (tr.push(lon, lat, ts)) this.trailsDirty = true;
    }
    this.devicesVersion++;
    this.notify(this.changeListeners);
  }

  /** Merge one alert (e.g. the API's answer to an acknowledge) without waiting for the stream. */
  upsertAlert(a: Alert): void {
    const old = this.alerts.get(a.id);
    if (old && old.updatedAt > a.updatedAt) return;
    this.alerts.set(a.id, a);
    this.bumpAlerts();
  }

  private upsert(s: LiveState): void {
    const merged = mergeState(this.devices.get(s.deviceId), s);
    this.devices.set(s.deviceId, merged);
    const kind = merged.kind as LayerKey;
    this.dirty[kind]?.add(s.deviceId);
    if (kind === 'truck') {
      const gps = merged.latest.gps?.data as GpsFix | undefined;
      if (gps) {
        let tr = this.trails.get(s.deviceId);
        if (!tr) this.trails.set(s.deviceId, (tr = new Trail(this.trailMs, this.trailSpacingMs)));
        if (tr.push(gps.lon, gps.lat, gps.ts)) this.trailsDirty = true;
      }
    }
  }

  private addPlate(p: LivePlate): void {
    let list = this.plates.get(p.deviceId);
    if (!list) this.plates.set(p.deviceId, (list = []));
    list.unshift(p.read);
    list.sort((a, b) => b.ts - a.ts);
    if (list.length > this.platesPerCamera) list.length = this.platesPerCamera;
    this.dirty.camera.add(p.deviceId);
  }

  /** Ids changed on a layer since the last call (and clears them). */
  takeDirty(kind: LayerKey): Set<string> {
    const d = this.dirty[kind];
    if (!d.size) return d;
    this.dirty[kind] = new Set();
    return d;
  }
  get trailsPending(): boolean {
    return this.trailsDirty;
  }
  takeTrailsDirty(): boolean {
    const d = this.trailsDirty;
    this.trailsDirty = false;
    return d;
  }

  get alertsRevision(): number {
    return this.alertsVersion;
  }
  get devicesRevision(): number {
    return this.devicesVersion;
  }
  private bumpAlerts() {
    this.alertsVersion++;
    this.notify(this.alertListeners);
  }
  private notify(set: Set<Listener>) {
    for (const l of set) l();
  }
  /** Alerts changed (low rate: React may re-render on it). */
  onAlerts(l: Listener): () => void {
    this.alertListeners.add(l);
    return () => this.alertListeners.delete(l);
  }
  /** Any message applied (high rate: for the map's throttled flusher only, never React state). */
  onChange(l: Listener): () => void {
    this.changeListeners.add(l);
    return () => this.changeListeners.delete(l);
  }
  onDevices(l: Listener): () => void {
    this.deviceListeners.add(l);
    return () => this.deviceListeners.delete(l);
  }

  /** Alerts newest first; resolved ones after open ones. */
  sortedAlerts(): Alert[] {
    const rank = (a: Alert) => (a.state === 'open' ? 0 : a.state === 'acknowledged' ? 1 : 2);
    return [...this.alerts.values()].sort((a, b) => rank(a) - rank(b) || b.openedAt - a.openedAt);
  }
}
