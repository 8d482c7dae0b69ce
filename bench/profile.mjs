#!/usr/bin/env node
// Profiles dl alone on one benchmark workload: runs its dl side in a loop under the V8 sampling
// profiler and prints where the time goes (self time by function, and time inside chosen functions).
//
//   node bench/profile.mjs --only="elementwise ops" [--seconds=5] [--quick] [--out=FILE.cpuprofile]
//
// The profile is also written (default bench/node_modules/.cache/<name>.cpuprofile) for Chrome DevTools.
import { Session } from "node:inspector/promises";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDl } from "./lib/load.mjs";
import { autogradWorkloads } from "./workloads/autograd.mjs";
import { convWorkloads } from "./workloads/conv.mjs";
import { kernelWorkloads } from "./workloads/kernels.mjs";
import { lstmWorkloads } from "./workloads/lstm.mjs";
import { trainingWorkloads } from "./workloads/training.mjs";
import { transformerWorkloads } from "./workloads/transformer.mjs";

const args = process.argv.slice(2);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = args.includes("--quick");
const only = option("only");
const seconds = Number(option("seconds") ?? 5);
if (!only) throw new Error('profile.mjs: pass --only="part of a workload name"');

const { dl, notes } = await loadDl();
for (const n of notes) console.log(`note: ${n}`);
dl.registerBackend(dl.cpuBackend);
const w = [
  ...kernelWorkloads(quick),
  ...convWorkloads(quick),
  ...autogradWorkloads(quick),
  ...transformerWorkloads(quick),
  ...lstmWorkloads(quick),
  ...trainingWorkloads(quick),
].find((x) => x.name.includes(only));
if (!w) throw new Error(`profile.mjs: no workload matches '${only}'`);
const { run, dispose } = w.dl(dl);
const call = () => {
  const r = run();
  for (const t of Array.isArray(r) ? r : [r]) {
    t.dataSync();
    t.dispose();
  }
};
for (let i = 0; i < 5; i++) call(); // warm up the JIT

const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 100 });
await session.post("Profiler.start");
let calls = 0;
const t0 = performance.now();
while (performance.now() - t0 < seconds * 1000) {
  call();
  calls++;
}
const ms = performance.now() - t0;
const { profile } = await session.post("Profiler.stop");
dispose?.();

const out =
  option("out") ??
  join(dirname(fileURLToPath(import.meta.url)), "node_modules", ".cache", `${w.name.replace(/[^a-z0-9]+/gi, "_")}.cpuprofile`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(profile));

// The bundle marks each source file with a "// packages/..." line: map bundle lines to sources.
const bundleFiles = new Map(); // url -> [[startLine, path], ...]
const sourceOf = (frame) => {
  const url = frame.url;
  if (!url.includes("dl-bench.mjs")) return url ? url.split("/").pop() : "";
  if (!bundleFiles.has(url)) {
    const marks = [];
    readFileSync(fileURLToPath(url.split("?")[0]), "utf8")
      .split("\n")
      .forEach((l, i) => {
        if (l.startsWith("// packages/")) marks.push([i, l.slice(3)]);
      });
    bundleFiles.set(url, marks);
  }
  let file = "dl-bench.mjs";
  for (const [line, path] of bundleFiles.get(url)) if (line <= frame.lineNumber) file = path;
  return file;
};

// Self and inclusive time per function (name + file), from the sample counts.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map();
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const total = profile.samples.length;
const label = (n) => {
  const f = n.callFrame;
  const file = sourceOf(f);
  return `${f.functionName || "(anonymous)"}${file ? ` ${file.replace("packages/", "")}` : ""}`;
};
const self = new Map();
const incl = new Map();
for (const [id, c] of counts) {
  const n = byId.get(id);
  self.set(label(n), (self.get(label(n)) ?? 0) + c);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur));
    if (seen.has(l)) continue; // recursion: count once
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + c);
  }
}
const perCall = (c) => `${((c / total) * (ms / calls)).toFixed(3)} ms/call`;
const pct = (c) => `${((100 * c) / total).toFixed(1).padStart(5)}%`;
console.log(
  `\n${w.name}: ${calls} calls in ${(ms / 1000).toFixed(1)} s = ${(ms / calls).toFixed(3)} ms/call; ${total} samples -> ${out}\n`,
);
console.log("self time (top 25):");
for (const [l, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(c)}  ${perCall(c).padStart(16)}  ${l}`);
// Self time by source file; a builtin (Math.sin, Set.add: no url) counts for its caller's file.
const byFile = new Map();
for (const [id, c] of counts) {
  let cur = id;
  while (
    cur !== undefined &&
    !byId.get(cur).callFrame.url &&
    parent.get(cur) !== undefined &&
    !/^\(/.test(byId.get(cur).callFrame.functionName)
  )
    cur = parent.get(cur);
  const f = byId.get(cur).callFrame;
  const file = f.url ? sourceOf(f) : f.functionName;
  byFile.set(file, (byFile.get(file) ?? 0) + c);
}
console.log("\nself time by source file (builtins count for their caller):");
for (const [l, c] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(c)}  ${perCall(c).padStart(16)}  ${l}`);
console.log("\ninclusive time (top 40, program/idle/GC roots excluded):");
for (const [l, c] of [...incl]
  .filter(([l]) => !/^\((root|program|idle)\)/.test(l))
  .sort((a, b) => b[1] - a[1])
  .slice(0, 40))
  console.log(`  ${pct(c)}  ${perCall(c).padStart(16)}  ${l}`);
