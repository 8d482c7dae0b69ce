// LoRA vs full fine-tuning of a GPT-2-architecture model (@dl/transformers' GPT2LMHeadModel) on dl's
// CPU backend: tokens/s of one AdamW step and the memory it holds.
//   node --expose-gc bench/peft-lora.mjs [--shape=small|124m] [--steps=N] [--batch=B] [--seq=T]
// small: n_embd 256, 4 layers, 4 heads, vocab 8192 (default, ~30 s); 124m: GPT-2's 768/12/12/50257.
// Memory: backend.memory() (live storages) sampled after the forward, the backward and the optimizer
// step of each step, and the bytes of gradients + optimizer state that stay between steps. Each step
// runs in tidy() so that temporaries are freed deterministically.
// Bundles the packages' TypeScript sources with esbuild (the "@dl/source" condition): no build needed.
import { loadDlPackages } from "./lib/load.mjs";

const arg = (name, def) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def;
const shape = arg("shape", "small");
const steps = Number(arg("steps", shape === "124m" ? 2 : 5));
const B = Number(arg("batch", 4));
const T = Number(arg("seq", shape === "124m" ? 128 : 64));

const dl = await loadDlPackages("dl-peft-bench", {
  optim: "packages/optim/src/index.ts",
  transformers: "packages/transformers/src/index.ts",
  peft: "packages/peft/src/index.ts",
});
dl.registerBackend(dl.cpuBackend);
const backend = dl.getBackend("cpu");
const { GPT2Config, GPT2LMHeadModel } = dl.transformers;
const { LoraConfig, getPeftModel } = dl.peft;
const cfg =
  shape === "124m"
    ? new GPT2Config({ vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12 })
    : new GPT2Config({ vocabSize: 8192, nPositions: 256, nEmbd: 256, nLayer: 4, nHead: 4 });
const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;

function stateBytes(model, opt) {
  let n = 0;
  for (const p of model.parameters()) if (p.grad) n += p.grad.numel() * p.grad.elementSize();
  for (const s of opt.state.values())
    for (const v of Object.values(s)) if (v && typeof v === "object" && "numel" in v) n += v.numel() * v.elementSize();
  return n;
}

async function settle() {
  // Let the previous run's storages go: collect, then let finalizers run between tasks.
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function run(label, makeTrainable) {
  await settle();
  const start = backend.memory().bytes;
  dl.manualSeed(0);
  const base = new GPT2LMHeadModel(cfg);
  const model = makeTrainable(base);
  model.train();
  await settle(); // initialization temporaries
  const opt = new dl.optim.AdamW(
    [...model.parameters()].filter((p) => p.requiresGrad),
    { lr: 1e-4 },
  );
  const ids = dl.randint(0, cfg.vocabSize, [B, T]);
  const weights = backend.memory().bytes - start;
  let peak = 0;
  const times = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    dl.tidy(() => {
      opt.zeroGrad({ setToNone: true });
      const out = model.call(ids, { labels: ids });
      peak = Math.max(peak, backend.memory().bytes);
      out.loss.backward();
      peak = Math.max(peak, backend.memory().bytes);
      opt.step();
      peak = Math.max(peak, backend.memory().bytes);
    });
    if (i > 0) times.push(performance.now() - t0); // step 0 warms up
  }
  const ms = times.reduce((a, b) => a + b, 0) / times.length;
  peak -= start;
  const trainable = [...model.parameters()].filter((p) => p.requiresGrad).reduce((s, p) => s + p.numel(), 0);
  const state = stateBytes(model, opt);
  console.log(
    `${label.padEnd(22)} trainable ${trainable.toLocaleString("en-US").padStart(12)}  step ${(ms / 1000).toFixed(2)} s  ${((B * T) / (ms / 1000)).toFixed(1)} tokens/s  ` +
      `weights ${mb(weights)}  grads+optimizer ${mb(state)}  peak ${mb(peak)}`,
  );
  return { ms, state, peak, weights };
}

console.log(
  `GPT-2 ${shape} (n_embd ${cfg.nEmbd}, ${cfg.nLayer} layers, vocab ${cfg.vocabSize}), B=${B}, T=${T}, AdamW, ${steps} steps after a warm-up, dl cpu backend`,
);
const full = await run("full fine-tuning", (m) => m);
const lora = await run("LoRA r=8 on c_attn", (m) =>
  getPeftModel(m, new LoraConfig({ r: 8, loraAlpha: 16, targetModules: ["c_attn"], taskType: "CAUSAL_LM" })),
);
console.log(
  `LoRA / full: step time ${(lora.ms / full.ms).toFixed(2)}x, grads+optimizer ${(lora.state / full.state).toFixed(4)}x, peak ${(lora.peak / full.peak).toFixed(2)}x`,
);
