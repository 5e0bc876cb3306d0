/**
 * Offline MapLibre style built at runtime from the city's basemap: background, water, districts
 * and streets as fill/line layers, street names as symbol labels along the lines from street zoom
 * on. Glyphs are the bundled SDF PBFs on the console's own origin (glyphs.ts); no sprite, no tile
 * server, no CDN. District names are HTML markers. A configured MAP_STYLE_URL replaces this style.
 */
import type { StyleSpecification } from 'maplibre-gl';
import type { Basemap } from './types';
import { glyphsUrl, LABEL_FONT } from './glyphs';

export const BASEMAP_COLORS = {
  background: '#0b1220',
  land: '#111a2b',
  water: '#0a2a4a',
  districtLine: '#3b4a66',
  primary: '#8a9bb8',
  secondary: '#5f6f8c',
  residential: '#39465e',
  label: '#cbd5e1',
  labelHalo: '#0b1220',
} as const;

/** Street names from this zoom on (primary streets one zoom earlier). */
export const STREET_LABEL_MINZOOM = 15;
export const STREET_LABEL_LAYERS = ['streets-label-primary', 'streets-label'] as const;

export const BASEMAP_SOURCES = { water: 'city-water', districts: 'city-districts', streets: 'city-streets', districtLabels: 'city-district-labels' } as const;
/** district names: a symbol layer (collision-aware) when the style has the bundled glyphs; HTML markers otherwise */
export const DISTRICT_LABEL_LAYER = 'district-labels';

/**
 * `base`: the page's base URL (document.baseURI); the glyphs are fetched from that origin. Without
 * it the style has no glyphs and no street names (nothing to fetch at all; the map benchmark).
 */
export function buildOfflineStyle(basemap: Basemap, base?: string): StyleSpecification {
  const c = BASEMAP_COLORS;
  const label = (id: string, filter: unknown, minzoom: number, size: [number, number]) => ({
    id,
    type: 'symbol' as const,
    source: BASEMAP_SOURCES.streets,
    minzoom,
    filter: filter as never,
    layout: {
      'symbol-placement': 'line' as const,
      'text-field': ['get', 'name'] as never,
      'text-font': LABEL_FONT,
      'text-size': ['interpolate', ['linear'], ['zoom'], minzoom, size[0], 18, size[1]] as never,
      'text-max-angle': 35,
      'symbol-spacing': 320,
      'text-padding': 4,
      'text-letter-spacing': 0.02,
    },
    paint: { 'text-color': c.label, 'text-halo-color': c.labelHalo, 'text-halo-width': 1.6, 'text-halo-blur': 0.3 },
  });
  return {
    version: 8,
    name: `${basemap.name} (offline)`,
    ...(base ? { glyphs: glyphsUrl(base) } : {}),
    center: basemap.center,
    zoom: 13,
    sources: {
      [BASEMAP_SOURCES.water]: { type: 'geojson', data: basemap.water as GeoJSON.FeatureCollection },
      [BASEMAP_SOURCES.districts]: { type: 'geojson', data: basemap.districts as GeoJSON.FeatureCollection },
      [BASEMAP_SOURCES.streets]: { type: 'geojson', data: basemap.streets as GeoJSON.FeatureCollection, promoteId: 'segmentId' },
      ...(base
        ? {
            [BASEMAP_SOURCES.districtLabels]: {
              type: 'geojson' as const,
              data: {
                type: 'FeatureCollection',
                features: districtLabelPoints(basemap).map((d) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: d.lngLat }, properties: { name: d.name } })),
              } as GeoJSON.FeatureCollection,
            },
          }
        : {}),
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': c.background } },
      { id: 'districts-fill', type: 'fill', source: BASEMAP_SOURCES.districts, paint: { 'fill-color': c.land, 'fill-opacity': 1 } },
      { id: 'water', type: 'fill', source: BASEMAP_SOURCES.water, paint: { 'fill-color': c.water } },
      { id: 'districts-line', type: 'line', source: BASEMAP_SOURCES.districts, paint: { 'line-color': c.districtLine, 'line-width': 1.5, 'line-dasharray': [3, 2] } },
      {
        id: 'streets-residential',
        type: 'line',
        source: BASEMAP_SOURCES.streets,
        filter: ['==', ['get', 'class'], 'residential'],
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': c.residential, 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 0.5, 16, 4] },
      },
      {
        id: 'streets-secondary',
        type: 'line',
        source: BASEMAP_SOURCES.streets,
        filter: ['==', ['get', 'class'], 'secondary'],
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': c.secondary, 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 1, 16, 6] },
      },
      {
        id: 'streets-primary',
        type: 'line',
        source: BASEMAP_SOURCES.streets,
        filter: ['==', ['get', 'class'], 'primary'],
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': c.primary, 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 1.5, 16, 9] },
      },
      ...(base
        ? [
            label('streets-label-primary', ['==', ['get', 'class'], 'primary'], STREET_LABEL_MINZOOM - 1, [12, 17]),
            label('streets-label', ['!=', ['get', 'class'], 'primary'], STREET_LABEL_MINZOOM, [11.5, 16]),
            {
              id: DISTRICT_LABEL_LAYER,
              type: 'symbol' as const,
              source: BASEMAP_SOURCES.districtLabels,
              maxzoom: 16,
              layout: {
                'text-field': ['upcase', ['get', 'name']] as never,
                'text-font': LABEL_FONT,
                'text-size': ['interpolate', ['linear'], ['zoom'], 11, 12, 15, 17] as never,
                'text-letter-spacing': 0.08,
                'text-max-width': 12,
                'text-padding': 6,
              },
              paint: { 'text-color': c.label, 'text-opacity': 0.8, 'text-halo-color': '#000000', 'text-halo-width': 2, 'text-halo-blur': 1 },
            },
          ]
        : []),
    ],
  };
}

/** A label point per district (centre of its bounding box) for HTML labels. */
export function districtLabelPoints(basemap: Basemap): { name: string; lngLat: [number, number] }[] {
  return basemap.districts.features.map((f) => {
    let minX = Infinity,
      minY = Infinity,
      maxX = -Infinity,
      maxY = -Infinity;
    const rings = f.geometry.type === 'Polygon' ? f.geometry.coordinates : f.geometry.coordinates.flat();
    for (const ring of rings)
      for (const [x, y] of ring) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    return { name: f.properties.name, lngLat: [(minX + maxX) / 2, (minY + maxY) / 2] };
  });
}

/**
 * The map's style: the configured MAP_STYLE_URL (GET /api/config `mapStyleUrl`) when set, else
 * the offline style built from the city's basemap. null while either is still loading (the map
 * waits rather than start on the wrong style).
 */
export function chooseMapStyle(config: { mapStyleUrl?: string } | undefined, configSettled: boolean, basemap: Basemap | undefined, base: string): StyleSpecification | string | null {
  if (!basemap || !configSettled) return null;
  const url = config?.mapStyleUrl?.trim();
  return url ? url : buildOfflineStyle(basemap, base);
}
