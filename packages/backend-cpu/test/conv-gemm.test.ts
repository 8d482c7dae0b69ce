import type { StridedRef, WindowGeometry } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { conv2dGemm, conv2dInputGradGemm, conv2dWeightGradGemm } from "../src/fused/conv-gemm.js";
import { values32 as values } from "./values.js";

// The implicit-GEMM conv2d forward, weight gradient and input gradient against direct float64 sums, over geometries that
// exercise its edges: ragged pixel panels (ho*wo not a multiple of 8), output channels not a
// multiple of 4, several k-blocks (C*kh*kw > 256) and pixel blocks (ho*wo > 256; the weight
// gradient's k dimension), taps not a multiple of 8, stride,
// dilation, asymmetric padding, strided (non-contiguous) input and weight views, no bias.

const contiguous = (shape: number[]) => shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));

interface Case {
  x: [number, number, number, number];
  o: number;
  k: [number, number];
  stride?: [number, number];
  dil?: [number, number];
  pad?: [number, number, number, number]; // top, bottom, left, right
  bias?: boolean;
  transposedX?: boolean;
}

function run({ x: [N, C, H, W], o: O, k: [kh, kw], stride = [1, 1], dil = [1, 1], pad = [0, 0, 0, 0], bias = true, transposedX = false }: Case) {
  const [pt, pb, pl, pr] = pad;
  const ho = Math.floor((H + pt + pb - dil[0] * (kh - 1) - 1) / stride[0]) + 1;
  const wo = Math.floor((W + pl + pr - dil[1] * (kw - 1) - 1) / stride[1]) + 1;
  const g: WindowGeometry = { n: N, c: C, h: H, w: W, kh, kw, sh: stride[0], sw: stride[1], dh: dil[0], dw: dil[1], pt, pl, ho, wo };
  const xd = values(N * C * H * W, 1);
  // A transposed view: storage [N, C, W, H], strides swapped.
  const xs = transposedX ? [C * H * W, H * W, 1, H] : contiguous([N, C, H, W]);
  const at = (n: number, c: number, h: number, w: number) => xd[n * (xs[0] as number) + c * (xs[1] as number) + h * (xs[2] as number) + w * (xs[3] as number)] as number;
  // Weight as a view with a padded channel stride (not contiguous).
  const wsC = kh * kw + 3;
  const ws = [C * wsC, wsC, kw, 1];
  const wd = values(O * C * wsC, 2);
  const bd = values(O, 3);
  const ref = (data: Float32Array, shape: number[], strides: number[]): StridedRef => ({ data, dtype: "float32", shape, strides, offset: 0 });
  const y = conv2dGemm(ref(xd, [N, C, H, W], xs), ref(wd, [O, C, kh, kw], ws), bias ? ref(bd, [O], [1]) : null, g) as Float32Array;
  expect(y).toBeInstanceOf(Float32Array);
  expect(y.length).toBe(N * O * ho * wo);
  let worst = 0;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++) {
          let acc = bias ? (bd[o] as number) : 0;
          let mag = Math.abs(acc);
          for (let c = 0; c < C; c++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const r = oy * stride[0] - pt + i * dil[0];
                const col = ox * stride[1] - pl + j * dil[1];
                if (r < 0 || r >= H || col < 0 || col >= W) continue;
                const t = at(n, c, r, col) * (wd[o * ws[0]! + c * wsC + i * kw + j] as number);
                acc += t;
                mag += Math.abs(t);
              }
          const got = y[((n * O + o) * ho + oy) * wo + ox] as number;
          worst = Math.max(worst, Math.abs(got - acc) / Math.max(mag, 1e-30));
        }
  // float32 accumulation: error within a few float32 epsilons of the sum of magnitudes.
  expect(worst).toBeLessThan(1e-6);

  // The weight gradient from an output gradient gy (contiguous, or a strided view) against the direct sum.
  const gyd = values(N * O * ho * wo * 2, 4);
  const gys = transposedX ? [O * ho * wo * 2, ho * wo * 2, wo * 2, 2] : contiguous([N, O, ho, wo]);
  const gyAt = (n: number, o: number, oy: number, ox: number) =>
    gyd[n * (gys[0] as number) + o * (gys[1] as number) + oy * (gys[2] as number) + ox * (gys[3] as number)] as number;
  const gw = conv2dWeightGradGemm(ref(gyd, [N, O, ho, wo], gys), ref(xd, [N, C, H, W], xs), g) as Float32Array;
  expect(gw.length).toBe(O * C * kh * kw);
  let worstW = 0;
  for (let o = 0; o < O; o++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          let acc = 0;
          let mag = 0;
          for (let n = 0; n < N; n++)
            for (let oy = 0; oy < ho; oy++)
              for (let ox = 0; ox < wo; ox++) {
                const r = oy * stride[0] - pt + i * dil[0];
                const col = ox * stride[1] - pl + j * dil[1];
                if (r < 0 || r >= H || col < 0 || col >= W) continue;
                const t = gyAt(n, o, oy, ox) * at(n, c, r, col);
                acc += t;
                mag += Math.abs(t);
              }
          const got = gw[((o * C + c) * kh + i) * kw + j] as number;
          worstW = Math.max(worstW, Math.abs(got - acc) / Math.max(mag, 1e-30));
        }
  expect(worstW).toBeLessThan(1e-6);

  // The input gradient: every tap's gy * weight summed into its input pixel.
  const gx = conv2dInputGradGemm(ref(gyd, [N, O, ho, wo], gys), ref(wd, [O, C, kh, kw], ws), g) as Float32Array;
  expect(gx.length).toBe(N * C * H * W);
  const want = new Float64Array(N * C * H * W);
  const mags = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < ho; oy++)
        for (let ox = 0; ox < wo; ox++)
          for (let c = 0; c < C; c++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const r = oy * stride[0] - pt + i * dil[0];
                const col = ox * stride[1] - pl + j * dil[1];
                if (r < 0 || r >= H || col < 0 || col >= W) continue;
                const t = gyAt(n, o, oy, ox) * (wd[o * ws[0]! + c * wsC + i * kw + j] as number);
                const q = ((n * C + c) * H + r) * W + col;
                want[q] += t;
                mags[q] += Math.abs(t);
              }
  let worstX = 0;
  for (let q = 0; q < want.length; q++) {
    if (mags[q] === 0) expect(gx[q]).toBe(0);
    else worstX = Math.max(worstX, Math.abs((gx[q] as number) - (want[q] as number)) / (mags[q] as number));
  }
  expect(worstX).toBeLessThan(1e-6);
}

