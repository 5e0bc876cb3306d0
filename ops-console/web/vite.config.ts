/** Vite build of the web console: `npm run build:web` → ops-console/web/dist (served by the API). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { offlineAssets } from './build/offline-assets';
import { readVariable } from '../../lib/config';

const root = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [react(), offlineAssets()],
  build: {
    outDir: path.join(root, 'dist'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2500,
    sourcemap: false,
  },
  server: {
    proxy: { '/api': { target: readVariable('API_URL'), ws: true } },
  },
});
