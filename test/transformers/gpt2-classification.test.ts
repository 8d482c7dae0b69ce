import "@dl/autograd";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArgumentError, getDefaultDevice } from "@dl/tensor";
import { AutoModelForSequenceClassification, GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel } from "@dl/transformers";
import { expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { expectClose, fromSpec } from "../helpers/fixtures.js";
import { fixtureDir, model, TOL } from "./helpers.js";

// On the gpu backend (llvmpipe in CI) every new shape compiles kernels: give model tests time.
vi.setConfig({ testTimeout: 240_000 });

// biome-ignore lint/suspicious/noExplicitAny: fixture files are free-form JSON
const tasks: any = JSON.parse(readFileSync(join(fixtureDir, "tasks.json"), "utf8"));
const c = tasks.seq_cls;
const opts = () => ({ device: getDefaultDevice(), warn: () => {} });

describeEachBackend("GPT2ForSequenceClassification vs the PyTorch reference", () => {
  it("logits at each row's last non-pad token (right, left and no padding), cross-entropy and gradients", async () => {
    const m = await GPT2ForSequenceClassification.fromPretrained(model("gpt2-cls"), opts());
    expect(m.config.padTokenId).toBe(c.pad_token_id);
    expect(m.score.bias).toBeNull();
    const out = m.call(fromSpec(c.input_ids), { attentionMask: fromSpec(c.attention_mask), labels: fromSpec(c.labels) });
    expect(out.logits.shape).toEqual([3, 3]);
    expectClose(out.logits, c.logits, TOL);
    expect(out.loss?.item()).toBeCloseTo(c.loss, 4);
    expect(m.config.problemType).toBe("single_label_classification");
    out.loss?.backward();
    const params = Object.fromEntries(m.namedParameters());
    for (const [name, spec] of Object.entries(c.grads)) expectClose(params[name]?.grad as never, spec as never, { rtol: 1e-3, atol: 1e-5 });
  });

  it("multi-label (float labels: BCE with logits) and regression (one label: MSE)", async () => {
    const m = await GPT2ForSequenceClassification.fromPretrained(model("gpt2-cls"), opts());
    const multi = m.call(fromSpec(c.input_ids), { attentionMask: fromSpec(c.attention_mask), labels: fromSpec(c.multi_labels) });
    expect(m.config.problemType).toBe("multi_label_classification");
    expect(multi.loss?.item()).toBeCloseTo(c.multi_loss, 4);
    const r = await AutoModelForSequenceClassification.fromPretrained<GPT2ForSequenceClassification>(model("gpt2-cls-1"), opts());
    expect(r).toBeInstanceOf(GPT2ForSequenceClassification);
    const reg = r.call(fromSpec(c.input_ids), { attentionMask: fromSpec(c.attention_mask), labels: fromSpec(c.reg_labels) });
    expect(r.config.problemType).toBe("regression");
    expectClose(reg.logits, c.reg_logits, TOL);
    expect(reg.loss?.item()).toBeCloseTo(c.reg_loss, 4);
  });

  it("without a pad token: the last position of a single row; a batch is an ArgumentError", async () => {
    const m = await GPT2ForSequenceClassification.fromPretrained(model("gpt2-cls"), { ...opts(), configOverrides: { pad_token_id: null } });
    const ids = fromSpec(c.input_ids);
    expectClose(m.call(ids.narrow(0, 1, 1)).logits, c.nopad_logits, TOL);
    expect(() => m.call(ids)).toThrow(ArgumentError);
    expect(() => m.call(ids)).toThrow(/batch of 3 without a padding token/);
  });
});

it("state dict keys, loading an LM checkpoint (new score head) and a savePretrained round trip", async () => {
  const cfg = new GPT2Config({ vocabSize: 20, nEmbd: 8, nLayer: 1, nHead: 2, nPositions: 16, numLabels: 4, padTokenId: 0 });
  const m = new GPT2ForSequenceClassification(cfg);
  const keys = Object.keys(m.stateDict());
  expect(keys).toContain("transformer.h.0.attn.c_attn.weight");
  expect(keys.filter((k) => k.startsWith("score"))).toEqual(["score.weight"]);
  expect(m.score.weight.shape).toEqual([4, 8]);
  const warnings: string[] = [];
  const fromLm = await GPT2ForSequenceClassification.fromPretrained(model("gpt2"), { warn: (w) => warnings.push(w) });
  expect(warnings.join("\n")).toMatch(/newly initialized: score\.weight/);
  const lm = await GPT2LMHeadModel.fromPretrained(model("gpt2"), { warn: () => {} });
  expectClose(fromLm.transformer.wte.weight, { dtype: "float32", shape: lm.transformer.wte.weight.shape as number[], data: Array.from(lm.transformer.wte.weight.dataSync(), Number) });
  const dir = mkdtempSync(join(tmpdir(), "gpt2-cls-"));
  try {
    const src = await GPT2ForSequenceClassification.fromPretrained(model("gpt2-cls"), { warn: () => {} });
    await src.savePretrained(dir);
    const saved = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(saved.architectures).toEqual(["GPT2ForSequenceClassification"]);
    const back = await AutoModelForSequenceClassification.fromPretrained<GPT2ForSequenceClassification>(dir, { warn: () => {} });
    const ids = fromSpec(c.input_ids);
    expectClose(back.call(ids).logits, { dtype: "float32", shape: [3, 3], data: Array.from(src.call(ids).logits.dataSync(), Number) }, { rtol: 0, atol: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
