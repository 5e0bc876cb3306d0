/**
 * GeoJSON for the live layers, built from the LiveModel. One source per layer; each device has
 * one feature object, updated in place when its device is dirty, so a flush costs O(changed)
 * property work plus one array of references for `setData`. Feature ids are promoted from
 * `properties.id` (`promoteId: 'id'`) for feature-state and popups.
 */
import type { FeatureCollection, Feature, Point, LineString } from 'geojson';
import type { AirReading, GpsFix, NoiseReading, TruckEvent } from '../../../../contract';
import { airCategory, noiseLevel, truckState } from '../colors';
import { layoutCameras, type CameraLayout } from '../map/cameras-layer';
import type { LayerKey, LiveModel, Trail } from './model';
import { CITY_TZ } from '../../../../norms/local-time';

export interface TruckProps {
  id: string;
  state: string;
  heading: number;
  speed: number;
}
export interface AirProps {
  id: string;
  cat: string;
}
export interface NoiseProps {
  id: string;
  level: string;
  laeq: number;
  limit: number;
}
/** offset: the icon's place beside the other cameras of its entrance (map/cameras-layer.ts), CSS px */
export interface CameraProps {
  id: string;
  reads: number;
  plate: string;
  offset: [number, number];
}

type AnyProps = TruckProps | AirProps | NoiseProps | CameraProps;

export class LayerFeatures<P extends AnyProps> {
  private readonly byId = new Map<string, Feature<Point, P>>();
  private list: Feature<Point, P>[] | null = null;
  get size(): number {
    return this.byId.size;
  }
  set(id: string, f: Feature<Point, P> | null): void {
    if (f) this.byId.set(id, f);
    else if (!this.byId.delete(id)) return;
    this.list = null; // the array of references is rebuilt lazily, once per flush
  }
  get(id: string): Feature<Point, P> | undefined {
    return this.byId.get(id);
  }
  collection(): FeatureCollection<Point, P> {
    if (!this.list) this.list = [...this.byId.values()];
    return { type: 'FeatureCollection', features: this.list };
  }
}

const point = <P>(lon: number, lat: number, props: P): Feature<Point, P> => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: props });

/** Builds and caches each layer's features; `update(kind)` applies the model's dirty set. */
export class LiveFeatures {
  readonly truck = new LayerFeatures<TruckProps>();
  readonly air = new LayerFeatures<AirProps>();
  readonly noise = new LayerFeatures<NoiseProps>();
  readonly camera = new LayerFeatures<CameraProps>();
  /** cameras spread per entrance; re-laid whenever cameras change (the registry's metadata marks them all) */
  private cameraLayout: CameraLayout | null = null;
  private cameraKey = '';
  constructor(
    private readonly model: LiveModel,
    private readonly timeZone = CITY_TZ,
  ) {}

  /** Rebuild the features of dirty devices; returns whether the layer changed. */
  update(kind: LayerKey, now: number): boolean {
    const dirty = this.model.takeDirty(kind);
    if (kind === 'truck') return this.updateTrucks(dirty, now);
    if (kind === 'camera' && dirty.size) this.relayCameras();
    for (const id of dirty) this.build(kind, id);
    return dirty.size > 0;
  }

  private updateTrucks(dirty: Set<string>, now: number): boolean {
    let changed = dirty.size > 0;
    for (const id of dirty) this.build('truck', id, now);
    // state can age into 'offline' with no message at all
    for (const [id, f] of this.byIdEntries(this.truck)) {
      if (dirty.has(id) || !this.model.devices.has(id)) continue;
      if (truckState(this.truckInput(id), now) !== f.properties.state) {
        this.build('truck', id, now);
        changed = true;
      }
    }
    return changed;
  }

  private byIdEntries<P extends AnyProps>(layer: LayerFeatures<P>): [string, Feature<Point, P>][] {
    return layer.collection().features.map((f) => [f.properties.id, f]);
  }

