/**
 * Replay, pure parts: position of a vehicle at time t on its track (binary search + linear
 * interpolation), stops detected from the track, the shared time range of several tracks, and
 * zoom-dependent simplification (@turf/simplify) so a month of fixes draws as a few thousand points.
 */
import simplify from '@turf/simplify';
import type { Feature, LineString } from 'geojson';

export interface Fix {
  ts: number;
  lat: number;
  lon: number;
  speedKmh: number;
  heading: number;
}

/** Interpolated position and heading at time t; null outside the track. */
export function positionAt(track: Fix[], t: number): { lon: number; lat: number; heading: number; speedKmh: number } | null {
  if (!track.length || t < track[0]!.ts || t > track[track.length - 1]!.ts) return null;
  let lo = 0;
  let hi = track.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (track[mid]!.ts <= t) lo = mid;
    else hi = mid;
  }
  const a = track[lo]!;
  const b = track[hi]!;
  if (b.ts === a.ts) return { lon: a.lon, lat: a.lat, heading: a.heading, speedKmh: a.speedKmh };
  const k = Math.min(1, Math.max(0, (t - a.ts) / (b.ts - a.ts)));
  return { lon: a.lon + (b.lon - a.lon) * k, lat: a.lat + (b.lat - a.lat) * k, heading: k < 0.5 ? a.heading : b.heading, speedKmh: a.speedKmh + (b.speedKmh - a.speedKmh) * k };
}

/** Stops: runs of fixes below `maxKmh` lasting at least `minMs`. */
export function detectStops(track: Fix[], minMs = 120_000, maxKmh = 2): { from: number; to: number; lon: number; lat: number }[] {
  const out: { from: number; to: number; lon: number; lat: number }[] = [];
  let start = -1;
  for (let i = 0; i <= track.length; i++) {
    const slow = i < track.length && track[i]!.speedKmh < maxKmh;
    if (slow && start < 0) start = i;
    if (!slow && start >= 0) {
      const a = track[start]!;
      const b = track[i - 1]!;
      if (b.ts - a.ts >= minMs) out.push({ from: a.ts, to: b.ts, lon: a.lon, lat: a.lat });
      start = -1;
    }
  }
  return out;
}

export function sharedRange(tracks: Fix[][]): { from: number; to: number } | null {
  let from = Infinity;
  let to = -Infinity;
  for (const tr of tracks) {
    if (!tr.length) continue;
    from = Math.min(from, tr[0]!.ts);
    to = Math.max(to, tr[tr.length - 1]!.ts);
  }
  return from <= to ? { from, to } : null;
}

/** Simplification tolerance (degrees) for a zoom level: about one screen pixel. */
export const toleranceForZoom = (zoom: number): number => 360 / (256 * 2 ** zoom);

export function simplifiedLine(track: Fix[], zoom: number): Feature<LineString> {
  const line: Feature<LineString> = { type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: track.map((p) => [p.lon, p.lat]) } };
  if (track.length < 3) return line;
  return simplify(line, { tolerance: toleranceForZoom(zoom), highQuality: false, mutate: false });
}
