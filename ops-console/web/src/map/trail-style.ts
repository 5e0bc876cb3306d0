/**
 * Truck trails on the live map: a bright cyan line fading in from the tail (never fully
 * transparent, so the whole recent path reads), on a dark casing that keeps it visible over
 * light and dark basemaps alike. Widths grow with zoom.
 */
import type { ExpressionSpecification } from 'maplibre-gl';

/** line width (px) by zoom: [zoom, width] stops */
export const TRAIL_WIDTH_STOPS: readonly [number, number][] = [
  [11, 5],
  [14, 7],
  [16, 11],
];
/** the casing is this many px wider than the trail */
export const TRAIL_CASING_EXTRA = 3;
/** colours along the trail: tail (oldest) → head (newest) */
export const TRAIL_TAIL = 'rgba(34,211,238,0.45)';
export const TRAIL_HEAD = 'rgba(236,254,255,1)';
export const TRAIL_CASING = 'rgba(8,47,73,0.85)';

const byZoom = (extra = 0) => ['interpolate', ['linear'], ['zoom'], ...TRAIL_WIDTH_STOPS.flatMap(([z, w]) => [z, w + extra])] as unknown as ExpressionSpecification;

export const trailPaint = () => ({
  'line-width': byZoom(),
  'line-gradient': ['interpolate', ['linear'], ['line-progress'], 0, TRAIL_TAIL, 0.6, 'rgba(103,232,249,0.9)', 1, TRAIL_HEAD] as unknown as ExpressionSpecification,
});
export const trailCasingPaint = () => ({
  'line-width': byZoom(TRAIL_CASING_EXTRA),
  'line-color': TRAIL_CASING,
  'line-blur': 0.5,
});
