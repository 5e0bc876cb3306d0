/**
 * The moving fleet as typed arrays, one slot per vehicle, updated in place: what the fleet layer
 * (fleet-layer.ts) uploads to the GPU and what picking scans. No GeoJSON, no object per vehicle.
 *
 * Positions are Web Mercator in [0, 1] world units, stored RELATIVE to a fixed origin (the city's
 * centre) so float32 keeps centimetres; the layer adds the origin back in double precision on its
 * matrix.
 *
 * Animation between fixes: a new fix starts a move from where the vehicle is drawn NOW to the new
 * fix, lasting the device's own fix interval (capped at `maxAnimMs`). The move never extrapolates
 * past the fix, so a device that goes silent stops at its last fix instead of drifting; with
 * interpolation off a fix is drawn at once.
 */
import { TRUCK_STATES, type TruckState } from '../colors';
import { withDefaults } from '../../../../lib/options';

/** floats per slot in `attrs` (interleaved, as the GPU reads them) */
export const FLEET_STRIDE = 8;
/** offsets inside a slot */
export const A = { fromX: 0, fromY: 1, toX: 2, toY: 3, start: 4, dur: 5, heading: 6, state: 7 } as const;

export const stateCode = (s: TruckState): number => TRUCK_STATES.indexOf(s);

export function mercX(lon: number): number {
  return (180 + lon) / 360;
}
export function mercY(lat: number): number {
  const s = Math.sin((lat * Math.PI) / 180);
  return 0.5 - (0.25 * Math.log((1 + s) / (1 - s))) / Math.PI;
}
export function lonOf(x: number): number {
  return x * 360 - 180;
}
export function latOf(y: number): number {
  const y2 = 180 - y * 360;
  return (360 / Math.PI) * Math.atan(Math.exp((y2 * Math.PI) / 180)) - 90;
}

export interface FleetBufferOptions {
  /** origin [lon, lat] positions are stored relative to */
  origin: [number, number];
  /** animate between fixes (default true) */
  interpolate?: boolean;
  /** longest move between two fixes, ms (default 2000): a later fix moves this fast, a silent device never drifts */
  maxAnimMs?: number;
  initialCapacity?: number;
  /** ms clock for animation (default performance.now) */
  now?: () => number;
}

/** defaults of the options (lib/options.ts) */
export const FLEET_BUFFER_DEFAULTS = { interpolate: true, maxAnimMs: 2000, initialCapacity: 1024, now: (): number => performance.now() };

export class FleetBuffer {
  readonly originX: number;
  readonly originY: number;
  interpolate: boolean;
  readonly maxAnimMs: number;
  /** interleaved slot attributes (FLEET_STRIDE floats each) */
  attrs: Float32Array;
  /** the last fix time per slot (device clock, ms epoch) */
  private fixTs: Float64Array;
  private capacity: number;
  private n = 0;
  readonly ids: string[] = [];
  private readonly slotOf = new Map<string, number>();
  /** slots written since the GPU last took them: [min, max] (inclusive), or min > max */
  dirtyMin = Infinity;
  dirtyMax = -1;
  /** the time the last running move ends (animation clock) */
  animUntil = 0;
  /** bumped when slots are added or removed (the GPU buffer must be resized / fully rewritten) */
  layoutVersion = 0;
  readonly clock: () => number;

  constructor(options: FleetBufferOptions) {
    const opts = withDefaults(FLEET_BUFFER_DEFAULTS, options);
    this.originX = mercX(opts.origin[0]);
    this.originY = mercY(opts.origin[1]);
    this.interpolate = opts.interpolate;
    this.maxAnimMs = opts.maxAnimMs;
    this.capacity = opts.initialCapacity;
    this.attrs = new Float32Array(this.capacity * FLEET_STRIDE);
    this.fixTs = new Float64Array(this.capacity);
    this.clock = opts.now;
  }

  get size(): number {
    return this.n;
  }
  slot(id: string): number | undefined {
    return this.slotOf.get(id);
  }

  private grow(): void {
    this.capacity *= 2;
    const a = new Float32Array(this.capacity * FLEET_STRIDE);
    a.set(this.attrs);
    this.attrs = a;
    const t = new Float64Array(this.capacity);
    t.set(this.fixTs);
    this.fixTs = t;
    this.layoutVersion++;
  }

  private mark(slot: number): void {
    if (slot < this.dirtyMin) this.dirtyMin = slot;
    if (slot > this.dirtyMax) this.dirtyMax = slot;
  }

  /** Where slot `i` is drawn at animation time `t` (relative mercator). */
  drawnAt(i: number, t: number, out: [number, number] = [0, 0]): [number, number] {
    const a = this.attrs;
    const o = i * FLEET_STRIDE;
    const dur = a[o + A.dur]!;
    const k = dur > 0 ? Math.min(1, Math.max(0, (t - a[o + A.start]!) / dur)) : 1;
    out[0] = a[o + A.fromX]! + (a[o + A.toX]! - a[o + A.fromX]!) * k;
    out[1] = a[o + A.fromY]! + (a[o + A.toY]! - a[o + A.fromY]!) * k;
    return out;
  }

  private readonly tmp: [number, number] = [0, 0];

