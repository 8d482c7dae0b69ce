import { ArgumentError, ShapeError, type Tensor, add, fmtShape, matmul, mul, assertTensor } from "@dl/tensor";
import { checkFloating, indexTensor, takeAlong, valueTensor } from "./im2col.js";

/**
 * Resampling (F.interpolate, F.upsample*). Every mode is separable: each spatial dim is resampled
 * in turn by gathering source rows (a gather with a broadcast index; its gradient is a
 * scatter-add) and, for the interpolating modes, a weighted sum of 2 (linear) or 4 (cubic) taps.
 * Source indices and weights follow PyTorch 1.13's CPU kernels exactly, including their float32
 * arithmetic for float32 inputs (nearest always computes in float32, as PyTorch does).
 */

export type InterpolateMode = "nearest" | "nearest-exact" | "linear" | "bilinear" | "bicubic" | "trilinear" | "area";

export interface InterpolateOptions {
  /** Output spatial size: one int for every dim, or one per dim. Exclusive with scaleFactor. */
  size?: number | readonly number[] | null;
  /** Multiplier for the spatial size: one for every dim, or one per dim. Exclusive with size. */
  scaleFactor?: number | readonly number[] | null;
  /** Default 'nearest'. */
  mode?: InterpolateMode;
  /** Interpolating modes only: corner pixels' centers align (default false). */
  alignCorners?: boolean | null;
  /** Compute the output size from scaleFactor and then interpolate by the size ratio instead of the factor. */
  recomputeScaleFactor?: boolean | null;
  /** Not supported (PyTorch's anti-aliased bilinear/bicubic downsampling). */
  antialias?: boolean;
}

const MODE_RANK: Record<string, number | undefined> = { linear: 1, bilinear: 2, bicubic: 2, trilinear: 3 };

/**
 * F.interpolate: input [N, C, d1, ..., dk] with k = 1, 2 or 3; 'linear' needs k = 1, 'bilinear'
 * and 'bicubic' k = 2, 'trilinear' k = 3. 'area' is adaptive average pooling.
 */
export function interpolate(input: Tensor, options: InterpolateOptions = {}): Tensor {
  assertTensor("interpolate", input, "input");
  const op = "interpolate";
  const mode = options.mode ?? "nearest";
  if (!["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"].includes(mode)) {
    throw new ArgumentError(
      op,
      `unsupported mode '${mode}' (expected nearest, nearest-exact, linear, bilinear, bicubic, trilinear or area)`,
    );
  }
  const interpolating = MODE_RANK[mode] !== undefined;
  if (!interpolating && options.alignCorners !== undefined && options.alignCorners !== null) {
    throw new ArgumentError(
      op,
      "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear",
    );
  }
  const alignCorners = options.alignCorners ?? false;
  if (input.ndim < 3 || input.ndim > 5) {
    throw new ShapeError(
      op,
      `Input Error: Only 3D, 4D and 5D input Tensors supported (got ${input.ndim}D ${fmtShape(input.shape)}) for the modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact (got ${mode})`,
    );
  }
  const dim = input.ndim - 2;
  const need = MODE_RANK[mode];
  if (need !== undefined && need !== dim)
    throw new ShapeError(op, `Got ${input.ndim}D input ${fmtShape(input.shape)}, but ${mode} mode needs ${need + 2}D input`);
  checkFloating(op, input);
  if (options.antialias) throw new ArgumentError(op, "antialias=true is not supported");
  const spatial = input.shape.slice(2) as number[];
  const size = options.size ?? null;
  const factor = options.scaleFactor ?? null;
  if (size !== null && factor !== null) throw new ArgumentError(op, "only one of size or scale_factor should be defined");
  let outSizes: number[];
  let scales: (number | null)[] = spatial.map(() => null);
  if (size !== null) {
    outSizes = typeof size === "number" ? spatial.map(() => size) : [...size];
    if (outSizes.length !== dim) {
      throw new ArgumentError(
        op,
        `Input and output must have the same number of spatial dimensions, but got input with spatial dimensions of ${fmtShape(spatial)} and output size of ${fmtShape(outSizes)}`,
      );
    }
    if (options.recomputeScaleFactor) throw new ArgumentError(op, "recompute_scale_factor is not meaningful with an explicit size.");
  } else if (factor !== null) {
    const f = typeof factor === "number" ? spatial.map(() => factor) : [...factor];
    if (f.length !== dim) {
      throw new ArgumentError(
        op,
        `Input and scale_factor must have the same number of spatial dimensions, but got input with spatial dimensions of ${fmtShape(spatial)} and scale_factor of shape ${fmtShape(f)}`,
      );
    }
    if (f.some((v) => !(v > 0))) throw new ArgumentError(op, `scale factors must be positive, got ${fmtShape(f)}`);
    outSizes = spatial.map((s, i) => Math.floor(s * (f[i] as number)));
    // 'area' always works from the size; so does recomputeScaleFactor.
    if (!(options.recomputeScaleFactor || mode === "area")) scales = f;
  } else throw new ArgumentError(op, "either size or scale_factor should be defined");
  if (outSizes.some((s) => !Number.isInteger(s) || s <= 0)) {
    throw new ShapeError(
      op,
      `Input and output sizes should be greater than 0, but got input ${fmtShape(spatial)} and output ${fmtShape(outSizes)}`,
    );
  }
  if (spatial.some((s) => s <= 0)) throw new ShapeError(op, `expected non-empty spatial dims, got input ${fmtShape(input.shape)}`);

  let y = input;
  for (let k = 0; k < dim; k++) {
    const d = k + 2;
    const inSize = spatial[k] as number;
    const outSize = outSizes[k] as number;
    const scale = scales[k] as number | null;
    if (mode === "area") y = averageAlong(y, d, inSize, outSize);
    else if (mode === "nearest" || mode === "nearest-exact") {
      if (mode === "nearest" && outSize === inSize) continue;
      y = takeAlong(y, d, indexTensor(nearestIndices(mode, inSize, outSize, scale), [outSize], y.device));
    } else if (mode === "bicubic") y = cubicAlong(y, d, inSize, outSize, alignCorners, scale);
    else if (outSize !== inSize) y = linearAlong(y, d, inSize, outSize, alignCorners, scale);
  }
  return y === input ? input.clone() : y;
}

