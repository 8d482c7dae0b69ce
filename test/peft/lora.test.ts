import "@dl/autograd";
import { Dropout, Identity, Linear, Module, ReLU, Sequential } from "@dl/nn";
import { LoraConfig, LoraLayer, ModulesToSaveWrapper, PeftModel, getPeftModel } from "@dl/peft";
import { ArgumentError, type Tensor, add_, manualSeed, mul, randn, sum } from "@dl/tensor";
import { Conv1D } from "@dl/transformers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";
import { Gpt2Shaped, fixtureDir, loadBase } from "./models.js";

// The gpu backend (gpu.js on software GL) compiles a kernel per new shape: generous timeouts.
vi.setConfig({ testTimeout: 240_000 });

const fx = loadFixtures("peft");
const mlp = () => new Sequential(new Linear(6, 8), new ReLU(), new Linear(8, 5));
const data = (t: Tensor) => Array.from(t.dataSync());
const maxDiff = (a: Tensor, b: Tensor) => Math.max(...data(a).map((v, i) => Math.abs(v - (data(b)[i] as number))));

afterEach(() => vi.restoreAllMocks());

describe("LoraConfig", () => {
  it("has PEFT's defaults", () => {
    const c = new LoraConfig();
    expect(c.peftType).toBe("LORA");
    expect([c.r, c.loraAlpha, c.loraDropout]).toEqual([8, 8, 0]);
    expect([c.fanInFanOut, c.bias, c.useRslora, c.initLoraWeights, c.loraBias]).toEqual([false, "none", false, true, false]);
    expect([c.targetModules, c.modulesToSave, c.layersToTransform, c.layersPattern, c.taskType]).toEqual([null, null, null, null, null]);
    expect([c.rankPattern, c.alphaPattern, c.inferenceMode]).toEqual([{}, {}, false]);
  });

  it("rejects bad values with typed errors", () => {
    expect(() => new LoraConfig({ r: 0 })).toThrow(ArgumentError);
    expect(() => new LoraConfig({ loraDropout: 1 })).toThrow(/loraDropout/);
    expect(() => new LoraConfig({ bias: "some" as "all" })).toThrow(/bias/);
    expect(() => new LoraConfig({ initLoraWeights: "pissa" as "gaussian" })).toThrow(/initLoraWeights/);
    expect(() => new LoraConfig({ targetModules: ".*", layersToTransform: [0] })).toThrow(/layersToTransform/);
    expect(() => new LoraConfig({ targetModules: ["q"], layersPattern: "h" })).toThrow(/layersToTransform must also/);
  });
});

