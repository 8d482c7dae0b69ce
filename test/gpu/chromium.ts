import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

/**
 * Debian's Chromium (never a downloaded browser) driven by playwright-core, where gpu.js gets
 * WebGL2 on SwiftShader. Browser tests run with DL_TEST_GPU=1 when /usr/bin/chromium exists
 * (`apt-get install -y chromium`), and must run (failing loudly without it) when DL_TEST_BROWSER=1.
 */
export const CHROMIUM = "/usr/bin/chromium";

export const browserTestsWanted =
  process.env.DL_TEST_BROWSER === "1" || (process.env.DL_TEST_GPU === "1" && existsSync(CHROMIUM));

/** The part of playwright-core's Page the tests use (it resolves from @dl/backend-gpu, not from here). */
export interface Page {
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  evaluate<R>(fn: () => R | Promise<R>): Promise<R>;
  on(event: "pageerror", listener: (e: Error) => void): unknown;
  goto(url: string): Promise<unknown>;
  addScriptTag(options: { content: string }): Promise<unknown>;
}

interface Chromium {
  launchPersistentContext(
    userDataDir: string,
    options: { executablePath: string; headless: boolean; args: string[] },
  ): Promise<{ newPage(): Promise<Page>; close(): Promise<void> }>;
}

/** Flags for a quiet headless run with software WebGL2 (SwiftShader). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--enable-unsafe-swiftshader",
];

/** Bundles a test entry for the page: iife, browser platform, the packages' sources. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2022",
    conditions: ["@dl/source"],
    logLevel: "warning",
  });
  return bundle.outputFiles[0]?.text as string;
}

/**
 * Opens Chromium with a fresh profile, a blank page with `code` loaded, and calls `use(page,
 * errors)`; closes the browser and removes the profile afterwards. `errors` collects uncaught page
 * errors.
 */
export async function withChromiumPage<T>(code: string, use: (page: Page, errors: string[]) => Promise<T>): Promise<T> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  // playwright-core is a devDependency of @dl/backend-gpu (it never downloads a browser).
  const require = createRequire(join(import.meta.dirname, "../../packages/backend-gpu/package.json"));
  const { chromium } = require("playwright-core") as { chromium: Chromium };
  const profile = mkdtempSync(join(tmpdir(), "dl-chromium-"));
  let context: Awaited<ReturnType<Chromium["launchPersistentContext"]>> | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto("about:blank");
    await page.addScriptTag({ content: code });
    return await use(page, errors);
  } finally {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
