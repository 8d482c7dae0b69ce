import { gradgradcheck } from "@dl/autograd";
import { F } from "@dl/nn";
import { type Tensor, floor, full, gt, lt, manualSeed, mul, randn, sum, tensor, where } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { countingCalls, expectClose, withoutKernels } from "./fused-helpers.js";

const KERNELS = ["maxPool2d", "maxPool2dBackward"] as const;

type PoolCase = { x: number[]; k: number | number[]; o: F.MaxPoolOptions };

// Overlapping and gapped windows, padding, dilation, ceil mode (a last window past the input), odd sizes.
const cases: PoolCase[] = [
  { x: [2, 3, 8, 8], k: 2, o: {} },
  { x: [2, 2, 7, 9], k: 3, o: { stride: 2, padding: 1 } },
  { x: [1, 3, 9, 7], k: [3, 2], o: { stride: [2, 1], padding: [1, 1], dilation: [2, 1] } },
  { x: [2, 2, 7, 7], k: 2, o: { ceilMode: true } },
  { x: [1, 2, 10, 6], k: [4, 3], o: { stride: [3, 2], padding: [2, 1], ceilMode: true } },
  { x: [1, 1, 5, 11], k: 3, o: { stride: 1, dilation: 2, padding: 1 } },
  { x: [3, 1, 6, 5], k: [1, 3], o: { stride: [1, 4], ceilMode: true } },
  { x: [1, 2, 4, 4], k: 4, o: { stride: 3, padding: 2, ceilMode: true } },
];

/**
 * Inputs with many ties (small integers), NaN and -inf: a window of only -inf, -inf windows
 * touching the padding, and a NaN that must beat everything.
 */
function nasty(shape: number[]): Tensor {
  const x = floor(mul(randn(shape), 1.5));
  const r = randn(shape);
  const withInf = where(lt(r, -1.0), full(shape, Number.NEGATIVE_INFINITY), x);
  return where(gt(r, 1.8), full(shape, Number.NaN), withInf);
}

/** [values, indices, input grad] of a max pool, as host arrays. */
function run(f: (x: Tensor) => [Tensor, Tensor], x0: Tensor, g: Tensor): number[][] {
  const x = x0.detach().clone().requiresGrad_();
  const [y, idx] = f(x);
  sum(mul(y, g)).backward();
  return [Array.from(y.dataSync()), Array.from(idx.dataSync()), Array.from((x.grad as Tensor).dataSync())];
}

function agree(device: string, f: (x: Tensor) => [Tensor, Tensor], x: Tensor) {
  const g = randn(f(x)[0].shape);
  const [fused, calls] = countingCalls(device, KERNELS, () => run(f, x, g));
  expect(calls).toEqual({ maxPool2d: 1, maxPool2dBackward: 1 });
  const generic = withoutKernels(device, KERNELS, () => run(f, x, g));
  expectClose(fused[0] as number[], generic[0] as number[], "values", 0);
  expect(fused[1]).toEqual(generic[1]);
  expectClose(fused[2] as number[], generic[2] as number[], "input grad");
}

describeEachBackend("fused max pooling vs the generic path", (device) => {
  for (const c of cases) {
    it(`maxPool2d x ${c.x} k ${c.k} ${JSON.stringify(c.o)}`, () => {
      manualSeed(21);
      agree(device, (x) => F.maxPool2d(x, c.k, { ...c.o, returnIndices: true }), randn(c.x));
      agree(device, (x) => F.maxPool2d(x, c.k, { ...c.o, returnIndices: true }), nasty(c.x));
    });
  }

  it("maxPool1d, unbatched and strided inputs", () => {
    manualSeed(22);
    agree(device, (x) => F.maxPool1d(x, 3, { stride: 2, padding: 1, dilation: 2, ceilMode: true, returnIndices: true }), nasty([2, 3, 12]));
    agree(device, (x) => F.maxPool2d(x, 2, { stride: 1, returnIndices: true }), nasty([3, 5, 6]));
    agree(device, (x) => F.maxPool2d(x.transpose(2, 3), [2, 3], { stride: 2, padding: 1, returnIndices: true }), nasty([2, 2, 7, 5]));
  });

  it("all -inf windows take their first position inside the input", () => {
    const x = full([1, 1, 3, 4], Number.NEGATIVE_INFINITY);
    const [fused, calls] = countingCalls(device, KERNELS, () => F.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, returnIndices: true }));
    expect(calls.maxPool2d).toBe(1);
    // Windows start at rows -1, 1 and columns -1, 1, 3 of a 3x4 input.
    expect(fused[1].tolist()).toEqual([[[[0, 1, 3], [4, 5, 7]]]]);
    expect(fused[0].tolist()).toEqual([[new Array(2).fill(new Array(3).fill(Number.NEGATIVE_INFINITY))]]);
  });

  it("ties go to the first maximum; overlapping windows sum their grads on a shared argmax", () => {
    const x = tensor([[[[1, 3, 3], [3, 0, 3], [2, 3, 1]]]]).requiresGrad_();
    const [[out, idx], calls] = countingCalls(device, KERNELS, () => {
      const r = F.maxPool2d(x, 2, { stride: 1, returnIndices: true });
      sum(r[0]).backward();
      return r;
    });
    expect(calls).toEqual({ maxPool2d: 1, maxPool2dBackward: 1 });
    expect(out.tolist()).toEqual([[[[3, 3], [3, 3]]]]);
    expect(idx.tolist()).toEqual([[[[1, 1], [3, 5]]]]);
    expect((x.grad as Tensor).tolist()).toEqual([[[[0, 2, 0], [1, 0, 1], [0, 0, 0]]]]);
  });

  it("second derivatives (gradgradcheck)", () => {
    manualSeed(23);
    const x = randn([1, 2, 5, 6], { dtype: "float64" }).requiresGrad_();
    const pool = (t: Tensor) => F.maxPool2d(t, [2, 3], { stride: [1, 2], padding: [1, 1], dilation: [2, 1] });
    const [ok, calls] = countingCalls(device, KERNELS, () => gradgradcheck((t) => mul(pool(t), pool(t)), [x]));
    expect(ok).toBe(true);
    expect(calls.maxPool2dBackward).toBeGreaterThan(0);
  });
});

