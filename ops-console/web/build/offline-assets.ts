/**
 * Vite plugin: everything the map needs offline, emitted into the build.
 *  - `basemap.json`: streets, districts, water, depots, routes and entrances of the city file
 *    (default: the demo city, demo/demo-city/city.json; env CITY_FILE overrides),
 *    or a tiny placeholder when no city file exists yet;
 *  - `assets/maplibre-gl-worker.mjs`: MapLibre's worker, beside the main module that loads it.
 * In dev (`vite` server) both are served by middleware.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { DEMO_CITY_FILE, parseCity } from '../../../city/city';
import { readVariable } from '../../../lib/config';
import { basemapFromCity, type Basemap } from '../src/basemap/types';
import { PLACEHOLDER_BASEMAP } from '../src/basemap/placeholder';

export function loadBasemap(file = readVariable('CITY_FILE') || DEMO_CITY_FILE): Basemap {
  if (!fs.existsSync(file)) return PLACEHOLDER_BASEMAP;
  return basemapFromCity(parseCity(fs.readFileSync(file, 'utf8'), file));
}

/** maplibre-gl is ESM-only (no require condition): find its dist folder by walking up node_modules. */
export function workerFile(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const f = path.join(dir, 'node_modules', 'maplibre-gl', 'dist', 'maplibre-gl-worker.mjs');
    if (fs.existsSync(f)) return f;
    if (path.dirname(dir) === dir) throw new Error('maplibre-gl-worker.mjs not found under any node_modules');
  }
}

export function offlineAssets(): Plugin {
  return {
    name: 'cityops-offline-assets',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? '').split('?')[0]!;
        if (url.endsWith('/basemap.json')) {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(loadBasemap()));
        } else if (url.endsWith('/maplibre-gl-worker.mjs')) {
          res.setHeader('content-type', 'text/javascript');
          res.end(fs.readFileSync(workerFile()));
        } else next();
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'basemap.json', source: JSON.stringify(loadBasemap()) });
      this.emitFile({ type: 'asset', fileName: 'assets/maplibre-gl-worker.mjs', source: fs.readFileSync(workerFile()) });
    },
  };
}
