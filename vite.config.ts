// The dashboard's build: a static Preact app from ui/ into ui/dist (served by nginx). `npm run
// dev:ui` / `vite preview` proxy /api to API_URL (the functions) for local work.
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const api = process.env.API_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: 'ui',
  plugins: [preact({ devToolsEnabled: false, prerender: { enabled: false } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Hashed file names: nginx caches /assets/* for a year and never caches index.html.
    assetsDir: 'assets',
    reportCompressedSize: true,
  },
  server: { proxy: { '/api': { target: api, changeOrigin: false } } },
  preview: { proxy: { '/api': { target: api, changeOrigin: false } } },
});
