import "@dl/autograd";
import {
  CELU,
  ELU,
  F,
  GELU,
  GLU,
  Hardshrink,
  Hardsigmoid,
  Hardswish,
  Hardtanh,
  LeakyReLU,
  LogSigmoid,
  LogSoftmax,
  Mish,
  PReLU,
  ReLU,
  ReLU6,
  RReLU,
  SELU,
  SiLU,
  Sigmoid,
  Softmax,
  Softmax2d,
  Softmin,
  Softplus,
  Softshrink,
  Softsign,
  Tanh,
  Tanhshrink,
  Threshold,
} from "@dl/nn";
import { ArgumentError, ShapeError, manualSeed, mul, randn, sum, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { Fn, fixtures, layerCaseTests } from "./layer-cases.js";

describeEachBackend("activations vs PyTorch", () => {
  layerCaseTests({
    ReLU: () => new ReLU(),
    ReLU6: () => new ReLU6(),
    LeakyReLU: () => new LeakyReLU(),
    "LeakyReLU_0.2": () => new LeakyReLU(0.2),
    ELU: () => new ELU(),
    "ELU_0.5": () => new ELU(0.5),
    SELU: () => new SELU(),
    "CELU_1.5": () => new CELU(1.5),
    GELU: () => new GELU(),
    GELU_tanh: () => new GELU({ approximate: "tanh" }),
    SiLU: () => new SiLU(),
    Mish: () => new Mish(),
    Sigmoid: () => new Sigmoid(),
    Tanh: () => new Tanh(),
    Softplus: () => new Softplus(),
    Softplus_2_5: () => new Softplus(2, 5),
    "Softplus_0.5_1": () => new Softplus(0.5, 1),
    Softsign: () => new Softsign(),
    Hardtanh: () => new Hardtanh(),
    "Hardtanh_-3_0.5": () => new Hardtanh(-3, 0.5),
    Hardswish: () => new Hardswish(),
    Hardsigmoid: () => new Hardsigmoid(),
    LogSigmoid: () => new LogSigmoid(),
    Tanhshrink: () => new Tanhshrink(),
    Softshrink: () => new Softshrink(),
    Softshrink_1: () => new Softshrink(1),
    Hardshrink: () => new Hardshrink(),
    "Threshold_0.5_20": () => new Threshold(0.5, 20),
    Softmax_1: () => new Softmax(1),
    Softmax_0: () => new Softmax(0),
    LogSoftmax_1: () => new LogSoftmax(1),
    "LogSoftmax_-2": () => new LogSoftmax(-2),
    Softmin_1: () => new Softmin(1),
    GLU: () => new GLU(),
    GLU_0: () => new GLU(0),
    RReLU_eval: () => new RReLU(),
    PReLU: () => new PReLU(),
    PReLU_3: () => new PReLU(3, 0.1),
    "Softmax_-1_3d": () => new Softmax(-1),
    Softmax2d: () => new Softmax2d(),
    Softmax_none_3d: () => new Softmax(),
    softmax_big: () => new Fn((x) => F.softmax(x, 1)),
    log_softmax_big: () => new Fn((x) => F.logSoftmax(x, 1)),
    softmax_dtype_f64: () => new Fn((x) => F.softmax(x, -1, { dtype: "float64" })),
    log_softmax_dtype_f64: () => new Fn((x) => F.logSoftmax(x, 0, { dtype: "float64" })),
  });
});

describe("activation modules print like PyTorch", () => {
  const r = fixtures.reprs;
  it("inplace flags and defaults", () => {
    expect(String(new ReLU({ inplace: true }))).toBe(r.ReLU_inplace);
    expect(String(new ReLU6({ inplace: true }))).toBe(r.ReLU6_inplace);
    expect(String(new LeakyReLU(0.1, { inplace: true }))).toBe(r.LeakyReLU_inplace);
    expect(String(new ELU(1, { inplace: true }))).toBe(r.ELU_inplace);
    expect(String(new SELU({ inplace: true }))).toBe(r.SELU_inplace);
    expect(String(new Hardtanh(-2, 2, { inplace: true }))).toBe(r.Hardtanh_inplace);
    expect(String(new SiLU({ inplace: true }))).toBe(r.SiLU_inplace);
    expect(String(new Threshold(0.1, 20, { inplace: true }))).toBe(r.Threshold_inplace);
    expect(String(new RReLU())).toBe(r.RReLU);
    expect(String(new Softmax())).toBe(r.Softmax_none);
  });
});

describeEachBackend("activation functions", () => {
  it("inplace is accepted and leaves the input unchanged", () => {
    const x = tensor([-1, 2]);
    const y = F.relu(x, { inplace: true });
    expect(y.tolist()).toEqual([0, 2]);
    expect(x.tolist()).toEqual([-1, 2]);
    expect(new ReLU({ inplace: true }).call(x).tolist()).toEqual([0, 2]);
  });

  it("softmax is stable and rows sum to 1; logSoftmax = log(softmax)", () => {
    const x = tensor([[1e4, 0, -1e4], [3, 3, 3]]);
    const p = F.softmax(x, 1);
    expect(p.tolist()).toEqual([[1, 0, 0], [1 / 3, 1 / 3, 1 / 3].map((v) => Math.fround(v))]);
    const lp = F.logSoftmax(x, -1).tolist() as number[][];
    expect(lp[0]?.[0]).toBe(0);
    expect(lp[0]?.[2]).toBe(-2e4);
    expect(F.softmax(tensor(5), 0).item()).toBe(1);
  });

  it("softmax gradients sum to zero along dim", () => {
    manualSeed(1);
    const x = randn(3, 5).requiresGrad_();
    const g = randn(3, 5);
    sum(mul(F.softmax(x, 1), g)).backward();
    const rows = sum(x.grad ?? x, 1).tolist() as number[];
    for (const v of rows) expect(Math.abs(v)).toBeLessThan(1e-6);
  });

  it("validates arguments like PyTorch", () => {
    expect(() => F.gelu(tensor([1]), { approximate: "fast" as never })).toThrow(ArgumentError);
    expect(() => new GELU({ approximate: "x" as never })).toThrow(/approximate argument must be either none or tanh/);
    expect(() => F.glu(tensor([1, 2, 3]))).toThrow(ShapeError);
    expect(() => F.prelu(randn(2, 4), tensor([0.1, 0.2, 0.3]))).toThrow(/channel size = 4/);
    expect(() => F.softmax(tensor([1, 2]), 2)).toThrow(/dimension out of range/);
    expect(() => F.softmax(tensor([1, 2], { dtype: "int64" }), 0)).toThrow(/floating point/);
    expect(() => new Hardtanh(1, 0)).toThrow(/max_val must be greater than min_val/);
    expect(() => new Softmax2d().call(randn(2, 3))).toThrow(/expected 3D or 4D input/);
  });

  it("rrelu draws slopes in [lower, upper] in training, reproducibly under manualSeed", () => {
    const x = tensor(Array.from({ length: 200 }, () => -1));
    manualSeed(7);
    const a = F.rrelu(x, { training: true }).tolist() as number[];
    manualSeed(7);
    const b = F.rrelu(x, { training: true }).tolist() as number[];
    expect(a).toEqual(b);
    for (const v of a) {
      expect(-v).toBeGreaterThanOrEqual(1 / 8 - 1e-7);
      expect(-v).toBeLessThanOrEqual(1 / 3 + 1e-7);
    }
    expect(new Set(a).size).toBeGreaterThan(100);
    const m = new RReLU();
    m.eval();
    expect(m.call(tensor([-1])).tolist()[0]).toBeCloseTo(-(1 / 8 + 1 / 3) / 2, 6);
  });

  it("PReLU parameter and stateDict keys", () => {
    const m = new PReLU(3, 0.5);
    expect(Object.keys(m.stateDict())).toEqual(["weight"]);
    expect(m.weight.tolist()).toEqual([0.5, 0.5, 0.5]);
    expect(m.numParams).toBe(3);
    expect(m.numParameters()).toBe(3);
  });
});
