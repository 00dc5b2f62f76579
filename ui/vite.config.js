import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built assets keep Vite's default hashed names (assets/<name>-<hash>.<ext>): the deploy task
// uploads them with a long cache lifetime and index.html (uploaded last) with no-cache.
export default defineConfig({
  plugins: [react()],
  // amazon-cognito-identity-js bundles the `buffer` polyfill, which reads Node's `global` when it
  // loads: in a browser that is `globalThis` (without this the page stops with a ReferenceError).
  define: { global: "globalThis" },
  build: {
    outDir: "dist",
    sourcemap: false,
    emptyOutDir: true,
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.js"],
    restoreMocks: true,
    unstubGlobals: true,
    unstubEnvs: true,
  },
});
