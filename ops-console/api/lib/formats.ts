/** Track formats: GeoJSON (a LineString Feature with per-point times) and GPX 1.1. */
import type { TrackPoint } from '../../../store/types';

export function trackGeoJson(deviceId: string, pts: TrackPoint[]) {
  return {
    type: 'Feature' as const,
    geometry: { type: 'LineString' as const, coordinates: pts.map((p) => [p.lon, p.lat]) },
    properties: { deviceId, times: pts.map((p) => p.ts), speedsKmh: pts.map((p) => p.speedKmh) },
  };
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

export const gpxHeader = (name: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="city-ops-center" xmlns="http://www.topografix.com/GPX/1/1">\n<trk><name>${esc(name)}</name><trkseg>\n`;
export const gpxPoint = (p: TrackPoint) => `<trkpt lat="${p.lat}" lon="${p.lon}"><time>${new Date(p.ts).toISOString()}</time></trkpt>\n`;
export const gpxFooter = '</trkseg></trk>\n</gpx>\n';
