import type { ArgReduceOp, DType, HostArray, ReduceOp, ScanOp, StridedRef } from "@dl/tensor";
import { allocArray, finalize } from "./storage.js";
import { coalesce, contiguousStrides, forEachRow, size } from "./strided.js";

const data = (x: StridedRef) => x.data as HostArray;

/**
 * Splits x's dims into kept (outer) and reduced (inner) groups. For every output element,
 * `visit(base)` receives the offset of its first reduced element; the reduced group is walked with
 * the returned (shape, strides).
 */
function split(x: StridedRef, dims: readonly number[]) {
  const keptShape: number[] = [];
  const keptStrides: number[] = [];
  const redShape: number[] = [];
  const redStrides: number[] = [];
  x.shape.forEach((s, d) => {
    if (dims.includes(d)) {
      redShape.push(s);
      redStrides.push(x.strides[d] as number);
    } else {
      keptShape.push(s);
      keptStrides.push(x.strides[d] as number);
    }
  });
  const red = coalesce(redShape, [redStrides]);
  return { keptShape, keptStrides, redShape: red.shape, redStrides: red.strides[0] as number[], redSize: size(redShape) };
}

/** Offsets of every element of a (shape, strides) block, relative to its start. */
function blockOffsets(shape: number[], strides: number[]): Int32Array | Float64Array {
  const n = size(shape);
  const out = n < 2 ** 31 ? new Int32Array(n) : new Float64Array(n);
  let i = 0;
  forEachRow(shape, [0], [strides], (offs, len, inner) => {
    let p = offs[0] as number;
    const s = inner[0] as number;
    for (let j = 0; j < len; j++, p += s) out[i++] = p;
  });
  return out;
}

type Offsets = Int32Array | Float64Array | null;

// One small loop per op over one output's reduced elements (`offs` when the reduced block is not a
// single strided run), so that each stays monomorphic and free of per-element dispatch.

function sumRun(src: HostArray, base: number, offs: Offsets, step: number, n: number): number {
  let acc = 0;
  if (offs) for (let k = 0; k < n; k++) acc += src[base + (offs[k] as number)] as number;
  else for (let k = 0, p = base; k < n; k++, p += step) acc += src[p] as number;
  return acc;
}

function prodRun(src: HostArray, base: number, offs: Offsets, step: number, n: number): number {
  let acc = 1;
  if (offs) for (let k = 0; k < n; k++) acc *= src[base + (offs[k] as number)] as number;
  else for (let k = 0, p = base; k < n; k++, p += step) acc *= src[p] as number;
  return acc;
}

/** max; the first NaN wins, as PyTorch propagates NaN. */
function maxRun(src: HostArray, base: number, offs: Offsets, step: number, n: number): number {
  let acc = Number.NEGATIVE_INFINITY;
  if (offs) {
    for (let k = 0; k < n; k++) {
      const v = src[base + (offs[k] as number)] as number;
      if (v > acc) acc = v;
      else if (v !== v) return v;
    }
  } else {
    for (let k = 0, p = base; k < n; k++, p += step) {
      const v = src[p] as number;
      if (v > acc) acc = v;
      else if (v !== v) return v;
    }
  }
  return acc;
}

function minRun(src: HostArray, base: number, offs: Offsets, step: number, n: number): number {
  let acc = Number.POSITIVE_INFINITY;
  if (offs) {
    for (let k = 0; k < n; k++) {
      const v = src[base + (offs[k] as number)] as number;
      if (v < acc) acc = v;
      else if (v !== v) return v;
    }
  } else {
    for (let k = 0, p = base; k < n; k++, p += step) {
      const v = src[p] as number;
      if (v < acc) acc = v;
      else if (v !== v) return v;
    }
  }
  return acc;
}

/** all (want 0: stop at the first zero) or any (stop at the first non-zero); NaN is non-zero. */
function boolRun(src: HostArray, base: number, offs: Offsets, step: number, n: number, isAll: boolean): number {
  for (let k = 0; k < n; k++) {
    const v = src[offs ? base + (offs[k] as number) : base + k * step] as number;
    if (isAll ? v === 0 : v !== 0) return isAll ? 0 : 1;
  }
  return isAll ? 1 : 0;
}

/**
 * Reduction of an outer block into K adjacent outputs at once: acc[j] combines src[base + r + j*s]
 * over every reduced offset r. Used when the innermost kept dim is the densest, so memory is read
 * in order (sum over the batch dim of a row-major matrix) instead of one strided column at a time.
 */
