import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/net';
import { cityProblems, loadCity, parseCity, type Position } from './city';
import { generateDemoCity, onLand } from '../demo/demo-city/generate';
import { distanceM } from '../contract/geo';
import { importOsmFile } from './import-osm';
import { routePolyline } from './street-graph';

describe('demo city', () => {
  const city = loadCity();

  it('is the committed output of the seeded generator, labelled as generated, and small', () => {
    const fresh = generateDemoCity();
    expect(JSON.parse(JSON.stringify(fresh))).toEqual(city);
    expect(city.generated).toBe(true);
    expect(city.streets.generated).toBe(true);
    expect(city.streets.note).toMatch(/GENERATED/);
    const size = fs.statSync(path.join(import.meta.dirname, '..', 'demo', 'demo-city', 'city.json')).size;
    expect(size).toBeLessThan(2_000_000);
  });

  it('sits near Coatzacoalcos with Spanish street names, three classes, six districts, sea to the north', () => {
    expect(city.center[1]).toBeGreaterThan(18.08);
    expect(city.center[1]).toBeLessThan(18.18);
    expect(city.center[0]).toBeGreaterThan(-94.52);
    expect(city.center[0]).toBeLessThan(-94.38);
    const classes = new Set(city.streets.features.map((f) => f.properties.class));
    expect([...classes].sort()).toEqual(['primary', 'residential', 'secondary']);
    expect(city.streets.features.some((f) => /^(Av\.|Calle) /.test(f.properties.name))).toBe(true);
    expect(city.districts.features).toHaveLength(6);
    const names = new Set(city.districts.features.map((d) => d.properties.name));
    for (const f of city.streets.features) expect(names.has(f.properties.district)).toBe(true);
    const sea = city.water.features.find((w) => w.properties.kind === 'sea')!;
    expect(sea).toBeDefined();
    // the sea lies north of the city centre, and a point far north is water
    expect(onLand(city, [city.center[0], city.center[1] + 0.05])).toBe(false);
    expect(onLand(city, city.center)).toBe(true);
    // every street vertex is on land, except the bridge over the river
    const wet = city.streets.features.filter((f) => f.geometry.coordinates.some((p) => !onLand(city, p as Position)));
    expect(wet.every((f) => f.properties.name.startsWith('Puente'))).toBe(true);
  });

  it('has ~40 contiguous routes from a depot back to it, with a collection part inside', () => {
    expect(city.routes.length).toBe(40);
    expect(city.depots.length).toBeGreaterThanOrEqual(2);
    expect(city.entrances.length).toBe(4);
    for (const r of city.routes) {
      const depot = city.depots.find((d) => d.id === r.depotId)!;
      const { coords } = routePolyline(city, r, [depot.lon, depot.lat]);
      // contiguous: consecutive segments share an end (routePolyline orients them); starts and ends at the depot
      expect(distanceM(coords[0]!, [depot.lon, depot.lat])).toBeLessThan(1);
      expect(distanceM(coords[coords.length - 1]!, [depot.lon, depot.lat])).toBeLessThan(1);
      expect(r.collectTo - r.collectFrom).toBeGreaterThan(10);
    }
  });

  it('names the file and the route for dangling references', () => {
    const bad = JSON.parse(JSON.stringify(city));
    bad.routes[0].segments.push('s9999');
    bad.routes[1].depotId = 'nowhere';
    const problems = cityProblems(bad, 'x/city.json');
    expect(problems).toContain('x/city.json: route route-01: field segments: unknown segment(s) s9999');
    expect(problems).toContain('x/city.json: route route-02: field depotId: unknown depot nowhere');
    expect(() => parseCity('{', 'y.json')).toThrow(/y.json: not valid JSON/);
  });
});

describe('OpenStreetMap import', () => {
  it('turns highway LineStrings into segments split at intersections, with districts and routes', () => {
    const dir = tempDir();
    const sq = (x0: number, y0: number, d: number): Position[] => [
      [x0, y0],
      [x0 + d, y0],
      [x0 + d, y0 + d],
      [x0, y0 + d],
      [x0, y0],
    ];
    const fc = {
      type: 'FeatureCollection',
      features: [
        {
          type: 'Feature',
          properties: { '@id': 'way/1', highway: 'primary', name: 'Av. Uno' },
          geometry: {
            type: 'LineString',
            coordinates: [
              [-94.45, 18.13],
              [-94.44, 18.13],
              [-94.43, 18.13],
            ],
          },
        },
        {
          type: 'Feature',
          properties: { '@id': 'way/2', highway: 'residential', name: 'Calle Dos' },
          geometry: {
            type: 'LineString',
            coordinates: [
              [-94.44, 18.12],
              [-94.44, 18.13],
              [-94.44, 18.14],
            ],
          },
        },
        {
          type: 'Feature',
          properties: { '@id': 'way/3', highway: 'footway' },
          geometry: {
            type: 'LineString',
            coordinates: [
              [-94.45, 18.12],
              [-94.45, 18.14],
            ],
          },
        },
        {
          type: 'Feature',
          properties: { '@id': 'relation/9', boundary: 'administrative', admin_level: '10', name: 'Colonia Norte' },
          geometry: { type: 'Polygon', coordinates: [sq(-94.46, 18.125, 0.04)] },
        },
        { type: 'Feature', properties: { natural: 'water', name: 'Laguna' }, geometry: { type: 'Polygon', coordinates: [sq(-94.5, 18.2, 0.01)] } },
      ],
    };
    fs.writeFileSync(path.join(dir, 'osm.geojson'), JSON.stringify(fc));
    const out = path.join(dir, 'city.json');
    const rep = importOsmFile(path.join(dir, 'osm.geojson'), out, { name: 'Test', routes: 2 });
    const city = loadCity(out);
    expect(city.generated).toBe(false);
    // Av. Uno is split at the crossing with Calle Dos (and vice versa): 4 segments; the footway is skipped
    expect(city.streets.features).toHaveLength(4);
    expect(rep.skipped['highway=footway']).toBe(1);
    const uno = city.streets.features.filter((f) => f.properties.name === 'Av. Uno');
    expect(uno.map((f) => f.properties.segmentId)).toEqual(['osm-way1-1', 'osm-way1-2']);
    expect(uno[1]!.properties.district).toBe('Colonia Norte');
    expect(city.streets.features.find((f) => f.properties.name === 'Calle Dos')!.properties.class).toBe('residential');
    expect(city.water.features).toHaveLength(1);
    expect(city.routes.length).toBe(2);
  });
});
