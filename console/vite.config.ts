import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build goes to SLUICE_CONSOLE_OUT (the CMake build directory) when set, else console/dist.
// Everything is bundled: the console never loads anything from another host.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: process.env.SLUICE_CONSOLE_OUT ?? "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    // `npm run dev` proxies the API to a running `sluice serve`.
    proxy: { "/api": process.env.SLUICE_URL ?? "http://127.0.0.1:5115" },
  },
});
