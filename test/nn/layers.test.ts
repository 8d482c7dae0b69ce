import "@dl/autograd";
import {
  AlphaDropout,
  Bilinear,
  Dropout,
  Dropout1d,
  Dropout2d,
  Dropout3d,
  F,
  FeatureAlphaDropout,
  Flatten,
  Identity,
  Unflatten,
} from "@dl/nn";
import { ArgumentError, ShapeError, manualSeed, mean, mul, ones, randn, std, sum, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { fixtures, layerCaseTests } from "./layer-cases.js";

describeEachBackend("flatten, bilinear, dropout vs PyTorch", () => {
  layerCaseTests({
    Flatten: () => new Flatten(),
    Flatten_0_1: () => new Flatten(0, 1),
    Unflatten: () => new Unflatten(1, [2, 3]),
    Bilinear: () => new Bilinear(3, 4, 5),
    Bilinear_batched_nobias: () => new Bilinear(2, 3, 4, { bias: false }),
    Dropout_eval: () => new Dropout(0.5),
  });
});

describe("layers print like PyTorch", () => {
  it("reprs", () => {
    const r = fixtures.reprs;
    expect(String(new Dropout())).toBe(r.Dropout);
    expect(String(new Dropout(0.3, { inplace: true }))).toBe(r["Dropout_0.3_inplace"]);
    expect(String(new Dropout1d(0.2))).toBe(r.Dropout1d);
    expect(String(new Dropout2d(0.25))).toBe(r.Dropout2d);
    expect(String(new Dropout3d())).toBe(r.Dropout3d);
    expect(String(new AlphaDropout(0.1))).toBe(r.AlphaDropout);
    expect(String(new FeatureAlphaDropout())).toBe(r.FeatureAlphaDropout);
    expect(String(new Flatten())).toBe(r.Flatten);
    expect(String(new Flatten(0, 2))).toBe(r.Flatten_0_2);
    expect(String(new Unflatten(1, [2, 3]))).toBe(r.Unflatten);
    expect(String(new Unflatten(-1, [6]))).toBe(r.Unflatten_1);
    expect(String(new Identity())).toBe(r.Identity);
    expect(String(new Bilinear(2, 3, 4, { bias: false }))).toBe(r.Bilinear_nobias);
  });
});

describeEachBackend("dropout", () => {
  const count = (xs: number[], f: (v: number) => boolean) => xs.filter(f).length;

  it("training: zeros with probability p, survivors scaled by 1/(1-p); the gradient is the same mask", () => {
    manualSeed(0);
    const x = ones(200, 100).requiresGrad_();
    const y = F.dropout(x, 0.3);
    const v = Array.from(y.dataSync());
    const kept = count(v, (k) => k !== 0);
    expect(count(v, (k) => k !== 0 && Math.abs(k - 1 / 0.7) > 1e-6)).toBe(0);
    // 20000 Bernoulli(0.7) draws: mean 14000, std ~65.
    expect(Math.abs(kept - 14000)).toBeLessThan(400);
    sum(y).backward();
    expect(Array.from(x.grad?.dataSync() ?? [])).toEqual(v.map((k) => Math.fround(k)));
    // The expectation is preserved.
    expect(mean(F.dropout(ones(100000), 0.5)).item() as number).toBeCloseTo(1, 1);
  });

  it("eval mode and p = 0 are the identity; p = 1 gives zeros", () => {
    const x = randn(4, 5);
    const d = new Dropout(0.5);
    d.eval();
    expect(d.call(x)).toBe(x);
    expect(F.dropout(x, 0.5, false)).toBe(x);
    expect(F.dropout(x, 0)).toBe(x);
    expect(Array.from(F.dropout(x, 1).dataSync()).every((k) => k === 0)).toBe(true);
    d.train();
    expect(d.call(x)).not.toBe(x);
  });

  it("manualSeed reproduces masks", () => {
    const x = ones(50);
    manualSeed(42);
    const a = F.dropout(x, 0.5).tolist();
    const b = F.dropout(x, 0.5).tolist();
    manualSeed(42);
    expect(new Dropout(0.5).call(x).tolist()).toEqual(a);
    expect(a).not.toEqual(b);
  });

  it("dropout2d drops whole channels", () => {
    manualSeed(1);
    const y = F.dropout2d(ones(8, 16, 3, 3), 0.5);
    const v = y.tolist() as number[][][][];
    let dropped = 0;
    for (const sample of v) {
      for (const ch of sample) {
        const flat = ch.flat();
        expect(new Set(flat).size).toBe(1);
        if (flat[0] === 0) dropped++;
        else expect(flat[0]).toBe(2);
      }
    }
    expect(dropped).toBeGreaterThan(30);
    expect(dropped).toBeLessThan(98);
    // Unbatched (C, L) for dropout1d and (C, D, H, W) for dropout3d keep their shape.
    expect(F.dropout1d(ones(4, 5), 0.5).shape).toEqual([4, 5]);
    expect(F.dropout3d(ones(2, 2, 2, 2), 0.5).shape).toEqual([2, 2, 2, 2]);
    expect(() => F.dropout1d(ones(2, 3, 4, 5), 0.5)).toThrow(/expected 2D or 3D input/);
  });

  it("alpha dropout keeps mean 0 and std 1 of a standard normal input", () => {
    manualSeed(5);
    const x = randn(200000);
    const y = F.alphaDropout(x, 0.2, true);
    expect(Math.abs(mean(y).item() as number)).toBeLessThan(0.02);
    expect(std(y).item() as number).toBeCloseTo(1, 1);
    expect(F.alphaDropout(x, 0.2)).toBe(x);
  });

  it("rejects p outside [0, 1]", () => {
    expect(() => new Dropout(1.5)).toThrow(/dropout probability has to be between 0 and 1, but got 1.5/);
    expect(() => F.dropout(ones(2), -0.1)).toThrow(ArgumentError);
  });
});

describeEachBackend("flatten and bilinear", () => {
  it("Flatten and Unflatten shapes", () => {
    expect(new Flatten().call(ones(2, 3, 4, 5)).shape).toEqual([2, 60]);
    expect(new Flatten(2).call(ones(2, 3, 4, 5)).shape).toEqual([2, 3, 20]);
    expect(new Unflatten(1, [3, -1]).call(ones(2, 12)).shape).toEqual([2, 3, 4]);
  });

  it("Bilinear init bounds, keys and validation", () => {
    manualSeed(0);
    const b = new Bilinear(16, 3, 2);
    expect(Object.keys(b.stateDict())).toEqual(["weight", "bias"]);
    expect(b.weight.shape).toEqual([2, 16, 3]);
    const w = Array.from(b.weight.dataSync());
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.2);
    expect(() => b.call(ones(4, 15), ones(4, 3))).toThrow(ShapeError);
    expect(() => b.call(ones(4, 16), ones(5, 3))).toThrow(/same size except for the last dim/);
    // y_o = x1 W_o x2 + b_o.
    const y = F.bilinear(tensor([[1, 2]]), tensor([[3]]), tensor([[[1], [1]], [[2], [0]]]), tensor([0.5, 0]));
    expect(y.tolist()).toEqual([[9.5, 6]]);
  });
});
