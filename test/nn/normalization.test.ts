import "@dl/autograd";
import {
  BatchNorm1d,
  BatchNorm2d,
  BatchNorm3d,
  F,
  GroupNorm,
  InstanceNorm1d,
  InstanceNorm2d,
  InstanceNorm3d,
  LayerNorm,
  Linear,
  LocalResponseNorm,
  LogSoftmax,
  RMSNorm,
  Dropout,
  ReLU,
  Sequential,
} from "@dl/nn";
import { ArgumentError, ShapeError, type Tensor, manualSeed, mean, randn, sum, tensor, variance } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, fromSpec } from "../helpers/fixtures.js";
import { Fn, fixtures, layerCaseTests } from "./layer-cases.js";

/** Non-input tensors a functional case used (F.batch_norm's running statistics). */
function extras(name: string): Record<string, Tensor> {
  const c = fixtures.cases.find((k) => k.name === name) as unknown as { extras: Record<string, TSpec> };
  return Object.fromEntries(Object.entries(c.extras).map(([k, s]) => [k, fromSpec(s)]));
}

describeEachBackend("normalization vs PyTorch", () => {
  layerCaseTests(
    {
      LayerNorm_6: () => new LayerNorm(6),
      LayerNorm_3x4: () => new LayerNorm([3, 4]),
      LayerNorm_noaffine: () => new LayerNorm(4, { eps: 1e-3, elementwiseAffine: false }),
      LayerNorm_offset: () => new LayerNorm(5),
      RMSNorm_6: () => new RMSNorm(6),
      RMSNorm_3x4_eps: () => new RMSNorm([3, 4], { eps: 1e-6 }),
      RMSNorm_noaffine: () => new RMSNorm(4, { elementwiseAffine: false }),
      RMSNorm_f64: () => new RMSNorm(5, { dtype: "float64" }),
      BatchNorm1d: () => new BatchNorm1d(3),
      BatchNorm1d_3d: () => new BatchNorm1d(3),
      BatchNorm1d_momentum_none: () => new BatchNorm1d(3, { momentum: null }),
      BatchNorm1d_noaffine: () => new BatchNorm1d(3, { affine: false, momentum: 0.3 }),
      BatchNorm1d_notrack: () => new BatchNorm1d(3, { trackRunningStats: false }),
      BatchNorm2d: () => new BatchNorm2d(3),
      BatchNorm3d: () => new BatchNorm3d(2, { eps: 1e-3 }),
      BatchNorm2d_eval: () => new BatchNorm2d(3),
      GroupNorm_2_4: () => new GroupNorm(2, 4),
      GroupNorm_3_6_noaffine: () => new GroupNorm(3, 6, { affine: false }),
      GroupNorm_1_4: () => new GroupNorm(1, 4, { eps: 1e-3 }),
      GroupNorm_4_4: () => new GroupNorm(4, 4),
      InstanceNorm1d: () => new InstanceNorm1d(3),
      InstanceNorm1d_unbatched: () => new InstanceNorm1d(3, { affine: true }),
      InstanceNorm2d_track: () => new InstanceNorm2d(3, { affine: true, trackRunningStats: true }),
      InstanceNorm3d: () => new InstanceNorm3d(2, { affine: true }),
      LocalResponseNorm_3: () => new LocalResponseNorm(3),
      LocalResponseNorm_2_4d: () => new LocalResponseNorm(2, 0.1, 0.5, 2),
      LocalResponseNorm_4_5d: () => new LocalResponseNorm(4, 0.01, 0.9, 1.5),
      normalize: () => new Fn((x) => F.normalize(x)),
      normalize_p1_dim0: () => new Fn((x) => F.normalize(x, { p: 1, dim: 0 })),
      normalize_eps: () => new Fn((x) => F.normalize(x, { dim: -1, eps: 0.5 })),
      cosine_similarity: () => new Fn((a, b) => F.cosineSimilarity(a, b)),
      "cosine_similarity_dim-1_bcast": () => new Fn((a, b) => F.cosineSimilarity(a, b, { dim: -1 })),
      cosine_similarity_tiny: () => new Fn((a, b) => F.cosineSimilarity(a, b, { dim: 1, eps: 1e-8 })),
      pairwise_distance: () => new Fn((a, b) => F.pairwiseDistance(a, b)),
      pairwise_distance_p1_keepdim: () => new Fn((a, b) => F.pairwiseDistance(a, b, { p: 1, keepdim: true })),
      pairwise_distance_p3: () => new Fn((a, b) => F.pairwiseDistance(a, b, { p: 3, eps: 1e-3 })),
      layer_norm_fn: () => new Fn((x, w, b) => F.layerNorm(x, [4], { weight: w, bias: b, eps: 1e-4 })),
      group_norm_fn: () => new Fn((x, w, b) => F.groupNorm(x, 2, { weight: w, bias: b })),
      batch_norm_fn_eval: () => {
        const { running_mean, running_var } = extras("batch_norm_fn_eval");
        return new Fn((x, w, b) => F.batchNorm(x, running_mean, running_var, { weight: w, bias: b, training: false }));
      },
    },
  );
});


