#!/usr/bin/env node
// Benchmarks dl (@dl/tensor + @dl/backend-cpu, one thread; @dl/autograd, @dl/nn, @dl/optim) against
// TensorFlow.js ('cpu' and 'wasm' backends) on the same workloads and data, in one Node process.
// Four sections: single kernels, autograd (forward + backward), nn layers, training steps. See bench/README.md.
//
//   node bench/run.mjs            full run (~2-3 minutes)
//   node bench/run.mjs --quick    CI smoke: tiny sizes, few reps; kernel/storage checks; results must agree
//   --dist                        use the built packages (dist/) instead of bundling the sources
//   --only=SUBSTR                 only workloads whose name contains SUBSTR (several: A|B|C)
//   --libs=dl,tfjs-wasm           only these libraries (default: dl, tfjs-cpu, tfjs-wasm)
//   --section=kernels,autograd,layers,training   only these sections
//   --check                       run the kernel and storage checks in a full run too
//   --json=FILE                   also write the results as JSON
//   --threads=N                   dl's CPU kernels on N threads (setNumThreads; default 1)
import { writeFileSync } from "node:fs";
import os from "node:os";
import { checkKernels } from "./check-kernels.mjs";
import { checkStorage } from "./check-storage.mjs";
import { maxAbs, maxAbsDiff, measure } from "./lib/harness.mjs";
import { loadDl, loadTf, quietly } from "./lib/load.mjs";
import { fmtNum, sectionTable } from "./lib/report.mjs";
import { autogradWorkloads } from "./workloads/autograd.mjs";
import { convWorkloads } from "./workloads/conv.mjs";
import { kernelWorkloads } from "./workloads/kernels.mjs";
import { lstmWorkloads } from "./workloads/lstm.mjs";
import { trainingWorkloads } from "./workloads/training.mjs";
import { transformerWorkloads } from "./workloads/transformer.mjs";

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = flag("quick");
const only = option("only")?.split("|");
const libKeys = option("libs")?.split(",") ?? ["dl", "tfjs-cpu", "tfjs-wasm"];
const sections = option("section")?.split(",") ?? ["kernels", "autograd", "layers", "training"];

const workloads = [
  ...kernelWorkloads(quick),
  ...convWorkloads(quick),
  ...autogradWorkloads(quick),
  ...transformerWorkloads(quick),
  ...lstmWorkloads(quick),
  ...trainingWorkloads(quick),
].filter((w) => sections.includes(w.section) && (!only || only.some((o) => w.name.includes(o))));

const timing = quick
  ? { warmup: 1, minReps: 3, maxReps: 3, budgetMs: 0, slowMs: 2000 }
  : { warmup: 2, minReps: 3, maxReps: 21, budgetMs: 4000, slowMs: 3000 };

/** Sections whose dl side is finished code: an error there fails the run (training layers may still be in progress). */
const STRICT = new Set(["kernels", "autograd", "layers"]);

const firstLine = (e) => String(e?.message ?? e).split("\n")[0];

