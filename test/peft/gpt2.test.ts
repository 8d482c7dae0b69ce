import "@dl/autograd";
import { join } from "node:path";
import { LoraConfig, LoraLayer, PeftModel, PrefixEncoder, PrefixTuningConfig, PromptEmbedding, PromptTuningConfig, getPeftModel } from "@dl/peft";
import { type Tensor, getDefaultDevice, manualSeed, tensor } from "@dl/tensor";
import { Conv1D, GPT2LMHeadModel } from "@dl/transformers";
import { afterEach, expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";
import { fixtureDir } from "./models.js";

// The gpu backend (gpu.js on software GL) compiles a kernel per new shape: generous timeouts.
vi.setConfig({ testTimeout: 240_000 });

const fx = loadFixtures("peft");
const TOL = { rtol: 2e-4, atol: 2e-5, dtype: false };
const gpt2Dir = join(import.meta.dirname, "..", "fixtures", "transformers", "gpt2");
const load = () => GPT2LMHeadModel.fromPretrained(gpt2Dir, { device: getDefaultDevice(), warn: () => {} });
const { ids: idsSpec, labels: labelsSpec, mask: maskSpec } = fx["gpt2-lora"];

afterEach(() => vi.restoreAllMocks());

describeEachBackend("PEFT adapters on GPT-2 (@dl/transformers) vs the PyTorch reference", () => {
  it("LoRA on c_attn (Conv1D, fan_in_fan_out): logits, loss, gradients of A and B; PEFT's keys", async () => {
    const f = fx["gpt2-lora"];
    const peft = await PeftModel.fromPretrained(await load(), fixtureDir("gpt2-lora"), { isTrainable: true });
    const layer = peft.getBaseModel().getSubmodule("transformer.h.0.attn.c_attn") as LoraLayer;
    expect(layer).toBeInstanceOf(LoraLayer);
    expect(layer.base_layer).toBeInstanceOf(Conv1D);
    expect(layer.fanInFanOut).toBe(true);
    const out = peft.call(fromSpec(idsSpec), { attentionMask: fromSpec(maskSpec), labels: fromSpec(labelsSpec) });
    expectClose(out.logits, f.logits, TOL);
    expect(out.loss?.item()).toBeCloseTo(f.loss, 4);
    out.loss?.backward();
    const params = Object.fromEntries(peft.namedParameters());
    for (const [k, g] of Object.entries(f.grads)) expectClose((params[k] as Tensor).grad as Tensor, g as never, { ...TOL, atol: 1e-4 });
    const trainable = [...peft.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n);
    expect([...trainable].sort()).toEqual(Object.keys(f.grads).sort());
    // merged into the Conv1D weights, the model computes the same logits
    const merged = peft.mergeAndUnload();
    expect(merged.transformer.h.at(0)).toBeDefined();
    expectClose(merged.call(fromSpec(idsSpec), { attentionMask: fromSpec(maskSpec) }).logits, f.logits, { ...TOL, atol: 5e-5 });
  });

  it("LoRA from getPeftModel: the default target for gpt2 is c_attn, r=8 prints PEFT's counts", async () => {
    manualSeed(0);
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(console, "log").mockImplementation(() => {});
    const model = await load();
    const peft = getPeftModel(model, new LoraConfig({ taskType: "CAUSAL_LM" }));
    const keys = Object.keys(peft.stateDict()).filter((k) => k.includes("lora_"));
    expect(keys).toEqual([
      "base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight",
      "base_model.model.transformer.h.0.attn.c_attn.lora_B.default.weight",
      "base_model.model.transformer.h.1.attn.c_attn.lora_A.default.weight",
      "base_model.model.transformer.h.1.attn.c_attn.lora_B.default.weight",
    ]);
    // LoRA per layer: A [8, 16] + B [48, 8] = 512. Base: wte 768 + wpe 512 + 2 blocks of 3,280 + ln_f 32
    // = 7,872 (lm_head is tied to wte and counted once, as PyTorch's named_parameters does).
    expect(peft.printTrainableParameters()).toBe("trainable params: 1,024 || all params: 8,896 || trainable%: 11.5108");
    const files = await peft.savePretrained();
    const cfg = JSON.parse(files["adapter_config.json"] as string);
    expect([cfg.target_modules, cfg.fan_in_fan_out, cfg.task_type, cfg.r]).toEqual([["c_attn"], true, "CAUSAL_LM", 8]);
    // "all-linear" on a GPT-2: every Conv1D but not lm_head (the output embeddings)
    const all = getPeftModel(await load(), new LoraConfig({ targetModules: "all-linear" }));
    const wrapped = [...all.getBaseModel().namedModules()].filter(([, m]) => m instanceof LoraLayer).map(([n]) => n);
    expect(wrapped.length).toBe(8);
    expect(wrapped.some((n) => n.includes("lm_head"))).toBe(false);
  });

  it("prompt tuning: inputsEmbeds = [prompt; wte(ids)], mask and labels prefixed", async () => {
    const f = fx["gpt2-prompt"];
    const peft = await PeftModel.fromPretrained(await load(), fixtureDir("gpt2-prompt"), { isTrainable: true });
    const out = peft.call(fromSpec(idsSpec), { attentionMask: fromSpec(maskSpec), labels: fromSpec(labelsSpec) });
    expect(out.logits.shape).toEqual([2, 11, 48]);
    expectClose(out.logits, f.logits, TOL);
    expect(out.loss?.item()).toBeCloseTo(f.loss, 4);
    out.loss?.backward();
    expectClose((peft.promptEncoder("default") as PromptEmbedding).embedding.weight.grad as Tensor, f.grad, { ...TOL, atol: 1e-4 });
    expect([...peft.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n)).toEqual(["prompt_encoder.default.embedding.weight"]);
  });

  it("prompt tuning TEXT init from a tokenizer, sizes from the model's config", async () => {
    const model = await load();
    const tokenizer = { encode: () => [3, 9] };
    const peft = getPeftModel(model, new PromptTuningConfig({ numVirtualTokens: 3, promptTuningInit: "TEXT", promptTuningInitText: "hi" }), { tokenizer });
    const c = peft.activePeftConfig as PromptTuningConfig;
    expect([c.tokenDim, c.numLayers, c.numAttentionHeads, c.numTransformerSubmodules]).toEqual([16, 2, 4, 1]);
    const wte = model.transformer.wte.weight;
    const want = [3, 9, 3].flatMap((i) => Array.from(wte.dataSync().slice(i * 16, i * 16 + 16)));
    expect(Array.from((peft.promptEncoder("default") as PromptEmbedding).embedding.weight.dataSync())).toEqual(want);
  });

  it("prefix tuning: per-layer key/value prefixes through pastKeyValues", async () => {
    const f = fx["gpt2-prefix"];
    const peft = await PeftModel.fromPretrained(await load(), fixtureDir("gpt2-prefix"), { isTrainable: true });
    expect(peft.promptEncoder("default")).toBeInstanceOf(PrefixEncoder);
    const out = peft.call(fromSpec(idsSpec), { attentionMask: fromSpec(maskSpec), labels: fromSpec(labelsSpec) });
    expectClose(out.logits, f.logits, TOL);
    expect(out.loss?.item()).toBeCloseTo(f.loss, 4);
    out.loss?.backward();
    expectClose((peft.promptEncoder("default") as PrefixEncoder).embedding.weight.grad as Tensor, f.grad, { ...TOL, atol: 1e-4 });
    // the saved tensor is prompt_embeddings [n, n_layer·2·n_embd]
    const files = await peft.savePretrained();
    const again = await PeftModel.fromPretrained(await load(), files);
    const x = tensor([[1, 2, 3]], { dtype: "int64" });
    expect(Array.from(again.call(x).logits.dataSync())).toEqual(Array.from(peft.call(x).logits.dataSync()));
  });

  it("prefix tuning with a projection trains the MLP and saves its output", async () => {
    manualSeed(3);
    const peft = getPeftModel(await load(), new PrefixTuningConfig({ numVirtualTokens: 2, prefixProjection: true, encoderHiddenSize: 8 }));
    const enc = peft.promptEncoder("default") as PrefixEncoder;
    expect(enc.transform).not.toBeNull();
    expect(enc.embedding.weight.shape).toEqual([2, 16]);
    const files = await peft.savePretrained();
    const again = await PeftModel.fromPretrained(await load(), files);
    expect((again.promptEncoder("default") as PrefixEncoder).embedding.weight.shape).toEqual([2, 64]);
    const x = tensor([[4, 5]], { dtype: "int64" });
    expectClose(again.call(x).logits, { dtype: "float32", shape: [1, 2, 48], data: Array.from(peft.call(x).logits.dataSync()) }, { rtol: 1e-5, atol: 1e-6 });
  });
});
