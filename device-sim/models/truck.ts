/**
 * A garbage truck: leaves the depot at shift start, drives its route along the streets
 * (transit at road speed, collection at walking-crew pace with bin-lift stops), returns to the
 * depot to unload, starts the next trip while the shift lasts, then parks (ignition off).
 * Internally stepped at 1 s of simulated time; deterministic per truck and day.
 */
import type { City, Position, Route, StreetClass } from '../../city/city';
import { bearingDeg, distanceM, offsetM } from '../../contract/geo';
import { gauss, hashString, seededRng, type Rng } from '../../lib/rng';
import { routePolyline } from '../../city/street-graph';
import { localMidnight } from '../clock';
import { clamp, round, type DeviceModel, type Emit, type ModelFaults } from './types';
import { CITY_TZ } from '../../norms/local-time';

export interface TruckOptions {
  deviceId: string;
  city: City;
  routeId: string;
  /** GPS interval while moving (s) */
  gpsS: number;
  /** GPS heartbeat while parked (s) */
  parkedGpsS?: number;
  timezone?: string;
  /** sim time the model starts at */
  start: number;
  /** the crew's own irregularities: hurried trips (speeding) and long breaks (idling); default true */
  natural?: boolean;
}

const SPEED_KMH: Record<StreetClass, number> = { primary: 42, secondary: 33, residential: 24 };
const COLLECT_KMH = 12;
const UNLOAD_S = 25 * 60;
const CAPACITY_KG = 5000;

type Mode = 'parked' | 'driving' | 'stopped' | 'unloading';

export class TruckModel implements DeviceModel {
  readonly faults: ModelFaults = {};
  readonly route: Route;
  readonly coords: Position[];
  /** cumulative distance at each vertex */
  readonly cum: number[];
  /** street class per polyline edge */
  private readonly edgeClass: StreetClass[];
  private readonly segOfEdge: string[];
  readonly collectStartM: number;
  readonly collectEndM: number;
  readonly totalM: number;
  private readonly tz: string;

  private t: number;
  private mode: Mode = 'parked';
  private d = 0;
  private speed = 0; // km/h
  private until = 0;
  private nextStopM = 0;
  private loadKg = 0;
  private trip = 0;
  private shiftEnd = 0;
  private lastGps = 0;
  private lifts = 0;
  private tripStartedAt = 0;
  /** some trips the driver hurries on main roads (speeding alerts happen in real fleets) */
  private hurry = 1;
  /** some trips the crew takes a long break mid-collection with the engine running (idle alerts) */
  private breakAtM = Infinity;
  private rng: Rng;
  private drift: [number, number] = [0, 0];
  private driftDir = 0;
  private lastFix: Position | null = null;
  private lastSpeedFix = 0;
  private pending: Emit[] = [];

  constructor(private readonly o: TruckOptions) {
    const route = o.city.routes.find((r) => r.id === o.routeId);
    if (!route) throw Object.assign(new Error(`route ${o.routeId} not in the city data`), { code: 'E_SIM_ROUTE' });
    this.route = route;
    this.tz = o.timezone ?? o.city.timezone ?? CITY_TZ;
    const depot = o.city.depots.find((d) => d.id === route.depotId);
    const { coords, segmentStartIdx } = routePolyline(o.city, route, depot ? [depot.lon, depot.lat] : undefined);
    this.coords = coords;
    this.cum = [0];
    for (let i = 1; i < coords.length; i++) this.cum.push(this.cum[i - 1]! + distanceM(coords[i - 1]!, coords[i]!));
    this.totalM = this.cum[this.cum.length - 1]!;
    const seg = new Map(o.city.streets.features.map((f) => [f.properties.segmentId, f.properties.class]));
    this.edgeClass = [];
    this.segOfEdge = [];
    for (let s = 0; s < route.segments.length; s++) {
      const from = segmentStartIdx[s]!;
      const to = s + 1 < segmentStartIdx.length ? segmentStartIdx[s + 1]! : coords.length - 1;
      for (let e = from; e < to; e++) {
        this.edgeClass[e] = seg.get(route.segments[s]!) ?? 'residential';
        this.segOfEdge[e] = route.segments[s]!;
      }
    }
    this.collectStartM = this.cum[segmentStartIdx[route.collectFrom]!]!;
    this.collectEndM = route.collectTo + 1 < segmentStartIdx.length ? this.cum[segmentStartIdx[route.collectTo + 1]!]! : this.totalM;
    this.rng = seededRng(hashString(o.deviceId));
    // fast-forward silently from the start of the current shift (if one is running) to `start`
    const shiftStart = this.currentShiftStart(o.start);
    this.t = shiftStart ?? o.start;
    if (shiftStart !== null) {
      this.startShift(shiftStart);
      this.step(o.start, false);
      this.pending = []; // events before the simulation's start are not replayed
    }
    // the device reports the ignition it has when it boots: a truck that starts parked says so
    // (otherwise the platform cannot tell a parked truck from one whose GPS died)
    this.emit({ stream: 'event', payload: { ts: o.start, type: this.mode === 'parked' ? 'ignition_off' : 'ignition_on', ...this.ll() } });
    // the first fix goes out at once, parked or not: every truck is on the map from the first second
    this.lastGps = o.start - Math.max(o.gpsS, o.parkedGpsS ?? 300) * 1000;
  }

