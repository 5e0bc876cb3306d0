/** Build of the map bench page (bench/map.ts builds it into a temp dir and serves it). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { offlineAssets } from '../../ops-console/web/build/offline-assets';

const root = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [offlineAssets()],
  logLevel: 'warn',
  build: { emptyOutDir: true, chunkSizeWarningLimit: 5000, sourcemap: false },
});
