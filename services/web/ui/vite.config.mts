import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

// The storefront's bundle goes to services/web/dist/ui, which the web service serves.
// biome-ignore lint/style/noDefaultExport: Vite reads the config's default export.
export default defineConfig({
  root: here,
  plugins: [react()],
  build: { outDir: '../dist/ui', emptyOutDir: true, sourcemap: true },
  // `vite --config ui/vite.config.mts` for development: the API through the running gateway.
  server: { port: 5173, proxy: { '/api': 'http://127.0.0.1:8080' } },
});
