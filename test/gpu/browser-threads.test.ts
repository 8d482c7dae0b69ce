import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { browserTestsWanted, bundleForBrowser, withChromiumPage } from "./chromium.js";

/**
 * The CPU backend's thread pool in a browser: browser-threads-entry.ts served from a local HTTP
 * server with COOP/COEP headers (so the page is cross-origin isolated and has SharedArrayBuffer),
 * run in Debian's Chromium. The workers are Blob-URL workers; the page's main thread spins while
 * it waits (Atomics.wait is not allowed there). Runs with the browser tests (DL_TEST_GPU=1).
 */
describe.runIf(browserTestsWanted)("cpu backend thread pool in Chromium (cross-origin isolated) [gpu]", () => {
  it("runs matmul and conv2d (with gradients) on several threads with the same bits as one", async () => {
    const code = await bundleForBrowser(join(import.meta.dirname, "browser-threads-entry.ts"));
    const server = createServer((req, res) => {
      res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
      res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
      if (req.url === "/entry.js") {
        res.setHeader("Content-Type", "text/javascript");
        res.end(code);
      } else {
        res.setHeader("Content-Type", "text/html");
        res.end('<!doctype html><script src="/entry.js"></script>');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await withChromiumPage(";", async (page, errors) => {
        await page.goto(`http://127.0.0.1:${port}/`);
        const report = (await page.evaluate(() => (globalThis as unknown as { __dlThreads: () => Promise<unknown> }).__dlThreads())) as {
          isolated: boolean;
          asked4: number;
          hardwareConcurrency: number;
          threads: number;
          ready: number;
          tasks: number[];
          same: boolean;
        };
        expect(errors).toEqual([]);
        expect(report.isolated).toBe(true);
        // The default thread count of an isolated page: navigator.hardwareConcurrency (2 or more here).
        expect(report.threads).toBe(report.hardwareConcurrency);
        expect(report.threads).toBeGreaterThan(1);
        expect(report.ready).toBe(report.threads);
        expect(report.asked4).toBe(4);
        // The calling thread and at least one worker ran tasks.
        expect(report.tasks[0]).toBeGreaterThan(0);
        expect(report.tasks.slice(1).some((t) => t > 0)).toBe(true);
        expect(report.same).toBe(true);
      });
    } finally {
      server.close();
    }
  }, 120_000);

  it("keeps 1 thread with the same results in a page that is not cross-origin isolated", async () => {
    const code = await bundleForBrowser(join(import.meta.dirname, "browser-threads-entry.ts"));
    // withChromiumPage loads the code into about:blank: no COOP/COEP, no SharedArrayBuffer.
    await withChromiumPage(code, async (page, errors) => {
      const report = (await page.evaluate(() => (globalThis as unknown as { __dlThreads: () => Promise<unknown> }).__dlThreads())) as {
        isolated: boolean;
        asked4: number;
        threads: number;
        tasks: number[];
        same: boolean;
      };
      expect(errors).toEqual([]);
      expect(report.isolated).toBe(false);
      expect(report.asked4).toBe(1);
      expect(report.threads).toBe(1);
      expect(report.tasks).toEqual([]);
      expect(report.same).toBe(true);
    });
  }, 120_000);
});
