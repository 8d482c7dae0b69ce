import { defineConfig } from "vitest/config";

// Tests run against package sources through the "@dl/source" export condition: no build needed.
export default defineConfig({
  resolve: { conditions: ["@dl/source"] },
  ssr: { resolve: { conditions: ["@dl/source"] } },
  test: {
    include: ["test/**/*.test.ts", "packages/*/test/**/*.test.ts", "tooling/test/**/*.test.ts", "examples/*/test/**/*.test.ts"],
    testTimeout: 30000,
  },
});
