#!/usr/bin/env node
// dl on its gpu backend (gpu.js, WebGL2) against TensorFlow.js's WebGL backend, in the same headless
// Chromium page, on the same inputs and weights: matmul 512 and 1024, conv2d [32,32,16,16] x
// [64,32,3,3], and the MNIST CNN training step of bench/workloads/training.mjs. Without a GPU,
// Chromium's WebGL is SwiftShader (software): the absolute numbers mean little there, the ratio
// dl/tfjs is what to record (target: <= 1.5). On a machine with a GPU the same script measures it.
//
//   pnpm bench:gpu                                 (= node packages/backend-gpu/bench/browser.mjs)
//   node packages/backend-gpu/bench/browser.mjs --quick       tiny sizes, a smoke test (~30 s)
//   --only=SUBSTR     workloads whose name contains SUBSTR
//   --reps=N          timed rounds per workload (default 5; --quick 2)
//   --profile         instead of the comparison: which dl gpu kernels run per call and how long
//                     each takes (a one-texel read-back after every kernel), for the conv2d and CNN rows
//   --chromium=PATH   the browser (default /usr/bin/chromium; never downloaded)
//   --headed / --gpu  extra Chromium flags for a real GPU: --gpu drops the SwiftShader flag and
//                     asks for hardware GL (--use-angle=default --ignore-gpu-blocklist)
//
// Exits non-zero when dl's and tfjs's results disagree beyond float32 tolerance.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "../../..");
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, fallback) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? fallback : a.slice(name.length + 3);
};
const quick = flag("quick");
const only = option("only", "");
const reps = Number(option("reps", quick ? 2 : 5));
const warmup = quick ? 1 : 2;
const chromiumPath = option("chromium", "/usr/bin/chromium");
const realGpu = flag("gpu");

/** Kernels must match within 1e-4 of max(1, output scale); the training losses within 1e-4 of their scale. */
const KERNEL_RTOL = 1e-4;
const LOSS_RTOL = 1e-4;
const TARGET = 1.5;

// ---- the page bundle: dl from source (the "@dl/source" condition) + tfjs from bench/'s node_modules ----
const t0 = performance.now();
const bundle = await build({
  entryPoints: [join(here, "browser-page.mjs")],
  bundle: true,
  write: false,
  format: "iife",
  platform: "browser",
  target: "es2022",
  conditions: ["@dl/source"],
  nodePaths: [join(repo, "bench", "node_modules")],
  logLevel: "warning",
});
const code = bundle.outputFiles[0].text;
const bundleSeconds = (performance.now() - t0) / 1000;

// ---- Chromium (the flags of test/gpu/chromium.ts), through playwright-core ----
if (!existsSync(chromiumPath)) {
  console.error(`${chromiumPath} is missing: install Chromium (Debian: apt-get install -y chromium) or pass --chromium=PATH`);
  process.exit(1);
}
const require = createRequire(join(here, "../package.json"));
const { chromium } = require("playwright-core");
const chromiumArgs = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  ...(realGpu ? ["--use-angle=default", "--ignore-gpu-blocklist", "--enable-gpu-rasterization"] : ["--enable-unsafe-swiftshader"]),
];
const profileDir = mkdtempSync(join(tmpdir(), "dl-bench-chromium-"));
const context = await chromium.launchPersistentContext(profileDir, {
  executablePath: chromiumPath,
  headless: !flag("headed"),
  args: chromiumArgs,
});

const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