/** F.upsample (deprecated in PyTorch): interpolate. */
export function upsample(input: Tensor, options: InterpolateOptions = {}): Tensor {
  assertTensor("upsample", input, "input");
  return interpolate(input, options);
}

/** F.upsample_nearest (deprecated in PyTorch). */
export function upsampleNearest(
  input: Tensor,
  options: { size?: number | readonly number[] | null; scaleFactor?: number | readonly number[] | null } = {},
): Tensor {
  assertTensor("upsampleNearest", input, "input");
  return interpolate(input, { ...options, mode: "nearest" });
}

/** F.upsample_bilinear (deprecated in PyTorch): bilinear with alignCorners true. */
export function upsampleBilinear(
  input: Tensor,
  options: { size?: number | readonly number[] | null; scaleFactor?: number | readonly number[] | null } = {},
): Tensor {
  assertTensor("upsampleBilinear", input, "input");
  return interpolate(input, { ...options, mode: "bilinear", alignCorners: true });
}

// ---- index and weight computations (PyTorch's UpSample.h) ----

type Round = (v: number) => number;
const roundFor = (t: Tensor): Round => (t.dtype === "float64" ? (v) => v : Math.fround);

/** compute_scales_value: 1 / scale when a scale factor was given, else in / out. */
function scalesValue(r: Round, scale: number | null, inSize: number, outSize: number): number {
  return scale !== null && scale > 0 ? r(1 / scale) : r(inSize / outSize);
}

/** area_pixel_compute_scale. */
function areaScale(r: Round, inSize: number, outSize: number, alignCorners: boolean, scale: number | null): number {
  if (alignCorners) return outSize > 1 ? r((inSize - 1) / (outSize - 1)) : 0;
  return scalesValue(r, scale, inSize, outSize);
}

/** area_pixel_compute_source_index. */
function sourceIndex(r: Round, scale: number, dst: number, alignCorners: boolean, cubic: boolean): number {
  if (alignCorners) return r(scale * dst);
  const src = r(r(scale * r(dst + 0.5)) - 0.5);
  return !cubic && src < 0 ? 0 : src;
}

