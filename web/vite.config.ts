import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the dashboard on :5173 and forwards the API and the live gateway to a
// backend on :8000 (`seniorsafe api`). Override with SENIORSAFE_API=http://host:port.
declare const process: { env: Record<string, string | undefined> };
const api = process.env.SENIORSAFE_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target: api, changeOrigin: false },
      "/socket.io": { target: api, ws: true },
    },
  },
  build: {
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
});
