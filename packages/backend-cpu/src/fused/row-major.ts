import type { HostArray, StridedRef } from "@dl/tensor";
import { contiguousStrides } from "@dl/tensor";
import { copy } from "../elementwise.js";
import { freeArray } from "../storage.js";

/**
 * x's elements in row-major order: its own storage from x.offset when the view is contiguous,
 * otherwise a contiguous copy (offset 0) that `done()` frees. Fused kernels loop over plain arrays.
 */
export function rowMajor(x: StridedRef): { a: HostArray; o: number; done: () => void } {
  const cs = contiguousStrides(x.shape);
  if (x.shape.every((s, d) => s === 1 || x.strides[d] === cs[d])) return { a: x.data as HostArray, o: x.offset, done: () => {} };
  const a = copy(x, x.dtype) as HostArray;
  return { a, o: 0, done: () => freeArray(a) };
}

/** [outer, len, inner]: the sizes before, at and after `dim`. */
export function around(shape: readonly number[], dim: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  shape.forEach((s, d) => {
    if (d < dim) outer *= s;
    else if (d > dim) inner *= s;
  });
  return [outer, shape[dim] ?? 1, inner];
}