function nearestIndices(mode: "nearest" | "nearest-exact", inSize: number, outSize: number, scale: number | null): Float64Array {
  const f = Math.fround;
  const idx = new Float64Array(outSize);
  const s = scalesValue(f, scale, inSize, outSize);
  for (let i = 0; i < outSize; i++) {
    if (mode === "nearest") idx[i] = outSize === 2 * inSize ? i >> 1 : Math.min(Math.floor(f(i * s)), inSize - 1);
    else idx[i] = Math.min(Math.floor(f((i + 0.5) * s)), inSize - 1);
  }
  return idx;
}

/** Weights broadcast along dim d of an (ndim)-D tensor: shape [out, 1, ...]. */
function along(values: Float64Array, d: number, y: Tensor): Tensor {
  const shape = y.shape.map((_, k) => (k === d ? values.length : 1)).slice(2);
  return valueTensor(values, shape, y.dtype, y.device);
}

function linearAlong(y: Tensor, d: number, inSize: number, outSize: number, alignCorners: boolean, scale: number | null): Tensor {
  const r = roundFor(y);
  const ratio = areaScale(r, inSize, outSize, alignCorners, scale);
  const i0 = new Float64Array(outSize);
  const i1 = new Float64Array(outSize);
  const l0 = new Float64Array(outSize);
  const l1 = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const real = sourceIndex(r, ratio, o, alignCorners, false);
    const a = Math.trunc(real);
    i0[o] = a;
    i1[o] = a + (a < inSize - 1 ? 1 : 0);
    const lam = Math.min(Math.max(r(real - a), 0), 1);
    l1[o] = lam;
    l0[o] = r(1 - lam);
  }
  const dev = y.device;
  return add(
    mul(takeAlong(y, d, indexTensor(i0, [outSize], dev)), along(l0, d, y)),
    mul(takeAlong(y, d, indexTensor(i1, [outSize], dev)), along(l1, d, y)),
  );
}

const A = -0.75;
const cubic1 = (r: Round, x: number) => r(r(r(r(r((A + 2) * x) - (A + 3)) * x) * x) + 1);
const cubic2 = (r: Round, x: number) => r(r(r(r(r(r(A * x) - 5 * A) * x) + 8 * A) * x) - 4 * A);

function cubicAlong(y: Tensor, d: number, inSize: number, outSize: number, alignCorners: boolean, scale: number | null): Tensor {
  const r = roundFor(y);
  const ratio = areaScale(r, inSize, outSize, alignCorners, scale);
  const idx = [0, 1, 2, 3].map(() => new Float64Array(outSize));
  const w = [0, 1, 2, 3].map(() => new Float64Array(outSize));
  for (let o = 0; o < outSize; o++) {
    const real = sourceIndex(r, ratio, o, alignCorners, true);
    const base = Math.min(Math.floor(real), inSize - 1);
    const t = Math.min(Math.max(r(real - base), 0), 1);
    const coeffs = [cubic2(r, r(t + 1)), cubic1(r, t), cubic1(r, r(1 - t)), cubic2(r, r(r(1 - t) + 1))];
    for (let j = 0; j < 4; j++) {
      (idx[j] as Float64Array)[o] = Math.max(Math.min(base - 1 + j, inSize - 1), 0);
      (w[j] as Float64Array)[o] = coeffs[j] as number;
    }
  }
  let out: Tensor | null = null;
  for (let j = 0; j < 4; j++) {
    const term = mul(takeAlong(y, d, indexTensor(idx[j] as Float64Array, [outSize], y.device)), along(w[j] as Float64Array, d, y));
    out = out ? add(out, term) : term;
  }
  return out as Tensor;
}

/** Adaptive average along one dim (mode 'area'): a product with an [in, out] averaging matrix. */
function averageAlong(y: Tensor, d: number, inSize: number, outSize: number): Tensor {
  if (inSize === outSize) return y;
  const m = new Float64Array(inSize * outSize);
  for (let o = 0; o < outSize; o++) {
    const s = Math.floor((o * inSize) / outSize);
    const e = Math.ceil(((o + 1) * inSize) / outSize);
    for (let i = s; i < e; i++) m[i * outSize + o] = 1 / (e - s);
  }
  const last = y.ndim - 1;
  const moved = d === last ? y : y.transpose(d, last);
  const out = matmul(moved, valueTensor(m, [inSize, outSize], y.dtype, y.device));
  return d === last ? out : out.transpose(d, last);
}
