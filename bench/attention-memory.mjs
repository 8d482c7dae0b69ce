#!/usr/bin/env node
// Memory of causal self-attention through F.scaledDotProductAttention on the CPU backend: the fused
// kernel (default) against the composed path (matmul, softmax, matmul), at growing sequence length.
// For each: the peak bytes of live storages during forward (every backend call is followed by a
// reading), the bytes the autograd graph keeps for backward, and the peak during backward.
//
//   node bench/attention-memory.mjs [--seqs=512,1024] [--heads=4] [--dim=64]
import { loadDl } from "./lib/load.mjs";

const args = process.argv.slice(2);
const option = (name, d) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? d;
const seqs = option("seqs", "512,1024").split(",").map(Number);
const H = Number(option("heads", "4"));
const D = Number(option("dim", "64"));

const { dl } = await loadDl();
dl.registerBackend(dl.cpuBackend);
const bytes = () => dl.storage.memoryInfo().bytes;

// Peak tracking: after every call into the backend (primitives and fused kernels), read the live bytes.
let peak = 0;
const wrap = (obj) => {
  for (const [k, f] of Object.entries(obj)) {
    if (typeof f !== "function") continue;
    obj[k] = (...a) => {
      const r = f.apply(obj, a);
      peak = Math.max(peak, bytes());
      return r;
    };
  }
};
wrap(dl.cpuBackend);
const fused = dl.cpuBackend.fused;
const saved = { attention: fused.attention, attentionBackward: fused.attentionBackward };
wrap(fused);

const mib = (b) => `${(b / 2 ** 20).toFixed(2)} MiB`;
const rows = [];
for (const S of seqs) {
  for (const path of ["fused", "composed"]) {
    if (path === "composed") {
      delete fused.attention;
      delete fused.attentionBackward;
    }
    dl.manualSeed(0);
    const q = dl.randn([1, H, S, D]).requiresGrad_();
    const k = dl.randn([1, H, S, D]).requiresGrad_();
    const v = dl.randn([1, H, S, D]).requiresGrad_();
    const base = bytes();
    peak = base;
    const t0 = performance.now();
    const out = dl.nn.F.scaledDotProductAttention(q, k, v, { isCausal: true });
    const fwdMs = performance.now() - t0;
    const fwdPeak = peak - base;
    const kept = bytes() - base;
    peak = bytes();
    const before = peak;
    const t1 = performance.now();
    dl.sum(out).backward();
    const bwdMs = performance.now() - t1;
    const bwdPeak = peak - before;
    rows.push({ S, path, fwdPeak, kept, bwdPeak, fwdMs, bwdMs });
    for (const t of [q, k, v, out]) t.dispose();
    Object.assign(fused, saved);
    wrap(fused);
  }
}
console.log(
  `causal self-attention, batch 1, ${H} heads, head dim ${D}, float32; bytes beyond q, k, v (${mib(3 * H * seqs[0] * D * 4)} at seq ${seqs[0]})`,
);
console.log("| seq | path | forward peak | kept for backward | backward peak | forward | backward |");
console.log("|---:|---|---:|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.S} | ${r.path} | ${mib(r.fwdPeak)} | ${mib(r.kept)} | ${mib(r.bwdPeak)} | ${r.fwdMs.toFixed(1)} ms | ${r.bwdMs.toFixed(1)} ms |`,
  );
}
console.log("The fused kernel also holds one block of scores in a scratch array (65,536 floats = 256 KiB) while it runs.");