describeEachBackend("getPeftModel on a plain nn.Sequential", () => {
  it("wraps the targeted Linear, freezes the rest, and counts parameters as PEFT prints them", () => {
    manualSeed(0);
    const peft = getPeftModel(mlp(), new LoraConfig({ r: 4, targetModules: ["0"] }));
    const layer = peft.getBaseModel().at(0);
    expect(layer).toBeInstanceOf(LoraLayer);
    expect((layer as LoraLayer).base_layer).toBeInstanceOf(Linear);
    expect(Object.keys(peft.stateDict())).toEqual([
      "base_model.model.0.base_layer.weight",
      "base_model.model.0.base_layer.bias",
      "base_model.model.0.lora_A.default.weight",
      "base_model.model.0.lora_B.default.weight",
      "base_model.model.2.weight",
      "base_model.model.2.bias",
    ]);
    const trainable = [...peft.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n);
    expect(trainable).toEqual(["base_model.model.0.lora_A.default.weight", "base_model.model.0.lora_B.default.weight"]);
    // 4·6 + 8·4 = 56 trainable of 48 + 8 + 40 + 5 + 56 = 157
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const line = peft.printTrainableParameters();
    expect(line).toBe("trainable params: 56 || all params: 157 || trainable%: 35.6688");
    expect(log).toHaveBeenCalledWith(line);
    expect(peft.getNbTrainableParameters()).toEqual([56, 157]);
  });

  it("groups thousands as Python's {:,d}", () => {
    const peft = getPeftModel(new Sequential(new Linear(1000, 1000)), new LoraConfig({ targetModules: ["0"] }));
    vi.spyOn(console, "log").mockImplementation(() => {});
    expect(peft.printTrainableParameters()).toBe("trainable params: 16,000 || all params: 1,017,000 || trainable%: 1.5733");
  });

  it("initializes A kaiming-uniform(a=√5) [r, in] and B zeros [out, r], so the model starts unchanged", () => {
    manualSeed(1);
    const base = mlp();
    const x = randn(5, 6);
    const before = base.call(x) as Tensor;
    const peft = getPeftModel(base, new LoraConfig({ r: 4, targetModules: ["0", "2"] }));
    const l0 = peft.getBaseModel().at(0) as LoraLayer;
    const A = (l0.lora_A.get("default") as Linear).weight;
    const B = (l0.lora_B.get("default") as Linear).weight;
    expect(A.shape).toEqual([4, 6]);
    expect(B.shape).toEqual([8, 4]);
    const bound = 1 / Math.sqrt(6); // gain √(2/(1+5)) · √3 / √fan_in
    expect(Math.max(...data(A).map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...data(A).map(Math.abs))).toBeGreaterThan(bound / 2);
    expect(data(B).every((v) => v === 0)).toBe(true);
    expect(maxDiff(peft.call(x) as Tensor, before)).toBe(0);
    expect(l0.scaling.default).toBe(8 / 4);
  });

  it("init gaussian draws A ~ N(0, 1/r); init false leaves B random", () => {
    manualSeed(2);
    const g = getPeftModel(new Sequential(new Linear(400, 50)), new LoraConfig({ r: 4, targetModules: ["0"], initLoraWeights: "gaussian" }));
    const A = data(((g.getBaseModel().at(0) as LoraLayer).lora_A.get("default") as Linear).weight);
    const std = Math.sqrt(A.reduce((s, v) => s + v * v, 0) / A.length);
    expect(std).toBeGreaterThan(0.22);
    expect(std).toBeLessThan(0.28);
    const f = getPeftModel(mlp(), new LoraConfig({ targetModules: ["0"], initLoraWeights: false }));
    const B = data(((f.getBaseModel().at(0) as LoraLayer).lora_B.get("default") as Linear).weight);
    expect(B.some((v) => v !== 0)).toBe(true);
  });

  it("scaling is alpha/r, alpha/√r with rslora, and follows rank/alpha patterns", () => {
    const c = (o: object) => getPeftModel(mlp(), new LoraConfig({ targetModules: ["0", "2"], ...o }));
    const s = (p: PeftModel, i: number) => (p.getBaseModel() as Sequential).at(i) as LoraLayer;
    expect(s(c({ r: 4, loraAlpha: 16 }), 0).scaling.default).toBe(4);
    expect(s(c({ r: 4, loraAlpha: 16, useRslora: true }), 0).scaling.default).toBe(8);
    const p = c({ r: 4, loraAlpha: 8, rankPattern: { "2": 2 }, alphaPattern: { "^2$": 6 } });
    expect([s(p, 0).r.default, s(p, 2).r.default, s(p, 2).loraAlpha.default, s(p, 2).scaling.default]).toEqual([4, 2, 6, 3]);
    expect(((s(p, 2).lora_A.get("default") as Linear).weight.shape)).toEqual([2, 8]);
  });

  it("applies dropout to the LoRA input in training only", () => {
    manualSeed(3);
    const peft = getPeftModel(mlp(), new LoraConfig({ targetModules: ["0"], loraDropout: 0.5, initLoraWeights: false }));
    const layer = peft.getBaseModel().at(0) as LoraLayer;
    expect(layer.lora_dropout.get("default")).toBeInstanceOf(Dropout);
    expect(getPeftModel(mlp(), new LoraConfig({ targetModules: ["0"] })).getBaseModel().at(0)).toSatisfy(
      (l: LoraLayer) => l.lora_dropout.get("default") instanceof Identity,
    );
    const x = randn(4, 6);
    peft.eval();
    const a = peft.call(x) as Tensor;
    const b = peft.call(x) as Tensor;
    expect(maxDiff(a, b)).toBe(0);
    peft.train();
    expect(maxDiff(peft.call(x) as Tensor, a)).toBeGreaterThan(0);
  });
});

