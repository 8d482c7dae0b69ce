#!/usr/bin/env node
// A/B timing of one CPU fused kernel against the generic path, in one process with interleaved
// calls (robust on a loaded machine): the kernel is detached from cpuBackend.fused for the B calls.
//   node bench/ab-fused.mjs --kernel=conv2d --only="conv2d [32,3," [--rounds=15]
import { median } from "./lib/harness.mjs";
import { loadDl } from "./lib/load.mjs";
import { convWorkloads } from "./workloads/conv.mjs";
import { kernelWorkloads } from "./workloads/kernels.mjs";
import { lstmWorkloads } from "./workloads/lstm.mjs";
import { trainingWorkloads } from "./workloads/training.mjs";
import { transformerWorkloads } from "./workloads/transformer.mjs";

const args = process.argv.slice(2);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const kernel = option("kernel") ?? "conv2d";
const only = option("only") ?? "conv2d";
const rounds = Number(option("rounds") ?? 15);
const { dl } = await loadDl();
dl.registerBackend(dl.cpuBackend);
const all = [
  ...kernelWorkloads(false),
  ...convWorkloads(false),
  ...transformerWorkloads(false),
  ...lstmWorkloads(false),
  ...trainingWorkloads(false),
];
const fused = dl.cpuBackend.fused;
const saved = fused[kernel];
if (!saved) throw new Error(`ab-fused.mjs: the cpu backend has no fused '${kernel}'`);
for (const w of all.filter((x) => only.split("|").some((o) => x.name.includes(o)))) {
  const { run, dispose } = w.dl(dl);
  const call = () => {
    const t0 = performance.now();
    const r = run();
    for (const t of Array.isArray(r) ? r : [r]) {
      t.dataSync();
      t.dispose();
    }
    return performance.now() - t0;
  };
  const times = { fused: [], generic: [] };
  for (let i = 0; i < rounds + 2; i++) {
    for (const mode of ["fused", "generic"]) {
      fused[kernel] = mode === "fused" ? saved : undefined;
      const ms = call();
      if (i >= 2) times[mode].push(ms);
    }
  }
  fused[kernel] = saved;
  dispose?.();
  const f = median(times.fused);
  const g = median(times.generic);
  console.log(`${w.name}: fused ${kernel} ${f.toFixed(2)} ms, generic ${g.toFixed(2)} ms (${(g / f).toFixed(2)}x), medians of ${rounds}`);
}