const AVG = ["avgPool2d", "avgPool2dBackward"] as const;

type AvgCase = { x: number[]; k: number | number[]; o: F.AvgPoolOptions };

// Padding with and without countIncludePad, ceil mode (windows clipped by the padded input), divisorOverride.
const avgCases: AvgCase[] = [
  { x: [2, 3, 8, 8], k: 2, o: {} },
  { x: [2, 2, 7, 9], k: 3, o: { stride: 2, padding: 1 } },
  { x: [2, 2, 7, 9], k: 3, o: { stride: 2, padding: 1, countIncludePad: false } },
  { x: [1, 3, 9, 7], k: [3, 2], o: { stride: [2, 1], padding: [1, 1], ceilMode: true } },
  { x: [1, 2, 10, 6], k: [4, 3], o: { stride: [3, 2], padding: [2, 1], ceilMode: true, countIncludePad: false } },
  { x: [2, 2, 5, 5], k: 3, o: { stride: 1, padding: 1, divisorOverride: 5 } },
  { x: [1, 2, 4, 4], k: 4, o: { stride: 3, padding: 2, ceilMode: true, countIncludePad: false } },
];

/** Runs f with the fused average-pooling kernels and on the generic path: outputs and input grads agree. */
function agreeAvg(device: string, f: (x: Tensor) => Tensor, x: Tensor) {
  const g = randn(f(x).shape);
  const run = () => {
    const leaf = x.detach().clone().requiresGrad_();
    const y = f(leaf);
    sum(mul(y, g)).backward();
    return [Array.from(y.dataSync()), Array.from((leaf.grad as Tensor).dataSync())];
  };
  const [fused, calls] = countingCalls(device, AVG, run);
  expect(calls).toEqual({ avgPool2d: 1, avgPool2dBackward: 1 });
  const generic = withoutKernels(device, AVG, run);
  expectClose(fused[0] as number[], generic[0] as number[], "output");
  expectClose(fused[1] as number[], generic[1] as number[], "input grad");
}

describeEachBackend("fused average pooling vs the generic path", (device) => {
  for (const c of avgCases) {
    it(`avgPool2d x ${c.x} k ${c.k} ${JSON.stringify(c.o)}`, () => {
      manualSeed(31);
      agreeAvg(device, (x) => F.avgPool2d(x, c.k, c.o), randn(c.x));
    });
  }

  it("avgPool1d, unbatched and strided inputs", () => {
    manualSeed(32);
    agreeAvg(device, (x) => F.avgPool1d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), randn([2, 3, 12]));
    agreeAvg(device, (x) => F.avgPool2d(x, 2, { stride: 1 }), randn([3, 5, 6]));
    agreeAvg(device, (x) => F.avgPool2d(x.transpose(2, 3), [2, 3], { stride: 2, padding: 1 }), randn([2, 2, 7, 5]));
  });

  it("second derivatives (gradgradcheck)", () => {
    manualSeed(33);
    const x = randn([1, 2, 5, 6], { dtype: "float64" }).requiresGrad_();
    const pool = (t: Tensor) => F.avgPool2d(t, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false });
    const [ok, calls] = countingCalls(device, AVG, () => gradgradcheck((t) => mul(pool(t), pool(t)), [x]));
    expect(ok).toBe(true);
    expect(calls.avgPool2dBackward).toBeGreaterThan(0);
  });
});
