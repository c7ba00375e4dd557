import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: [
      { test: { name: "packages", include: ["packages/*/test/**/*.test.ts"], testTimeout: 30_000 } },
      { test: { name: "integration", include: ["test/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 60_000 } }
    ]
  }
})
