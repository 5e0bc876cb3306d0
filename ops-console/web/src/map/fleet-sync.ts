/**
 * The model's changed trucks → the fleet buffer, a time budget per frame. A big fleet changes
 * 12,500 trucks per update (50,000 at 1 Hz in four parts); writing them all in one frame was the
 * fleet's longest main-thread task (up to 170 ms on a loaded 2-core box). Each frame writes at most
 * `budgetMs` worth and leaves the rest for the next frame; a truck changed again meanwhile is
 * written once, with its newest fix (the model merged it). The animation starts from where a truck
 * is drawn when it is written, so a truck written a frame later does not jump.
 */
import type { LiveModel } from '../live/model';
import type { LiveState } from '../../../shared/live';
import type { GpsFix, TruckEvent } from '../../../../contract';
import { truckState, type TruckStateInput } from '../colors';
import type { FleetBuffer } from './fleet-buffer';

/** default main-thread budget per frame for writing changed trucks (ms) */
export const FLEET_SYNC_BUDGET_MS = 6;
/** trucks written between two clock reads */
const CHECK_EVERY = 64;

export interface FleetSyncStats {
  /** steps that wrote something, ms spent in them, trucks written */
  applies: number;
  applyMs: number;
  lastApplyMs: number;
  applied: number;
  /** steps that stopped at the budget with trucks left for the next frame */
  deferred: number;
}

/** The inputs of `truckState` for a device, written into `out`. */
export function truckInput(s: LiveState, out: TruckStateInput): TruckStateInput {
  out.online = s.online;
  out.gps = s.latest.gps?.data as GpsFix | undefined;
  out.event = s.latest.event?.data as TruckEvent | undefined;
  out.lastSeen = s.lastSeen;
  return out;
}

export class FleetSync {
  /** trucks taken from the model and not yet written */
  private pending: Set<string> = new Set();
  /** aging pass (state recomputed for every truck: trucks go offline without messages): next slot, or -1 */
  private ageCursor = -1;
  private readonly input: TruckStateInput = {};
  readonly stats: FleetSyncStats = { applies: 0, applyMs: 0, lastApplyMs: 0, applied: 0, deferred: 0 };

  constructor(
    private readonly model: LiveModel,
    private readonly fleet: FleetBuffer,
    private readonly budgetMs = FLEET_SYNC_BUDGET_MS,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** trucks still to write */
  get backlog(): number {
    return this.pending.size;
  }

  /** Recompute every truck's state colour over the next frames (within the same budget). */
  startAging(): void {
    this.ageCursor = 0;
  }
  get agingPending(): boolean {
    return this.ageCursor >= 0;
  }

  /**
   * Write changed trucks until the budget is spent. Returns true when trucks are left for the
   * next frame (the caller draws again).
   */
  step(): boolean {
    const dirty = this.model.takeDirty('truck');
    if (dirty.size) {
      if (this.pending.size === 0) this.pending = dirty;
      else for (const id of dirty) this.pending.add(id);
    }
    if (this.pending.size === 0 && this.ageCursor < 0) return false;
    const t0 = this.clock();
    const now = Date.now();
    const model = this.model;
    const fleet = this.fleet;
    // the fleet's clock once per step (a step lasts a few ms), not once per truck
    const drawNow = fleet.clock();
    let written = 0;
    let over = false;
    for (const id of this.pending) {
      this.pending.delete(id);
      const s = model.devices.get(id);
      const gps = s?.latest.gps?.data as GpsFix | undefined;
      if (!s || !gps) fleet.remove(id);
      else fleet.set(id, gps.lon, gps.lat, gps.ts, gps.heading, truckState(truckInput(s, this.input), now), drawNow);
      if (++written % CHECK_EVERY === 0 && this.clock() - t0 >= this.budgetMs) {
        over = true;
        break;
      }
    }
    if (!over && this.ageCursor >= 0) {
      const ids = fleet.ids;
      let k = 0;
      while (this.ageCursor < fleet.size) {
        const id = ids[this.ageCursor++]!;
        const s = model.devices.get(id);
        if (s) fleet.setState(id, truckState(truckInput(s, this.input), now));
        if (++k % CHECK_EVERY === 0 && this.clock() - t0 >= this.budgetMs) break;
      }
      if (this.ageCursor >= fleet.size) this.ageCursor = -1;
      else over = true;
    }
    const ms = this.clock() - t0;
    if (written) {
      this.stats.applies++;
      this.stats.applied += written;
      this.stats.applyMs += ms;
      this.stats.lastApplyMs = ms;
    }
    if (over) this.stats.deferred++;
    return this.pending.size > 0 || this.ageCursor >= 0;
  }
}
