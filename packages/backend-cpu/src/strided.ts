import { coalesceDims, type MergedDims } from "@dl/tensor";

export { contiguousStrides, numel as size } from "@dl/tensor";

import type { StridedRef } from "@dl/tensor";

/**
 * Strided iteration. Kernels walk an output in row-major order while each input advances by its
 * own strides (0 on broadcast dims). Adjacent dims that are contiguous for every operand are merged
 * first, so a contiguous or row-broadcast operand becomes one long inner loop.
 */
/** Dims merged for iteration: the shared definition lives in @dl/tensor. */
export type Walk = MergedDims;
export const coalesce = coalesceDims;

/**
 * Calls `row(offsets, n, innerStrides)` for each row of the merged shape: `offsets[k]` is operand
 * k's start of that row, n the row length.
 */
export function forEachRow(
  shape: readonly number[],
  starts: readonly number[],
  stridesList: readonly (readonly number[])[],
  row: (offsets: number[], n: number, inner: number[], rowIndex: number) => void,
): void {
  const w = coalesce(shape, stridesList);
  const nd = w.shape.length;
  const ops = starts.length;
  const offsets = [...starts];
  if (nd === 0) {
    row(offsets, 1, new Array(ops).fill(0), 0);
    return;
  }
  const n = w.shape[nd - 1] as number;
  const inner = w.strides.map((s) => s[nd - 1] as number);
  let rows = 1;
  for (let d = 0; d < nd - 1; d++) rows *= w.shape[d] as number;
  if (rows === 0 || n === 0) return;
  const idx = new Array<number>(nd - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    row(offsets, n, inner, r);
    for (let d = nd - 2; d >= 0; d--) {
      const size = w.shape[d] as number;
      if (++(idx[d] as number) < size) {
        for (let k = 0; k < ops; k++) offsets[k] = (offsets[k] as number) + ((w.strides[k] as number[])[d] as number);
        break;
      }
      idx[d] = 0;
      for (let k = 0; k < ops; k++) offsets[k] = (offsets[k] as number) - ((w.strides[k] as number[])[d] as number) * (size - 1);
    }
  }
}

export const arr = (x: StridedRef) => x.data as Float64Array;
