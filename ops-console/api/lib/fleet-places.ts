/**
 * A place in words for a point of a truck's track: the nearest street of the city model within
 * `placeRadiusM` (its district from the street), else the district polygon it falls in, and the
 * depot when within `depotRadiusM` of one. A grid of ~250 m cells keeps a lookup to the streets
 * near the point (the demo city has ~750 street segments; a report looks up thousands of points).
 */
import type { City, Position } from '../../../city/city';
import { distanceM, pointInPolygonGeometry, pointSegmentDistanceM } from '../../../contract/geo';
import type { FleetPlace } from '../../shared/fleet-report';

const CELL_DEG = 0.0025;
type Seg = { a: Position; b: Position; name: string; district: string };

export class PlaceIndex {
  private readonly cells = new Map<string, Seg[]>();
  private readonly reach: number;

  constructor(
    private readonly city: City | null,
    private readonly placeRadiusM: number,
    private readonly depotRadiusM: number,
  ) {
    // cells a street's bounding box touches, widened by the radius
    this.reach = Math.ceil(placeRadiusM / 111_000 / CELL_DEG) + 1;
    for (const f of city?.streets.features ?? []) {
      const c = f.geometry.coordinates as Position[];
      for (let i = 1; i < c.length; i++) {
        const seg: Seg = { a: c[i - 1]!, b: c[i]!, name: f.properties.name, district: f.properties.district };
        const [x0, x1] = [Math.min(seg.a[0], seg.b[0]), Math.max(seg.a[0], seg.b[0])].map((v) => Math.floor(v / CELL_DEG));
        const [y0, y1] = [Math.min(seg.a[1], seg.b[1]), Math.max(seg.a[1], seg.b[1])].map((v) => Math.floor(v / CELL_DEG));
        for (let x = x0!; x <= x1!; x++)
          for (let y = y0!; y <= y1!; y++) {
            const k = `${x}|${y}`;
            const list = this.cells.get(k);
            if (list) list.push(seg);
            else this.cells.set(k, [seg]);
          }
      }
    }
  }

  place(lat: number, lon: number): FleetPlace {
    const p: Position = [lon, lat];
    let best: Seg | null = null;
    let bestD = this.placeRadiusM;
    const cx = Math.floor(lon / CELL_DEG);
    const cy = Math.floor(lat / CELL_DEG);
    for (let x = cx - this.reach; x <= cx + this.reach; x++)
      for (let y = cy - this.reach; y <= cy + this.reach; y++)
        for (const s of this.cells.get(`${x}|${y}`) ?? []) {
          const d = pointSegmentDistanceM(p, s.a, s.b);
          if (d <= bestD) {
            bestD = d;
            best = s;
          }
        }
    const district = best?.district ?? this.city?.districts.features.find((f) => pointInPolygonGeometry(p, f.geometry as never))?.properties.name ?? null;
    const depot = this.city?.depots.find((d) => distanceM(p, [d.lon, d.lat]) <= this.depotRadiusM)?.name ?? null;
    return { lat: round6(lat), lon: round6(lon), street: best?.name ?? null, district, depot };
  }
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;
