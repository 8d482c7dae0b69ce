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

export function reduce(op: ReduceOp, x: StridedRef, dims: readonly number[], dtype: DType): HostArray {
  const { keptShape, keptStrides, redShape, redStrides, redSize } = split(x, dims);
  const out = allocArray(size(keptShape), dtype);
  const src = data(x);
  const simple = redShape.length <= 1;
  const step = redStrides[0] ?? 1;
  const offsets = simple ? null : blockOffsets(redShape, redStrides);
  let o = 0;
  forEachRow(keptShape, [x.offset], [keptStrides], (offs, n, inner) => {
    let base = offs[0] as number;
    const s = inner[0] as number;
    for (let j = 0; j < n; j++, base += s) {
      let acc: number;
      switch (op) {
        case "sum": {
          acc = 0;
          if (offsets) for (let k = 0; k < redSize; k++) acc += src[base + (offsets[k] as number)] as number;
          else for (let k = 0, p = base; k < redSize; k++, p += step) acc += src[p] as number;
          break;
        }
        case "prod": {
          acc = 1;
          if (offsets) for (let k = 0; k < redSize; k++) acc *= src[base + (offsets[k] as number)] as number;
          else for (let k = 0, p = base; k < redSize; k++, p += step) acc *= src[p] as number;
          break;
        }
        case "max":
        case "min": {
          const isMax = op === "max";
          acc = isMax ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
          for (let k = 0; k < redSize; k++) {
            const v = src[offsets ? base + (offsets[k] as number) : base + k * step] as number;
            if (v !== v) {
              acc = v;
              break;
            }
            if (isMax ? v > acc : v < acc) acc = v;
          }
          break;
        }
        case "all": {
          acc = 1;
          for (let k = 0; k < redSize; k++) {
            if ((src[offsets ? base + (offsets[k] as number) : base + k * step] as number) === 0) {
              acc = 0;
              break;
            }
          }
          break;
        }
        case "any": {
          acc = 0;
          for (let k = 0; k < redSize; k++) {
            if ((src[offsets ? base + (offsets[k] as number) : base + k * step] as number) !== 0) {
              acc = 1;
              break;
            }
          }
          break;
        }
      }
      out[o++] = acc;
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

export function scan(op: ScanOp, x: StridedRef, dim: number, dtype: DType): { values: HostArray; indices?: HostArray } {
  const len = x.shape[dim] as number;
  const step = x.strides[dim] as number;
  const total = size(x.shape);
  const values = allocArray(total, dtype);
  const withIdx = op === "cummax" || op === "cummin";
  const indices = withIdx ? allocArray(total, "int64") : undefined;
  const src = data(x);
  const outAll = contiguousStrides(x.shape);
  const outStep = outAll[dim] as number;
  const keptShape = x.shape.filter((_, d) => d !== dim);
  const keptStrides = x.strides.filter((_, d) => d !== dim);
  const outStrides = outAll.filter((_, d) => d !== dim);
  forEachRow(keptShape, [x.offset, 0], [keptStrides, outStrides], (offs, n, inner) => {
    let base = offs[0] as number;
    let ob = offs[1] as number;
    const s = inner[0] as number;
    const os = inner[1] as number;
    for (let j = 0; j < n; j++, base += s, ob += os) {
      let acc = op === "cumprod" ? 1 : op === "logcumsumexp" || op === "cummax" ? Number.NEGATIVE_INFINITY : op === "cummin" ? Number.POSITIVE_INFINITY : 0;
      let at = 0;
      for (let k = 0, p = base, q = ob; k < len; k++, p += step, q += outStep) {
        const v = src[p] as number;
        switch (op) {
          case "cumsum":
            acc += v;
            break;
          case "cumprod":
            acc *= v;
            break;
          case "logcumsumexp": {
            const m = Math.max(acc, v);
            acc = m === Number.NEGATIVE_INFINITY ? m : m + Math.log(Math.exp(acc - m) + Math.exp(v - m));
            break;
          }
          case "cummax":
            // NaN sticks once seen; ties move to the later index, as PyTorch.
            if (acc === acc && (v >= acc || v !== v)) {
              acc = v;
              at = k;
            }
            break;
          case "cummin":
            if (acc === acc && (v <= acc || v !== v)) {
              acc = v;
              at = k;
            }
            break;
        }
        values[q] = acc;
        if (indices) indices[q] = at;
      }
    }
  });
  return { values: finalize(values, dtype), indices };
}
