/** Small planar helpers for city-sized areas (equirectangular metres around a reference latitude). Browser-safe. */

/** [lon, lat], WGS84 (the city file's and GeoJSON's order). */
export type Position = [number, number];

const R = 6_371_008.8;
const rad = Math.PI / 180;

/** Great-circle distance in metres. */
export function distanceM(a: Position, b: Position): number {
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(s)));
}

/** Initial bearing a → b, degrees from true north in [0, 360). */
export function bearingDeg(a: Position, b: Position): number {
  const φ1 = a[1] * rad;
  const φ2 = b[1] * rad;
  const Δλ = (b[0] - a[0]) * rad;
  const y = Math.sin(Δλ) * Math.cos(φ2);
  const x = Math.cos(φ1) * Math.sin(φ2) - Math.sin(φ1) * Math.cos(φ2) * Math.cos(Δλ);
  return (((Math.atan2(y, x) / rad) % 360) + 360) % 360;
}

/** Offset a position by metres east / north. */
export function offsetM(p: Position, eastM: number, northM: number): Position {
  return [p[0] + eastM / (R * rad * Math.cos(p[1] * rad)), p[1] + northM / (R * rad)];
}

export function lineLengthM(coords: Position[]): number {
  let d = 0;
  for (let i = 1; i < coords.length; i++) d += distanceM(coords[i - 1]!, coords[i]!);
  return d;
}

/** Distance in metres from p to the segment a–b (planar approximation, fine at city scale). */
export function pointSegmentDistanceM(p: Position, a: Position, b: Position): number {
  const kx = R * rad * Math.cos(p[1] * rad);
  const ky = R * rad;
  const ax = (a[0] - p[0]) * kx,
    ay = (a[1] - p[1]) * ky;
  const bx = (b[0] - p[0]) * kx,
    by = (b[1] - p[1]) * ky;
  const dx = bx - ax,
    dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
  const x = ax + t * dx,
    y = ay + t * dy;
  return Math.hypot(x, y);
}

export function pointLineDistanceM(p: Position, coords: Position[]): number {
  let best = Infinity;
  for (let i = 1; i < coords.length; i++) best = Math.min(best, pointSegmentDistanceM(p, coords[i - 1]!, coords[i]!));
  return best;
}

/** Ray-casting point-in-polygon on the outer ring (holes ignored). */
export function pointInRing(p: Position, ring: Position[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function pointInPolygonGeometry(p: Position, g: { type: 'Polygon'; coordinates: Position[][] } | { type: 'MultiPolygon'; coordinates: Position[][][] }): boolean {
  if (g.type === 'Polygon') return pointInRing(p, g.coordinates[0]!);
  return g.coordinates.some((poly) => pointInRing(p, poly[0]!));
}