describe("cpu backend: conv2d and its gradients as implicit GEMMs (fused conv2d, conv2dWeightGrad, conv2dInputGrad)", () => {
  it("3x3, padding 1, 3 input channels (ragged last panel, 5 output channels)", () => run({ x: [2, 3, 9, 7], o: 5, k: [3, 3], pad: [1, 1, 1, 1] }));
  it("several k-blocks and pixel blocks: 32 channels x 3x3 = 288 > 256, 20x20 outputs > 256", () =>
    run({ x: [2, 32, 20, 20], o: 9, k: [3, 3], pad: [1, 1, 1, 1] }));
  it("stride 2, dilation 2, asymmetric padding, no bias", () =>
    run({ x: [3, 4, 13, 11], o: 6, k: [3, 2], stride: [2, 2], dil: [2, 2], pad: [2, 0, 1, 3], bias: false }));
  it("a transposed (non-contiguous) input view, 1x1 kernel, stride 3", () => run({ x: [2, 5, 10, 8], o: 4, k: [1, 1], stride: [3, 3], transposedX: true }));
  it("a window larger than the input with padding (every tap partly in the padding)", () => run({ x: [1, 2, 2, 3], o: 3, k: [5, 5], pad: [2, 2, 2, 2] }));
  it("declines other dtypes (the caller takes the generic path)", () => {
    const x: StridedRef = { data: new Float64Array(4), dtype: "float64", shape: [1, 1, 2, 2], strides: [4, 4, 2, 1], offset: 0 };
    const w: StridedRef = { data: new Float64Array(1), dtype: "float64", shape: [1, 1, 1, 1], strides: [1, 1, 1, 1], offset: 0 };
    const g = { n: 1, c: 1, h: 2, w: 2, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, ho: 2, wo: 2 };
    expect(conv2dGemm(x, w, null, g)).toBeUndefined();
    expect(conv2dWeightGradGemm(x, x, g)).toBeUndefined();
    expect(conv2dInputGradGemm(x, w, g)).toBeUndefined();
  });
});
