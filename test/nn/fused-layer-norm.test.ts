import { grad, gradcheck, gradgradcheck } from "@dl/autograd";
import { F, LayerNorm } from "@dl/nn";
import { type Tensor, add, manualSeed, mul, randn, sum } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { countingCalls, expectClose, outputAndGrads, withoutKernels } from "./fused-helpers.js";

/**
 * F.layerNorm through the backend's fused kernels against the generic composition (the kernels
 * removed from the backend's table). PyTorch's values are checked by normalization.test.ts
 * (LayerNorm_* and layer_norm_fn fixtures), which now runs the fused path.
 */
const KERNELS = ["layerNorm", "layerNormBackward"] as const;

type Case = { shape: number[]; norm: number[]; weight: boolean; bias: boolean; view?: (x: Tensor) => Tensor };
const cases: Case[] = [
  { shape: [4, 6], norm: [6], weight: true, bias: true },
  { shape: [2, 3, 4, 5], norm: [4, 5], weight: true, bias: true },
  { shape: [3, 5], norm: [5], weight: false, bias: false },
  { shape: [3, 5], norm: [5], weight: true, bias: false },
  { shape: [3, 5], norm: [5], weight: false, bias: true },
  { shape: [3, 700], norm: [700], weight: true, bias: true }, // longer than one GPU chunk
  { shape: [300, 4], norm: [4], weight: true, bias: true }, // gw, gb sum more rows than one chunk
  { shape: [7], norm: [7], weight: true, bias: true },
  { shape: [5, 4], norm: [5], weight: true, bias: true, view: (x) => x.t() }, // a non-contiguous input
];

describeEachBackend("fused layer norm", (device) => {
  for (const c of cases) {
    const label = `${c.weight ? "w" : ""}${c.bias ? "b" : ""}`;
    it(`[${c.shape}] over [${c.norm}] ${label}${c.view ? " (view)" : ""}: fused equals the composition, values and gradients`, () => {
      manualSeed(7);
      const x = mul(randn(c.shape), 3);
      const inputs = [x, ...(c.weight ? [randn(c.norm)] : []), ...(c.bias ? [randn(c.norm)] : [])];
      const fn = (t: Tensor, ...wb: Tensor[]) => {
        const weight = c.weight ? (wb[0] as Tensor) : null;
        const bias = c.bias ? (wb[c.weight ? 1 : 0] as Tensor) : null;
        return F.layerNorm(c.view ? c.view(t) : t, c.norm, { weight, bias, eps: 1e-4 });
      };
      const g = randn(fn(x, ...inputs.slice(1)).shape);
      const [fused, calls] = countingCalls(device, KERNELS, () => outputAndGrads(fn, inputs, g));
      expect(calls).toEqual({ layerNorm: 1, layerNormBackward: 1 });
      const generic = withoutKernels(device, KERNELS, () => outputAndGrads(fn, inputs, g));
      const names = ["output", "input grad", "weight/bias grad", "bias grad"];
      fused.forEach((v, i) => expectClose(v, generic[i] as number[], names[i] as string, 2e-5));
    });
  }

  it("the LayerNorm module runs the fused kernels; gradFn is NativeLayerNormBackward0 on both paths", () => {
    const m = new LayerNorm(6);
    const x = randn(2, 6).requiresGrad_();
    const [y, calls] = countingCalls(device, KERNELS, () => m.call(x));
    expect(calls.layerNorm).toBe(1);
    expect(y.gradFn?.name()).toBe("NativeLayerNormBackward0");
    expect(withoutKernels(device, KERNELS, () => m.call(x).gradFn?.name())).toBe("NativeLayerNormBackward0");
  });

  it("only the input's gradient is computed when weight and bias do not require it", () => {
    manualSeed(8);
    const x = randn(3, 4).requiresGrad_();
    const w = randn(4);
    const b = randn(4);
    sum(mul(F.layerNorm(x, [4], { weight: w, bias: b }), randn(3, 4))).backward();
    expect(x.grad).not.toBeNull();
    expect(w.grad).toBeNull();
  });

  it("second derivatives (createGraph) equal the composition's", () => {
    manualSeed(9);
    const x0 = randn(3, 5);
    const w0 = randn(5);
    const b0 = randn(5);
    const u = randn(3, 5);
    const secondOrder = () => {
      const x = x0.clone().requiresGrad_();
      const w = w0.clone().requiresGrad_();
      const b = b0.clone().requiresGrad_();
      const [gx, gw] = grad([sum(mul(F.layerNorm(x, [5], { weight: w, bias: b }), u))], [x, w], { createGraph: true });
      add(sum(mul(gx as Tensor, gx as Tensor)), sum(mul(gw as Tensor, gw as Tensor))).backward();
      return [x, w].map((t) => Array.from((t.grad as Tensor).dataSync()));
    };
    const fused = secondOrder();
    const generic = withoutKernels(device, KERNELS, secondOrder);
    fused.forEach((v, i) => expectClose(v, generic[i] as number[], i === 0 ? "x" : "weight", 1e-4));
  });

  it("gradcheck and gradgradcheck in float64", () => {
    manualSeed(10);
    const x = randn([3, 4], { dtype: "float64" }).requiresGrad_();
    const w = randn([4], { dtype: "float64" }).requiresGrad_();
    const b = randn([4], { dtype: "float64" }).requiresGrad_();
    const f = (t: Tensor, wt: Tensor, bt: Tensor) => F.layerNorm(t, [4], { weight: wt, bias: bt });
    expect(gradcheck(f, [x, w, b])).toBe(true);
    expect(gradgradcheck(f, [x, w, b])).toBe(true);
  });
});
