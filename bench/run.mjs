#!/usr/bin/env node
// Benchmarks dl (@dl/tensor + @dl/backend-cpu, one thread) against TensorFlow.js ('cpu' and 'wasm'
// backends) on the same workloads and data, in one Node process. See bench/README.md.
//
//   node bench/run.mjs            full run (< 2 minutes)
//   node bench/run.mjs --quick    CI smoke: tiny sizes, few reps; checks results agree
//   --dist                        use the built packages (dist/) instead of bundling the sources
//   --only=SUBSTR                 only workloads whose name contains SUBSTR
//   --json=FILE                   also write the results as JSON
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checkKernels } from "./check-kernels.mjs";

const benchDir = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = flag("quick");
const only = option("only");

/**
 * dl from source by default: esbuild bundles the packages' TypeScript (the "@dl/source" export
 * condition) in ~100 ms, so the numbers are always those of the working tree, with no stale dist/.
 */
async function loadDl() {
  if (flag("dist")) {
    const kernels = pathToFileURL(join(benchDir, "../packages/backend-cpu/dist/matmul.js")).href;
    const { setMatmulEngine, matmulEngine } = await import(kernels);
    return { ...(await import("@dl/tensor")), ...(await import("@dl/backend-cpu")), setMatmulEngine, matmulEngine };
  }
  const { build } = await import("esbuild");
  const cache = join(benchDir, "node_modules", ".cache");
  mkdirSync(cache, { recursive: true });
  const outfile = join(cache, "dl-bench.mjs");
  await build({
    stdin: {
      contents: [
        'export * from "@dl/tensor";',
        'export { cpuBackend } from "@dl/backend-cpu";',
        // The same module instance the backend uses (esbuild dedupes by path).
        'export { setMatmulEngine, matmulEngine } from "../packages/backend-cpu/src/matmul.ts";',
      ].join("\n"),
      resolveDir: benchDir,
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    conditions: ["@dl/source"],
    outfile,
    logLevel: "warning",
  });
  return import(`${pathToFileURL(outfile).href}?t=${Date.now()}`);
}

/** Runs fn with console.log/warn muted (tfjs prints a "use tfjs-node" banner). */
async function quietly(fn) {
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

async function loadTf() {
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

/** Deterministic inputs in [-1, 1), shared by every library. */
function values(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

const S = quick ? { mm: [16, 48, 64], n: 64 } : { mm: [128, 512, 1024], n: 1024 };
const N = S.n;

/**
 * A workload: `inputs` are [shape, seed] pairs; `dl` and `tf` build the computation from the
 * library's tensors and return the result tensor (read with dataSync inside the timing).
 */
const workloads = [
  ...S.mm.map((n) => ({
    name: `matmul ${n}x${n}`,
    flops: 2 * n ** 3,
    inputs: [
      [[n, n], 1],
      [[n, n], 2],
    ],
    dl: (dl, a, b) => (dl.matmul ? dl.matmul(a, b) : dl.matmulOp(a.unsqueeze(0), b.unsqueeze(0), "float32")),
    tf: (tf, a, b) => tf.matMul(a, b),
  })),
  {
    name: `add [${N},${N}] + [${N}]`,
    inputs: [
      [[N, N], 3],
      [[N], 4],
    ],
    dl: (dl, a, b) => dl.add(a, b),
    tf: (tf, a, b) => tf.add(a, b),
  },
  {
    name: `exp [${N},${N}]`,
    inputs: [[[N, N], 5]],
    dl: (dl, x) => (dl.exp ? dl.exp(x) : dl.unaryOp("exp", x)),
    tf: (tf, x) => tf.exp(x),
  },
  {
    name: `sum rows [${N},${N}] (dim -1)`,
    inputs: [[[N, N], 6]],
    dl: (dl, x) => (dl.sum ? dl.sum(x, -1) : dl.reduceOp("sum", x, [1], false, x.dtype)),
    tf: (tf, x) => tf.sum(x, -1),
  },
  {
    name: `softmax rows [${N},${N}]`,
    inputs: [[[N, N], 7]],
    dl: (dl, x) => {
      // Composed from primitives as @dl/tensor does: exp(x - amax(x)) / sum(...).
      const amax = dl.amax ? (t) => dl.amax(t, -1, { keepdim: true }) : (t) => dl.reduceOp("max", t, [1], true, t.dtype);
      const sum = dl.sum ? (t) => dl.sum(t, -1, { keepdim: true }) : (t) => dl.reduceOp("sum", t, [1], true, t.dtype);
      const exp = dl.exp ?? ((t) => dl.unaryOp("exp", t));
      const e = exp(dl.sub(x, amax(x)));
      return dl.div(e, sum(e));
    },
    tf: (tf, x) => tf.softmax(x),
  },
  {
    name: `transpose+contiguous [${N},${N}]`,
    inputs: [[[N, N], 8]],
    dl: (_dl, x) => x.t().contiguous(),
    tf: (tf, x) => tf.transpose(x),
  },
].filter((w) => !only || w.name.includes(only));

const timing = quick ? { warmup: 1, minReps: 3, maxReps: 3, budgetMs: 0 } : { warmup: 2, minReps: 3, maxReps: 21, budgetMs: 4000 };

/** One timed call: compute, read every value back (dataSync), free. */
function timeOnce(run) {
  const t0 = performance.now();
  const r = run();
  const data = r.dataSync();
  const ms = performance.now() - t0;
  r.dispose();
  return { ms, data };
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/**
 * Median ms per library for one workload. The libraries take turns, one call each per round, so
 * that they share the machine's state alike: background load on a shared machine, and the
 * allocator (the first calls that allocate megabytes page-fault until malloc adapts).
 */
async function measure(entries) {
  const times = entries.map(() => []);
  const results = entries.map(() => undefined);
  for (const [i, e] of entries.entries()) {
    await e.activate();
    // A slow first call (tfjs cpu on matmul 1024 takes seconds) is warmup enough.
    const first = timeOnce(e.run);
    for (let k = 1; k < timing.warmup && first.ms < 1000; k++) timeOnce(e.run);
    results[i] = first.data;
  }
  const start = performance.now();
  for (let round = 0; round < timing.minReps || (round < timing.maxReps && performance.now() - start < timing.budgetMs); round++) {
    for (const [i, e] of entries.entries()) {
      await e.activate();
      const t = timeOnce(e.run);
      times[i].push(t.ms);
      results[i] = t.data;
    }
  }
  return entries.map((_, i) => ({ median: median(times[i]), reps: times[i].length, result: results[i] }));
}

function maxAbsDiff(a, b) {
  if (!a || !b || a.length !== b.length) return Number.NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const fmtMs = (ms) =>
  ms === undefined ? "n/a" : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
const fmtRatio = (a, b) => (a === undefined || b === undefined ? "n/a" : (a / b).toFixed(2));

async function main() {
  const t0 = performance.now();
  const dl = await loadDl();
  dl.registerBackend(dl.cpuBackend);
  if (quick || flag("check")) {
    const { failures, engines } = checkKernels(dl.cpuBackend, dl.castScalar, dl.setMatmulEngine, dl.matmulEngine);
    for (const f of failures) console.error(`KERNEL CHECK FAILED ${f}`);
    console.log(`kernel checks (matmul engines: ${engines.join(", ")}): ${failures.length ? `${failures.length} failed` : "ok"}`);
    if (failures.length) process.exitCode = 1;
  }
  const { tf, wasm } = await loadTf();

  const libs = [
    {
      key: "dl",
      activate: () => {},
      make: (data, shape) => dl.fromArray(data, shape, { dtype: "float32" }),
      run: (w, xs) => () => dl.tidy(() => w.dl(dl, ...xs)),
    },
    ...["cpu", "wasm"].map((backend) => ({
      key: `tfjs-${backend}`,
      activate: async () => {
        if (tf.getBackend() === backend) return;
        if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend '${backend}' failed to initialise`);
        // The cpu backend suggests tfjs-node on its first write; we know.
        const b = tf.backend();
        if ("firstUse" in b) b.firstUse = false;
      },
      make: (data, shape) => tf.tensor(data, shape, "float32"),
      run: (w, xs) => () => tf.tidy(() => w.tf(tf, ...xs)),
    })),
  ];
  // Initialise both tfjs backends up front (quietly: tfjs suggests tfjs-node on first use).
  await quietly(async () => {
    for (const lib of libs) await lib.activate();
  });
  const wasmInfo = `SIMD ${tf.env().getBool("WASM_HAS_SIMD_SUPPORT") ? "on" : "off"}, threads ${tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT") ? wasm.getThreadsCount() : "off (1)"}`;

  const results = workloads.map((w) => ({ name: w.name, flops: w.flops }));
  const outputs = workloads.map(() => ({}));
  for (const [i, w] of workloads.entries()) {
    const entries = [];
    for (const lib of libs) {
      await lib.activate();
      const xs = w.inputs.map(([shape, seed]) =>
        lib.make(
          values(
            shape.reduce((p, s) => p * s, 1),
            seed,
          ),
          shape,
        ),
      );
      entries.push({ activate: lib.activate, run: lib.run(w, xs), xs });
    }
    const measured = await measure(entries);
    libs.forEach((lib, j) => {
      const m = measured[j];
      results[i][lib.key] = m.median;
      results[i][`${lib.key} reps`] = m.reps;
      outputs[i][lib.key] = m.result;
      process.stderr.write(`  ${lib.key.padEnd(9)} ${w.name.padEnd(34)} ${fmtMs(m.median).padStart(8)} ms  (${m.reps} reps)\n`);
    });
    for (const [j, lib] of libs.entries()) {
      await lib.activate();
      for (const x of entries[j].xs) x.dispose();
    }
  }

  // Both libraries must have computed the same thing (float32: allow rounding differences).
  let failed = false;
  results.forEach((r, i) => {
    const o = outputs[i];
    r.maxAbsDiff = Math.max(maxAbsDiff(o.dl, o["tfjs-cpu"]), maxAbsDiff(o.dl, o["tfjs-wasm"]));
    const scale = o["tfjs-cpu"].reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
    if (!(r.maxAbsDiff <= 1e-4 * Math.max(1, scale))) {
      failed = true;
      console.error(`MISMATCH ${r.name}: max |dl - tfjs| = ${r.maxAbsDiff} (output scale ${scale})`);
    }
  });

  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `\ndl vs TensorFlow.js ${tf.version.tfjs}${quick ? " (--quick)" : ""}: median ms per call incl. dataSync; ratio = dl time / tfjs time (< 1: dl faster)`,
  );
  console.log(
    `machine: ${cpu}, ${os.cpus().length} logical CPUs, Node ${process.version}, ${os.platform()}-${os.arch()}; dl: 1 thread${flag("dist") ? " (dist)" : " (source)"}; tfjs-wasm: ${wasmInfo}\n`,
  );
  const header = ["workload", "dl median", "tfjs-cpu median", "tfjs-wasm median", "dl/tfjs-cpu", "dl/tfjs-wasm", "max |diff|"];
  const rows = results.map((r) => [
    r.name,
    fmtMs(r.dl),
    fmtMs(r["tfjs-cpu"]),
    fmtMs(r["tfjs-wasm"]),
    fmtRatio(r.dl, r["tfjs-cpu"]),
    fmtRatio(r.dl, r["tfjs-wasm"]),
    r.maxAbsDiff.toExponential(1),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  const gf = results.filter((r) => r.flops);
  if (gf.length) {
    console.log("\nmatmul GFLOP/s:");
    for (const r of gf) {
      const g = (ms) => (ms ? (r.flops / ms / 1e6).toFixed(2) : "n/a");
      console.log(
        `  ${r.name.padEnd(16)} dl ${g(r.dl).padStart(6)}   tfjs-cpu ${g(r["tfjs-cpu"]).padStart(6)}   tfjs-wasm ${g(r["tfjs-wasm"]).padStart(6)}`,
      );
    }
  }
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const json = option("json");
  if (json)
    writeFileSync(json, `${JSON.stringify({ quick, machine: cpu, node: process.version, tfjsWasm: wasmInfo, results }, null, 2)}\n`);
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
