import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { browserTestsWanted, bundleForBrowser, withChromiumPage } from "./chromium.js";

/**
 * The gpu backend in a browser: test/gpu/browser-entry.ts bundled with esbuild (gpu.js's browser
 * build) and run in Debian's Chromium through playwright-core (test/gpu/chromium.ts), where gpu.js
 * gets WebGL2 on SwiftShader. Runs with DL_TEST_GPU=1 when /usr/bin/chromium exists; fails loudly
 * when DL_TEST_BROWSER=1 and it does not.
 */
describe.runIf(browserTestsWanted)("gpu backend in Chromium (WebGL2) [gpu]", () => {
  it("runs every kernel on WebGL2Kernel, matches the CPU backend, and trains without leaking", async () => {
    const code = await bundleForBrowser(join(import.meta.dirname, "browser-entry.ts"));
    await withChromiumPage(code, async (page, errors) => {
      const report = (await page.evaluate(() => (globalThis as unknown as { __dlRun: () => Promise<unknown> }).__dlRun())) as {
        kernelClass: string;
        mode: string;
        kernelClasses: string[];
        results: { name: string; ok: boolean; detail?: string }[];
        memory10: unknown;
        memory200: unknown;
        textures10: number;
        textures200: number;
        firstLoss: number;
        lastLoss: number;
      };
      expect(errors).toEqual([]);
      expect(report.mode).toBe("webgl2");
      expect(report.kernelClass).toBe("WebGL2Kernel");
      expect(report.kernelClasses).toEqual(["WebGL2Kernel"]);
      expect(report.results.filter((r) => !r.ok)).toEqual([]);
      expect(report.results.length).toBeGreaterThan(15);
      expect(report.memory200).toEqual(report.memory10);
      expect(report.textures200).toBe(report.textures10);
      expect(report.lastLoss).toBeLessThan(report.firstLoss * 0.8);
    });
  }, 180_000);

  it("bench:gpu --quick: dl on gpu and tfjs-webgl agree on every workload in one page (smoke)", async () => {
    // The bench exits non-zero when dl's and tfjs's results differ beyond float32 tolerance.
    const bench = join(import.meta.dirname, "../../packages/backend-gpu/bench/browser.mjs");
    const { stdout } = await promisify(execFile)(process.execPath, [bench, "--quick"], { timeout: 120_000 });
    const rows = stdout.split("\n").filter((l) => /^\| (matmul|conv2d|MNIST)/.test(l));
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      const diff = Number(row.split("|").at(-2)?.trim());
      expect(diff).toBeLessThan(1e-4);
    }
  }, 150_000);
});