  private truckInput(id: string) {
    const s = this.model.devices.get(id)!;
    const gps = s.latest.gps?.data as GpsFix | undefined;
    const ev = s.latest.event?.data as TruckEvent | undefined;
    return { online: s.online, gps: gps && { ts: gps.ts, speedKmh: gps.speedKmh }, event: ev && { ts: ev.ts, type: ev.type }, lastSeen: s.lastSeen };
  }

  private build(kind: LayerKey, id: string, now = Date.now()): void {
    const s = this.model.devices.get(id);
    const meta = this.model.meta.get(id);
    if (kind === 'truck') {
      const gps = s?.latest.gps?.data as GpsFix | undefined;
      if (!s || !gps) return this.truck.set(id, null);
      const state = truckState(this.truckInput(id), now);
      const f = this.truck.get(id);
      if (f) {
        // in place: setData sends the whole collection anyway; no allocation per update
        f.geometry.coordinates[0] = gps.lon;
        f.geometry.coordinates[1] = gps.lat;
        f.properties.state = state;
        f.properties.heading = gps.heading;
        f.properties.speed = gps.speedKmh;
      } else this.truck.set(id, point(gps.lon, gps.lat, { id, state, heading: gps.heading, speed: gps.speedKmh }));
      return;
    }
    const loc = meta?.location;
    if (!loc) {
      this.layer(kind).set(id, null);
      return;
    }
    if (kind === 'air') {
      const r = s?.latest.air?.data as AirReading | undefined;
      const stale = s?.online === false;
      this.air.set(id, point(loc.lon, loc.lat, { id, cat: stale ? 'none' : (airCategory(r) ?? 'none') }));
    } else if (kind === 'noise') {
      const r = s?.latest.noise?.data as NoiseReading | undefined;
      const { level, limit } = noiseLevel(r, meta?.noiseZone, this.timeZone);
      this.noise.set(id, point(loc.lon, loc.lat, { id, level: s?.online === false ? 'none' : level, laeq: r?.laeq ?? 0, limit: limit ?? 0 }));
    } else {
      const reads = this.model.plates.get(id) ?? [];
      const layout = this.cameraLayout ?? this.relayCameras();
      const [lon, lat] = layout.anchors.get(id) ?? [loc.lon, loc.lat];
      this.camera.set(id, point(lon, lat, { id, reads: reads.length, plate: reads[0]?.plate ?? '', offset: layout.offsets.get(id) ?? [0, 0] }));
    }
  }

  /** one label point per entrance (its road's name) */
  cameraLabels(): CameraLayout['labels'] {
    return this.relayCameras().labels;
  }

  /** the cameras' layout, computed again only when the registry's cameras changed */
  private relayCameras(): CameraLayout {
    let key = '';
    for (const m of this.model.meta.values()) if (m.kind === 'camera' && m.location) key += `${m.id}|${m.location.lon}|${m.location.lat}|${m.camera?.road ?? ''}|${m.camera?.direction ?? ''};`;
    if (!this.cameraLayout || key !== this.cameraKey) {
      this.cameraKey = key;
      this.cameraLayout = layoutCameras(this.model.meta.values());
    }
    return this.cameraLayout;
  }

  private layer(kind: LayerKey): LayerFeatures<AnyProps> {
    return this[kind] as unknown as LayerFeatures<AnyProps>;
  }

  /** Trails as LineStrings (only trucks with at least two points); only of `ids` when given. */
  trails(ids?: Iterable<string>): FeatureCollection<LineString, { id: string }> {
    const features: Feature<LineString, { id: string }>[] = [];
    const list: Iterable<[string, Trail | undefined]> = ids ? [...ids].map((id) => [id, this.model.trails.get(id)] as [string, Trail | undefined]) : this.model.trails;
    for (const [id, tr] of list) {
      if (!tr || tr.length < 2) continue;
      features.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: tr.coordinates() }, properties: { id } });
    }
    return { type: 'FeatureCollection', features };
  }
}