describeEachBackend("LoRA math vs PyTorch (PEFT's formulas)", () => {
  const cases: [string, () => Module, () => LoraConfig][] = [
    ["mlp", mlp, () => new LoraConfig({ r: 4, loraAlpha: 8, targetModules: ["0"], modulesToSave: ["2"] })],
    ["conv1d", () => new Gpt2Shaped(), () => new LoraConfig({ r: 2, loraAlpha: 4, targetModules: ["c_attn"] })],
    [
      "patterns",
      () => new Gpt2Shaped(),
      () =>
        new LoraConfig({
          r: 2,
          loraAlpha: 3,
          targetModules: ".*\\.(c_attn|c_fc)",
          useRslora: true,
          rankPattern: { "h.1.attn.c_attn": 3 },
          alphaPattern: { c_fc: 5 },
          bias: "all",
        }),
    ],
  ];
  for (const [name, make, config] of cases) {
    it(`${name}: forward, gradients of A and B, merged weights, in-memory keys`, async () => {
      const f = fx[name];
      vi.spyOn(console, "warn").mockImplementation(() => {});
      const base = await loadBase(make(), name);
      const x = fromSpec(f.x);
      expectClose(base.call(x as never) as Tensor, f.base_out);
      const peft = await PeftModel.fromPretrained(base, fixtureDir(name), { isTrainable: true });
      const peft2 = getPeftModel(await loadBase(make(), name), config());
      expect(Object.keys(peft.stateDict())).toEqual(f.memory_keys);
      expect(Object.keys(peft2.stateDict())).toEqual(f.memory_keys);
      const out = peft.call(x as never) as Tensor;
      expectClose(out, f.out);
      sum(mul(out, fromSpec(f.upstream))).backward();
      const params = Object.fromEntries(peft.namedParameters());
      for (const [k, g] of Object.entries(f.grads)) expectClose((params[k] as Tensor).grad as Tensor, g as never);
      for (const [path, s] of Object.entries(f.scaling)) expect((peft.getBaseModel().getSubmodule(path) as LoraLayer).scaling.default).toBeCloseTo(s as number, 12);
      // merged: W + transpose(B·A if fanInFanOut)·scaling, and the same outputs with one matmul
      const merged = peft.mergeAndUnload();
      for (const [k, w] of Object.entries(f.merged)) expectClose(merged.getSubmodule(k.replace(/\.weight$/, "")).stateDict().weight as Tensor, w as never);
      expect([...merged.modules()].some((m) => m instanceof LoraLayer || m instanceof ModulesToSaveWrapper)).toBe(false);
      expectClose(merged.call(x as never) as Tensor, f.out, { rtol: 1e-4, atol: 1e-5 });
    });
  }
});

