#!/usr/bin/env node
// Builds headless-gl (the optional `gl` package that gpu.js uses in Node) from source.
//
// pnpm-workspace.yaml sets `allowBuilds: { gl: false }`, so `pnpm install` never spends ~5 minutes
// compiling it (nor fails noisily where the X11/GL headers are missing); run this once where GPU
// tests should run:
//   apt-get install -y pkg-config libx11-dev libxi-dev libxext-dev libglu1-mesa-dev libglew-dev xvfb xauth libgl1-mesa-dri
//   pnpm --filter @dl/backend-gpu build:gl
// It builds against Node's own headers (npm_config_nodedir, default /usr: node-gyp's header download
// host may be unreachable). Exit status 0 when `gl` loads afterwards, 1 with the reason otherwise.
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

function loads() {
  try {
    require("gl");
    return true;
  } catch (e) {
    return e instanceof Error ? e.message.split("\n")[0] : String(e);
  }
}

let glDir;
try {
  glDir = dirname(require.resolve("gl/package.json"));
} catch {
  console.error("build-gl: the `gl` package is not installed (run pnpm install first)");
  process.exit(1);
}

if (loads() === true && !process.argv.includes("--force")) {
  console.log(`build-gl: headless-gl is already built (${glDir})`);
  process.exit(0);
}

const nodeGyp = require.resolve("node-gyp/bin/node-gyp.js", { paths: [glDir] });
const env = { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? "/usr" };
console.log(`build-gl: building headless-gl in ${glDir} (npm_config_nodedir=${env.npm_config_nodedir}); this takes a few minutes`);
const run = spawnSync(process.execPath, [nodeGyp, "rebuild", "-j", String(availableParallelism())], { cwd: glDir, env, stdio: "inherit" });
const after = loads();
if (run.status !== 0 || after !== true) {
  console.error(
    `build-gl: headless-gl did not build (node-gyp exit ${run.status ?? run.signal}; require('gl'): ${after === true ? "ok" : after}). ` +
      "It needs the X11/GL headers (pkg-config libx11-dev libxi-dev libxext-dev libglu1-mesa-dev libglew-dev) and Node headers in npm_config_nodedir.",
  );
  process.exit(1);
}
console.log("build-gl: headless-gl built");