  /** shift start (ms) covering t, or null when off shift */
  private currentShiftStart(t: number): number | null {
    const offsetMin = hashString(this.o.deviceId) % 20;
    for (const dayBack of [0, 1]) {
      const start = localMidnight(t, this.tz) - dayBack * 86_400_000 + this.route.shiftStart * 3_600_000 + offsetMin * 60_000;
      if (t >= start && t < start + this.route.shiftHours * 3_600_000) return start;
    }
    return null;
  }

  private startShift(at: number): void {
    this.shiftEnd = at + this.route.shiftHours * 3_600_000;
    this.trip = 0;
    this.beginTrip(at);
    this.emit({ stream: 'event', payload: { ts: at, type: 'ignition_on', ...this.ll() } });
  }

  private beginTrip(at: number): void {
    this.trip++;
    this.tripStartedAt = at;
    this.rng = seededRng(hashString(`${this.o.deviceId}|${Math.floor(at / 86_400_000)}|${this.trip}`));
    this.mode = 'driving';
    this.d = 0;
    this.loadKg = 0;
    this.nextStopM = this.collectStartM + 40 + this.rng() * 80;
    this.hurry = this.rng() < 0.12 ? 1.3 + this.rng() * 0.15 : 1;
    this.breakAtM = this.rng() < 0.15 ? this.collectStartM + this.rng() * (this.collectEndM - this.collectStartM) : Infinity;
    if (this.o.natural === false) {
      this.hurry = 1;
      this.breakAtM = Infinity;
    }
  }

  private emit(e: Emit): void {
    this.pending.push(e);
  }

  private ll(): { lat: number; lon: number } {
    const p = this.position();
    return { lat: round(p[1], 6), lon: round(p[0], 6) };
  }