async function main() {
  const t0 = performance.now();
  const { dl, notes: loadNotes } = await loadDl({ dist: flag("dist") });
  dl.registerBackend(dl.cpuBackend);
  // One thread unless asked (bench/threads.mjs compares thread counts side by side).
  dl.setNumThreads?.(Number(option("threads") ?? 1));
  const dlThreads = (await dl.threadsReady?.()) ?? 1;
  const notes = [...loadNotes];
  let failed = false;
  if (quick || flag("check")) {
    const { failures, engines } = checkKernels(dl.cpuBackend, dl.castScalar, dl.setMatmulEngine, dl.matmulEngine);
    failures.push(...checkStorage(dl));
    for (const f of failures) console.error(`CHECK FAILED ${f}`);
    console.log(`kernel + storage checks (matmul engines: ${engines.join(", ")}): ${failures.length ? `${failures.length} failed` : "ok"}`);
    if (failures.length) failed = true;
  }
  const { tf, wasm } = await loadTf();

  const activate = async (backend) => {
    if (tf.getBackend() === backend) return;
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend '${backend}' failed to initialise`);
    // The cpu backend suggests tfjs-node on its first write; we know.
    const b = tf.backend();
    if ("firstUse" in b) b.firstUse = false;
  };
  // Initialise both tfjs backends up front (quietly: tfjs suggests tfjs-node on first use).
  await quietly(async () => {
    for (const b of ["cpu", "wasm"]) await activate(b);
  });
  const wasmInfo = `SIMD ${tf.env().getBool("WASM_HAS_SIMD_SUPPORT") ? "on" : "off"}, threads ${tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT") ? wasm.getThreadsCount() : "off (1)"}`;

  const libs = [
    { key: "dl", activate: () => {}, setup: (w) => w.dl(dl) },
    ...["cpu", "wasm"].map((backend) => ({ key: `tfjs-${backend}`, activate: () => activate(backend), setup: (w) => w.tf(tf, backend) })),
  ].filter((l) => libKeys.includes(l.key));

  const results = [];
  for (const w of workloads) {
    const r = { section: w.section, name: w.name, flops: w.flops, perOp: w.perOp, target: w.target, skipped: {} };
    const problem = (lib, what, e) => {
      const strict = STRICT.has(w.section) || what === "MISMATCH";
      notes.push(`${strict ? "ERROR" : "note"}: ${w.name}: ${lib}: ${what}${e ? `: ${firstLine(e)}` : ""}`);
      if (strict) failed = true;
    };
    const setups = [];
    for (const lib of libs) {
      await lib.activate();
      const missing = lib.key === "dl" ? (w.needs?.(dl) ?? []) : [];
      if (missing.length) {
        r.skipped[lib.key] = "skipped";
        notes.push(`skipped: ${w.name}: dl side needs ${missing.join(", ")} (not exported yet)`);
        setups.push(null);
        continue;
      }
      try {
        const s = lib.setup(w);
        setups.push({ ...s, activate: lib.activate });
      } catch (e) {
        r.skipped[lib.key] = "error";
        problem(lib.key, "setup failed", e);
        setups.push(null);
      }
    }
    const measured = await measure(setups, timing);
    libs.forEach((lib, j) => {
      const m = measured[j];
      if (m.error) {
        r.skipped[lib.key] = "error";
        problem(lib.key, "failed", m.error);
      }
      if (m.median === undefined) return;
      r[lib.key] = m.median;
      r[`${lib.key} reps`] = m.reps;
      // tfjs answers in its own layout where it differs (NHWC convolutions): compared in dl's.
      r[`${lib.key} result`] = lib.key !== "dl" && w.tfToDl && m.result ? w.tfToDl(m.result) : m.result;
      if (m.leakPerCall) notes.push(`note: ${w.name}: dl: live storages grew by ${m.leakPerCall.toFixed(1)} per call (not flat)`);
      process.stderr.write(`  ${lib.key.padEnd(9)} ${w.name.padEnd(44)} ${fmtNum(m.median).padStart(8)} ms  (${m.reps} reps)\n`);
    });
    for (const [j, lib] of libs.entries()) {
      if (!setups[j]) continue;
      await lib.activate();
      setups[j].dispose?.();
    }
    // dl must compute what tfjs computes (float32: allow rounding differences). Reference: tfjs-cpu.
    const ref = r["tfjs-cpu result"] ?? r["tfjs-wasm result"];
    if (ref && r["dl result"]) {
      r.maxAbsDiff = Math.max(
        ...["tfjs-cpu", "tfjs-wasm"].filter((k) => r[`${k} result`]).map((k) => maxAbsDiff(r["dl result"], r[`${k} result`])),
      );
      // Kernels: 1e-4 of max(1, output scale); gradients and losses: rtol of their own scale.
      const scale = maxAbs(ref);
      const rtol = w.rtol ?? 1e-4;
      if (!(r.maxAbsDiff <= rtol * Math.max(scale, w.section === "kernels" ? 1 : 0))) {
        problem("dl", "MISMATCH", `max |dl - tfjs| = ${r.maxAbsDiff} (output scale ${scale}, tolerance ${rtol} of it)`);
      }
    }
    for (const k of libs) delete r[`${k.key} result`];
    results.push(r);
  }

  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  console.log(`\ndl vs TensorFlow.js ${tf.version.tfjs}${quick ? " (--quick: tiny sizes, numbers not meaningful)" : ""}`);
  console.log(
    `machine: ${cpu}, ${os.cpus().length} logical CPUs, Node ${process.version}, ${os.platform()}-${os.arch()}; dl: ${dlThreads} thread${dlThreads > 1 ? "s" : ""}${flag("dist") ? " (dist)" : " (source)"}; tfjs-wasm: ${wasmInfo}`,
  );
  console.log("medians; every call reads its results back (dataSync); speedup = tfjs time / dl time (> 1: dl faster)");
  const titles = {
    kernels: "kernels (ms per call)",
    autograd: "autograd: forward + backward (ms per call; the tape row in µs per op)",
    layers: "layers: built-in nn layers vs the same layer written with tfjs ops (ms per call)",
    training: "training steps (zero grads, forward, loss, backward, Adam step; steps per second)",
  };
  for (const sec of ["kernels", "autograd", "layers", "training"]) {
    const rs = results.filter((r) => r.section === sec);
    if (!rs.length) continue;
    console.log(`\n${titles[sec]}\n`);
    console.log(sectionTable(sec, rs));
  }
  const gf = results.filter((r) => r.flops);
  if (gf.length) {
    console.log("\nGFLOP/s (matmul, conv):");
    for (const r of gf) {
      const g = (ms) => (ms ? (r.flops / ms / 1e6).toFixed(2) : "n/a");
      console.log(
        `  ${r.name.padEnd(40)} dl ${g(r.dl).padStart(6)}   tfjs-cpu ${g(r["tfjs-cpu"]).padStart(6)}   tfjs-wasm ${g(r["tfjs-wasm"]).padStart(6)}`,
      );
    }
  }
  if (notes.length) console.log(`\nnotes:\n${notes.map((n) => `  ${n}`).join("\n")}`);
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const json = option("json");
  if (json)
    writeFileSync(json, `${JSON.stringify({ quick, machine: cpu, node: process.version, tfjsWasm: wasmInfo, results, notes }, null, 2)}\n`);
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
