import "@dl/autograd";
import "../helpers/backends.js";
import { AdamW } from "@dl/optim";
import { manualSeed, randint } from "@dl/tensor";
import { BertConfig, BertForSequenceClassification, GPT2Config, GPT2LMHeadModel } from "@dl/transformers";
import { describe, expect, it } from "vitest";

const tinyGpt = () => new GPT2Config({ nEmbd: 16, nLayer: 2, nHead: 2, vocabSize: 20, nPositions: 16, residPdrop: 0, embdPdrop: 0, attnPdrop: 0 });

describe("training the models with @dl/optim", () => {
  it("GPT2LMHeadModel fine-tunes: the loss on a fixed batch falls", () => {
    manualSeed(0);
    const m = new GPT2LMHeadModel(tinyGpt());
    m.train();
    const opt = new AdamW(m.parameters(), { lr: 1e-2 });
    const ids = randint(0, 20, [4, 12], { dtype: "int64" });
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      opt.zeroGrad();
      const { loss } = m.call(ids, { labels: ids });
      loss?.backward();
      opt.step();
      losses.push(Number(loss?.item() ?? Number.NaN));
    }
    expect(losses[0]).toBeGreaterThan(2.5);
    expect(losses[29]).toBeLessThan((losses[0] as number) * 0.5);
    expect(m.numParameters({ onlyTrainable: true })).toBe(m.numParameters());
  });

  it("gradient checkpointing gives the same gradients (GPT-2 and BERT)", () => {
    manualSeed(1);
    const m = new GPT2LMHeadModel(tinyGpt());
    m.train();
    const ids = randint(0, 20, [2, 10], { dtype: "int64" });
    const grads = () => {
      m.zeroGrad({ setToNone: true });
      m.call(ids, { labels: ids }).loss?.backward();
      return [...m.namedParameters()].map(([n, p]) => [n, Array.from(p.grad?.dataSync() ?? [])] as const);
    };
    const plain = grads();
    m.gradientCheckpointingEnable();
    const ckpt = grads();
    for (const [i, [n, g]] of plain.entries()) {
      const c = ckpt[i]?.[1] ?? [];
      expect(c.length, n).toBe(g.length);
      for (let j = 0; j < g.length; j++) expect(c[j], n).toBeCloseTo(g[j] as number, 5);
    }
    const b = new BertForSequenceClassification(new BertConfig({ vocabSize: 30, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 16, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 }));
    const x = randint(1, 30, [2, 5], { dtype: "int64" });
    const y = randint(0, 2, [2], { dtype: "int64" });
    const bg = () => {
      b.zeroGrad({ setToNone: true });
      b.call(x, { labels: y }).loss?.backward();
      return Array.from(b.bert.encoder.layer.at(0).stateDict({ keepVars: true })["attention.self.query.weight"]?.grad?.dataSync() ?? []);
    };
    const g0 = bg();
    b.gradientCheckpointingEnable();
    const g1 = bg();
    expect(g0.length).toBe(64);
    for (let j = 0; j < g0.length; j++) expect(g1[j]).toBeCloseTo(g0[j] as number, 5);
  });
});
