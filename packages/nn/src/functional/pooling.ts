import { defineFunction, noGrad } from "@dl/autograd";
import {
  ArgumentError,
  IndexError,
  ShapeError,
  type Tensor,
  add,
  argmax,
  div,
  fmtShape,
  full,
  fusedKernel,
  gatherOp,
  eq,
  matmul,
  max,
  mean,
  mul,
  scatterOp,
  sum,
  tidy,
  where,
  assertTensor,
  describeValue,
} from "@dl/tensor";
import {
  type Geometry,
  type IntOrTuple,
  checkFloating,
  checkRank,
  fromKernel,
  im2col,
  indexTensor,
  ntuple,
  poolOutSize,
  requireKernel,
  valueTensor,
  windowsView,
} from "./im2col.js";

/**
 * Pooling (F.max_pool1d/2d, F.avg_pool1d/2d, F.adaptive_*_pool1d/2d, F.max_unpool1d/2d).
 *
 * Max pooling finds each window's argmax without recording (two strided arg-reductions over the
 * windows view: along kernel columns, then rows, which is PyTorch's row-major first-maximum rule),
 * turns it into the flat input index PyTorch returns (h * W + w), and gathers the outputs from the
 * input at those indices: the gradient is one scatter-add, and it goes to the chosen element only.
 * A backend with fused max-pooling kernels computes values and indices in one kernel, and the
 * gradient (each input pixel summing the grads of the windows whose argmax it is) in one more.
 * Average pooling sums im2col windows; adaptive average pooling is two products with small
 * averaging matrices (it is separable).
 */

export interface MaxPoolOptions {
  /** Default: kernelSize. */
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
  dilation?: IntOrTuple;
  ceilMode?: boolean;
  returnIndices?: boolean;
}