describeEachBackend("merging, disabling, several adapters", () => {
  const setup = () => {
    manualSeed(4);
    const peft = getPeftModel(mlp(), new LoraConfig({ r: 3, targetModules: ["0", "2"], initLoraWeights: false }));
    const x = randn(4, 6);
    return { peft, x };
  };

  it("merge() / unmerge() keep the outputs and restore the base weights", () => {
    const { peft, x } = setup();
    const y = peft.call(x) as Tensor;
    const layer = peft.getBaseModel().at(0) as LoraLayer;
    const w0 = layer.base_layer.weight.clone();
    peft.merge();
    expect(layer.merged).toBe(true);
    expect(maxDiff(layer.base_layer.weight, w0)).toBeGreaterThan(1e-3);
    expect(maxDiff(peft.call(x) as Tensor, y)).toBeLessThan(1e-5);
    peft.unmerge();
    expect(layer.merged).toBe(false);
    expect(maxDiff(layer.base_layer.weight, w0)).toBeLessThan(1e-6);
    expect(maxDiff(peft.call(x) as Tensor, y)).toBeLessThan(1e-5);
  });

  it("safe merge refuses NaN weights and leaves the layer untouched", () => {
    const { peft } = setup();
    const layer = peft.getBaseModel().at(0) as LoraLayer;
    (layer.lora_B.get("default") as Linear).weight.detach().fill_(Number.NaN);
    const w0 = layer.base_layer.weight.clone();
    expect(() => peft.merge({ safeMerge: true })).toThrow(/NaNs detected in the merged weights. The adapter default seems to be broken/);
    expect(maxDiff(layer.base_layer.weight, w0)).toBe(0);
  });

  it("disableAdapter(fn) runs the base model inside and restores the adapter after, even on a throw", async () => {
    const { peft, x } = setup();
    const y = peft.call(x) as Tensor;
    const plain = (peft.getBaseModel().at(0) as LoraLayer).base_layer;
    const baseOut = peft.disableAdapter(() => peft.call(x) as Tensor);
    const manual = (peft.getBaseModel().at(2) as LoraLayer).base_layer.call((peft.getBaseModel().at(1) as ReLU).call(plain.call(x)));
    expect(maxDiff(baseOut, manual)).toBeLessThan(1e-6);
    expect(maxDiff(baseOut, y)).toBeGreaterThan(1e-3);
    expect(maxDiff(peft.call(x) as Tensor, y)).toBe(0);
    expect(() => peft.disableAdapter(() => { throw new Error("boom"); })).toThrow("boom");
    expect(maxDiff(peft.call(x) as Tensor, y)).toBe(0);
    const r = await peft.disableAdapter(async () => peft.call(x) as Tensor);
    expect(maxDiff(r, baseOut)).toBe(0);
    expect(maxDiff(peft.call(x) as Tensor, y)).toBe(0);
    // adapters stay trainable afterwards
    expect(peft.getNbTrainableParameters()[0]).toBe(3 * 6 + 8 * 3 + 3 * 8 + 5 * 3);
  });

  it("a merged layer unmerges when adapters are disabled", () => {
    const { peft, x } = setup();
    const baseOut = peft.disableAdapter(() => peft.call(x) as Tensor);
    peft.merge();
    expect(maxDiff(peft.disableAdapter(() => peft.call(x) as Tensor), baseOut)).toBeLessThan(1e-6);
  });

  it("named adapters: addAdapter stays frozen, setAdapter switches outputs and trainable weights", () => {
    const { peft, x } = setup();
    const y = peft.call(x) as Tensor;
    vi.spyOn(console, "log").mockImplementation(() => {});
    peft.addAdapter("other", new LoraConfig({ r: 2, targetModules: ["2"], initLoraWeights: false }));
    expect(Object.keys(peft.stateDict())).toContain("base_model.model.2.lora_A.other.weight");
    expect(maxDiff(peft.call(x) as Tensor, y)).toBe(0);
    const names = () => [...peft.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n);
    expect(names().every((n) => n.includes(".default."))).toBe(true);
    peft.setAdapter("other");
    expect(peft.activeAdapter).toBe("other");
    expect(names()).toEqual(["base_model.model.2.lora_A.other.weight", "base_model.model.2.lora_B.other.weight"]);
    const y2 = peft.call(x) as Tensor;
    expect(maxDiff(y2, y)).toBeGreaterThan(1e-3);
    peft.setAdapter("default");
    expect(maxDiff(peft.call(x) as Tensor, y)).toBe(0);
    expect(() => peft.setAdapter("nope")).toThrow(/adapter 'nope' not found/);
    peft.deleteAdapter("other");
    expect(Object.keys(peft.stateDict()).some((k) => k.includes(".other."))).toBe(false);
  });

  it("unload() returns the original layers without merging", () => {
    const { peft, x } = setup();
    const baseOut = peft.disableAdapter(() => peft.call(x) as Tensor);
    const m = peft.unload();
    expect(m.at(0)).toBeInstanceOf(Linear);
    expect(maxDiff(m.call(x) as Tensor, baseOut)).toBe(0);
  });
});

