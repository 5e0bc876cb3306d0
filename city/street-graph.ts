/**
 * The street network as a graph: nodes are segment ends (matched by coordinates), edges are
 * street segments. Shortest paths (Dijkstra by length) and the collection-route builder used by
 * the demo city generator and the OpenStreetMap importer.
 */
import type { City, Position, Route, StreetClass, StreetFeature } from './city';
import { bearingDeg, distanceM, lineLengthM } from '../contract/geo';
import type { Rng } from '../lib/rng';

export interface Edge {
  segmentId: string;
  a: string;
  b: string;
  lengthM: number;
  cls: StreetClass;
  district: string;
}

const key = (p: Position) => `${p[0].toFixed(6)},${p[1].toFixed(6)}`;

export class StreetGraph {
  readonly nodes = new Map<string, Position>();
  readonly adj = new Map<string, Edge[]>();
  readonly edges = new Map<string, Edge>();

  constructor(streets: StreetFeature[]) {
    for (const f of streets) {
      const c = f.geometry.coordinates as Position[];
      const a = key(c[0]!);
      const b = key(c[c.length - 1]!);
      this.nodes.set(a, c[0]!);
      this.nodes.set(b, c[c.length - 1]!);
      const e: Edge = { segmentId: f.properties.segmentId, a, b, lengthM: lineLengthM(c), cls: f.properties.class, district: f.properties.district };
      this.edges.set(e.segmentId, e);
      if (a === b) continue;
      for (const n of [a, b]) {
        let l = this.adj.get(n);
        if (!l) this.adj.set(n, (l = []));
        l.push(e);
      }
    }
  }

  static of(city: Pick<City, 'streets'>): StreetGraph {
    return new StreetGraph(city.streets.features);
  }

  other(e: Edge, n: string): string {
    return e.a === n ? e.b : e.a;
  }

  /** Node nearest to a position (linear scan; a few thousand nodes). */
  nearestNode(p: Position, filter?: (n: string) => boolean): string {
    let best = '';
    let bestD = Infinity;
    for (const [k, q] of this.nodes) {
      if (!this.adj.has(k) || (filter && !filter(k))) continue;
      const d = distanceM(p, q);
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    return best;
  }

  /** Shortest path a → b as a list of edges, or null when unreachable. */
  shortestPath(from: string, to: string): Edge[] | null {
    if (from === to) return [];
    const dist = new Map<string, number>([[from, 0]]);
    const prev = new Map<string, Edge>();
    const done = new Set<string>();
    // small binary heap
    const heap: [number, string][] = [[0, from]];
    const push = (x: [number, string]) => {
      heap.push(x);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heap[p]![0] <= heap[i]![0]) break;
        [heap[p], heap[i]] = [heap[i]!, heap[p]!];
        i = p;
      }
    };
    const pop = (): [number, string] => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1,
            r = l + 1;
          let m = i;
          if (l < heap.length && heap[l]![0] < heap[m]![0]) m = l;
          if (r < heap.length && heap[r]![0] < heap[m]![0]) m = r;
          if (m === i) break;
          [heap[m], heap[i]] = [heap[i]!, heap[m]!];
          i = m;
        }
      }
      return top;
    };
    while (heap.length) {
      const [d, n] = pop();
      if (done.has(n)) continue;
      done.add(n);
      if (n === to) break;
      for (const e of this.adj.get(n) ?? []) {
        const m = this.other(e, n);
        // prefer bigger roads for transit: residential streets cost a little more
        const w = e.lengthM * (e.cls === 'primary' ? 0.8 : e.cls === 'secondary' ? 0.9 : 1.1);
        const nd = d + w;
        if (nd < (dist.get(m) ?? Infinity)) {
          dist.set(m, nd);
          prev.set(m, e);
          push([nd, m]);
        }
      }
    }
    if (!prev.has(to)) return null;
    const path: Edge[] = [];
    let n = to;
    while (n !== from) {
      const e = prev.get(n)!;
      path.push(e);
      n = this.other(e, n);
    }
    return path.reverse();
  }

  /** Nodes reachable from `start`. */
  component(start: string): Set<string> {
    const seen = new Set([start]);
    const stack = [start];
    while (stack.length) {
      const n = stack.pop()!;
      for (const e of this.adj.get(n) ?? []) {
        const m = this.other(e, n);
        if (!seen.has(m)) {
          seen.add(m);
          stack.push(m);
        }
      }
    }
    return seen;
  }
}