function columnRun(op: ReduceOp, src: HostArray, base: number, offs: Offsets, step: number, n: number, s: number, acc: Float64Array): void {
  const K = acc.length;
  switch (op) {
    case "sum":
    case "prod":
      acc.fill(op === "sum" ? 0 : 1);
      break;
    case "max":
      acc.fill(Number.NEGATIVE_INFINITY);
      break;
    case "min":
      acc.fill(Number.POSITIVE_INFINITY);
      break;
    case "all":
      acc.fill(1);
      break;
    case "any":
      acc.fill(0);
      break;
  }
  for (let k = 0; k < n; k++) {
    const p = base + (offs ? (offs[k] as number) : k * step);
    switch (op) {
      case "sum":
        for (let j = 0, q = p; j < K; j++, q += s) acc[j] = (acc[j] as number) + (src[q] as number);
        break;
      case "prod":
        for (let j = 0, q = p; j < K; j++, q += s) acc[j] = (acc[j] as number) * (src[q] as number);
        break;
      case "max":
        for (let j = 0, q = p; j < K; j++, q += s) {
          const v = src[q] as number;
          const a = acc[j] as number;
          if ((v > a || v !== v) && a === a) acc[j] = v;
        }
        break;
      case "min":
        for (let j = 0, q = p; j < K; j++, q += s) {
          const v = src[q] as number;
          const a = acc[j] as number;
          if ((v < a || v !== v) && a === a) acc[j] = v;
        }
        break;
      case "all":
        for (let j = 0, q = p; j < K; j++, q += s) if ((src[q] as number) === 0) acc[j] = 0;
        break;
      case "any":
        for (let j = 0, q = p; j < K; j++, q += s) if ((src[q] as number) !== 0) acc[j] = 1;
        break;
    }
  }
}

export function reduce(op: ReduceOp, x: StridedRef, dims: readonly number[], dtype: DType): HostArray {
  const { keptShape, keptStrides, redShape, redStrides, redSize } = split(x, dims);
  const out = allocArray(size(keptShape), dtype);
  if (out.length === 0) return out;
  const src = data(x);
  const offsets = redShape.length <= 1 ? null : blockOffsets(redShape, redStrides);
  const step = redStrides[0] ?? 1;
  const kept = coalesce(keptShape, [keptStrides]);
  const kd = kept.shape.length;
  const kStrides = kept.strides[0] as number[];
  const K = kd > 0 ? (kept.shape[kd - 1] as number) : 0;
  const sK = kd > 0 ? Math.abs(kStrides[kd - 1] as number) : 0;
  if (K >= 4 && redSize > 1 && redStrides.every((r) => Math.abs(r) > sK)) {
    const acc = new Float64Array(K);
    let o = 0;
    forEachRow(kept.shape.slice(0, -1), [x.offset], [kStrides.slice(0, -1)], (offs, n, inner) => {
      let base = offs[0] as number;
      for (let j = 0; j < n; j++, base += inner[0] as number) {
        columnRun(op, src, base, offsets, step, redSize, kStrides[kd - 1] as number, acc);
        for (let c = 0; c < K; c++) out[o++] = acc[c] as number;
      }
    });
    return finalize(out, dtype);
  }
  let o = 0;
  forEachRow(kept.shape, [x.offset], [kStrides], (offs, n, inner) => {
    let base = offs[0] as number;
    const s = inner[0] as number;
    switch (op) {
      case "sum":
        for (let j = 0; j < n; j++, base += s) out[o++] = sumRun(src, base, offsets, step, redSize);
        break;
      case "prod":
        for (let j = 0; j < n; j++, base += s) out[o++] = prodRun(src, base, offsets, step, redSize);
        break;
      case "max":
        for (let j = 0; j < n; j++, base += s) out[o++] = maxRun(src, base, offsets, step, redSize);
        break;
      case "min":
        for (let j = 0; j < n; j++, base += s) out[o++] = minRun(src, base, offsets, step, redSize);
        break;
      case "all":
      case "any":
        for (let j = 0; j < n; j++, base += s) out[o++] = boolRun(src, base, offsets, step, redSize, op === "all");
        break;
    }
  });
  return finalize(out, dtype);
}

export function argReduce(op: ArgReduceOp, x: StridedRef, dim: number): HostArray {
  const { keptShape, keptStrides } = split(x, [dim]);
  const len = x.shape[dim] as number;
  const step = x.strides[dim] as number;
  const out = allocArray(size(keptShape), "int64");
  const src = data(x);
  const isMax = op === "argmax";
  let o = 0;
  forEachRow(keptShape, [x.offset], [keptStrides], (offs, n, inner) => {
    let base = offs[0] as number;
    const s = inner[0] as number;
    for (let j = 0; j < n; j++, base += s) {
      let best = 0;
      let bv = src[base] as number;
      if (bv === bv) {
        for (let k = 1, p = base + step; k < len; k++, p += step) {
          const v = src[p] as number;
          if (v !== v) {
            best = k;
            break;
          }
          if (isMax ? v > bv : v < bv) {
            bv = v;
            best = k;
          }
        }
      }
      out[o++] = best;
    }
  });
  return out;
}

