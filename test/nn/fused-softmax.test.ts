import { grad, gradcheck, gradgradcheck } from "@dl/autograd";
import { F } from "@dl/nn";
import { type Tensor, full, lt, manualSeed, mul, randn, sum, tensor, where } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { countingCalls, expectClose, outputAndGrads, withoutKernels } from "./fused-helpers.js";

/**
 * F.softmax / F.logSoftmax through the backend's fused kernels against the generic composition
 * (the same calls with the kernels removed from the backend's table). PyTorch's values for both
 * functions are checked by activation.test.ts (fixtures Softmax_*, LogSoftmax_*, softmax_big, ...),
 * which now runs the fused path.
 */
const KERNELS = ["softmax", "softmaxBackward"] as const;

type Case = { shape: number[]; dim: number; view?: (x: Tensor) => Tensor };
const cases: Case[] = [
  { shape: [4, 7], dim: 1 },
  { shape: [4, 7], dim: 0 },
  { shape: [3, 5, 6], dim: 1 }, // lines `inner` apart
  { shape: [2, 3, 4, 5], dim: -1 },
  { shape: [3, 700], dim: -1 }, // longer than one GPU chunk
  { shape: [6, 5], dim: 1, view: (x) => x.t() }, // a non-contiguous input
  { shape: [2, 9], dim: 1, view: (x) => x.narrow(1, 2, 5) }, // a view with an offset
  { shape: [], dim: 0 },
  { shape: [5], dim: 0 },
];

/** Large magnitudes and masked (-inf) entries, as attention scores have. */
function scores(shape: number[]): Tensor {
  const x = mul(randn(shape), 30);
  return where(lt(randn(shape), -1.2), full(shape, Number.NEGATIVE_INFINITY), x);
}

describeEachBackend("fused softmax", (device) => {
  for (const log of [false, true]) {
    const f = log ? F.logSoftmax : F.softmax;
    const name = log ? "logSoftmax" : "softmax";
    for (const c of cases) {
      it(`${name} [${c.shape}] dim ${c.dim}${c.view ? " (view)" : ""}: fused equals the composition, values and gradients`, () => {
        manualSeed(3);
        const x = log ? randn(c.shape) : scores(c.shape);
        const fn = (t: Tensor) => f(c.view ? c.view(t) : t, c.dim);
        const g = randn(fn(x).shape);
        const [fused, calls] = countingCalls(device, KERNELS, () => outputAndGrads(fn, [x], g));
        expect(calls).toEqual({ softmax: 1, softmaxBackward: 1 });
        const generic = withoutKernels(device, KERNELS, () => outputAndGrads(fn, [x], g));
        expectClose(fused[0] as number[], generic[0] as number[], "output", 1e-5);
        expectClose(fused[1] as number[], generic[1] as number[], "input grad", 1e-5);
      });
    }

    it(`${name}: gradFn is PyTorch's ${log ? "LogSoftmaxBackward0" : "SoftmaxBackward0"} on both paths`, () => {
      const x = randn(2, 3).requiresGrad_();
      const want = log ? "LogSoftmaxBackward0" : "SoftmaxBackward0";
      expect(f(x, 1).gradFn?.name()).toBe(want);
      expect(withoutKernels(device, KERNELS, () => f(x, 1).gradFn?.name())).toBe(want);
    });

    it(`${name}: the backward without the fused backward kernel composes it`, () => {
      manualSeed(4);
      const x = randn(3, 8);
      const g = randn(3, 8);
      const both = outputAndGrads((t) => f(t, 1), [x], g);
      const [forwardOnly, calls] = countingCalls(device, ["softmax"], () =>
        withoutKernels(device, ["softmaxBackward"], () => outputAndGrads((t) => f(t, 1), [x], g)),
      );
      expect(calls).toEqual({ softmax: 1 });
      expectClose(forwardOnly[1] as number[], both[1] as number[], "input grad", 1e-5);
    });

    it(`${name}: second derivatives (createGraph) equal the composition's`, () => {
      manualSeed(5);
      const x0 = randn(3, 6);
      const w = randn(3, 6);
      const secondOrder = () => {
        const x = x0.clone().requiresGrad_();
        const [gx] = grad([sum(mul(f(x, 1), w))], [x], { createGraph: true });
        sum(mul(gx as Tensor, gx as Tensor)).backward();
        return Array.from((x.grad as Tensor).dataSync());
      };
      const fused = secondOrder();
      const generic = withoutKernels(device, KERNELS, secondOrder);
      expectClose(fused, generic, "grad of the gradient", 1e-4);
    });

    it(`${name}: gradcheck and gradgradcheck in float64`, () => {
      manualSeed(6);
      const x = randn([3, 4], { dtype: "float64" }).requiresGrad_();
      expect(gradcheck((t) => f(t, 1), [x])).toBe(true);
      expect(gradgradcheck((t) => f(t, 0), [x])).toBe(true);
    });
  }

  it("softmax of rows holding +-1e4 and ties, exactly as the composition", () => {
    const x = tensor([[1e4, 0, -1e4], [3, 3, 3]]);
    expect(F.softmax(x, 1).tolist()).toEqual(withoutKernels(device, KERNELS, () => F.softmax(x, 1).tolist()));
  });
});