export interface RoutePlan {
  id: string;
  depotId: string;
  depotNode: string;
  district: string;
  /** collection starts near this node */
  startNode: string;
  /** segments to collect (a walk that prefers unvisited streets and going straight) */
  collectSegments: number;
  shiftStart: number;
  shiftHours: number;
}

/**
 * Build a route: shortest path depot → start, a collection walk over `collectSegments` streets
 * of the district (unvisited first, straight ahead preferred, like a crew sweeping blocks), then
 * the shortest path back to the depot.
 */
export function buildRoute(g: StreetGraph, plan: RoutePlan, rng: Rng, visitedGlobal = new Set<string>()): Route | null {
  const out = g.shortestPath(plan.depotNode, plan.startNode);
  if (!out) return null;
  const segs: string[] = out.map((e) => e.segmentId);
  const collectFrom = segs.length;
  let node = plan.startNode;
  let heading: number | null = null;
  const visited = new Set<string>();
  for (let i = 0; i < plan.collectSegments; i++) {
    const options = g.adj.get(node) ?? []; // turning back is allowed (penalised below): crews turn at the district's edge
    if (!options.length) break;
    const here = g.nodes.get(node)!;
    let best: Edge | null = null;
    let bestScore = -Infinity;
    for (const e of options) {
      const m = g.other(e, node);
      const h = bearingDeg(here, g.nodes.get(m)!);
      let score = rng() * 0.5;
      if (!visited.has(e.segmentId)) score += 4;
      if (!visitedGlobal.has(e.segmentId)) score += 1;
      score += e.district === plan.district ? 2 : -10;
      if (e.cls === 'residential') score += 1;
      if (e.cls === 'primary') score -= 1;
      if (heading !== null) {
        const turn = Math.abs(((h - heading + 540) % 360) - 180);
        score += turn < 30 ? 1.2 : turn < 120 ? 0.6 : -2;
      }
      if (score > bestScore) {
        bestScore = score;
        best = e;
      }
    }
    const e = best!;
    const m = g.other(e, node);
    heading = bearingDeg(here, g.nodes.get(m)!);
    visited.add(e.segmentId);
    visitedGlobal.add(e.segmentId);
    segs.push(e.segmentId);
    node = m;
  }
  const collectTo = segs.length - 1;
  if (collectTo < collectFrom) return null;
  const back = g.shortestPath(node, plan.depotNode);
  if (!back) return null;
  segs.push(...back.map((e) => e.segmentId));
  const lengthM = Math.round(segs.reduce((s, id) => s + g.edges.get(id)!.lengthM, 0));
  return { id: plan.id, depotId: plan.depotId, district: plan.district, segments: segs, collectFrom, collectTo, shiftStart: plan.shiftStart, shiftHours: plan.shiftHours, lengthM };
}

/** Oriented polyline of a route: each segment flipped as needed so the path is continuous. */
export function routePolyline(city: City, route: Route, start?: Position): { coords: Position[]; segmentStartIdx: number[] } {
  const idx = new Map(city.streets.features.map((f) => [f.properties.segmentId, f]));
  const coords: Position[] = [];
  const segmentStartIdx: number[] = [];
  let cur: Position | undefined = start;
  for (const id of route.segments) {
    const f = idx.get(id);
    if (!f) throw new Error(`route ${route.id}: unknown segment ${id}`);
    let c = f.geometry.coordinates as Position[];
    if (cur) {
      const dA = distanceM(cur, c[0]!);
      const dB = distanceM(cur, c[c.length - 1]!);
      if (dB < dA) c = [...c].reverse();
    } else if (route.segments.length > 1) {
      // orient the first segment towards the second
      const n = idx.get(route.segments[1]!)!.geometry.coordinates as Position[];
      const ends = [n[0]!, n[n.length - 1]!];
      const dEnd = Math.min(...ends.map((p) => distanceM(p, c[c.length - 1]!)));
      const dStart = Math.min(...ends.map((p) => distanceM(p, c[0]!)));
      if (dStart < dEnd) c = [...c].reverse();
    }
    segmentStartIdx.push(coords.length === 0 ? 0 : coords.length - 1);
    if (coords.length === 0) coords.push(...c);
    else coords.push(...c.slice(1));
    cur = c[c.length - 1]!;
  }
  return { coords, segmentStartIdx };
}
