import type { HostArray, StridedRef } from "@dl/tensor";
import { allocArray } from "./storage.js";
import { contiguousStrides, forEachRow, size } from "./strided.js";

// Runs shorter than this are insertion-sorted before merging.
const RUN = 24;

/** Stable insertion sort of k[lo, hi) (with its indices), ascending or descending. */
function insertionSort(k: Float64Array, ix: Float64Array, lo: number, hi: number, desc: boolean): void {
  for (let i = lo + 1; i < hi; i++) {
    const v = k[i] as number;
    const vi = ix[i] as number;
    let j = i - 1;
    // Strict comparison: equal keys never move past each other (stability).
    if (desc) {
      while (j >= lo && (k[j] as number) < v) {
        k[j + 1] = k[j] as number;
        ix[j + 1] = ix[j] as number;
        j--;
      }
    } else {
      while (j >= lo && (k[j] as number) > v) {
        k[j + 1] = k[j] as number;
        ix[j + 1] = ix[j] as number;
        j--;
      }
    }
    k[j + 1] = v;
    ix[j + 1] = vi;
  }
}

/** Merges sorted a[lo, mid) and a[mid, hi) into b; ties take the left element first. */
function merge(
  ak: Float64Array,
  ai: Float64Array,
  bk: Float64Array,
  bi: Float64Array,
  lo: number,
  mid: number,
  hi: number,
  desc: boolean,
): void {
  let i = lo;
  let j = mid;
  let o = lo;
  while (i < mid && j < hi) {
    const l = ak[i] as number;
    const r = ak[j] as number;
    if (desc ? r > l : r < l) {
      bk[o] = r;
      bi[o++] = ai[j++] as number;
    } else {
      bk[o] = l;
      bi[o++] = ai[i++] as number;
    }
  }
  while (i < mid) {
    bk[o] = ak[i] as number;
    bi[o++] = ai[i++] as number;
  }
  while (j < hi) {
    bk[o] = ak[j] as number;
    bi[o++] = ai[j++] as number;
  }
}

/** Stable bottom-up merge sort of k[0, n) (no NaN) with its indices; may leave the result in the scratch pair. */
function mergeSort(
  k: Float64Array,
  ix: Float64Array,
  tk: Float64Array,
  ti: Float64Array,
  n: number,
  desc: boolean,
): [Float64Array, Float64Array] {
  for (let lo = 0; lo < n; lo += RUN) insertionSort(k, ix, lo, Math.min(lo + RUN, n), desc);
  let [ak, ai, bk, bi] = [k, ix, tk, ti];
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      merge(ak, ai, bk, bi, lo, mid, Math.min(lo + 2 * width, n), desc);
    }
    [ak, ai, bk, bi] = [bk, bi, ak, ai];
  }
  return [ak, ai];
}

/**
 * Stable sort along dim. NaN compares greater than every number, as in PyTorch: NaNs go last
 * ascending and first descending, in their input order.
 */
export function sort(x: StridedRef, dim: number, descending: boolean): { values: HostArray; indices: HostArray } {
  const len = x.shape[dim] as number;
  const step = x.strides[dim] as number;
  const values = allocArray(size(x.shape), x.dtype);
  const indices = allocArray(size(x.shape), "int64");
  const src = x.data as HostArray;
  const outStrides = contiguousStrides(x.shape);
  const outStep = outStrides[dim] as number;
  const keptShape = x.shape.filter((_, d) => d !== dim);
  const keys = new Float64Array(len);
  const idx = new Float64Array(len);
  const tk = new Float64Array(len);
  const ti = new Float64Array(len);
  const nans = new Float64Array(len);
  forEachRow(
    keptShape,
    [x.offset, 0],
    [x.strides.filter((_, d) => d !== dim), outStrides.filter((_, d) => d !== dim)],
    (offs, n, inner) => {
      let base = offs[0] as number;
      let ob = offs[1] as number;
      for (let j = 0; j < n; j++, base += inner[0] as number, ob += inner[1] as number) {
        // NaNs are set aside (keeping their order) so that the merge sort compares numbers only.
        let m = 0;
        let nn = 0;
        for (let k = 0, p = base; k < len; k++, p += step) {
          const v = src[p] as number;
          if (v !== v) nans[nn++] = k;
          else {
            keys[m] = v;
            idx[m++] = k;
          }
        }
        const [sk, si] = mergeSort(keys, idx, tk, ti, m, descending);
        let q = ob;
        const putNans = () => {
          for (let k = 0; k < nn; k++, q += outStep) {
            values[q] = Number.NaN;
            indices[q] = nans[k] as number;
          }
        };
        if (descending) putNans();
        for (let k = 0; k < m; k++, q += outStep) {
          values[q] = sk[k] as number;
          indices[q] = si[k] as number;
        }
        if (!descending) putNans();
      }
    },
  );
  return { values, indices };
}
