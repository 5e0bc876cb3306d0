/**
 * Route coverage: which planned street segments a truck's track served. A segment is served when
 * the track passes within `radiusM` (default 25 m) of it: the shortest distance between any piece
 * of the track polyline and any piece of the segment's line. Planar geometry on a local
 * equirectangular projection (errors ≪ 1 m at city scale).
 */
export type LonLat = [number, number];
type XY = [number, number];

export const SERVED_RADIUS_M = 25;
const R = 6_371_008.8;

export function projector(lat0: number): (p: LonLat) => XY {
  const kx = (Math.PI / 180) * R * Math.cos((lat0 * Math.PI) / 180);
  const ky = (Math.PI / 180) * R;
  return ([lon, lat]) => [lon * kx, lat * ky];
}

function pointSegDist2(p: XY, a: XY, b: XY): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  let t = len2 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2 : 0;
  t = Math.max(0, Math.min(1, t));
  const x = a[0] + t * dx - p[0];
  const y = a[1] + t * dy - p[1];
  return x * x + y * y;
}

function cross(o: XY, a: XY, b: XY): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/** Squared distance between segments ab and cd (0 when they cross). */
export function segSegDist2(a: XY, b: XY, c: XY, d: XY): number {
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return 0;
  return Math.min(pointSegDist2(a, c, d), pointSegDist2(b, c, d), pointSegDist2(c, a, b), pointSegDist2(d, a, b));
}

export interface PlannedSegment {
  segmentId: string;
  name?: string;
  coordinates: LonLat[];
}

export interface CoverageResult {
  planned: number;
  served: number;
  /** served / planned (0..1); 1 when nothing is planned */
  share: number;
  missed: { segmentId: string; name?: string }[];
}

/** Split a track (time-ordered) where the gap between fixes is over `maxGapMs` (no straight line is drawn across a gap). */
export function splitRuns(points: { ts: number; lon: number; lat: number }[], maxGapMs = 120_000): LonLat[][] {
  const runs: LonLat[][] = [];
  let run: LonLat[] = [];
  let prev = -Infinity;
  for (const p of points) {
    if (p.ts - prev > maxGapMs && run.length) {
      runs.push(run);
      run = [];
    }
    run.push([p.lon, p.lat]);
    prev = p.ts;
  }
  if (run.length) runs.push(run);
  return runs;
}

/** Which of `segments` the track runs (each a polyline in time order) pass within `radiusM` of. */
export function coverage(runs: LonLat[][], segments: PlannedSegment[], radiusM = SERVED_RADIUS_M): CoverageResult {
  const lat0 = segments[0]?.coordinates[0]?.[1] ?? runs[0]?.[0]?.[1] ?? 0;
  const proj = projector(lat0);
  // track pieces (a lone point counts as a zero-length piece) with their boxes
  const pieces: { a: XY; b: XY; minX: number; maxX: number; minY: number; maxY: number }[] = [];
  for (const run of runs) {
    const t = run.map(proj);
    for (let i = 0; i < Math.max(1, t.length - 1); i++) {
      const a = t[i]!;
      const b = t[i + 1] ?? a;
      pieces.push({ a, b, minX: Math.min(a[0], b[0]), maxX: Math.max(a[0], b[0]), minY: Math.min(a[1], b[1]), maxY: Math.max(a[1], b[1]) });
    }
  }
  const r2 = radiusM * radiusM;
  const missed: CoverageResult['missed'] = [];
  let served = 0;
  for (const s of segments) {
    const line = s.coordinates.map(proj);
    let hit = false;
    for (let i = 0; i < line.length - 1 && !hit; i++) {
      const c = line[i]!;
      const d = line[i + 1]!;
      const minX = Math.min(c[0], d[0]) - radiusM;
      const maxX = Math.max(c[0], d[0]) + radiusM;
      const minY = Math.min(c[1], d[1]) - radiusM;
      const maxY = Math.max(c[1], d[1]) + radiusM;
      for (const p of pieces) {
        if (p.maxX < minX || p.minX > maxX || p.maxY < minY || p.minY > maxY) continue;
        if (segSegDist2(p.a, p.b, c, d) <= r2) {
          hit = true;
          break;
        }
      }
    }
    if (hit) served++;
    else missed.push({ segmentId: s.segmentId, ...(s.name ? { name: s.name } : {}) });
  }
  return { planned: segments.length, served, share: segments.length ? served / segments.length : 1, missed };
}
