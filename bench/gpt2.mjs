// GPT-2 with @dl/transformers on dl's CPU backend, against PyTorch on the same machine in the same run:
// forward of 1 x T tokens, greedy decoding with the KV cache (tokens/s, also without the cache), and
// one full fine-tuning step (AdamW, B=1, T tokens) with its peak memory.
//   node --expose-gc bench/gpt2.mjs [--shape=124m|small] [--new=N] [--no-torch]
// 124m: GPT-2 small's shape (n_embd 768, 12 layers, 12 heads, vocab 50257), random weights.
// PyTorch: /usr/bin/python3 bench/gpt2_torch.py (Debian's torch; the reference forward of
// tooling/fixtures/gen_transformers.py). For its BLAS to be OpenBLAS rather than the reference BLAS,
// install libopenblas0-pthread (see bench/README.md); the ratios print as measured either way.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDlPackages } from "./lib/load.mjs";

const benchDir = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def;
const shape = arg("shape", "124m");
const newTokens = Number(arg("new", 32));
const T = Number(arg("seq", 128));
const PROMPT = 16;

const dl = await loadDlPackages("dl-gpt2-bench", {
  optim: "packages/optim/src/index.ts",
  transformers: "packages/transformers/src/index.ts",
});
dl.registerBackend(dl.cpuBackend);
const backend = dl.getBackend("cpu");
const { GPT2Config, GPT2LMHeadModel } = dl.transformers;
const dims =
  shape === "124m"
    ? { vocab: 50257, positions: 1024, embd: 768, layer: 12, head: 12 }
    : { vocab: 8192, positions: 256, embd: 256, layer: 4, head: 4 };
const cfg = new GPT2Config({ vocabSize: dims.vocab, nPositions: dims.positions, nEmbd: dims.embd, nLayer: dims.layer, nHead: dims.head });
const mb = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 10));
  }
};

dl.manualSeed(0);
const model = new GPT2LMHeadModel(cfg).eval();
const ids = dl.randint(0, cfg.vocabSize, [1, T], { dtype: "int64" });
const res = {};

// forward 1 x T
dl.noGrad(() => dl.tidy(() => model.call(ids).logits.dataSync()));
let t = performance.now();
for (let i = 0; i < 3; i++) dl.noGrad(() => dl.tidy(() => model.call(ids).logits.dataSync()));
res.forward_ms = (performance.now() - t) / 3;

// greedy decode with and without the cache
const prompt = ids.narrow(1, 0, PROMPT);
t = performance.now();
await model.generate(prompt, { maxNewTokens: newTokens, eosTokenId: null });
res.decode_tokens_per_s = newTokens / ((performance.now() - t) / 1000);
const fewer = Math.min(8, newTokens);
t = performance.now();
await model.generate(prompt, { maxNewTokens: fewer, eosTokenId: null, useCache: false });
res.decode_nocache_tokens_per_s = fewer / ((performance.now() - t) / 1000);

// one training step, B=1, peak memory
await settle();
const start = backend.memory().bytes;
model.train();
const opt = new dl.optim.AdamW(model.parameters(), { lr: 1e-4 });
let peak = 0;
const times = [];
for (let i = 0; i < 3; i++) {
  t = performance.now();
  dl.tidy(() => {
    opt.zeroGrad({ setToNone: true });
    const out = model.call(ids, { labels: ids });
    peak = Math.max(peak, backend.memory().bytes);
    out.loss.backward();
    peak = Math.max(peak, backend.memory().bytes);
    opt.step();
    peak = Math.max(peak, backend.memory().bytes);
  });
  if (i > 0) times.push(performance.now() - t);
}
res.train_step_ms = times.reduce((a, b) => a + b, 0) / times.length;
res.peak_bytes = peak;
res.weights_bytes = model.numParameters() * 4;

console.log(
  `GPT-2 ${shape} (n_embd ${cfg.nEmbd}, ${cfg.nLayer} layers, vocab ${cfg.vocabSize}, ${model.numParameters().toLocaleString("en")} parameters), T=${T}, prompt ${PROMPT} + ${newTokens} new tokens`,
);
let torch = null;
if (!process.argv.includes("--no-torch")) {
  try {
    const a = JSON.stringify({ ...dims, T, prompt: PROMPT, new: newTokens });
    torch = JSON.parse(
      execFileSync("/usr/bin/python3", [join(benchDir, "gpt2_torch.py"), a], { encoding: "utf8" })
        .trim()
        .split("\n")
        .at(-1),
    );
  } catch (e) {
    console.log(`(PyTorch side skipped: ${String(e.message).split("\n")[0]})`);
  }
}
const row = (name, dlv, tv, unit, higherIsBetter) => {
  const ratio = tv === undefined ? "" : `  dl/PyTorch speed ${(higherIsBetter ? dlv / tv : tv / dlv).toFixed(2)}x`;
  console.log(
    `${name.padEnd(30)} dl ${dlv.toFixed(1).padStart(8)} ${unit}${tv === undefined ? "" : `   PyTorch ${tv.toFixed(1).padStart(8)} ${unit}`}${ratio}`,
  );
};
row(`forward 1x${T}`, res.forward_ms, torch?.forward_ms, "ms", false);
row("greedy decode, KV cache", res.decode_tokens_per_s, torch?.decode_tokens_per_s, "tok/s", true);
row("greedy decode, no cache", res.decode_nocache_tokens_per_s, undefined, "tok/s", true);
row(`train step AdamW B=1 T=${T}`, res.train_step_ms, torch?.train_step_ms, "ms", false);
console.log(
  `training: weights ${mb(res.weights_bytes)}, peak live storage during the step ${mb(res.peak_bytes - start)} (weights + grads + AdamW state + activations)`,
);
if (torch) console.log(`PyTorch ${torch.torch}, ${torch.threads} thread(s)`);
