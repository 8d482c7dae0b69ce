import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

/**
 * The gpu backend in a browser: test/gpu/browser-entry.ts bundled with esbuild (gpu.js's browser
 * build) and run in Debian's Chromium (never a downloaded browser) through playwright-core, where
 * gpu.js gets WebGL2 on SwiftShader. Runs with DL_TEST_GPU=1 when /usr/bin/chromium exists
 * (`apt-get install -y chromium`); fails loudly when DL_TEST_BROWSER=1 and it does not.
 */
const CHROMIUM = "/usr/bin/chromium";
const wanted = process.env.DL_TEST_BROWSER === "1" || (process.env.DL_TEST_GPU === "1" && existsSync(CHROMIUM));

describe.runIf(wanted)("gpu backend in Chromium (WebGL2) [gpu]", () => {
  it("runs every kernel on WebGL2Kernel, matches the CPU backend, and trains without leaking", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    const bundle = await build({
      entryPoints: [join(import.meta.dirname, "browser-entry.ts")],
      bundle: true,
      write: false,
      format: "iife",
      platform: "browser",
      target: "es2022",
      conditions: ["@dl/source"],
      logLevel: "warning",
    });
    const code = bundle.outputFiles[0]?.text as string;
    // playwright-core is a devDependency of @dl/backend-gpu (it never downloads a browser).
    const require = createRequire(join(import.meta.dirname, "../../packages/backend-gpu/package.json"));
    const { chromium } = require("playwright-core") as typeof import("playwright-core");
    const profile = mkdtempSync(join(tmpdir(), "dl-chromium-"));
    // A fresh profile directory per run.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--enable-unsafe-swiftshader",
      ],
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto("about:blank");
      await page.addScriptTag({ content: code });
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
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 180_000);
});
