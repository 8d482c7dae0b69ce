import "@dl/autograd";
import { Embedding, EmbeddingBag, F } from "@dl/nn";
import { ArgumentError, DTypeError, manualSeed, mean, norm, ones, randn, std, sum, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { fixtures, layerCaseTests } from "./layer-cases.js";

describeEachBackend("embeddings vs PyTorch", () => {
  layerCaseTests({
    Embedding: () => new Embedding(10, 4),
    Embedding_pad0: () => new Embedding(10, 3, { paddingIdx: 0 }),
    "Embedding_pad-2_nonzero_row": () => new Embedding(10, 3, { paddingIdx: -2 }),
    Embedding_maxnorm: () => new Embedding(10, 3, { maxNorm: 1 }),
    Embedding_maxnorm_p1: () => new Embedding(6, 3, { maxNorm: 0.8, normType: 1 }),
    Embedding_scale_grad: () => new Embedding(6, 2, { scaleGradByFreq: true }),
    Embedding_3d_idx: () => new Embedding(7, 2),
    Embedding_from_pretrained: () => Embedding.fromPretrained(randn(5, 3), { freeze: false, paddingIdx: 1 }),
    EmbeddingBag_sum: () => new EmbeddingBag(10, 3, { mode: "sum" }),
    EmbeddingBag_sum_2d: () => new EmbeddingBag(10, 3, { mode: "sum" }),
    EmbeddingBag_sum_pad: () => new EmbeddingBag(10, 3, { mode: "sum", paddingIdx: 2 }),
    EmbeddingBag_mean: () => new EmbeddingBag(10, 3, { mode: "mean" }),
    EmbeddingBag_mean_2d: () => new EmbeddingBag(10, 3),
    EmbeddingBag_mean_pad: () => new EmbeddingBag(10, 3, { mode: "mean", paddingIdx: 2 }),
    EmbeddingBag_max: () => new EmbeddingBag(10, 3, { mode: "max" }),
    EmbeddingBag_max_2d: () => new EmbeddingBag(10, 3, { mode: "max" }),
    EmbeddingBag_max_pad: () => new EmbeddingBag(10, 3, { mode: "max", paddingIdx: 2 }),
    EmbeddingBag_sum_psw: () => new EmbeddingBag(10, 3, { mode: "sum" }),
    EmbeddingBag_sum_psw_2d: () => new EmbeddingBag(10, 3, { mode: "sum" }),
    EmbeddingBag_mean_last_offset: () => new EmbeddingBag(10, 3, { mode: "mean", includeLastOffset: true }),
    EmbeddingBag_sum_scale_grad: () => new EmbeddingBag(10, 3, { mode: "sum", scaleGradByFreq: true }),
    EmbeddingBag_mean_scale_grad_pad: () => new EmbeddingBag(10, 3, { mode: "mean", scaleGradByFreq: true, paddingIdx: 2 }),
    EmbeddingBag_max_maxnorm: () => new EmbeddingBag(10, 3, { mode: "max", maxNorm: 1 }),
  });
});

describe("embedding modules print like PyTorch", () => {
  it("reprs", () => {
    const r = fixtures.reprs;
    expect(String(new Embedding(10, 3, { paddingIdx: -1, maxNorm: 1.5, normType: 1, scaleGradByFreq: true }))).toBe(r.Embedding_all);
    expect(String(new EmbeddingBag(10, 3, { mode: "max", paddingIdx: 2, maxNorm: 2 }))).toBe(r.EmbeddingBag_max);
  });
});

describeEachBackend("embedding behaviour", () => {
  it("default init is N(0, 1) with the padding row zeroed", () => {
    manualSeed(0);
    const e = new Embedding(400, 50, { paddingIdx: 3 });
    expect(e.weight.select(0, 3).tolist()).toEqual(Array(50).fill(0));
    expect(Math.abs(mean(e.weight).item() as number)).toBeLessThan(0.02);
    expect(std(e.weight).item() as number).toBeCloseTo(1, 1);
    expect(e.weight.requiresGrad).toBe(true);
  });

  it("the padding row's value is returned but gets no gradient", () => {
    const w = randn(4, 2);
    const e = Embedding.fromPretrained(w, { freeze: false, paddingIdx: 0 });
    expect(e.weight.select(0, 0).tolist()).toEqual(w.select(0, 0).tolist());
    const y = e.call(tensor([0, 1, 0], { dtype: "int64" }));
    expect(y.select(0, 0).tolist()).toEqual(w.select(0, 0).tolist());
    sum(y).backward();
    expect(e.weight.grad?.tolist()).toEqual([[0, 0], [1, 1], [0, 0], [0, 0]]);
  });

  it("maxNorm renormalizes the rows looked up, in place, and only those", () => {
    const e = Embedding.fromPretrained(tensor([[3, 4], [0.3, 0.4], [6, 8]]), { maxNorm: 1 });
    e.call(tensor([0, 1], { dtype: "int64" }));
    const n = norm(e.weight, 2, 1).tolist() as number[];
    expect(n[0]).toBeCloseTo(1, 5);
    expect(n[1]).toBeCloseTo(0.5, 6);
    expect(n[2]).toBeCloseTo(10, 5);
  });

  it("fromPretrained shares the tensor and freezes by default", () => {
    const w = ones(3, 2);
    const e = Embedding.fromPretrained(w);
    expect(e.weight.requiresGrad).toBe(false);
    expect(e.call(tensor([[2]], { dtype: "int64" })).shape).toEqual([1, 1, 2]);
    expect(Object.keys(e.stateDict())).toEqual(["weight"]);
    expect(String(e)).toBe("Embedding(3, 2)");
  });

  it("validates like PyTorch", () => {
    const e = new Embedding(5, 2);
    expect(() => e.call(tensor([1.5]))).toThrow(DTypeError);
    expect(() => e.call(tensor([5], { dtype: "int64" }))).toThrow(/out of range|out of bounds/);
    expect(() => new Embedding(5, 2, { paddingIdx: 5 })).toThrow(/padding_idx must be within num_embeddings/);
    expect(() => new Embedding(5, 2, { sparse: true })).toThrow(ArgumentError);
    const bag = new EmbeddingBag(5, 2);
    const idx = tensor([1, 2, 3], { dtype: "int64" });
    expect(() => bag.call(idx)).toThrow(/offsets has to be a 1D Tensor but got null/);
    expect(() => bag.call(idx, tensor([1], { dtype: "int64" }))).toThrow(/offsets\[0\] has to be 0/);
    expect(() => bag.call(tensor([[1, 2]], { dtype: "int64" }), tensor([0], { dtype: "int64" }))).toThrow(/if input is 2D, then offsets has to be null/);
    expect(() => bag.call(idx, tensor([0], { dtype: "int64" }), ones(3))).toThrow(/per_sample_weights is only supported for mode='sum'/);
    expect(() => new EmbeddingBag(5, 2, { mode: "max", scaleGradByFreq: true }).call(idx, tensor([0], { dtype: "int64" }))).toThrow(
      /max mode does not support scaling the gradient/,
    );
  });

  it("embeddingBag: empty bags give zeros in every mode; F.embedding matches the module", () => {
    const w = randn(6, 3);
    const input = tensor([1, 2, 3], { dtype: "int64" });
    const offsets = tensor([0, 0, 3, 3], { dtype: "int64" });
    for (const mode of ["sum", "mean", "max"] as const) {
      const y = F.embeddingBag(input, w, { offsets, mode }).tolist() as number[][];
      expect(y[0]).toEqual([0, 0, 0]);
      expect(y[2]).toEqual([0, 0, 0]);
      expect(y[3]).toEqual([0, 0, 0]);
    }
    expect(F.embedding(tensor([[5, 0]], { dtype: "int64" }), w).tolist()).toEqual([[w.select(0, 5).tolist(), w.select(0, 0).tolist()]]);
  });
});
