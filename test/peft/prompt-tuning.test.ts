import "@dl/autograd";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Embedding, Linear, Sequential, loadSafetensors } from "@dl/nn";
import { PeftModel, PrefixTuningConfig, PromptEmbedding, PromptTuningConfig, getPeftModel } from "@dl/peft";
import { ArgumentError, DLError, type Tensor, manualSeed, mul, sum, tensor } from "@dl/tensor";
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";
import { fixtureDir, loadBase } from "./models.js";

// The gpu backend (gpu.js on software GL) compiles a kernel per new shape: generous timeouts.
vi.setConfig({ testTimeout: 240_000 });

const fx = loadFixtures("peft").prompt;
const model = () => new Sequential(new Embedding(11, 6), new Linear(6, 4));
const data = (t: Tensor) => Array.from(t.dataSync());

afterEach(() => vi.restoreAllMocks());

describe("PromptTuningConfig", () => {
  it("has PEFT's defaults and checks TEXT init", () => {
    const c = new PromptTuningConfig({ numVirtualTokens: 5 });
    expect([c.peftType, c.promptTuningInit, c.promptTuningInitText, c.tokenDim, c.numTransformerSubmodules]).toEqual(["PROMPT_TUNING", "RANDOM", null, null, null]);
    expect(() => new PromptTuningConfig({ numVirtualTokens: 5, promptTuningInit: "TEXT" })).toThrow(/promptTuningInitText can't be null/);
    expect(() => new PromptTuningConfig({ numVirtualTokens: 0 })).toThrow(ArgumentError);
  });

  it("writes PEFT's config keys", () => {
    const theirs = Object.keys(JSON.parse(readFileSync(join(fixtureDir("prompt"), "adapter_config.json"), "utf8")));
    expect(Object.keys(new PromptTuningConfig({ numVirtualTokens: 3 }).toDict())).toEqual(theirs);
  });
});

describeEachBackend("prompt tuning", () => {
  it("prepends the soft prompt: forward and the prompt's gradient match PyTorch", async () => {
    const base = await loadBase(model(), "prompt");
    const peft = await PeftModel.fromPretrained(base, fixtureDir("prompt"), { isTrainable: true });
    const ids = fromSpec(fx.ids);
    const out = peft.call(ids) as Tensor;
    expectClose(out, fx.out);
    sum(mul(out, fromSpec(fx.upstream))).backward();
    const enc = peft.promptEncoder("default") as PromptEmbedding;
    expectClose(enc.embedding.weight.grad as Tensor, fx.grad);
    // only the virtual tokens train
    expect([...peft.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n)).toEqual(["prompt_encoder.default.embedding.weight"]);
    expect(base.at(0).stateDict().weight?.requiresGrad).toBe(false);
    // the base model is untouched outside the PeftModel, and disableAdapter runs it plainly
    expect((base.call(ids) as Tensor).shape).toEqual([2, 4, 4]);
    expect((peft.disableAdapter(() => peft.call(ids)) as Tensor).shape).toEqual([2, 4, 4]);
  });

  it("RANDOM init, counts, save and reload (prompt_embeddings)", async () => {
    manualSeed(0);
    const peft = getPeftModel(model(), new PromptTuningConfig({ numVirtualTokens: 3, taskType: "CAUSAL_LM" }));
    const c = peft.activePeftConfig as PromptTuningConfig;
    expect([c.tokenDim, c.numTransformerSubmodules]).toEqual([6, 1]);
    vi.spyOn(console, "log").mockImplementation(() => {});
    expect(peft.printTrainableParameters()).toBe("trainable params: 18 || all params: 112 || trainable%: 16.0714");
    const files = await peft.savePretrained();
    const st = loadSafetensors(files["adapter_model.safetensors"] as Uint8Array);
    expect(Object.keys(st.tensors)).toEqual(["prompt_embeddings"]);
    expect(st.tensors.prompt_embeddings?.shape).toEqual([3, 6]);
    const again = await PeftModel.fromPretrained(peft.getBaseModel(), files);
    const ids = tensor([[1, 2]], { dtype: "int64" });
    expect(data(again.call(ids) as Tensor)).toEqual(data(peft.call(ids) as Tensor));
  });

  it("TEXT init copies the init text's token embeddings, repeated to the prompt length", () => {
    const m = model();
    const tokenizer = { encode: (text: string) => ({ ids: text.split(" ").map((w) => w.length) }) };
    const peft = getPeftModel(m, new PromptTuningConfig({ numVirtualTokens: 5, promptTuningInit: "TEXT", promptTuningInitText: "ab cde" }), { tokenizer });
    const w = (m.at(0) as Embedding).weight;
    const rows = [2, 3, 2, 3, 2].flatMap((i) => data(w).slice(i * 6, i * 6 + 6));
    expect(data((peft.promptEncoder("default") as PromptEmbedding).embedding.weight)).toEqual(rows);
    expect(() => getPeftModel(model(), new PromptTuningConfig({ numVirtualTokens: 2, promptTuningInit: "TEXT", promptTuningInitText: "x" }))).toThrow(
      /needs a tokenizer/,
    );
  });

  it("prefix tuning says what it needs", () => {
    expect(() => getPeftModel(model(), new PrefixTuningConfig({ numVirtualTokens: 2 }))).toThrow(DLError);
    expect(() => getPeftModel(model(), new PrefixTuningConfig({ numVirtualTokens: 2 }))).toThrow(/takes a KV cache/);
  });
});