  /** Apply a vehicle's latest fix and state (`now`: the fleet clock, when the caller read it once for many). Older or equal fixes only update heading/state. */
  set(id: string, lon: number, lat: number, ts: number, heading: number, state: TruckState, now = this.clock()): void {
    let i = this.slotOf.get(id);
    const x = mercX(lon) - this.originX;
    const y = mercY(lat) - this.originY;
    const a = this.attrs;
    if (i === undefined) {
      if (this.n === this.capacity) this.grow();
      i = this.n++;
      this.slotOf.set(id, i);
      this.ids[i] = id;
      const o = i * FLEET_STRIDE;
      const b = this.attrs;
      b[o + A.fromX] = b[o + A.toX] = x;
      b[o + A.fromY] = b[o + A.toY] = y;
      b[o + A.start] = 0;
      b[o + A.dur] = 0;
      b[o + A.heading] = heading;
      b[o + A.state] = stateCode(state);
      this.fixTs[i] = ts;
      this.layoutVersion++;
      this.mark(i);
      return;
    }
    const o = i * FLEET_STRIDE;
    const prevTs = this.fixTs[i]!;
    a[o + A.heading] = heading;
    a[o + A.state] = stateCode(state);
    if (ts > prevTs) {
      const dur = this.interpolate ? Math.min(this.maxAnimMs, ts - prevTs) : 0;
      if (dur > 0) {
        const p = this.drawnAt(i, now, this.tmp);
        a[o + A.fromX] = p[0];
        a[o + A.fromY] = p[1];
        a[o + A.start] = now;
        a[o + A.dur] = dur;
        if (now + dur > this.animUntil) this.animUntil = now + dur;
      } else {
        a[o + A.fromX] = x;
        a[o + A.fromY] = y;
        a[o + A.dur] = 0;
      }
      a[o + A.toX] = x;
      a[o + A.toY] = y;
      this.fixTs[i] = ts;
    }
    this.mark(i);
  }

  /** Change only the state colour of a vehicle (state ages into offline without messages). */
  setState(id: string, state: TruckState): void {
    const i = this.slotOf.get(id);
    if (i === undefined) return;
    const c = stateCode(state);
    const o = i * FLEET_STRIDE + A.state;
    if (this.attrs[o] === c) return;
    this.attrs[o] = c;
    this.mark(i);
  }
  stateOf(id: string): TruckState | undefined {
    const i = this.slotOf.get(id);
    return i === undefined ? undefined : TRUCK_STATES[this.attrs[i * FLEET_STRIDE + A.state]!];
  }

  /** Remove a vehicle (the last slot moves into its place). */
  remove(id: string): void {
    const i = this.slotOf.get(id);
    if (i === undefined) return;
    const last = --this.n;
    this.slotOf.delete(id);
    if (i !== last) {
      const moved = this.ids[last]!;
      this.attrs.copyWithin(i * FLEET_STRIDE, last * FLEET_STRIDE, (last + 1) * FLEET_STRIDE);
      this.fixTs[i] = this.fixTs[last]!;
      this.ids[i] = moved;
      this.slotOf.set(moved, i);
    }
    this.ids.length = this.n;
    this.layoutVersion++;
  }

  /** [lon, lat] where a vehicle is drawn now. */
  position(id: string, t = this.clock()): [number, number] | null {
    const i = this.slotOf.get(id);
    if (i === undefined) return null;
    const p = this.drawnAt(i, t, [0, 0]);
    return [lonOf(p[0] + this.originX), latOf(p[1] + this.originY)];
  }

  /** Is any vehicle moving at time t (the map must repaint every frame)? */
  animating(t = this.clock()): boolean {
    return this.interpolate && t < this.animUntil;
  }

  /** Take the written range for upload (and clear it). */
  takeDirty(): [number, number] | null {
    if (this.dirtyMin > this.dirtyMax) return null;
    const r: [number, number] = [this.dirtyMin, Math.min(this.dirtyMax, this.n - 1)];
    this.dirtyMin = Infinity;
    this.dirtyMax = -1;
    return r[0] > r[1] ? null : r;
  }

  /**
   * The vehicle drawn nearest to world point (x, y) (absolute mercator) within `radius` world
   * units, at animation time t; null if none. A linear scan: ~1 ms for 50,000 vehicles.
   */
  pick(x: number, y: number, radius: number, t = this.clock()): string | null {
    const rx = x - this.originX;
    const ry = y - this.originY;
    let best = -1;
    let bestD = radius * radius;
    const p = this.tmp;
    for (let i = 0; i < this.n; i++) {
      this.drawnAt(i, t, p);
      const dx = p[0] - rx;
      const dy = p[1] - ry;
      const d = dx * dx + dy * dy;
      if (d <= bestD) {
        bestD = d;
        best = i;
      }
    }
    return best < 0 ? null : this.ids[best]!;
  }

  /** Slots drawn inside a world-unit box (absolute mercator), at most `limit` ids. */
  within(x0: number, y0: number, x1: number, y1: number, limit: number, t = this.clock()): string[] {
    const out: string[] = [];
    const p = this.tmp;
    for (let i = 0; i < this.n && out.length < limit; i++) {
      this.drawnAt(i, t, p);
      const x = p[0] + this.originX;
      const y = p[1] + this.originY;
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) out.push(this.ids[i]!);
    }
    return out;
  }

  /** How many vehicles are drawn inside a world-unit box (absolute mercator). */
  countWithin(x0: number, y0: number, x1: number, y1: number, t = this.clock()): number {
    let c = 0;
    const p = this.tmp;
    for (let i = 0; i < this.n; i++) {
      this.drawnAt(i, t, p);
      const x = p[0] + this.originX;
      const y = p[1] + this.originY;
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) c++;
    }
    return c;
  }
}
