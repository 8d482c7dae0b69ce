// Builds the package in the current directory: one ESM .js per source file (so bundlers can
// tree-shake per module), then .d.ts files from tsc's project build.
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: sources("src"),
  outdir: "dist",
  outbase: "src",
  format: "esm",
  platform: "neutral",
  target: "es2022",
  bundle: false,
  sourcemap: true,
  logLevel: "warning",
});
execFileSync("npx", ["tsc", "-b"], { stdio: "inherit" });