describe("normalization modules print like PyTorch", () => {
  const r = fixtures.reprs;
  it("reprs", () => {
    expect(String(new BatchNorm1d(3, { momentum: null }))).toBe(r.BatchNorm1d_momentum_none);
    expect(String(new BatchNorm2d(16, { eps: 0.001, momentum: 0.01 }))).toBe(r.BatchNorm2d_eps);
    expect(String(new LayerNorm([3, 4], { eps: 1e-6, elementwiseAffine: false }))).toBe(r.LayerNorm_list);
    expect(String(new GroupNorm(4, 8, { eps: 1e-3, affine: false }))).toBe(r.GroupNorm_noaffine);
    expect(String(new InstanceNorm2d(3, { affine: true, trackRunningStats: true }))).toBe(r.InstanceNorm2d_affine);
    expect(String(new LocalResponseNorm(2))).toBe(r.LocalResponseNorm);
    manualSeed(0);
    const seq = new Sequential(new Linear(4, 8), new BatchNorm1d(8), new ReLU(), new Dropout(0.1), new Linear(8, 2), new LogSoftmax(1));
    expect(String(seq)).toBe(r.Sequential);
  });
});

describeEachBackend("batch norm behaviour", () => {
  it("buffers: PyTorch keys, dtypes, camelCase getters; train vs eval", () => {
    const bn = new BatchNorm2d(2);
    expect(Object.keys(bn.stateDict())).toEqual(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
    expect(bn.num_batches_tracked?.dtype).toBe("int64");
    expect(bn.runningMean).toBe(bn.running_mean);
    expect([...bn.namedBuffers()].map(([k]) => k)).toEqual(["running_mean", "running_var", "num_batches_tracked"]);
    manualSeed(3);
    const x = randn(8, 2, 4, 4);
    const y = bn.call(x);
    // Training output: zero mean, unit (biased) variance per channel.
    const m = mean(y, [0, 2, 3]).tolist() as number[];
    const v = variance(y, [0, 2, 3], { correction: 0 }).tolist() as number[];
    for (const k of m) expect(Math.abs(k)).toBeLessThan(1e-5);
    for (const k of v) expect(k).toBeCloseTo(1, 3);
    expect(bn.num_batches_tracked?.item()).toBe(1);
    // Running stats: 0.9 * init + 0.1 * batch stats (unbiased variance).
    const bm = mean(x, [0, 2, 3]).tolist() as number[];
    const bv = variance(x, [0, 2, 3]).tolist() as number[];
    (bn.running_mean?.tolist() as number[]).forEach((k, i) => expect(k).toBeCloseTo(0.1 * (bm[i] as number), 6));
    (bn.running_var?.tolist() as number[]).forEach((k, i) => expect(k).toBeCloseTo(0.9 + 0.1 * (bv[i] as number), 6));
    bn.eval();
    const before = bn.running_mean?.tolist();
    bn.call(x);
    expect(bn.running_mean?.tolist()).toEqual(before);
    expect(bn.num_batches_tracked?.item()).toBe(1);
    bn.resetRunningStats();
    expect(bn.running_var?.tolist()).toEqual([1, 1]);
    expect(bn.num_batches_tracked?.item()).toBe(0);
  });

  it("validates input dims and batch size like PyTorch", () => {
    expect(() => new BatchNorm1d(3).call(randn(2, 3, 4, 5))).toThrow(/expected 2D or 3D input \(got 4D input/);
    expect(() => new BatchNorm2d(3).call(randn(2, 3, 4))).toThrow(/expected 4D input \(got 3D input/);
    expect(() => new BatchNorm1d(3).call(randn(1, 3))).toThrow(/expected more than 1 value per channel when training/);
    expect(() => new BatchNorm1d(3).call(randn(4, 5))).toThrow(ShapeError);
    const evalBn = new BatchNorm1d(3);
    evalBn.eval();
    expect(evalBn.call(randn(1, 3)).shape).toEqual([1, 3]);
    expect(() => F.batchNorm(randn(4, 3), null, null)).toThrow(ArgumentError);
    expect(() => new GroupNorm(3, 4)).toThrow(/num_channels must be divisible by num_groups/);
    expect(() => new LayerNorm(4).call(randn(2, 3))).toThrow(/expected input with shape \[\*, 4\], but got input of size \[2, 3\]/);
    expect(() => new InstanceNorm1d(3, { affine: true }).call(randn(2, 4, 5))).toThrow(/expected input's size at dim=1 to match num_features \(3\)/);
  });

  it("trackRunningStats=false has no buffers and always uses batch statistics", () => {
    const bn = new BatchNorm1d(3, { trackRunningStats: false });
    expect(Object.keys(bn.stateDict())).toEqual(["weight", "bias"]);
    bn.eval();
    const y = bn.call(randn(6, 3));
    for (const k of mean(y, 0).tolist() as number[]) expect(Math.abs(k)).toBeLessThan(1e-5);
  });

  it("LayerNorm bias=false and RMSNorm default eps per dtype", () => {
    expect(Object.keys(new LayerNorm(4, { bias: false }).stateDict())).toEqual(["weight"]);
    // eps = finfo(float32).eps: mean(x^2) = 1e-7 is comparable to it.
    const y = F.rmsNorm(tensor([[Math.sqrt(1e-7)]], { dtype: "float64" }), 1).item() as number;
    expect(y).toBeCloseTo(Math.sqrt(1e-7) / Math.sqrt(1e-7 + 2.220446049250313e-16), 12);
    const y32 = F.rmsNorm(tensor([[Math.sqrt(1e-7)]]), 1).item() as number;
    expect(y32).toBeCloseTo(Math.sqrt(1e-7 / (1e-7 + 1.1920928955078125e-7)), 5);
    // A zero row normalizes to zero (eps keeps the division finite).
    expect(F.rmsNorm(tensor([[0, 0]]), 2).tolist()).toEqual([[0, 0]]);
  });

  it("float16 inputs compute statistics in float32 and return float16", () => {
    const x = randn(4, 6).to("float16");
    const y = F.layerNorm(x, 6);
    expect(y.dtype).toBe("float16");
    const ref = F.layerNorm(x.to("float32"), 6).tolist() as number[][];
    (y.to("float32").tolist() as number[][]).forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(ref[i]?.[j] as number, 2)));
  });

  it("gradients flow through BatchNorm inside a model (sum of outputs has zero input grad)", () => {
    const bn = new BatchNorm1d(3, { affine: false });
    const x = randn(5, 3).requiresGrad_();
    sum(bn.call(x)).backward();
    for (const v of x.grad?.tolist().flat() as number[]) expect(Math.abs(v)).toBeLessThan(1e-5);
  });
});
