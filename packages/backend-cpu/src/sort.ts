import type { HostArray, StridedRef } from "@dl/tensor";
import { allocArray } from "./storage.js";
import { contiguousStrides, forEachRow, size } from "./strided.js";

/** Stable sort along dim; NaN compares greater than every number, as in PyTorch. */
export function sort(x: StridedRef, dim: number, descending: boolean): { values: HostArray; indices: HostArray } {
  const len = x.shape[dim] as number;
  const step = x.strides[dim] as number;
  const values = allocArray(size(x.shape), x.dtype);
  const indices = allocArray(size(x.shape), "int64");
  const src = x.data as HostArray;
  const outStrides = contiguousStrides(x.shape);
  const outStep = outStrides[dim] as number;
  const keptShape = x.shape.filter((_, d) => d !== dim);
  const order = new Array<number>(len);
  const buf = new Float64Array(len);
  const cmp = descending
    ? (i: number, j: number) => {
        const a = buf[i] as number;
        const b = buf[j] as number;
        return a !== a ? (b !== b ? 0 : -1) : b !== b ? 1 : b - a;
      }
    : (i: number, j: number) => {
        const a = buf[i] as number;
        const b = buf[j] as number;
        return a !== a ? (b !== b ? 0 : 1) : b !== b ? -1 : a - b;
      };
  forEachRow(
    keptShape,
    [x.offset, 0],
    [x.strides.filter((_, d) => d !== dim), outStrides.filter((_, d) => d !== dim)],
    (offs, n, inner) => {
      let base = offs[0] as number;
      let ob = offs[1] as number;
      for (let j = 0; j < n; j++, base += inner[0] as number, ob += inner[1] as number) {
        for (let k = 0; k < len; k++) {
          buf[k] = src[base + k * step] as number;
          order[k] = k;
        }
        order.sort(cmp);
        for (let k = 0; k < len; k++) {
          values[ob + k * outStep] = buf[order[k] as number] as number;
          indices[ob + k * outStep] = order[k] as number;
        }
      }
    },
  );
  return { values, indices };
}