function table(head, rows, alignLeft = [0]) {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((c, i) => (alignLeft.includes(i) ? String(c).padEnd(width[i]) : String(c).padStart(width[i]))).join(" | ")} |`;
  const rule = `|${width.map((w, i) => (alignLeft.includes(i) ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

let failed = false;
try {
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") console.error(`[page] ${m.text()}`);
  });
  await page.goto("about:blank");
  await page.addScriptTag({ content: code });
  const info = await page.evaluate(() => globalThis.__bench.setup());
  const names = await page.evaluate((q) => globalThis.__bench.names(q), quick);
  const selected = names.map((n, i) => [n, i]).filter(([n]) => n.includes(only));

  console.log(`machine: ${cpus()[0]?.model ?? "?"}, ${cpus().length} logical CPUs, Node ${process.version}`);
  console.log(`browser: ${info.userAgent}`);
  console.log(`WebGL renderer: ${info.renderer}`);
  console.log(`dl: ${info.dl}`);
  console.log(`tf: ${info.tf}`);
  console.log(`bundle: ${(code.length / 1e6).toFixed(1)} MB in ${bundleSeconds.toFixed(1)} s; ${quick ? "--quick, " : ""}warmup ${warmup}, ${reps} timed rounds (dl and tfjs alternate)\n`);

  if (flag("profile")) {
    const targets = selected.filter(([n]) => n.startsWith("conv2d") || n.startsWith("MNIST"));
    for (const [name, index] of targets) {
      const p = await page.evaluate(([i, o]) => globalThis.__bench.profile(i, o), [index, { quick, warmup, steps: reps }]);
      const total = p.kernels.reduce((s, k) => s + k.ms, 0);
      const runs = p.kernels.reduce((s, k) => s + k.calls, 0);
      console.log(`**${name}** (dl on gpu, per call)`);
      console.log(
        `wall ${fmtMs(p.plainMs)} ms; with a one-texel read-back after every kernel ${fmtMs(p.profiledMs)} ms, of which ${fmtMs(total)} ms in ${runs} kernel runs ` +
          `(${p.kernels.length} programs; ${p.syncMs.toFixed(2)} ms per read-back subtracted); the rest is host work (JS: dispatch, autograd, gpu.js argument handling) and the final read-back\n`,
      );
      const rows = p.kernels.map((k) => [k.key, k.calls.toFixed(0), fmtMs(k.ms), `${((100 * k.ms) / total).toFixed(1)}%`, Math.round(k.elements)]);
      console.log(table(["kernel (program key)", "runs", "ms", "share", "elements/run"], rows));
      console.log("");
      // The matmuls of one call by shape, with their operands' strides and the kernel's read modes (src/matmul.ts's last ints).
      const mm = p.matmuls.map((m) => [m.key, `${m.b} x [${m.m},${m.k}] @ [${m.k},${m.n}]`, m.strides, m.modes, fmtMs(m.ms)]);
      console.log(table(["matmul run", "batch x [M,K] @ [K,N]", "strides [b,row,col]", "modes", "ms"], mm, [0, 1, 2]));
      console.log("");
    }
  } else {
    const rows = [];
    for (const [name, index] of selected) {
      process.stderr.write(`${name} ... `);
      const r = await page.evaluate(([i, o]) => globalThis.__bench.run(i, o), [index, { quick, warmup, reps }]);
      const tol = r.loss ? LOSS_RTOL * r.scale : KERNEL_RTOL * Math.max(1, r.scale);
      const ok = r.maxAbsDiff <= tol;
      const ratio = r.dlMs / r.tfMs;
      process.stderr.write(`dl ${r.dlAll.map(fmtMs).join(", ")} ms; tfjs ${r.tfAll.map(fmtMs).join(", ")} ms\n`);
      if (r.losses) process.stderr.write(`  losses dl ${r.losses.dl.map((l) => l.toFixed(6))}\n  losses tf ${r.losses.tf.map((l) => l.toFixed(6))}\n`);
      if (!ok) {
        failed = true;
        console.error(`MISMATCH ${name}: max |dl - tfjs| = ${r.maxAbsDiff} > ${tol} (scale ${r.scale})`);
      }
      rows.push([
        name,
        `${fmtMs(r.dlMs)} ms`,
        `${fmtMs(r.tfMs)} ms`,
        `${ratio.toFixed(2)}x`,
        ratio <= TARGET ? "met" : "not met",
        `${r.maxAbsDiff.toExponential(1)}${ok ? "" : " (!)"}`,
      ]);
    }
    console.log(table(["workload", "dl gpu", "tfjs webgl", "dl/tfjs", `<= ${TARGET}x`, "max |diff|"], rows));
  }
  if (pageErrors.length) {
    failed = true;
    console.error(`page errors:\n${pageErrors.join("\n")}`);
  }
} finally {
  await context.close();
  rmSync(profileDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
