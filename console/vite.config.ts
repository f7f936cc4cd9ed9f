import { defineConfig } from "vite";

// The console is served by the Go binary under /console/ (internal/console
// embeds the output), so the build writes there and names every asset by
// its content hash.
export default defineConfig({
  base: "/console/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "../internal/console/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      "/graphql": { target: "http://127.0.0.1:8080", ws: true },
      "/console/dev": "http://127.0.0.1:8080",
    },
  },
});
