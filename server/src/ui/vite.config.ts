import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  // The server mounts the build under /ui/; hashed files go to /ui/assets/ and are cached for a year.
  base: '/ui/',
  plugins: [vue()],
  build: {
    outDir: here('../../../dist/ui'),
    emptyOutDir: true,
    // The server's Content-Security-Policy has no 'unsafe-inline': nothing may be inlined into index.html.
    // Browsers the UI targets all support modulepreload, so vite's polyfill (an inline-able snippet) is not needed.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: true,
    target: 'es2022',
    reportCompressedSize: true,
  },
  test: {
    root: here('../../../test/ui/unit'),
    include: ['**/*.spec.ts'],
    environment: 'happy-dom',
    testTimeout: 5000,
  },
});
