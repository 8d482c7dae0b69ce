import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { browserTestsWanted, withChromiumPage } from "./chromium.js";

/**
 * examples/browser in Chromium: the bundled page (esbuild over the packages' built files) and the
 * plain <script type="module"> page (the same built files through an import map) each train the
 * MNIST MLP on 2,000 real digits. Needs `pnpm build` (CI's build gate runs first).
 */
interface Run {
  losses: number[];
  accuracy: number;
  milliseconds: number;
}

describe.runIf(browserTestsWanted)("examples/browser: both routes train in Chromium [gpu]", () => {
  it("the bundled page and the plain module page train the same model to the same numbers", async () => {
    const { startServer } = (await import(join(import.meta.dirname, "../../examples/browser/server.mjs"))) as {
      startServer(o: { port: number }): Promise<{ url: string; close(): Promise<void> }>;
    };
    const server = await startServer({ port: 0 });
    try {
      const runs: Record<string, Run> = {};
      for (const page of ["bundled.html", "script.html"]) {
        runs[page] = await withChromiumPage("/* the page loads its own code */", async (p, errors) => {
          await p.goto(server.url + page);
          const run = await p.evaluate(() => (globalThis as unknown as { dlResult: Promise<Run> }).dlResult);
          expect(errors).toEqual([]);
          return run;
        });
      }
      const bundled = runs["bundled.html"] as Run;
      const script = runs["script.html"] as Run;
      // 2,000 digits, batches of 64: 32 Adam steps; then 500 held-out digits.
      expect(bundled.losses).toHaveLength(32);
      expect(bundled.losses.at(-1)).toBeLessThan((bundled.losses[0] as number) * 0.5);
      expect(bundled.accuracy).toBeGreaterThan(0.8);
      // The same seed and the same built code: identical numbers by either route.
      expect(script.losses).toEqual(bundled.losses);
      expect(script.accuracy).toBe(bundled.accuracy);
    } finally {
      await server.close();
    }
  }, 120_000);
});
