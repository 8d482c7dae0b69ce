import "@dl/backend-cpu/register";
import { grad } from "@dl/autograd";
import { F } from "@dl/nn";
import { type Tensor, manualSeed, mul, randn, sum } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { countingCalls, expectClose, outputAndGrads, withoutKernels } from "./fused-helpers.js";

// The cpu backend's fused conv2d, conv2dWeightGrad and conv2dInputGrad (implicit GEMMs) against the generic im2col + matmul path:
// outputs, gradients and second derivatives agree, and the kernel runs exactly where it applies.

const KERNELS = ["conv2d", "conv2dWeightGrad", "conv2dInputGrad"] as const;

const cases: { x: number[]; w: number[]; bias?: boolean; o: F.ConvOptions; strided?: boolean }[] = [
  { x: [2, 3, 9, 7], w: [5, 3, 3, 3], bias: true, o: { padding: 1 } },
  { x: [2, 4, 13, 11], w: [6, 4, 3, 2], o: { stride: [2, 3], padding: [1, 0], dilation: [2, 1] } },
  { x: [1, 2, 5, 5], w: [3, 2, 1, 1], bias: true, o: { stride: 2 } },
  { x: [2, 32, 18, 17], w: [9, 32, 3, 3], bias: true, o: { padding: "same" } }, // several k-blocks and pixel blocks
  { x: [2, 3, 6, 8], w: [4, 3, 3, 3], bias: true, o: { padding: [0, 2] }, strided: true },
];

function input(shape: number[], strided: boolean | undefined): Tensor {
  if (!strided) return randn(shape);
  const [n, c, h, w] = shape as [number, number, number, number];
  return randn([n, h, w, c]).permute(0, 3, 1, 2);
}

describe("cpu fused conv2d vs the generic path", () => {
  for (const c of cases) {
    it(`conv2d x ${c.x}${c.strided ? " (strided)" : ""} w ${c.w} ${JSON.stringify(c.o)}${c.bias ? " + bias" : ""}`, () => {
      manualSeed(21);
      const inputs = [input(c.x, c.strided), randn(c.w), ...(c.bias ? [randn([c.w[0] as number])] : [])];
      const f = (x: Tensor, w: Tensor, b?: Tensor) => F.conv2d(x, w, b ?? null, c.o);
      const g = randn(f(inputs[0] as Tensor, inputs[1] as Tensor, inputs[2]).shape);
      const [fused, calls] = countingCalls("cpu", KERNELS, () => outputAndGrads(f as (...xs: Tensor[]) => Tensor, inputs, g));
      expect(calls.conv2d).toBe(1);
      expect(calls.conv2dWeightGrad).toBe(1);
      expect(calls.conv2dInputGrad).toBe(1);
      const generic = withoutKernels("cpu", KERNELS, () => outputAndGrads(f as (...xs: Tensor[]) => Tensor, inputs, g));
      fused.forEach((v, i) => expectClose(v, generic[i] as number[], i === 0 ? "output" : `grad of input ${i - 1}`));
    });
  }

  it("second derivatives (createGraph through the fused forward's backward) match the generic path", () => {
    manualSeed(22);
    const x0 = randn([2, 3, 6, 5]);
    const w0 = randn([4, 3, 3, 3]);
    const gy = randn([2, 4, 6, 5]);
    const v = randn([2, 3, 6, 5]);
    const second = () => {
      const x = x0.clone().requiresGrad_();
      const w = w0.clone().requiresGrad_();
      const y = F.conv2d(x, w, null, { padding: 1 });
      const [gx] = grad(sum(mul(y, gy)), [x], { createGraph: true }) as [Tensor];
      const [gw] = grad(sum(mul(gx, v)), [w]) as [Tensor];
      return Array.from(gw.dataSync());
    };
    const [fused, calls] = countingCalls("cpu", KERNELS, second);
    expect(calls.conv2d).toBe(1);
    expectClose(fused, withoutKernels("cpu", KERNELS, second), "d/dw <v, dL/dx>");
  });

  it("is not used for groups > 1 or float64 (the kernel declines float64)", () => {
    manualSeed(23);
    const [, grouped] = countingCalls("cpu", KERNELS, () => F.conv2d(randn([1, 4, 5, 5]), randn([4, 2, 3, 3]), null, { groups: 2 }));
    expect(grouped.conv2d).toBe(0);
    const x = randn([1, 2, 5, 5], { dtype: "float64" });
    const w = randn([3, 2, 3, 3], { dtype: "float64" });
    const y = F.conv2d(x, w, null, { padding: 1 });
    const want = withoutKernels("cpu", KERNELS, () => F.conv2d(x, w, null, { padding: 1 }));
    expect(Array.from(y.dataSync())).toEqual(Array.from(want.dataSync()));
  });
});
