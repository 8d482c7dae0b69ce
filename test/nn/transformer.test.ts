import {
  LayerNorm,
  type Module,
  Transformer,
  TransformerDecoder,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
  type TransformerLayerOptions,
} from "@dl/nn";
import { type Tensor, getBackend, lt, manualSeed, mul, rand, randn, sum, tidy } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend, onDefaultDevice } from "../helpers/backends.js";
import { type TSpec, expectClose as expectCloseSpec, fromSpec as fromSpecExact, loadFixtures } from "../helpers/fixtures.js";
import { withoutKernels } from "./fused-helpers.js";

const fx = loadFixtures("nn_attention");

const fromSpec = (spec: TSpec, options: { requiresGrad?: boolean } = {}): Tensor => fromSpecExact(onDefaultDevice(spec), options);
function expectClose(actual: Tensor, spec: TSpec): void {
  const onDevice = onDefaultDevice(spec);
  expectCloseSpec(actual, onDevice, onDevice === spec ? {} : { rtol: 2e-4, atol: 5e-5 });
}

interface ModuleCase {
  name: string;
  kind: "TransformerEncoderLayer" | "TransformerDecoderLayer" | "TransformerEncoder" | "TransformerDecoder" | "Transformer";
  options: TransformerLayerOptions & { dModel: number; nhead: number; numLayers?: number; norm?: boolean };
  train: boolean;
  keys: string[];
  state: Record<string, TSpec>;
  tensors: Record<string, TSpec | null>;
  up: TSpec;
  out: TSpec;
  grads: Record<string, TSpec>;
  gparams: Record<string, TSpec>;
}

function build(c: ModuleCase): Module {
  const { dModel, nhead, numLayers, norm, ...o } = c.options;
  switch (c.kind) {
    case "TransformerEncoderLayer":
      return new TransformerEncoderLayer(dModel, nhead, o);
    case "TransformerDecoderLayer":
      return new TransformerDecoderLayer(dModel, nhead, o);
    case "TransformerEncoder":
      return new TransformerEncoder(new TransformerEncoderLayer(dModel, nhead, o), numLayers as number, { norm: norm ? new LayerNorm(dModel) : null });
    case "TransformerDecoder":
      return new TransformerDecoder(new TransformerDecoderLayer(dModel, nhead, o), numLayers as number, { norm: norm ? new LayerNorm(dModel) : null });
    case "Transformer":
      return new Transformer(c.options);
  }
}

function run(m: Module, c: ModuleCase, t: Record<string, Tensor | null>): Tensor {
  switch (c.kind) {
    case "TransformerEncoderLayer":
      return (m as TransformerEncoderLayer).forward(t.src as Tensor, { srcMask: t.srcMask, srcKeyPaddingMask: t.srcKeyPaddingMask });
    case "TransformerEncoder":
      return (m as TransformerEncoder).forward(t.src as Tensor, { mask: t.mask, srcKeyPaddingMask: t.srcKeyPaddingMask });
    case "TransformerDecoderLayer":
    case "TransformerDecoder":
      return (m as TransformerDecoderLayer).forward(t.tgt as Tensor, t.memory as Tensor, {
        tgtMask: t.tgtMask,
        memoryMask: t.memoryMask,
        tgtKeyPaddingMask: t.tgtKeyPaddingMask,
        memoryKeyPaddingMask: t.memoryKeyPaddingMask,
      });
    case "Transformer":
      return (m as Transformer).forward(t.src as Tensor, t.tgt as Tensor, {
        tgtMask: t.tgtMask,
        srcKeyPaddingMask: t.srcKeyPaddingMask,
        memoryKeyPaddingMask: t.memoryKeyPaddingMask,
      });
  }
}