  private edgeAt(d: number): number {
    let lo = 0,
      hi = this.cum.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid]! <= d) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** exact position on the route at the current distance */
  position(): Position {
    const e = this.edgeAt(this.d);
    const a = this.coords[e]!,
      b = this.coords[Math.min(e + 1, this.coords.length - 1)]!;
    const len = this.cum[e + 1]! - this.cum[e]! || 1;
    const f = clamp((this.d - this.cum[e]!) / len, 0, 1);
    return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f];
  }

  heading(): number {
    const e = Math.min(this.edgeAt(this.d), this.coords.length - 2);
    return bearingDeg(this.coords[e]!, this.coords[e + 1]!);
  }

  /** segment id under the truck */
  segmentId(): string {
    return this.segOfEdge[Math.min(this.edgeAt(this.d), this.segOfEdge.length - 1)]!;
  }

  get state(): { mode: Mode; distanceM: number; loadKg: number; trip: number } {
    return { mode: this.mode, distanceM: this.d, loadKg: this.loadKg, trip: this.trip };
  }

  private collecting(): boolean {
    return this.d >= this.collectStartM && this.d < this.collectEndM;
  }

  /** advance the state machine to `to` in 1 s steps; emit GPS when `gps` */
  private step(to: number, gps: boolean): void {
    while (this.t + 1000 <= to) {
      this.t += 1000;
      const t = this.t;
      switch (this.mode) {
        case 'parked': {
          const s = this.currentShiftStart(t);
          if (s !== null && t - s < 1000) this.startShift(t);
          break;
        }
        case 'stopped':
          if (t >= this.until) this.mode = 'driving';
          break;
        case 'unloading':
          if (t >= this.until) {
            // start another trip only if one as long as the last still fits in the shift
            if (t + (t - this.tripStartedAt) <= this.shiftEnd) this.beginTrip(t);
            else {
              this.mode = 'parked';
              this.speed = 0;
              this.emit({ stream: 'event', payload: { ts: t, type: 'ignition_off', ...this.ll() } });
            }
          }
          break;
        case 'driving': {
          const cls = this.edgeClass[Math.min(this.edgeAt(this.d), this.edgeClass.length - 1)] ?? 'residential';
          const target = this.collecting() ? COLLECT_KMH : SPEED_KMH[cls] * (cls === 'primary' ? this.hurry : 1);
          // ease toward the target speed with some noise (traffic)
          this.speed = clamp(this.speed + (target - this.speed) * 0.3 + gauss(this.rng) * 1.2, 3, 60);
          this.d += this.speed / 3.6;
          if (this.faults.idleMin && this.collecting()) {
            // injected: the crew stops with the engine running
            this.mode = 'stopped';
            this.speed = 0;
            this.until = t + this.faults.idleMin * 60_000;
            this.faults.idleMin = undefined;
          } else if (this.collecting() && this.d >= this.breakAtM) {
            this.breakAtM = Infinity;
            this.mode = 'stopped';
            this.speed = 0;
            this.until = t + (22 + this.rng() * 15) * 60_000;
          } else if (this.collecting() && this.d >= this.nextStopM) {
            this.d = this.nextStopM;
            this.mode = 'stopped';
            this.speed = 0;
            this.until = t + (20 + this.rng() * 30) * 1000;
            const kg = round(10 + this.rng() * 40, 1);
            this.loadKg = Math.min(CAPACITY_KG, this.loadKg + kg);
            this.lifts++;
            this.emit({ stream: 'event', payload: { ts: t, type: 'bin_lift', binId: `bin-${this.segmentId()}-${this.lifts % 1000}`, weightKg: kg, ...this.ll() } });
            this.nextStopM += 60 + this.rng() * 110;
          } else if (this.d >= this.totalM) {
            this.d = this.totalM;
            this.mode = 'unloading';
            this.speed = 0;
            this.until = t + UNLOAD_S * 1000;
            this.emit({ stream: 'event', payload: { ts: t, type: 'unload', weightKg: round(this.loadKg, 1), ...this.ll() } });
            this.loadKg = 0;
          }
          break;
        }
      }
      if (gps) {
        const every = this.mode === 'parked' ? (this.o.parkedGpsS ?? 300) : this.o.gpsS;
        if (t - this.lastGps >= every * 1000) {
          this.lastGps = t;
          this.emit({ stream: 'gps', payload: this.fix(t) });
        }
      }
    }
  }

  private fix(t: number) {
    let p = this.position();
    let hdop = round(0.7 + this.rng() * 0.7, 1);
    let sats = 8 + Math.floor(this.rng() * 7);
    let speedKmh = this.mode === 'driving' ? clamp(this.speed + gauss(this.rng) * 0.5, 0, 120) : 0;
    if (this.faults.stuck && this.lastFix) {
      p = this.lastFix;
      speedKmh = this.lastSpeedFix;
    } else {
      // receiver noise: ~1.5 m
      p = offsetM(p, gauss(this.rng) * 1.2, gauss(this.rng) * 1.2);
      if (this.faults.gpsDrift) {
        this.driftDir += gauss(this.rng) * 0.2;
        this.drift = [this.drift[0] + Math.cos(this.driftDir) * 4, this.drift[1] + Math.sin(this.driftDir) * 4];
        hdop = round(3 + this.rng() * 4, 1);
        sats = 4 + Math.floor(this.rng() * 2);
      } else this.drift = [0, 0];
      p = offsetM(p, this.drift[0], this.drift[1]);
      if (this.faults.skipM) {
        // a street beside the route: perpendicular to the heading
        const a = ((this.heading() + 90) * Math.PI) / 180;
        p = offsetM(p, Math.sin(a) * this.faults.skipM, Math.cos(a) * this.faults.skipM);
      }
      if (this.faults.gpsJumps && this.rng() < 0.15) {
        const a = this.rng() * Math.PI * 2;
        const km = 1 + this.rng() * 4;
        p = offsetM(p, Math.cos(a) * km * 1000, Math.sin(a) * km * 1000);
      }
    }
    this.lastFix = p;
    this.lastSpeedFix = speedKmh;
    return { ts: t, lat: round(p[1], 6), lon: round(p[0], 6), speedKmh: round(speedKmh, 1), heading: round(this.heading() % 360, 1), hdop, sats };
  }

  advance(to: number): Emit[] {
    this.step(to, true);
    const out = this.pending;
    this.pending = [];
    return out.sort((a, b) => a.payload.ts - b.payload.ts);
  }

  statusExtras(): { powerV: number } {
    return { powerV: this.mode === 'parked' ? round(12.4 + this.rng() * 0.3, 2) : round(27.2 + this.rng() * 1.0, 2) };
  }
}
