import "@dl/autograd";
import { GPT2Config, GPT2LMHeadModel, GPT2Model } from "@dl/transformers";
import { cat, getDefaultDevice } from "@dl/tensor";
import { expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { expectClose, fromSpec } from "../helpers/fixtures.js";
import { TOL, expected, filesOf, model } from "./helpers.js";

// On the gpu backend (llvmpipe in CI) every new shape compiles kernels: give model tests time.
vi.setConfig({ testTimeout: 240_000 });

const g = expected.gpt2;

describeEachBackend("GPT-2 vs the PyTorch reference", () => {
  const load = () => GPT2LMHeadModel.fromPretrained(model("gpt2"), { device: getDefaultDevice(), warn: () => {} });

  it("logits, every hidden state and the KV cache match", async () => {
    const m = await load();
    const out = m.call(fromSpec(g.input_ids), { outputHiddenStates: true, useCache: true });
    expectClose(out.logits, g.logits, TOL);
    expect(out.hiddenStates?.length).toBe(3);
    for (const [i, h] of (out.hiddenStates ?? []).entries()) expectClose(h, g.hidden_states[i], TOL);
    expectClose(out.pastKeyValues?.[0]?.[0] as never, g.present_key_0, TOL);
    expectClose(out.pastKeyValues?.[1]?.[1] as never, g.present_value_1, TOL);
  });

  it("the padding mask is added as (1 - m) * finfo.min", async () => {
    const m = await load();
    const out = m.call(fromSpec(g.input_ids), { attentionMask: fromSpec(g.attention_mask) });
    expectClose(out.logits, g.logits_masked, TOL);
  });

  it("feeding the sequence in two parts with pastKeyValues gives the full forward's logits", async () => {
    const m = await load();
    const ids = fromSpec(g.input_ids);
    const a = m.call(ids.narrow(1, 0, 4), { useCache: true });
    const b = m.call(ids.narrow(1, 4, 3), { pastKeyValues: a.pastKeyValues, useCache: true });
    expectClose(cat([a.logits, b.logits], 1), g.logits, TOL);
    expect([...(b.pastKeyValues?.[0]?.[0].shape ?? [])]).toEqual([2, 4, 7, 4]);
  });

  it("scale_attn_by_inverse_layer_idx and scale_attn_weights=false", async () => {
    const dev = getDefaultDevice();
    const a = await GPT2LMHeadModel.fromPretrained(filesOf("gpt2", { scale_attn_by_inverse_layer_idx: true }), { device: dev });
    expectClose(a.call(fromSpec(g.input_ids)).logits, g.logits_inverse_layer_idx, TOL);
    const b = await GPT2LMHeadModel.fromPretrained(filesOf("gpt2", { scale_attn_weights: false }), { device: dev });
    expectClose(b.call(fromSpec(g.input_ids)).logits, g.logits_unscaled, TOL);
  });

  it("the causal LM loss (shifted, ignore index -100) and its gradients", async () => {
    const m = await load();
    const out = m.call(fromSpec(g.input_ids), { labels: fromSpec(g.labels) });
    expect(out.loss?.item()).toBeCloseTo(g.loss, 4);
    out.loss?.backward();
    const params = Object.fromEntries(m.namedParameters());
    for (const [name, spec] of Object.entries(g.grads)) {
      const p = params[name] as { grad: unknown };
      expect(p, name).toBeDefined();
      expectClose(p.grad as never, spec as never, { rtol: 1e-3, atol: 1e-5 });
    }
  });

  it("GPT2Model is the bare transformer (the file's transformer.* keys)", async () => {
    const base = await GPT2Model.fromPretrained(model("gpt2"), { device: getDefaultDevice() });
    const out = base.call(fromSpec(g.input_ids));
    expectClose(out.lastHiddenState, g.hidden_states[2], TOL);
  });

  it("builds from a config with Hugging Face's module tree", () => {
    const m = new GPT2LMHeadModel(new GPT2Config({ nEmbd: 8, nLayer: 2, nHead: 2, vocabSize: 11, nPositions: 16 }));
    const keys = Object.keys(m.stateDict());
    expect(keys).toEqual([
      "transformer.wte.weight",
      "transformer.wpe.weight",
      ...[0, 1].flatMap((i) =>
        ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"].map(
          (k) => `transformer.h.${i}.${k}`,
        ),
      ),
      "transformer.ln_f.weight",
      "transformer.ln_f.bias",
      "lm_head.weight",
    ]);
    expect(m.lm_head.weight).toBe(m.transformer.wte.weight);
    expect([...m.transformer.h.at(0).stateDict()["attn.c_attn.weight"]!.shape]).toEqual([8, 24]);
    // Tied lm_head is counted once: 11*8 + 16*8 + 2 * (4*8 + 8*24+24 + 8*8+8 + 8*32+32 + 32*8+8) + 2*8.
    expect(m.numParameters()).toBe(88 + 128 + 2 * (32 + 216 + 72 + 288 + 264) + 16);
  });
});

describeEachBackend("attention paths agree", () => {
  it("outputAttentions (eager softmax) and the fused path give the same outputs; weights are causal rows summing to 1", async () => {
    const m = await GPT2LMHeadModel.fromPretrained(model("gpt2"), { device: getDefaultDevice(), warn: () => {} });
    const ids = fromSpec(g.input_ids);
    const mask = fromSpec(g.attention_mask);
    const out = m.call(ids, { attentionMask: mask, outputAttentions: true });
    expectClose(out.logits, g.logits_masked, TOL);
    const w = out.attentions?.[1];
    expect([...(w?.shape ?? [])]).toEqual([2, 4, 7, 7]);
    const v = Array.from(w?.dataSync() ?? []);
    // Row 1 (unpadded), head 0, query 2: keys 3.. are causally masked.
    const row = v.slice((1 * 4 * 7 + 2) * 7, (1 * 4 * 7 + 2) * 7 + 7);
    expect(row.slice(3)).toEqual([0, 0, 0, 0]);
    expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
});

it("logitsToKeep computes only the last positions' logits", async () => {
  await import("../helpers/backends.js");
  const m = await GPT2LMHeadModel.fromPretrained(model("gpt2"), { warn: () => {} });
  const full = m.call(fromSpec(g.input_ids)).logits;
  const last = m.call(fromSpec(g.input_ids), { logitsToKeep: 2 }).logits;
  expect([...last.shape]).toEqual([2, 2, 48]);
  expect(Array.from(last.dataSync())).toEqual(Array.from(full.narrow(1, 5, 2).contiguous().dataSync()));
});