describeEachBackend("nn.Transformer layers", (device) => {
  for (const c of fx.transformer as ModuleCase[]) {
    for (const [path, wrap] of [
      ["default path", <T>(f: () => T) => f()],
      ["composed path", <T>(f: () => T) => withoutKernels(device, ["attention", "attentionBackward"], f)],
    ] as const) {
      it(`${c.name} (${path}): PyTorch's state dict loads unchanged; output and gradients w.r.t. inputs and every parameter match`, () => {
        wrap(() => {
          const m = build(c);
          if (onDefaultDevice(c.out).dtype === "float64") m.double();
          expect(Object.keys(m.stateDict())).toEqual(c.keys);
          m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, fromSpec(v)])));
          m.train(c.train);
          const t = Object.fromEntries(
            Object.entries(c.tensors).map(([k, v]) => [k, v === null ? null : fromSpec(v, { requiresGrad: k in c.grads })]),
          );
          const out = run(m, c, t);
          expectClose(out, c.out);
          sum(mul(out, fromSpec(c.up))).backward();
          for (const [k, g] of Object.entries(c.grads)) expectClose(t[k]?.grad as Tensor, g);
          for (const [name, p] of m.namedParameters()) expectClose(p.grad as Tensor, c.gparams[name] as TSpec);
        });
        // The gpu compiles its shaders on the first case.
      }, 120_000);
    }
  }

  it("encoder training steps leave memory() flat", () => {
    manualSeed(3);
    const enc = new TransformerEncoder(new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.1, batchFirst: true }), 2);
    const step = () =>
      tidy(() => {
        const x = randn([3, 5, 8]);
        const padding = lt(rand([3, 5]), 0.2);
        sum(enc(x, { srcKeyPaddingMask: padding, isCausal: false })).backward();
        for (const p of enc.parameters()) p.grad = null;
      });
    for (let i = 0; i < 2; i++) step();
    const backend = getBackend(device);
    const before = backend.memory();
    for (let i = 0; i < 5; i++) step();
    const after = backend.memory();
    expect(after.storages).toBe(before.storages);
    expect(after.bytes).toBe(before.bytes);
  }, 120_000);

  it("generateSquareSubsequentMask matches PyTorch", () => {
    expectCloseSpec(Transformer.generateSquareSubsequentMask(4), fx.squareSubsequentMask);
  });

  it("encoder layers are independent deep copies of the prototype", () => {
    manualSeed(0);
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    const enc = new TransformerEncoder(layer, 2);
    const [a, b] = [...enc.layers.children()] as TransformerEncoderLayer[];
    expect(Array.from((a as TransformerEncoderLayer).linear1.weight.dataSync())).toEqual(Array.from(layer.linear1.weight.dataSync()));
    expect(a?.linear1.weight).not.toBe(b?.linear1.weight);
    a?.linear1.weight.requiresGrad_(false).fill_(0);
    expect(b?.linear1.weight.dataSync()[0]).not.toBe(0);
    expect(layer.linear1.weight.dataSync()[0]).not.toBe(0);
    expect(enc.parameters().next().value).toBe(a?.self_attn.in_proj_weight);
    // The copies are modules like any other: callable, with their own submodules.
    expect((a as TransformerEncoderLayer)(randn([3, 2, 8])).shape).toEqual([3, 2, 8]);
    expect(a?.self_attn).not.toBe(layer.self_attn);
    expect(Object.keys(enc.stateDict())).toHaveLength(24);
  }, 120_000);

  it("bias=false drops every bias (linear, attention and layer norm), as PyTorch 2.1+", () => {
    const m = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, bias: false });
    expect(Object.keys(m.stateDict())).toEqual([
      "self_attn.in_proj_weight",
      "self_attn.out_proj.weight",
      "linear1.weight",
      "linear2.weight",
      "norm1.weight",
      "norm2.weight",
    ]);
  });

  it("dropout is active in training and off in eval; a function or module activation works", () => {
    manualSeed(1);
    const m = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.5, batchFirst: true, activation: (x: Tensor) => mul(x, 2) });
    const x = randn([2, 3, 8]);
    const a = Array.from(m.forward(x).dataSync());
    const b = Array.from(m.forward(x).dataSync());
    expect(a).not.toEqual(b);
    m.eval();
    expect(Array.from(m.forward(x).dataSync())).toEqual(Array.from(m.forward(x).dataSync()));
  }, 120_000);

  it("Transformer rejects mismatched batch and feature sizes", () => {
    const m = new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16 });
    expect(() => m.forward(randn([5, 2, 8]), randn([4, 3, 8]))).toThrow(/batch number of src and tgt must be equal/);
    expect(() => m.forward(randn([5, 2, 6]), randn([4, 2, 6]))).toThrow(/feature number of src and tgt must be equal to d_model=8/);
  });
});
