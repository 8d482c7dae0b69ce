import { gradgradcheck } from "@dl/autograd";
import { F } from "@dl/nn";
import { type Tensor, manualSeed, randn } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { countingCalls, expectClose, outputAndGrads, withoutKernels } from "./fused-helpers.js";

const KERNELS = ["im2col", "col2im"] as const;

type ConvCase = {
  x: number[];
  w: number[];
  bias?: boolean;
  o: F.ConvOptions;
  /** A non-contiguous input: x is made [N, H, W, C] and permuted. */
  strided?: boolean;
};

// Stride, padding (int, tuple, 'same'), dilation, groups, 1x1 kernels, rows/columns no window reaches.
const conv2dCases: ConvCase[] = [
  { x: [2, 3, 7, 6], w: [4, 3, 3, 3], bias: true, o: { padding: 1 } },
  { x: [2, 4, 9, 8], w: [6, 2, 3, 2], bias: true, o: { stride: [2, 3], padding: [1, 0], dilation: [1, 2], groups: 2 } },
  { x: [1, 2, 5, 5], w: [2, 2, 1, 1], o: { stride: 2 } },
  { x: [3, 6, 11, 7], w: [6, 2, 2, 3], bias: true, o: { padding: [2, 1], dilation: 2, groups: 3 } },
  { x: [2, 1, 28, 28], w: [4, 1, 3, 3], bias: true, o: { padding: 1 } },
  { x: [1, 3, 6, 7], w: [2, 3, 4, 2], o: { padding: "same" } },
  { x: [2, 3, 5, 8], w: [4, 3, 3, 3], bias: true, o: { stride: [1, 2], padding: [0, 2] }, strided: true },
  { x: [1, 2, 10, 10], w: [3, 2, 3, 3], o: { stride: 4 } },
  { x: [2, 2, 4, 3], w: [2, 1, 5, 4], o: { padding: [2, 1], groups: 2 } },
];

function input(shape: number[], strided: boolean | undefined): Tensor {
  if (!strided) return randn(shape);
  const [n, c, h, w] = shape as [number, number, number, number];
  return randn([n, h, w, c]).permute(0, 3, 1, 2);
}

/** The implicit-GEMM convolution kernels (test/nn/fused-conv2d.test.ts), which bypass im2col: detached here. */
const GEMM_KERNELS = ["conv2d", "conv2dWeightGrad", "conv2dInputGrad"] as const;

/** Runs f on inputs with the fused kernels and on the generic path; asserts they agree and that the kernels ran. */
function agree(device: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], want: { im2col?: boolean; col2im?: boolean } = {}) {
  withoutKernels(device, GEMM_KERNELS, () => agreeIm2col(device, f, inputs, want));
}

function agreeIm2col(device: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], want: { im2col?: boolean; col2im?: boolean }) {
  const g = randn(f(...inputs).shape);
  const [fused, calls] = countingCalls(device, KERNELS, () => outputAndGrads(f, inputs, g));
  if (want.im2col ?? true) expect(calls.im2col).toBeGreaterThan(0);
  if (want.col2im ?? true) expect(calls.col2im).toBeGreaterThan(0);
  const [generic, none] = countingCalls(device, KERNELS, () => withoutKernels(device, KERNELS, () => outputAndGrads(f, inputs, g)));
  expect(none).toEqual({ im2col: 0, col2im: 0 });
  expect(fused.length).toBe(generic.length);
  fused.forEach((v, i) => expectClose(v, generic[i] as number[], i === 0 ? "output" : `grad of input ${i - 1}`));
}

describeEachBackend("fused im2col / col2im vs the generic path", (device) => {
  for (const c of conv2dCases) {
    it(`conv2d x ${c.x}${c.strided ? " (strided)" : ""} w ${c.w} ${JSON.stringify(c.o)}${c.bias ? " + bias" : ""}`, () => {
      manualSeed(11);
      const inputs = [input(c.x, c.strided), randn(c.w), ...(c.bias ? [randn([c.w[0] as number])] : [])];
      agree(device, (x, w, b) => F.conv2d(x as Tensor, w as Tensor, b ?? null, c.o), inputs);
    });
  }

  it("conv1d (the 2-D path with a height-1 kernel)", () => {
    manualSeed(12);
    const inputs = [randn([2, 4, 11]), randn([6, 2, 3]), randn([6])];
    agree(device, (x, w, b) => F.conv1d(x as Tensor, w as Tensor, b, { stride: 2, padding: 1, dilation: 2, groups: 2 }), inputs);
  });

  it("unbatched conv2d", () => {
    manualSeed(13);
    agree(device, (x, w) => F.conv2d(x as Tensor, w as Tensor, null, { padding: 1 }), [randn([3, 5, 5]), randn([2, 3, 3, 3])]);
  });

  it("convTranspose2d and convTranspose1d (col2im forward, im2col backward)", () => {
    manualSeed(14);
    const t2 = [randn([2, 4, 5, 6]), randn([4, 3, 3, 3]), randn([6])];
    agree(device, (x, w, b) => F.convTranspose2d(x as Tensor, w as Tensor, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }), t2);
    const t1 = [randn([1, 2, 7]), randn([2, 3, 4])];
    agree(device, (x, w) => F.convTranspose1d(x as Tensor, w as Tensor, null, { stride: 3, dilation: 2 }), t1);
  });

  it("unfold and fold", () => {
    manualSeed(15);
    const o = { padding: [1, 0], stride: [2, 1], dilation: [1, 2] };
    agree(device, (x) => F.unfold(x as Tensor, [2, 3], o), [randn([2, 3, 7, 8])]);
    const cols = F.unfold(randn([2, 3, 7, 8]), [2, 3], o);
    agree(device, (c) => F.fold(c as Tensor, [7, 8], [2, 3], o), [cols]);
  });

  it("second derivatives run through the fused kernels (gradgradcheck)", () => {
    manualSeed(17);
    const x = randn([1, 2, 5, 6], { dtype: "float64" }).requiresGrad_();
    const w = randn([4, 1, 3, 2], { dtype: "float64" }).requiresGrad_();
    const b = randn([4], { dtype: "float64" }).requiresGrad_();
    const conv = (a: Tensor, k: Tensor, c: Tensor) => F.conv2d(a, k, c, { stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2 });
    const [ok, calls] = countingCalls(device, KERNELS, () => gradgradcheck(conv, [x, w, b]));
    expect(ok).toBe(true);
    expect(calls.im2col).toBeGreaterThan(0);
    expect(calls.col2im).toBeGreaterThan(0);
  });
});