export interface AvgPoolOptions {
  /** Default: kernelSize. */
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

interface PoolArgs {
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
}

function poolArgs(
  op: string,
  k: number,
  kernelSize: IntOrTuple,
  o: { stride?: IntOrTuple | null; padding?: IntOrTuple; dilation?: IntOrTuple },
): PoolArgs {
  const kernel = ntuple(op, "kernelSize", kernelSize, k);
  const stride =
    o.stride === undefined || o.stride === null || (Array.isArray(o.stride) && o.stride.length === 0)
      ? kernel
      : ntuple(op, "stride", o.stride, k);
  const padding = ntuple(op, "padding", o.padding ?? 0, k);
  const dilation = ntuple(op, "dilation", o.dilation ?? 1, k);
  if (kernel.some((v) => v <= 0))
    throw new ArgumentError(op, `kernel size should be greater than zero, but got kernelSize=${fmtList(kernel)}`);
  if (stride.some((v) => v <= 0)) throw new ArgumentError(op, `stride should be greater than zero, but got stride=${fmtList(stride)}`);
  if (dilation.some((v) => v <= 0))
    throw new ArgumentError(op, `dilation should be greater than zero, but got dilation=${fmtList(dilation)}`);
  if (padding.some((p, i) => p < 0 || p > Math.floor((kernel[i] as number) / 2))) {
    throw new ArgumentError(
      op,
      `pad should be smaller than or equal to half of kernel size, but got padding=${fmtList(padding)} and kernelSize=${fmtList(kernel)}`,
    );
  }
  return { kernel, stride, padding, dilation };
}

const fmtList = (v: readonly number[]) => (v.length === 1 ? String(v[0]) : `(${v.join(", ")})`);

/** 4-D view of a k-D pooling input (k = 1 or 2): [N, C, H, W], H = 1 for 1-D. */
function as4d(x: Tensor, k: number, unbatched: boolean): Tensor {
  const b = unbatched ? x.unsqueeze(0) : x;
  return k === 1 ? b.unsqueeze(2) : b;
}

function from4d(y: Tensor, k: number, unbatched: boolean): Tensor {
  const b = k === 1 ? y.squeeze(2) : y;
  return unbatched ? b.squeeze(0) : b;
}

function poolGeometry(op: string, x: Tensor, a: PoolArgs, ceilMode: boolean, k: number): Geometry {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  // For 1-D pooling the height dim is a dummy 1 with a 1-tall kernel.
  const at = (v: number[], i: number, dummy: number) => (k === 1 ? (i === 0 ? dummy : (v[0] as number)) : (v[i] as number));
  const kh = at(a.kernel, 0, 1);
  const kw = at(a.kernel, 1, 1);
  const sh = at(a.stride, 0, 1);
  const sw = at(a.stride, 1, 1);
  const ph = at(a.padding, 0, 0);
  const pw = at(a.padding, 1, 0);
  const dh = at(a.dilation, 0, 1);
  const dw = at(a.dilation, 1, 1);
  const ho = poolOutSize(h, kh, sh, ph, dh, ceilMode);
  const wo = poolOutSize(w, kw, sw, pw, dw, ceilMode);
  if (ho < 1 || wo < 1) {
    const inSize = k === 1 ? `${c}x${w}` : `${c}x${h}x${w}`;
    const outSize = k === 1 ? `${c}x${wo}` : `${c}x${ho}x${wo}`;
    throw new ShapeError(op, `Given input size: (${inSize}). Calculated output size: (${outSize}). Output size is too small`);
  }
  return { n, c, h, w, kh, kw, sh, sw, dh, dw, pt: ph, pl: pw, ho, wo };
}

/**
 * Flat input indices (h * W + w) of each window's first maximum, [N, C, ho, wo] int64 (not
 * recorded). The first maximum in row-major window order is the first maximum along kernel columns
 * of the first kernel row holding the window's maximum, so two strided arg-reductions find it.
 */
function maxIndices(x: Tensor, g: Geometry): Tensor {
  return noGrad(() =>
    tidy(() => {
      const v = windowsView(x, g, Number.NEGATIVE_INFINITY); // [N, C, kh, kw, ho, wo]
      const perRow = max(v, 3); // first maximum along kernel columns, per kernel row
      const row = argmax(perRow.values, 2, { keepdim: true }); // first kernel row holding the maximum
      const col = gatherOp(perRow.indices, 2, row);
      // Input position of each window's origin: h0 * W + w0 (may lie in the padding).
      const origin = new Float64Array(g.ho * g.wo);
      for (let i = 0; i < g.ho; i++) for (let j = 0; j < g.wo; j++) origin[i * g.wo + j] = (i * g.sh - g.pt) * g.w + (j * g.sw - g.pl);
      const dev = x.device;
      const rowTerm = mul(row, g.dh * g.w);
      let flat = add(add(rowTerm, g.dw === 1 ? col : mul(col, g.dw)), indexTensor(origin, [g.ho, g.wo], dev)).view(g.n, g.c, g.ho, g.wo);
      const reachesPadding =
        g.pt > 0 || g.pl > 0 || (g.ho - 1) * g.sh + (g.kh - 1) * g.dh + 1 > g.h || (g.wo - 1) * g.sw + (g.kw - 1) * g.dw + 1 > g.w;
      if (reachesPadding) {
        // A maximum in the padding means the window holds nothing above -inf; PyTorch then returns
        // the window's first position inside the input.
        const first = new Float64Array(g.ho * g.wo);
        for (let i = 0; i < g.ho; i++) {
          let h = i * g.sh - g.pt;
          while (h < 0) h += g.dh;
          for (let j = 0; j < g.wo; j++) {
            let w = j * g.sw - g.pl;
            while (w < 0) w += g.dw;
            first[i * g.wo + j] = h * g.w + w;
          }
        }
        const best = gatherOp(perRow.values, 2, row).view(g.n, g.c, g.ho, g.wo);
        flat = where(eq(best, Number.NEGATIVE_INFINITY), indexTensor(first, [g.ho, g.wo], dev), flat);
      }
      return flat;
    }),
  );
}

/** Gathers x [N, C, H, W] at flat spatial indices [N, C, ho, wo] (differentiable in x). */
function gatherFlat(x: Tensor, idx: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [, , ho, wo] = idx.shape as [number, number, number, number];
  return gatherOp(x.reshape(n, c, h * w), 2, idx.view(n, c, ho * wo)).view(n, c, ho, wo);
}

/**
 * Fused max pooling: [N, C, ho, wo] values; the indices are left in `sink` (forward has one output).
 * The backward is MaxPoolGrad, itself differentiable, so higher derivatives work.
 */
const MaxPoolFused = defineFunction("MaxPool2DWithIndices", {
  forward(ctx, x: Tensor, g: Geometry, sink: { indices?: Tensor }) {
    const r = requireKernel(x, "maxPool2d")(x.ref, g);
    const shape = [g.n, g.c, g.ho, g.wo];
    const indices = fromKernel(x, r.indices, shape, "int64");
    ctx.saveForBackward(indices);
    ctx.data.g = g;
    sink.indices = indices;
    return fromKernel(x, r.values, shape);
  },
  backward: (ctx, grad) => [maxPoolGrad(grad, ctx.savedTensors[0] as Tensor, ctx.data.g as Geometry)],
});

/** Max pooling's input gradient from the windows' grads and argmax indices; its own gradient is a gather. */
const MaxPoolGrad = defineFunction("MaxPool2DWithIndicesBackward", {
  forward(ctx, grad: Tensor, indices: Tensor, g: Geometry) {
    ctx.saveForBackward(indices);
    const data = requireKernel(grad, "maxPool2dBackward")(grad.ref, indices.ref, g);
    return fromKernel(grad, data, [g.n, g.c, g.h, g.w]);
  },
  backward: (ctx, gg) => [gatherFlat(gg, ctx.savedTensors[0] as Tensor), null],
});

const maxPoolGrad = (grad: Tensor, indices: Tensor, g: Geometry): Tensor => MaxPoolGrad(grad, indices, g);

const hasFusedMaxPool = (x: Tensor) => fusedKernel(x, "maxPool2d") !== undefined && fusedKernel(x, "maxPool2dBackward") !== undefined;

function maxPoolNd(op: string, k: number, input: Tensor, kernelSize: IntOrTuple, options: MaxPoolOptions): Tensor | [Tensor, Tensor] {
  const unbatched = checkRank(op, input, k);
  checkFloating(op, input);
  const a = poolArgs(op, k, kernelSize, options);
  const x = as4d(input, k, unbatched);
  const g = poolGeometry(op, x, a, options.ceilMode ?? false, k);
  let idx: Tensor;
  let pooled: Tensor;
  if (hasFusedMaxPool(x)) {
    const sink: { indices?: Tensor } = {};
    pooled = MaxPoolFused(x, g, sink);
    idx = sink.indices as Tensor;
  } else {
    idx = maxIndices(x, g);
    pooled = gatherFlat(x, idx);
  }
  const out = from4d(pooled, k, unbatched);
  return options.returnIndices ? [out, from4d(idx, k, unbatched)] : out;
}

/**
 * F.max_pool2d: input [N, C, H, W] (or [C, H, W]). Padding is -inf; with returnIndices the flat
 * h * W + w index of each maximum is returned too ([output, indices]), as PyTorch.
 */
export function maxPool2d(input: Tensor, kernelSize: IntOrTuple, options?: MaxPoolOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(input: Tensor, kernelSize: IntOrTuple, options: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool2d(input: Tensor, kernelSize: IntOrTuple, options?: MaxPoolOptions): Tensor | [Tensor, Tensor];
export function maxPool2d(input: Tensor, kernelSize: IntOrTuple, options: MaxPoolOptions = {}): Tensor | [Tensor, Tensor] {
  assertTensor("maxPool2d", input, "input");
  return maxPoolNd("maxPool2d", 2, input, kernelSize, options);
}

/** F.max_pool1d: input [N, C, L] (or [C, L]); see maxPool2d. */
export function maxPool1d(input: Tensor, kernelSize: IntOrTuple, options?: MaxPoolOptions & { returnIndices?: false }): Tensor;
export function maxPool1d(input: Tensor, kernelSize: IntOrTuple, options: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool1d(input: Tensor, kernelSize: IntOrTuple, options?: MaxPoolOptions): Tensor | [Tensor, Tensor];
export function maxPool1d(input: Tensor, kernelSize: IntOrTuple, options: MaxPoolOptions = {}): Tensor | [Tensor, Tensor] {
  assertTensor("maxPool1d", input, "input");
  return maxPoolNd("maxPool1d", 1, input, kernelSize, options);
}

/** F.max_pool2d_with_indices: maxPool2d with returnIndices, as [output, indices]. */
export function maxPool2dWithIndices(
  input: Tensor,
  kernelSize: IntOrTuple,
  options: Omit<MaxPoolOptions, "returnIndices"> = {},
): [Tensor, Tensor] {
  assertTensor("maxPool2dWithIndices", input, "input");
  return maxPoolNd("maxPool2dWithIndices", 2, input, kernelSize, { ...options, returnIndices: true }) as [Tensor, Tensor];
}

/** F.max_pool1d_with_indices: maxPool1d with returnIndices, as [output, indices]. */
export function maxPool1dWithIndices(
  input: Tensor,
  kernelSize: IntOrTuple,
  options: Omit<MaxPoolOptions, "returnIndices"> = {},
): [Tensor, Tensor] {
  assertTensor("maxPool1dWithIndices", input, "input");
  return maxPoolNd("maxPool1dWithIndices", 1, input, kernelSize, { ...options, returnIndices: true }) as [Tensor, Tensor];
}

/** PyTorch's divisor of each window: kernel area clipped to the padded input, or to the input without padding. */
function avgDivisors(size: number, kernel: number, stride: number, pad: number, count: number, countIncludePad: boolean): Float64Array {
  const out = new Float64Array(count);
  for (let o = 0; o < count; o++) {
    let start = o * stride - pad;
    let end = Math.min(start + kernel, size + pad);
    const poolSize = end - start;
    start = Math.max(start, 0);
    end = Math.min(end, size);
    out[o] = countIncludePad ? poolSize : Math.max(end - start, 0);
  }
  return out;
}

type AvgArgs = [g: Geometry, countIncludePad: boolean, divisor: number];
const avgPoolFused = (x: Tensor, ...a: AvgArgs): Tensor => AvgPoolFused(x, ...a);
const avgPoolGrad = (grad: Tensor, ...a: AvgArgs): Tensor => AvgPoolGrad(grad, ...a);

/** Fused average pooling (as F.avgPool2d's rules); backward is AvgPoolGrad and vice versa, so any order of derivative works. */
const AvgPoolFused = defineFunction("AvgPool2D", {
  forward(ctx, x: Tensor, g: Geometry, countIncludePad: boolean, divisor: number) {
    ctx.data.args = [g, countIncludePad, divisor];
    return fromKernel(x, requireKernel(x, "avgPool2d")(x.ref, g, countIncludePad, divisor), [g.n, g.c, g.ho, g.wo]);
  },
  backward: (ctx, grad) => [avgPoolGrad(grad, ...(ctx.data.args as AvgArgs))],
});

const AvgPoolGrad = defineFunction("AvgPool2DBackward", {
  forward(ctx, grad: Tensor, g: Geometry, countIncludePad: boolean, divisor: number) {
    ctx.data.args = [g, countIncludePad, divisor];
    return fromKernel(grad, requireKernel(grad, "avgPool2dBackward")(grad.ref, g, countIncludePad, divisor), [g.n, g.c, g.h, g.w]);
  },
  backward: (ctx, gg) => [avgPoolFused(gg, ...(ctx.data.args as AvgArgs))],
});

function avgPoolNd(op: string, k: number, input: Tensor, kernelSize: IntOrTuple, options: AvgPoolOptions): Tensor {
  const unbatched = checkRank(op, input, k);
  checkFloating(op, input);
  const a = poolArgs(op, k, kernelSize, { stride: options.stride, padding: options.padding });
  const divisorOverride = options.divisorOverride ?? null;
  if (divisorOverride !== null && (divisorOverride === 0 || !Number.isInteger(divisorOverride))) {
    throw new ArgumentError(op, `divisor must be a non-zero integer, got divisorOverride=${divisorOverride}`);
  }
  const x = as4d(input, k, unbatched);
  const g = poolGeometry(op, x, a, options.ceilMode ?? false, k);
  if (fusedKernel(x, "avgPool2d") && fusedKernel(x, "avgPool2dBackward")) {
    return from4d(avgPoolFused(x, g, options.countIncludePad ?? true, divisorOverride ?? 0), k, unbatched);
  }
  const sums = sum(im2col(x, g), [2, 3]);
  let out: Tensor;
  if (divisorOverride !== null) out = div(sums, divisorOverride);
  else {
    const include = options.countIncludePad ?? true;
    const dh = avgDivisors(g.h, g.kh, g.sh, g.pt, g.ho, include);
    const dw = avgDivisors(g.w, g.kw, g.sw, g.pl, g.wo, include);
    const d = new Float64Array(g.ho * g.wo);
    for (let i = 0; i < g.ho; i++) for (let j = 0; j < g.wo; j++) d[i * g.wo + j] = (dh[i] as number) * (dw[j] as number);
    // A window entirely in the padding (possible only without countIncludePad) averages to 0, as PyTorch.
    for (let i = 0; i < d.length; i++) if (d[i] === 0) d[i] = 1;
    out = div(sums, valueTensor(d, [g.ho, g.wo], x.dtype, x.device));
  }
  return from4d(out, k, unbatched);
}

/**
 * F.avg_pool2d: input [N, C, H, W] (or [C, H, W]). Zero padding; the divisor is the window's area
 * clipped to the padded input (countIncludePad, default) or to the input, or divisorOverride.
 */
export function avgPool2d(input: Tensor, kernelSize: IntOrTuple, options: AvgPoolOptions = {}): Tensor {
  assertTensor("avgPool2d", input, "input");
  return avgPoolNd("avgPool2d", 2, input, kernelSize, options);
}

/** F.avg_pool1d: input [N, C, L] (or [C, L]); see avgPool2d (no divisorOverride in PyTorch's 1-D version). */
export function avgPool1d(input: Tensor, kernelSize: IntOrTuple, options: Omit<AvgPoolOptions, "divisorOverride"> = {}): Tensor {
  assertTensor("avgPool1d", input, "input");
  return avgPoolNd("avgPool1d", 1, input, kernelSize, options);
}

// ---- adaptive pooling ----

/** An adaptive pool's output size: an int, or per dim an int or null (keep the input's size). */
export type AdaptiveSize = number | null | readonly (number | null)[];

function adaptiveSizes(op: string, outputSize: AdaptiveSize, k: number, inSizes: number[]): number[] {
  if (typeof outputSize !== "number" && outputSize !== null && !Array.isArray(outputSize)) {
    throw new ArgumentError(op, `outputSize must be an int or a tuple of ${k} ints (or None), got ${describeValue(outputSize)}`);
  }
  const raw = typeof outputSize === "number" || outputSize === null ? new Array(k).fill(outputSize) : [...outputSize];
  if (raw.length !== k)
    throw new ArgumentError(op, `outputSize must be an int or a tuple of ${k} ints (or None), got length ${raw.length}`);
  return raw.map((v, i) => {
    const s = v === null ? (inSizes[i] as number) : v;
    if (!Number.isInteger(s) || s < 0) throw new ArgumentError(op, `outputSize must be non-negative integers, got ${s}`);
    return s;
  });
}

/** PyTorch's adaptive windows: [floor(i * in / out), ceil((i + 1) * in / out)). */
function adaptiveWindows(inSize: number, outSize: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < outSize; i++) out.push([Math.floor((i * inSize) / outSize), Math.ceil(((i + 1) * inSize) / outSize)]);
  return out;
}

function checkAdaptiveInput(op: string, x: Tensor, k: number): void {
  for (let d = x.ndim - k; d < x.ndim; d++) {
    if ((x.shape[d] as number) === 0)
      throw new ShapeError(op, `expected input to have non-zero size for non-batch dimensions, but input has sizes ${fmtShape(x.shape)}`);
  }
}

/** [out, in] averaging matrix of adaptive windows. */
function averagingMatrix(inSize: number, outSize: number, x: Tensor): Tensor {
  const m = new Float64Array(outSize * inSize);
  adaptiveWindows(inSize, outSize).forEach(([s, e], o) => {
    for (let i = s; i < e; i++) m[o * inSize + i] = 1 / (e - s);
  });
  return valueTensor(m, [outSize, inSize], x.dtype, x.device);
}

function adaptiveAvgPoolNd(op: string, k: number, input: Tensor, outputSize: AdaptiveSize): Tensor {
  const unbatched = checkRank(op, input, k);
  checkFloating(op, input);
  checkAdaptiveInput(op, input, k);
  const x = as4d(input, k, unbatched);
  const [, , h, w] = x.shape as [number, number, number, number];
  const sizes = adaptiveSizes(op, outputSize, k, k === 1 ? [w] : [h, w]);
  const [ho, wo] = k === 1 ? [1, sizes[0] as number] : (sizes as [number, number]);
  let out: Tensor;
  if (ho === 1 && wo === 1) out = mean(x, [2, 3], { keepdim: true });
  else {
    // Separable: average along W with [W, wo], then along H with [ho, H].
    const alongW = wo === w ? x : matmul(x, averagingMatrix(w, wo, x).t());
    out = ho === h ? alongW : matmul(averagingMatrix(h, ho, x), alongW);
    if (out === x) out = x.clone();
  }
  return from4d(out, k, unbatched);
}

/** F.adaptive_avg_pool2d: input [N, C, H, W] (or [C, H, W]) to [.., outH, outW] with PyTorch's windows. */
export function adaptiveAvgPool2d(input: Tensor, outputSize: AdaptiveSize): Tensor {
  assertTensor("adaptiveAvgPool2d", input, "input");
  return adaptiveAvgPoolNd("adaptiveAvgPool2d", 2, input, outputSize);
}

/** F.adaptive_avg_pool1d: input [N, C, L] (or [C, L]). */
export function adaptiveAvgPool1d(input: Tensor, outputSize: number): Tensor {
  assertTensor("adaptiveAvgPool1d", input, "input");
  return adaptiveAvgPoolNd("adaptiveAvgPool1d", 1, input, outputSize);
}

function adaptiveMaxPoolNd(
  op: string,
  k: number,
  input: Tensor,
  outputSize: AdaptiveSize,
  returnIndices: boolean,
): Tensor | [Tensor, Tensor] {
  const unbatched = checkRank(op, input, k);
  checkFloating(op, input);
  checkAdaptiveInput(op, input, k);
  const x = as4d(input, k, unbatched);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const sizes = adaptiveSizes(op, outputSize, k, k === 1 ? [w] : [h, w]);
  const [ho, wo] = k === 1 ? [1, sizes[0] as number] : (sizes as [number, number]);
  const rows = adaptiveWindows(h, ho);
  const cols = adaptiveWindows(w, wo);
  const kh = Math.max(1, ...rows.map(([s, e]) => e - s));
  const kw = Math.max(1, ...cols.map(([s, e]) => e - s));
  const kk = kh * kw;
  // For each output and window slot: the flat input index, or h * w (a -inf sentinel) past the window.
  const table = new Float64Array(ho * wo * kk);
  for (let i = 0; i < ho; i++) {
    const [rs, re] = rows[i] as [number, number];
    for (let j = 0; j < wo; j++) {
      const [cs, ce] = cols[j] as [number, number];
      const base = (i * wo + j) * kk;
      for (let a = 0; a < kh; a++) {
        for (let b = 0; b < kw; b++) table[base + a * kw + b] = rs + a < re && cs + b < ce ? (rs + a) * w + cs + b : h * w;
      }
    }
  }
  const idx = noGrad(() => {
    const t = indexTensor(table, [1, 1, ho * wo, kk], x.device);
    const flat = x.reshape(n, c, h * w);
    const padded = full([n, c, h * w + 1], Number.NEGATIVE_INFINITY, { dtype: x.dtype, device: x.device });
    padded.narrow(2, 0, h * w).copy_(flat);
    const windows = gatherOp(padded.view(n, c, h * w + 1, 1), 2, t.view(1, 1, ho * wo * kk, 1).expand(n, c, ho * wo * kk, 1)).view(
      n,
      c,
      ho * wo,
      kk,
    );
    // The first slot of every window is inside the input, so a -inf sentinel is never the first maximum.
    const local = argmax(windows, 3, { keepdim: true });
    return gatherOp(t.expand(n, c, ho * wo, kk), 3, local).view(n, c, ho, wo);
  });
  const out = from4d(gatherFlat(x, idx), k, unbatched);
  return returnIndices ? [out, from4d(idx, k, unbatched)] : out;
}

/** F.adaptive_max_pool2d: input [N, C, H, W] (or [C, H, W]); returnIndices gives [output, flat indices]. */
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize, options: { returnIndices: true }): [Tensor, Tensor];
export function adaptiveMaxPool2d(
  input: Tensor,
  outputSize: AdaptiveSize,
  options?: { returnIndices?: boolean },
): Tensor | [Tensor, Tensor];
export function adaptiveMaxPool2d(
  input: Tensor,
  outputSize: AdaptiveSize,
  options: { returnIndices?: boolean } = {},
): Tensor | [Tensor, Tensor] {
  assertTensor("adaptiveMaxPool2d", input, "input");
  return adaptiveMaxPoolNd("adaptiveMaxPool2d", 2, input, outputSize, options.returnIndices ?? false);
}

/** F.adaptive_max_pool1d: input [N, C, L] (or [C, L]). */
export function adaptiveMaxPool1d(input: Tensor, outputSize: number, options?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool1d(input: Tensor, outputSize: number, options: { returnIndices: true }): [Tensor, Tensor];
export function adaptiveMaxPool1d(input: Tensor, outputSize: number, options?: { returnIndices?: boolean }): Tensor | [Tensor, Tensor];
export function adaptiveMaxPool1d(input: Tensor, outputSize: number, options: { returnIndices?: boolean } = {}): Tensor | [Tensor, Tensor] {
  assertTensor("adaptiveMaxPool1d", input, "input");
  return adaptiveMaxPoolNd("adaptiveMaxPool1d", 1, input, outputSize, options.returnIndices ?? false);
}

// ---- max unpooling ----

export interface MaxUnpoolOptions {
  /** Default: kernelSize. */
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
  /** The output's spatial size (or its full size); default (in - 1) * stride - 2 * padding + kernel. */
  outputSize?: readonly number[] | null;
}

function maxUnpoolNd(op: string, k: number, input: Tensor, indices: Tensor, kernelSize: IntOrTuple, options: MaxUnpoolOptions): Tensor {
  const unbatched = checkRank(op, input, k);
  checkFloating(op, input);
  if (indices.dtype !== "int64") throw new ArgumentError(op, `expected indices to be int64, got ${indices.dtype}`);
  if (indices.shape.length !== input.shape.length || indices.shape.some((s, i) => s !== input.shape[i])) {
    throw new ShapeError(
      op,
      `expected shape of indices to be the same as that of the input, got indices ${fmtShape(indices.shape)} and input ${fmtShape(input.shape)}`,
    );
  }
  const kernel = ntuple(op, "kernelSize", kernelSize, k);
  const stride = options.stride === undefined || options.stride === null ? kernel : ntuple(op, "stride", options.stride, k);
  const padding = ntuple(op, "padding", options.padding ?? 0, k);
  const inSizes = input.shape.slice(input.ndim - k) as number[];
  const defaults = inSizes.map((s, i) => (s - 1) * (stride[i] as number) - 2 * (padding[i] as number) + (kernel[i] as number));
  let outSizes = defaults;
  if (options.outputSize) {
    const given =
      options.outputSize.length === k + 2 || options.outputSize.length === k + 1
        ? options.outputSize.slice(options.outputSize.length - k)
        : [...options.outputSize];
    if (given.length !== k)
      throw new ArgumentError(op, `outputSize must have ${k} or ${k + 2} elements, got ${fmtShape(options.outputSize)}`);
    given.forEach((s, i) => {
      const lo = (defaults[i] as number) - (stride[i] as number);
      const hi = (defaults[i] as number) + (stride[i] as number);
      if (!(s > lo && s < hi)) {
        throw new ArgumentError(
          op,
          `invalid outputSize ${fmtShape(given)}: dimension ${i} must be between ${lo + 1} and ${hi - 1} (default ${fmtShape(defaults)})`,
        );
      }
    });
    outSizes = given;
  }
  const x = as4d(input, k, unbatched);
  const idx = as4d(indices, k, unbatched);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const total = outSizes.reduce((p, q) => p * q, 1);
  if (idx.backend.canReadSync && idx.numel() > 0) {
    const v = idx.dataSync();
    for (let i = 0; i < v.length; i++) {
      const at = v[i] as number;
      if (at < 0 || at >= total)
        throw new IndexError(op, `Found an invalid max index: ${at} (output volumes are of size ${outSizes.join("x")})`);
    }
  }
  const base = full([n, c, total], 0, { dtype: x.dtype, device: x.device });
  const out = scatterOp(base, 2, idx.reshape(n, c, h * w), x.reshape(n, c, h * w), "none");
  const shaped = out.view(n, c, ...(k === 1 ? [1, outSizes[0] as number] : outSizes));
  return from4d(shaped, k, unbatched);
}

/** F.max_unpool2d: places input values at their max-pool indices in a zero [N, C, outH, outW] (the adjoint of maxPool2d). */
export function maxUnpool2d(input: Tensor, indices: Tensor, kernelSize: IntOrTuple, options: MaxUnpoolOptions = {}): Tensor {
  assertTensor("maxUnpool2d", input, "input");
  assertTensor("maxUnpool2d", indices, "indices");
  return maxUnpoolNd("maxUnpool2d", 2, input, indices, kernelSize, options);
}

/** F.max_unpool1d. */
export function maxUnpool1d(input: Tensor, indices: Tensor, kernelSize: IntOrTuple, options: MaxUnpoolOptions = {}): Tensor {
  assertTensor("maxUnpool1d", input, "input");
  assertTensor("maxUnpool1d", indices, "indices");
  return maxUnpoolNd("maxUnpool1d", 1, input, indices, kernelSize, options);
}
