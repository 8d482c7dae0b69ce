import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AutoConfig, BertConfig, GPT2Config } from "@dl/transformers";
import { describe, expect, it } from "vitest";
import { model } from "./helpers.js";

describe("GPT2Config / BertConfig", () => {
  it("Hugging Face's defaults (GPT-2 small, bert-base)", () => {
    const g = new GPT2Config();
    expect([g.vocabSize, g.nPositions, g.nEmbd, g.nLayer, g.nHead, g.nInner]).toEqual([50257, 1024, 768, 12, 12, null]);
    expect([g.activationFunction, g.layerNormEpsilon, g.scaleAttnWeights, g.scaleAttnByInverseLayerIdx, g.bosTokenId, g.eosTokenId]).toEqual([
      "gelu_new",
      1e-5,
      true,
      false,
      50256,
      50256,
    ]);
    expect(g.tieWordEmbeddings).toBe(true);
    const b = new BertConfig();
    expect([b.vocabSize, b.hiddenSize, b.numHiddenLayers, b.intermediateSize, b.hiddenAct, b.layerNormEps, b.padTokenId, b.typeVocabSize]).toEqual([
      30522,
      768,
      12,
      3072,
      "gelu",
      1e-12,
      0,
      2,
    ]);
    expect(b.numLabels).toBe(2);
  });

  it("aliases: hidden_size / num_hidden_layers / ... set GPT-2's n_embd / n_layer", () => {
    const g = new GPT2Config({ hidden_size: 64, num_hidden_layers: 3, numAttentionHeads: 4, max_position_embeddings: 128 });
    expect([g.nEmbd, g.nLayer, g.nHead, g.nPositions]).toEqual([64, 3, 4, 128]);
    expect([g.hiddenSize, g.numHiddenLayers, g.numAttentionHeads, g.maxPositionEmbeddings]).toEqual([64, 3, 4, 128]);
    expect(g.toDict().n_embd).toBe(64);
    expect(g.toDict()).not.toHaveProperty("hidden_size");
  });

  it("a config.json round-trips, unknown keys included", () => {
    const src = JSON.parse(readFileSync(join(model("gpt2"), "config.json"), "utf8"));
    const cfg = GPT2Config.fromDict({ ...src, my_custom_key: [1, 2] });
    expect(cfg.extra).toEqual({ n_ctx: 32, my_custom_key: [1, 2] });
    const out = cfg.toDict();
    for (const [k, v] of Object.entries(src)) expect(out[k], k).toEqual(v);
    expect(out.my_custom_key).toEqual([1, 2]);
    expect(GPT2Config.fromDict(out).toDict()).toEqual(out);
  });

  it("labels: id2label defines numLabels; numLabels makes LABEL_i", () => {
    const b = BertConfig.fromDict(JSON.parse(readFileSync(join(model("bert-cls"), "config.json"), "utf8")));
    expect(b.numLabels).toBe(3);
    expect(b.label2id.positive).toBe(2);
    expect(b.toDict().id2label).toEqual({ 0: "negative", 1: "neutral", 2: "positive" });
    const c = new BertConfig({ numLabels: 4 });
    expect(c.id2label).toEqual({ 0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2", 3: "LABEL_3" });
    expect(c.toDict().label2id).toEqual({ LABEL_0: 0, LABEL_1: 1, LABEL_2: 2, LABEL_3: 3 });
  });

  it("model_type is checked and written", () => {
    expect(() => GPT2Config.fromDict({ model_type: "bert" })).toThrow(/model_type "bert", this config is for "gpt2"/);
    expect(new BertConfig().toDict().model_type).toBe("bert");
    expect(AutoConfig.forModel("bert", { hidden_size: 32 })).toBeInstanceOf(BertConfig);
    expect(() => AutoConfig.forModel("llama")).toThrow(/unrecognized model_type "llama"; known: gpt2, bert/);
  });
});
