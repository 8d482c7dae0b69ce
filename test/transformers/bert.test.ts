import "@dl/autograd";
import { BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel } from "@dl/transformers";
import { getDefaultDevice, tensor } from "@dl/tensor";
import { expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { expectClose, fromSpec } from "../helpers/fixtures.js";
import { TOL, expected, model } from "./helpers.js";

// On the gpu backend (llvmpipe in CI) every new shape compiles kernels: give model tests time.
vi.setConfig({ testTimeout: 240_000 });

const b = expected.bert;
const inputs = () => ({ attentionMask: fromSpec(b.attention_mask), tokenTypeIds: fromSpec(b.token_type_ids) });

describeEachBackend("BERT vs the PyTorch reference", () => {
  const opts = () => ({ device: getDefaultDevice(), warn: () => {} });

  it("BertForSequenceClassification: hidden states, pooler, logits, loss and gradients", async () => {
    const m = await BertForSequenceClassification.fromPretrained(model("bert-cls"), opts());
    expect(m.config.numLabels).toBe(3);
    expect(m.config.id2label[2]).toBe("positive");
    const out = m.call(fromSpec(b.input_ids), { ...inputs(), labels: fromSpec(b.cls_labels), outputHiddenStates: true });
    expectClose(out.logits, b.cls_logits, TOL);
    for (const [i, h] of (out.hiddenStates ?? []).entries()) expectClose(h, b.hidden_states[i], TOL);
    expect(out.loss?.item()).toBeCloseTo(b.cls_loss, 4);
    expect(m.config.problemType).toBe("single_label_classification");
    out.loss?.backward();
    const params = Object.fromEntries(m.namedParameters());
    for (const [name, spec] of Object.entries(b.cls_grads)) expectClose(params[name]?.grad as never, spec as never, { rtol: 1e-3, atol: 1e-5 });
  });

  it("BertModel: last hidden state and pooler output (the file's bert.* keys)", async () => {
    const m = await BertModel.fromPretrained(model("bert-cls"), opts());
    const out = m.call(fromSpec(b.input_ids), inputs());
    expectClose(out.lastHiddenState, b.last_hidden_state, TOL);
    expectClose(out.poolerOutput as never, b.pooler_output, TOL);
  });

  it("BertForMaskedLM: tied decoder, shared bias, logits, loss, gradients", async () => {
    const m = await BertForMaskedLM.fromPretrained(model("bert-mlm"), opts());
    expect(m.cls.predictions.decoder.weight).toBe(m.bert.embeddings.word_embeddings.weight);
    expect(m.cls.predictions.decoder.bias).toBe(m.cls.predictions.bias);
    expect(m.bert.pooler).toBeNull();
    const out = m.call(fromSpec(b.input_ids), { ...inputs(), labels: fromSpec(b.mlm_labels) });
    expectClose(out.logits, b.mlm_logits, TOL);
    expect(out.loss?.item()).toBeCloseTo(b.mlm_loss, 4);
    out.loss?.backward();
    const params = Object.fromEntries(m.namedParameters());
    for (const [name, spec] of Object.entries(b.mlm_grads)) expectClose(params[name]?.grad as never, spec as never, { rtol: 1e-3, atol: 1e-5 });
  });

  it("legacy files: LayerNorm.gamma/beta, no bert. prefix, a position_ids buffer", async () => {
    const warnings: string[] = [];
    const m = await BertForSequenceClassification.fromPretrained(model("bert-legacy"), { device: getDefaultDevice(), warn: (w) => warnings.push(w) });
    // The encoder comes from the file; the classifier head is new (transformers' warning).
    expect(warnings.join("\n")).toMatch(/newly initialized: classifier\.weight, classifier\.bias/);
    expect(warnings.join("\n")).not.toMatch(/position_ids|gamma/);
    const base = await BertModel.fromPretrained(model("bert-legacy"), opts());
    const out = base.call(fromSpec(b.input_ids), inputs());
    expectClose(out.lastHiddenState, b.last_hidden_state, TOL);
    expectClose(m.bert.call(fromSpec(b.input_ids), inputs()).poolerOutput as never, b.pooler_output, TOL);
  });

  it("problem types: regression (1 label) and multi-label", () => {
    const cfg = new BertConfig({ vocabSize: 10, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 8, numLabels: 1 });
    const reg = new BertForSequenceClassification(cfg).eval();
    const ids = tensor([[1, 2, 3]], { dtype: "int64" });
    const r = reg.call(ids, { labels: tensor([0.5]) });
    expect(cfg.problemType).toBe("regression");
    const l = Number(r.logits.item());
    expect(r.loss?.item()).toBeCloseTo((l - 0.5) ** 2, 5);
    const multi = new BertForSequenceClassification(new BertConfig({ vocabSize: 10, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, numLabels: 3 })).eval();
    const out = multi.call(ids, { labels: tensor([[1, 0, 1]]) });
    expect(multi.config.problemType).toBe("multi_label_classification");
    expect(out.loss?.item()).toBeGreaterThan(0);
  });
});

describeEachBackend("BERT attention paths agree", () => {
  it("outputAttentions gives the same hidden states, padded keys get zero weight", async () => {
    const m = await BertModel.fromPretrained(model("bert-cls"), { device: getDefaultDevice(), warn: () => {} });
    const out = m.call(fromSpec(b.input_ids), { ...inputs(), outputAttentions: true });
    expectClose(out.lastHiddenState, b.last_hidden_state, TOL);
    const w = Array.from(out.attentions?.[0]?.dataSync() ?? []);
    // batch 1 has 2 padding tokens at the end: every row's last two weights are 0.
    const base = 1 * 2 * 6 * 6;
    for (let r = 0; r < 12; r++) expect(w.slice(base + r * 6 + 4, base + r * 6 + 6)).toEqual([0, 0]);
  });
});
