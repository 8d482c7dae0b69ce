import * as dl from "@dl/tensor";
import { ArgumentError, DTypeError, IndexError, type Tensor, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type FakeNode, reaches, useFakeRecorder } from "../helpers/fake-recorder.js";
import { loadFixtures } from "../helpers/fixtures.js";
import { type FixtureOp, runFixtureCases } from "./fixture-cases.js";

const fx = loadFixtures("reduce");

const ops: Record<string, FixtureOp> = {
  sum: dl.sum,
  nansum: dl.nansum,
  mean: dl.mean,
  nanmean: dl.nanmean,
  prod: dl.prod,
  max: dl.max,
  min: dl.min,
  amax: dl.amax,
  amin: dl.amin,
  argmax: dl.argmax,
  argmin: dl.argmin,
  aminmax: dl.aminmax,
  var: dl.variance,
  std: dl.std,
  varMean: dl.varMean,
  stdMean: dl.stdMean,
  logsumexp: dl.logsumexp,
  norm: dl.norm,
  cumsum: dl.cumsum,
  cumprod: dl.cumprod,
  cummax: dl.cummax,
  cummin: dl.cummin,
  logcumsumexp: dl.logcumsumexp,
  all: dl.all,
  any: dl.any,
  countNonzero: dl.countNonzero,
};

describeEachBackend("reductions: PyTorch fixtures", () => {
  runFixtureCases(fx, ops);
});

describeEachBackend("reductions: API forms and errors", () => {
  it("exports var as an alias of variance", () => {
    expect((dl as Record<string, unknown>).var).toBe(dl.variance);
  });

  it("accepts the options object in place of dim", () => {
    const x = tensor([[1, 2], [3, 4]]);
    const s = dl.sum(x, { dtype: "float64" });
    expect(s.dtype).toBe("float64");
    expect(s.item()).toBe(10);
    expect(dl.mean(x, { keepdim: true }).shape).toEqual([1, 1]);
    expect(dl.variance(x, { unbiased: false }).item()).toBe(1.25);
    expect(dl.amax(x, { keepdim: true }).tolist()).toEqual([[4]]);
    expect(dl.argmax(x, { keepdim: true }).tolist()).toEqual([[3]]);
  });

  it("throws typed errors", () => {
    const i = tensor([1, 2], { dtype: "int64" });
    expect(() => dl.mean(i)).toThrow(DTypeError);
    expect(() => dl.variance(i)).toThrow(DTypeError);
    expect(() => dl.max(tensor([]))).toThrow(IndexError);
    expect(() => dl.sum(tensor([1, 2]), 1)).toThrow(IndexError);
    expect(() => dl.variance(tensor([1, 2]), { unbiased: true, correction: 0 })).toThrow(ArgumentError);
    expect(() => dl.variance(tensor([1, 2]), { unbiased: true, correction: 0 })).toThrow(/^var: cannot specify both correction and unbiased/);
    expect(() => dl.prod(tensor([[1, 2]]), [0, 1] as unknown as number)).toThrow(/^prod: dim must be a single int/);
    expect(() => dl.norm(tensor([1, 2]), "nuc")).toThrow(/^norm: the nuclear norm/);
  });

  it("does not modify its inputs", () => {
    const x = tensor([[3, 1, 2], [6, 5, 4]]);
    const before = x.tolist();
    dl.cummax(x, 1);
    dl.max(x, 1);
    dl.logsumexp(x, 1);
    dl.variance(x, 0);
    dl.norm(x, 3);
    expect(x.tolist()).toEqual(before);
  });
});


describe("reductions are composed of recorded primitives", () => {
  useFakeRecorder();

  const cases: [string, (x: Tensor) => Tensor, string][] = [
    ["sum", (x) => dl.sum(x), "SumBackward0"],
    ["sum dim", (x) => dl.sum(x, 1), "SumBackward1"],
    ["mean", (x) => dl.mean(x), "MeanBackward0"],
    ["mean dim", (x) => dl.mean(x, 0), "MeanBackward1"],
    ["nansum", (x) => dl.nansum(x, 1), "NansumBackward0"],
    ["prod dim", (x) => dl.prod(x, 1), "ProdBackward1"],
    ["max", (x) => dl.max(x), "MaxBackward1"],
    ["max dim values", (x) => dl.max(x, 1).values, "MaxBackward0"],
    ["min dim values", (x) => dl.min(x, 0).values, "MinBackward0"],
    ["amax", (x) => dl.amax(x, [0, 1]), "AmaxBackward0"],
    ["aminmax max", (x) => dl.aminmax(x).max, "AminmaxBackward0"],
    ["var", (x) => dl.variance(x, 1), "VarBackward0"],
    ["std", (x) => dl.std(x), "StdBackward0"],
    ["var_mean mean", (x) => dl.varMean(x, 1)[1], "VarMeanBackward0"],
    ["std float16", (x) => dl.std(x.to("float16"), 1), "StdBackward0"],
    ["logsumexp", (x) => dl.logsumexp(x, 1), "LogsumexpBackward0"],
    ["norm", (x) => dl.norm(x), "NormBackward1"],
    ["norm inf", (x) => dl.norm(x, Number.POSITIVE_INFINITY, 1), "NormBackward1"],
    ["norm 3", (x) => dl.norm(x, 3, 0), "NormBackward1"],
    ["cummax values", (x) => dl.cummax(x, 1).values, "CummaxBackward0"],
    ["cumsum", (x) => dl.cumsum(x, 1), ""],
    ["logcumsumexp", (x) => dl.logcumsumexp(x, 0), ""],
  ];
  for (const [name, f, label] of cases) {
    it(`${name} is connected to its input`, () => {
      const x = tensor([[1, -2, 3], [0.5, 4, -1]]);
      x._requiresGrad = true;
      const y = f(x);
      expect(reaches(y, x)).toBe(true);
      if (label) expect((y.gradFn as FakeNode).name).toBe(label);
    });
  }
});
