#!/usr/bin/env node
// Times dl on the gpu backend against dl on the CPU backend, same workloads and data, one process.
// In Node the GPU is Mesa's llvmpipe (software GL) under Xvfb: the numbers say what the kernels
// cost there, not what a real GPU would do. Run from the repository root:
//
//   xvfb-run -a pnpm --filter @dl/backend-gpu bench          (or: xvfb-run -a node packages/backend-gpu/bench/gpu.mjs)
//   --quick   tiny sizes, one rep (a smoke test)
//
// Each timing ends with a one-element read-back, so queued GL work is included.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes("--quick");

// Bundle the sources (the "@dl/source" export condition): no package build needed.
const entry = `
export * as dl from "@dl/tensor";
export { noGrad } from "@dl/autograd";
export { cpuBackend } from "@dl/backend-cpu";
export { createGpuBackend } from "@dl/backend-gpu";
`;
// Written next to this file (and removed once loaded) so that gpu.js resolves from this package.
const dir = mkdtempSync(join(here, ".bundle-"));
const out = join(dir, "bundle.mjs");
await build({
  stdin: { contents: entry, resolveDir: here, loader: "ts" },
  bundle: true,
  outfile: out,
  format: "esm",
  platform: "node",
  target: "node20",
  conditions: ["@dl/source"],
  external: ["gpu.js", "gl"],
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: "warning",
});
writeFileSync(join(dir, "package.json"), '{"type":"module"}');
let lib;
try {
  lib = await import(pathToFileURL(out).href);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const { dl, noGrad, cpuBackend, createGpuBackend } = lib;

const gpu = createGpuBackend();
dl.registerBackend(cpuBackend);
dl.registerBackend(gpu);
console.log(`gpu backend: ${gpu.kernelClass} (mode ${gpu.mode}), MAX_TEXTURE_SIZE ${gpu.maxTextureSize}`);

const s = (big, small) => (quick ? small : big);
const workloads = [
  { name: `matmul ${s(256, 32)}x${s(256, 32)} @ ${s(256, 32)}x${s(256, 32)}`, make: () => [dl.randn(s(256, 32), s(256, 32)), dl.randn(s(256, 32), s(256, 32))], run: (a, b) => dl.matmul(a, b) },
  { name: `matmul ${s(512, 32)}x${s(512, 32)} (transposed rhs)`, make: () => [dl.randn(s(512, 32), s(512, 32)), dl.randn(s(512, 32), s(512, 32))], run: (a, b) => dl.matmul(a, b.t()) },
  { name: `add ${s(1_000_000, 1000)} (broadcast row)`, make: () => [dl.randn(s(1000, 10), s(1000, 100)), dl.randn(s(1000, 100))], run: (a, b) => dl.add(a, b) },
  { name: `exp + mul ${s(1_000_000, 1000)}`, make: () => [dl.randn(s(1_000_000, 1000))], run: (a) => dl.mul(dl.exp(a), a) },
  { name: `sum ${s(1_000_000, 1000)}`, make: () => [dl.randn(s(1_000_000, 1000))], run: (a) => dl.sum(a) },
  { name: `sum over rows ${s(1000, 10)}x${s(1000, 100)}`, make: () => [dl.randn(s(1000, 10), s(1000, 100))], run: (a) => dl.sum(a, 1) },
  { name: `sort rows ${s(256, 8)}x${s(1024, 64)}`, make: () => [dl.randn(s(256, 8), s(1024, 64))], run: (a) => dl.sort(a, 1).values },
  {
    name: `MLP step 64x${s(256, 32)}->${s(128, 16)}->1 (fwd+bwd+SGD)`,
    make: () => {
      const params = [dl.mul(dl.randn(s(256, 32), s(128, 16)), 0.1), dl.zeros(s(128, 16)), dl.mul(dl.randn(s(128, 16), 1), 0.1), dl.zeros(1)];
      return [dl.randn(64, s(256, 32)), dl.randn(64, 1), ...params];
    },
    setup: (xs) => xs.slice(2).forEach((p) => p.requiresGrad_()),
    run: (x, y, w1, b1, w2, b2) => {
      const d = dl.sub(dl.add(dl.matmul(dl.relu(dl.add(dl.matmul(x, w1), b1)), w2), b2), y);
      const loss = dl.mean(dl.mul(d, d));
      loss.backward();
      noGrad(() => {
        for (const p of [w1, b1, w2, b2]) {
          dl.sub_(p, dl.mul(p.grad, 0.01));
          p.grad = null;
        }
      });
      return loss;
    },
  },
];

function time(device, w) {
  dl.manualSeed(0);
  const inputs = w.make().map((t) => (device === "cpu" ? t : t.to(device)));
  w.setup?.(inputs);
  const once = () =>
    dl.tidy(() => {
      const r = w.run(...inputs);
      return r.reshape(-1).slice(0, 0, 1).item(); // a one-element read-back: waits for the GL queue
    });
  once(); // warm-up (compiles the GPU kernels)
  const reps = quick ? 1 : 5;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) once();
  const ms = (performance.now() - t0) / reps;
  for (const t of inputs) t.dispose();
  return ms;
}

const rows = [];
for (const w of workloads) {
  const cpu = time("cpu", w);
  const g = time("gpu", w);
  rows.push([w.name, cpu.toFixed(2), g.toFixed(2), (cpu / g).toFixed(2)]);
}
const head = ["workload", "cpu ms", "gpu ms", "cpu/gpu"];
const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join("  ");
console.log(line(head));
for (const r of rows) console.log(line(r));
console.log(`compiled kernels: ${gpu.kernels().size}; live gpu storages after the run: ${gpu.memory().storages}`);