/** One scan along a strided run: reads src[p + k*step], writes values[q + k*qs] (and indices). */
function scanRun(
  op: ScanOp,
  src: HostArray,
  p: number,
  step: number,
  len: number,
  values: HostArray,
  q: number,
  qs: number,
  indices: HostArray | undefined,
): void {
  switch (op) {
    case "cumsum": {
      let acc = 0;
      for (let k = 0; k < len; k++, p += step, q += qs) values[q] = acc += src[p] as number;
      return;
    }
    case "cumprod": {
      let acc = 1;
      for (let k = 0; k < len; k++, p += step, q += qs) values[q] = acc *= src[p] as number;
      return;
    }
    case "logcumsumexp": {
      let acc = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < len; k++, p += step, q += qs) {
        const v = src[p] as number;
        // PyTorch's _log_add_exp_helper: equal infinities return x itself (inf + inf is inf, not
        // inf - inf = NaN); NaN propagates through min != max.
        const lo = acc !== acc ? acc : Math.min(v, acc);
        const hi = acc !== acc ? acc : Math.max(v, acc);
        acc = lo !== hi || Number.isFinite(lo) ? Math.log1p(Math.exp(lo - hi)) + hi : v;
        values[q] = acc;
      }
      return;
    }
    case "cummax":
    case "cummin": {
      const isMax = op === "cummax";
      let acc = isMax ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
      let at = 0;
      for (let k = 0; k < len; k++, p += step, q += qs) {
        const v = src[p] as number;
        // Ties move to the later index; every NaN takes over (so a later NaN moves the index).
        if (v !== v || (acc === acc && (isMax ? v >= acc : v <= acc))) {
          acc = v;
          at = k;
        }
        values[q] = acc;
        (indices as HostArray)[q] = at;
      }
      return;
    }
  }
}

/**
 * cumsum/cumprod of n adjacent runs at once (k outer, runs inner), for scans along an outer dim:
 * memory is then read in order instead of one strided column at a time.
 */
function scanColumns(
  op: "cumsum" | "cumprod",
  src: HostArray,
  p: number,
  step: number,
  len: number,
  s: number,
  n: number,
  values: HostArray,
  q: number,
  qs: number,
  os: number,
  acc: Float64Array,
): void {
  acc.fill(op === "cumsum" ? 0 : 1, 0, n);
  for (let k = 0; k < len; k++, p += step, q += qs) {
    if (op === "cumsum") for (let j = 0; j < n; j++) values[q + j * os] = acc[j] = (acc[j] as number) + (src[p + j * s] as number);
    else for (let j = 0; j < n; j++) values[q + j * os] = acc[j] = (acc[j] as number) * (src[p + j * s] as number);
  }
}

export function scan(op: ScanOp, x: StridedRef, dim: number, dtype: DType): { values: HostArray; indices?: HostArray } {
  const len = x.shape[dim] as number;
  const step = x.strides[dim] as number;
  const total = size(x.shape);
  const values = allocArray(total, dtype);
  const indices = op === "cummax" || op === "cummin" ? allocArray(total, "int64") : undefined;
  const src = data(x);
  const outAll = contiguousStrides(x.shape);
  const outStep = outAll[dim] as number;
  const keptShape = x.shape.filter((_, d) => d !== dim);
  const keptStrides = x.strides.filter((_, d) => d !== dim);
  const outStrides = outAll.filter((_, d) => d !== dim);
  // Accumulators must stay in float64 even when values are float32 (PyTorch accumulates in double).
  let acc: Float64Array | undefined;
  forEachRow(keptShape, [x.offset, 0], [keptStrides, outStrides], (offs, n, inner) => {
    let base = offs[0] as number;
    let ob = offs[1] as number;
    const s = inner[0] as number;
    const os = inner[1] as number;
    if ((op === "cumsum" || op === "cumprod") && n >= 4 && len > 1 && Math.abs(s) < Math.abs(step)) {
      if (!acc || acc.length < n) acc = new Float64Array(n);
      scanColumns(op, src, base, step, len, s, n, values, ob, outStep, os, acc);
      return;
    }
    for (let j = 0; j < n; j++, base += s, ob += os) scanRun(op, src, base, step, len, values, ob, outStep, indices);
  });
  return { values: finalize(values, dtype), indices };
}
