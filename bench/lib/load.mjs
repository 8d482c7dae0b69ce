// Loads dl (bundled from source, or the built dist/) and TensorFlow.js with its wasm backend.
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const benchDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const repo = join(benchDir, "..");
const require = createRequire(import.meta.url);

/** Runs fn with console.log/warn muted (tfjs prints a "use tfjs-node" banner). */
export async function quietly(fn) {
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

/**
 * The optional layers above @dl/tensor. @dl/nn and @dl/optim are imported by source path (their
 * node_modules links may not exist yet); esbuild dedupes @dl/tensor by real path, so every package
 * shares one Tensor class and one tidy() scope stack.
 */
const LAYERS = [
  { ns: "autograd", src: "packages/autograd/src/index.ts", spread: true },
  { ns: "nn", src: "packages/nn/src/index.ts" },
  { ns: "optim", src: "packages/optim/src/index.ts" },
];

async function bundle(layers, outfile) {
  const lines = [
    // The same module instances the backend uses (esbuild dedupes by path).
    `export { setMatmulEngine, matmulEngine } from ${rel("packages/backend-cpu/src/matmul.ts")};`,
    `export * as storage from ${rel("packages/backend-cpu/src/storage.ts")};`,
  ];
  for (const l of layers) {
    if (l.spread) lines.push(`export * from ${rel(l.src)};`);
    lines.push(`export * as ${l.ns} from ${rel(l.src)};`);
  }
  await bundleEntry(lines, outfile);
}

const rel = (p) => JSON.stringify(join(repo, p));

/** Bundles @dl/tensor, the cpu backend and `lines` (export statements) from source into outfile. */
async function bundleEntry(lines, outfile) {
  const { build } = await import("esbuild");
  await build({
    stdin: {
      contents: ['export * from "@dl/tensor";', 'export { cpuBackend, getNumThreads, setNumThreads, threadsReady } from "@dl/backend-cpu";', ...lines].join("\n"),
      resolveDir: benchDir,
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    conditions: ["@dl/source"],
    outfile,
    logLevel: "silent",
  });
}

/**
 * dl from source for a one-off benchmark: @dl/tensor, the cpu backend and autograd spread at the
 * top, each other package as a namespace (`{ optim: "packages/optim/src/index.ts" }` gives dl.optim).
 */
export async function loadDlPackages(name, namespaces) {
  const cache = join(benchDir, "node_modules", ".cache");
  mkdirSync(cache, { recursive: true });
  const outfile = join(cache, `${name}.mjs`);
  const lines = [`export * from ${rel("packages/autograd/src/index.ts")};`];
  for (const [ns, src] of Object.entries(namespaces)) lines.push(`export * as ${ns} from ${rel(src)};`);
  await bundleEntry(lines, outfile);
  return import(`${pathToFileURL(outfile).href}?t=${Date.now()}`);
}

/**
 * dl from source by default: esbuild bundles the packages' TypeScript (the "@dl/source" export
 * condition) in ~100 ms, so the numbers are always those of the working tree, with no stale dist/.
 * Returns the namespace plus `notes` about layers that could not be loaded (benchmarks that need
 * them are skipped with a note).
 */
export async function loadDl({ dist = false } = {}) {
  const notes = [];
  if (dist) {
    const kernels = pathToFileURL(join(repo, "packages/backend-cpu/dist/matmul.js")).href;
    const storage = await import(pathToFileURL(join(repo, "packages/backend-cpu/dist/storage.js")).href);
    const { setMatmulEngine, matmulEngine } = await import(kernels);
    const dl = { ...(await import("@dl/tensor")), ...(await import("@dl/backend-cpu")), setMatmulEngine, matmulEngine, storage };
    for (const l of LAYERS) {
      try {
        const m = await import(pathToFileURL(join(repo, l.src.replace("/src/index.ts", "/dist/index.js"))).href);
        dl[l.ns] = m;
        if (l.spread) Object.assign(dl, m);
      } catch (e) {
        notes.push(`@dl/${l.ns} (dist) not loaded: ${e.message.split("\n")[0]}`);
      }
    }
    return { dl, notes };
  }
  const cache = join(benchDir, "node_modules", ".cache");
  mkdirSync(cache, { recursive: true });
  const outfile = join(cache, "dl-bench.mjs");
  let layers = LAYERS.filter((l) => {
    if (existsSync(join(repo, l.src))) return true;
    notes.push(`@dl/${l.ns}: ${l.src} does not exist yet`);
    return false;
  });
  // A layer under construction may not compile: drop layers from the top until the bundle builds.
  for (;;) {
    try {
      await bundle(layers, outfile);
      break;
    } catch (e) {
      if (!layers.length) throw e;
      const first = e.errors?.[0];
      const file = first?.location?.file ?? "";
      const culprit = layers.find((l) => file.includes(`packages/${l.ns}/`)) ?? layers[layers.length - 1];
      notes.push(`@dl/${culprit.ns} does not build yet${file ? ` (${file}:${first.location.line}: ${first.text})` : ""}`);
      // nn and optim import autograd: without it, neither loads.
      layers = culprit.ns === "autograd" ? [] : layers.filter((l) => l !== culprit);
    }
  }
  const dl = await import(`${pathToFileURL(outfile).href}?t=${Date.now()}`);
  return { dl, notes };
}

export async function loadTf() {
  return quietly(async () => {
    const tf = await import("@tensorflow/tfjs");
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    // In Node, emscripten reads the .wasm files from disk: point it at the package's dist/ folder.
    const wasmDir = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist");
    if (!existsSync(join(wasmDir, "tfjs-backend-wasm-simd.wasm"))) throw new Error(`tfjs-backend-wasm: no .wasm files in ${wasmDir}`);
    wasm.setWasmPaths(`${wasmDir}/`);
    return { tf, wasm };
  });
}