describe("targets, as PEFT matches them", () => {
  class Net extends Module {
    encoder = new Sequential({ q: new Linear(4, 4), v: new Linear(4, 4), out: new Linear(4, 4) });
    proj_q = new Linear(4, 4);
    lm_head = new Linear(4, 9);
    forward(x: Tensor): Tensor {
      return this.lm_head.call(this.proj_q.call(this.encoder.call(x) as Tensor));
    }
  }
  const targeted = (config: LoraConfig, model: Module = new Net()) =>
    [...getPeftModel(model, config).getBaseModel().namedModules()].filter(([, m]) => m instanceof LoraLayer).map(([n]) => n);

  it("exact names and dotted suffixes (not bare suffixes)", () => {
    expect(targeted(new LoraConfig({ targetModules: ["q"] }))).toEqual(["encoder.q"]);
    expect(targeted(new LoraConfig({ targetModules: ["encoder.v", "proj_q"] }))).toEqual(["encoder.v", "proj_q"]);
  });

  it("a string is a regex that must match the whole name", () => {
    expect(targeted(new LoraConfig({ targetModules: "encoder\\.(q|v)" }))).toEqual(["encoder.q", "encoder.v"]);
    expect(() => targeted(new LoraConfig({ targetModules: "q" }))).toThrow(/not found in the base model/);
  });

  it("all-linear takes every Linear, minus a HF model's output layer", () => {
    expect(targeted(new LoraConfig({ targetModules: "all-linear" }))).toEqual(["encoder.q", "encoder.v", "encoder.out", "proj_q", "lm_head"]);
    class HF extends Net {
      getOutputEmbeddings() {
        return this.lm_head;
      }
    }
    const c = new LoraConfig({ targetModules: "all-linear" });
    expect(targeted(c, new HF())).toEqual(["encoder.q", "encoder.v", "encoder.out", "proj_q"]);
    expect(c.targetModules).toEqual(["encoder.q", "encoder.v", "encoder.out", "proj_q"]);
  });

  it("excludeModules, modulesToSave and layersToTransform", () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(targeted(new LoraConfig({ targetModules: "all-linear", excludeModules: ["out", "lm_head"] }))).toEqual(["encoder.q", "encoder.v", "proj_q"]);
    const g = () => new Gpt2Shaped();
    expect(targeted(new LoraConfig({ targetModules: ["c_attn"], layersToTransform: [1] }), g())).toEqual(["transformer.h.1.attn.c_attn"]);
    expect(targeted(new LoraConfig({ targetModules: ["c_fc"], layersToTransform: 0, layersPattern: "h" }), g())).toEqual(["transformer.h.0.mlp.c_fc"]);
    const p = getPeftModel(new Net(), new LoraConfig({ targetModules: "all-linear", modulesToSave: ["lm_head"] }));
    expect(p.getBaseModel().lm_head).toBeInstanceOf(ModulesToSaveWrapper);
  });

  it("default targets by model type, and clear errors", () => {
    class Typed extends Gpt2Shaped {
      config = { modelType: "gpt2" };
    }
    vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(targeted(new LoraConfig(), new Typed())).toEqual(["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"]);
    expect(() => targeted(new LoraConfig())).toThrow(/Please specify `targetModules`/);
    expect(() => targeted(new LoraConfig({ targetModules: ["0"] }), new Sequential(new ReLU()))).toThrow(
      /Target module 0 \(ReLU\) is not supported/,
    );
  });

  it("Conv1D forces fanInFanOut true (with PEFT's warning), Linear forces it false", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const c = new LoraConfig({ targetModules: ["c_attn"] });
    const p = getPeftModel(new Gpt2Shaped(), c);
    expect(c.fanInFanOut).toBe(true);
    expect(warn).toHaveBeenCalledWith("fan_in_fan_out is set to False but the target module is `Conv1D`. Setting fan_in_fan_out to True.");
    const layer = p.getBaseModel().getSubmodule("transformer.h.0.attn.c_attn") as LoraLayer;
    expect(layer.base_layer).toBeInstanceOf(Conv1D);
    expect([layer.inFeatures, layer.outFeatures, layer.fanInFanOut]).toEqual([4, 12, true]);
    expect(layer.getDeltaWeight("default").shape).toEqual([4, 12]);
    const l = new LoraConfig({ targetModules: ["0"], fanInFanOut: true });
    getPeftModel(mlp(), l);
    expect(l.fanInFanOut).toBe(false);
  });
});

describe("bias modes and modulesToSave", () => {
  const trainable = (p: PeftModel) => [...p.namedParameters()].filter(([, t]) => t.requiresGrad).map(([n]) => n);
  it('"all" trains every bias, "lora_only" the wrapped layers\' biases', () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(trainable(getPeftModel(mlp(), new LoraConfig({ targetModules: ["0"], bias: "all" })))).toEqual([
      "base_model.model.0.base_layer.bias",
      "base_model.model.0.lora_A.default.weight",
      "base_model.model.0.lora_B.default.weight",
      "base_model.model.2.bias",
    ]);
    expect(trainable(getPeftModel(mlp(), new LoraConfig({ targetModules: ["0"], bias: "lora_only" })))).toEqual([
      "base_model.model.0.base_layer.bias",
      "base_model.model.0.lora_A.default.weight",
      "base_model.model.0.lora_B.default.weight",
    ]);
  });

  it("modulesToSave trains a copy and keeps the original frozen", () => {
    manualSeed(5);
    const p = getPeftModel(mlp(), new LoraConfig({ targetModules: ["0"], modulesToSave: ["2"] }));
    expect(trainable(p)).toEqual([
      "base_model.model.0.lora_A.default.weight",
      "base_model.model.0.lora_B.default.weight",
      "base_model.model.2.modules_to_save.default.weight",
      "base_model.model.2.modules_to_save.default.bias",
    ]);
    const w = p.getBaseModel().at(2) as ModulesToSaveWrapper;
    const copy = w.modules_to_save.get("default") as Linear;
    expect(copy).not.toBe(w.original_module);
    expect(maxDiff(copy.weight, (w.original_module as Linear).weight)).toBe(0);
    add_(copy.weight.detach(), 1);
    const x = randn(2, 6);
    const y = p.call(x) as Tensor;
    expect(maxDiff(p.disableAdapter(() => p.call(x) as Tensor), y)).toBeGreaterThan(0.5);
  });
});
