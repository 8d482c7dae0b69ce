import { fromHost } from "../creation.js";
import { ArgumentError, DTypeError, fmtShape, IndexError, ShapeError } from "../errors.js";
import { labelGrad } from "../grad-hooks.js";
import { normalizeDim } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { argReduceOp, binaryOp, gatherOp, reduceOp, scalarTensor, sortIndices, unaryOp, whereOp, assertTensor } from "./dispatch.js";
import { valuesIndices } from "./named-tuple.js";
import type { KeepDimOptions, ValuesIndices } from "./reduce.js";
import { ascNanLast, descNanFirst, nthElement, partialSort, quickSelect, stdSort } from "./sort-order.js";

/**
 * Sorting and selection: sort, argsort, msort, topk, kthvalue, median, nanmedian, unique,
 * uniqueConsecutive. Order (indices) is computed first, then values are gathered through it, so
 * values stay differentiable. On backends that can read synchronously, the unstable orders of
 * PyTorch's CPU kernels are replayed exactly (sort-order.ts), ties included; elsewhere the
 * backend's stable sort gives a valid order whose ties may differ (as CUDA's do in PyTorch).
 */

export interface SortOptions {
  descending?: boolean;
  /** Keep equal elements in their original order (otherwise PyTorch's std::sort order). */
  stable?: boolean;
}

const as1d = (x: Tensor): Tensor => (x.ndim === 0 ? x.reshape([1]) : x);

/** Length along a normalized dim (a 0-dim tensor counts as one element). */
const dimLen = (x: Tensor, d: number): number => (x.ndim === 0 ? 1 : (x.shape[d] as number));

function checkNotBool(op: string, x: Tensor): void {
  if (x.dtype === "bool") throw new DTypeError(op, "not implemented for bool tensors (as in PyTorch); convert with x.to('int64') first");
}

/**
 * Runs `fn` on every row of x along dim d (values as float64 and their positions 0..len-1) and
 * collects the first `outLen` positions it leaves as an int64 tensor (x's shape, dim d = outLen).
 */
function hostRows(x: Tensor, d: number, outLen: number, fn: (v: Float64Array, ix: Float64Array) => void): Tensor {
  const src = x.dataSync();
  const len = x.shape[d] as number;
  let outer = 1;
  for (let i = 0; i < d; i++) outer *= x.shape[i] as number;
  let inner = 1;
  for (let i = d + 1; i < x.ndim; i++) inner *= x.shape[i] as number;
  const out = new Float64Array(outer * outLen * inner);
  const v = new Float64Array(len);
  const ix = new Float64Array(len);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      for (let k = 0; k < len; k++) {
        v[k] = src[base + k * inner] as number;
        ix[k] = k;
      }
      fn(v, ix);
      const ob = o * outLen * inner + i;
      for (let k = 0; k < outLen; k++) out[ob + k * inner] = ix[k] as number;
    }
  }
  const shape = [...x.shape];
  shape[d] = outLen;
  return fromHost(out, shape, { dtype: "int64", device: x.device });
}

/** Sort order along d as PyTorch's CPU sort gives it. */
function sortOrder(x: Tensor, d: number, descending: boolean, stable: boolean): Tensor {
  const len = x.shape[d] as number;
  // std::sort finishes runs of <= 16 elements with insertion sort, which is stable.
  if (stable || len <= 16 || !x.backend.canReadSync) return sortIndices(x, d, descending);
  const less = descending ? descNanFirst : ascNanLast;
  return hostRows(x, d, len, (v, ix) => stdSort(v, ix, 0, len, less));
}

function sortArgs(dim: number | SortOptions | undefined, options: SortOptions | undefined): [number, SortOptions] {
  if (typeof dim === "object") return [-1, dim];
  return [dim ?? -1, options ?? {}];
}

/**
 * torch.sort along dim (default -1): { values, indices }. NaN sorts as the largest value (last
 * ascending, first descending). stable keeps equal elements in input order.
 */
export function sort(x: Tensor, dim?: number | SortOptions, options?: SortOptions): ValuesIndices {
  assertTensor("sort", x, "input");
  const [dm, o] = sortArgs(dim, options);
  const d = normalizeDim("sort", dm, x.ndim);
  const xs = as1d(x);
  const indices = sortOrder(xs, d, o.descending ?? false, o.stable ?? false);
  return valuesIndices(labelGrad(gatherOp(xs, d, indices).view(x.shape), "SortBackward0"), indices.view(x.shape));
}

/** torch.argsort: the indices of sort. */
export function argsort(x: Tensor, dim?: number | SortOptions, options?: SortOptions): Tensor {
  assertTensor("argsort", x, "input");
  const [dm, o] = sortArgs(dim, options);
  const d = normalizeDim("argsort", dm, x.ndim);
  return sortOrder(as1d(x), d, o.descending ?? false, o.stable ?? false).view(x.shape);
}

/** torch.msort: sort along dim 0, values only. */
export function msort(x: Tensor): Tensor {
  assertTensor("msort", x, "input");
  return sort(x, 0).values;
}

/**
 * torch.topk: the k largest (or smallest) elements along dim (default -1) as { values, indices };
 * NaN counts as the largest value.
 */
export function topk(x: Tensor, k: number, dim = -1, options: { largest?: boolean; sorted?: boolean } = {}): ValuesIndices {
  assertTensor("topk", x, "input");
  const d = normalizeDim("topk", dim, x.ndim);
  checkNotBool("topk", x);
  const len = dimLen(x, d);
  if (!Number.isInteger(k)) throw new ArgumentError("topk", `k must be an integer, got ${k}`);
  if (k < 0 || k > len)
    throw new IndexError("topk", `selected index k out of range: k = ${k} but dim ${d} has size ${len} (input shape ${fmtShape(x.shape)})`);
  const largest = options.largest ?? true;
  const sorted = options.sorted ?? true;
  const xs = as1d(x);
  let indices: Tensor;
  if (xs.backend.canReadSync) {
    const less = largest ? descNanFirst : ascNanLast;
    // ATen's topk_impl_loop: partial_sort for small k, else nth_element (+ sort of the first k-1).
    indices = hostRows(xs, d, k, (v, ix) => {
      if (k === 0) return;
      if (k * 64 <= len) partialSort(v, ix, 0, k, len, less);
      else {
        nthElement(v, ix, 0, k - 1, len, less);
        if (sorted) stdSort(v, ix, 0, k - 1, less);
      }
    });
  } else {
    indices = sortIndices(xs, d, largest).narrow(d, 0, k);
  }
  const values = gatherOp(xs, d, indices);
  if (x.ndim === 0 && k === 1) return valuesIndices(labelGrad(values.view([]), "TopkBackward0"), indices.view([]));
  return valuesIndices(labelGrad(values, "TopkBackward0"), indices);
}

function outShape(x: Tensor, d: number, keepdim: boolean): number[] {
  return keepdim ? x.shape.map((s, i) => (i === d ? 1 : s)) : x.shape.filter((_, i) => i !== d);
}

function checkReducible(op: string, x: Tensor, d: number): void {
  if (x.ndim > 0 && x.shape[d] === 0)
    throw new IndexError(op, `expected reduction dim ${d} to have non-zero size (input shape ${fmtShape(x.shape)})`);
}

/** torch.kthvalue: the k-th smallest element (1-based) along dim (default -1) as { values, indices }. */
export function kthvalue(x: Tensor, k: number, dim = -1, options: KeepDimOptions = {}): ValuesIndices {
  assertTensor("kthvalue", x, "input");
  const d = normalizeDim("kthvalue", dim, x.ndim);
  checkNotBool("kthvalue", x);
  checkReducible("kthvalue", x, d);
  const len = dimLen(x, d);
  if (!Number.isInteger(k) || k < 1 || k > len) {
    throw new IndexError("kthvalue", `selected number k out of range for dimension ${d}: k = ${k} but the dim has size ${len}`);
  }
  const xs = as1d(x);
  const indices = xs.backend.canReadSync
    ? hostRows(xs, d, 1, (v, ix) => {
        quickSelect(v, ix, len, k - 1);
        ix[0] = ix[k - 1] as number;
      })
    : sortIndices(xs, d, false).narrow(d, k - 1, 1);
  const shape = outShape(x, d, options.keepdim ?? false);
  return valuesIndices(labelGrad(gatherOp(xs, d, indices).view(shape), "KthvalueBackward0"), indices.contiguous().view(shape));
}

/**
 * Index (keepdim) of the median along d. PyTorch orders by (value, index), so the median is the
 * ((n-1)/2)-th element of the stable ascending order; median returns the first NaN if there is
 * one, nanmedian takes the ((n - #NaN - 1)/2)-th.
 */
function medianIndex(x: Tensor, d: number, ignoreNan: boolean): Tensor {
  const n = x.shape[d] as number;
  const order = sortIndices(x, d, false);
  if (!x.isFloatingPoint()) return order.narrow(d, (n - 1) >> 1, 1);
  const nan = unaryOp("isnan", x, "bool");
  if (!ignoreNan) {
    const firstNan = argReduceOp("argmax", nan, d, true);
    return whereOp(reduceOp("any", nan, [d], true, "bool"), firstNan, order.narrow(d, (n - 1) >> 1, 1));
  }
  // C++ integer division truncates: an all-NaN row gives position 0.
  const nanCount = reduceOp("sum", nan, [d], true, "int64");
  const pos = binaryOp("truncDiv", binaryOp("sub", n - 1, nanCount), 2);
  return gatherOp(order, d, pos);
}

function medianImpl(op: string, x: Tensor, dim: number | undefined, keepdim: boolean, ignoreNan: boolean): Tensor | ValuesIndices {
  checkNotBool(op, x);
  if (dim === undefined) {
    if (x.numel() === 0) return scalarTensor(Number.NaN, x.dtype, x.device);
    const flat = x.reshape([-1]);
    return labelGrad(gatherOp(flat, 0, medianIndex(flat, 0, ignoreNan)).view([]), ignoreNan ? "NanmedianBackward0" : "MedianBackward0");
  }
  const d = normalizeDim(op, dim, x.ndim);
  checkReducible(op, x, d);
  const xs = as1d(x);
  const indices = medianIndex(xs, d, ignoreNan);
  const shape = outShape(x, d, keepdim);
  const values = labelGrad(gatherOp(xs, d, indices).view(shape), ignoreNan ? "NanmedianBackward1" : "MedianBackward1");
  return valuesIndices(values, indices.contiguous().view(shape));
}

/**
 * torch.median: the lower median. median(x) is a value (NaN if any element is NaN, NaN for an
 * empty input); median(x, dim) gives { values, indices }.
 */
export function median(x: Tensor): Tensor;
export function median(x: Tensor, dim: number, options?: KeepDimOptions): ValuesIndices;
export function median(x: Tensor, dim?: number, options: KeepDimOptions = {}): Tensor | ValuesIndices {
  assertTensor("median", x, "input");
  return medianImpl("median", x, dim, options.keepdim ?? false, false);
}

/** torch.nanmedian: median ignoring NaN (NaN only where everything is NaN). */
export function nanmedian(x: Tensor): Tensor;
export function nanmedian(x: Tensor, dim: number, options?: KeepDimOptions): ValuesIndices;
export function nanmedian(x: Tensor, dim?: number, options: KeepDimOptions = {}): Tensor | ValuesIndices {
  assertTensor("nanmedian", x, "input");
  return medianImpl("nanmedian", x, dim, options.keepdim ?? false, true);
}

// ---------------------------------------------------------------------------------------------
// unique (computed on the host: its outputs are not differentiable)

export interface UniqueOptions {
  /**
   * Sort the unique values ascending (default). PyTorch 1.13's CPU kernel returns hash-table
   * order for sorted=false; that order is unspecified, so sorted order is returned either way.
   */
  sorted?: boolean;
  returnInverse?: boolean;
  returnCounts?: boolean;
  /** Unique slices along this dim instead of unique elements. */
  dim?: number | null;
}

export interface UniqueResult {
  values: Tensor;
  /** Where each input element (or slice along dim) went in values. */
  inverseIndices?: Tensor;
  counts?: Tensor;
}

/** Groups of equal items: `rep` (one item per group, in output order), `inverse`, `counts`. */
interface Groups {
  rep: number[];
  inverse: Float64Array;
  counts: number[];
}

function group(order: readonly number[], n: number, same: (a: number, b: number) => boolean): Groups {
  const rep: number[] = [];
  const counts: number[] = [];
  const inverse = new Float64Array(n);
  let prev = -1;
  for (const i of order) {
    if (prev < 0 || !same(prev, i)) {
      rep.push(i);
      counts.push(0);
    }
    inverse[i] = rep.length - 1;
    counts[counts.length - 1] = (counts[counts.length - 1] as number) + 1;
    prev = i;
  }
  return { rep, inverse, counts };
}

/** Ascending with NaN last; 0 for equal (NaNs compare equal here and are told apart by `same`). */
function cmpNumbers(a: number, b: number): number {
  if (a !== a) return b !== b ? 0 : 1;
  if (b !== b) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function uniqueImpl(op: string, x: Tensor, options: UniqueOptions, consecutive: boolean): Tensor | UniqueResult {
  const returnInverse = options.returnInverse ?? false;
  const returnCounts = options.returnCounts ?? false;
  const device = x.device;
  let values: Tensor;
  let g: Groups;
  let inverseShape: number[];
  if (options.dim === undefined || options.dim === null) {
    const data = x.dataSync();
    const n = data.length;
    const order = [...Array(n).keys()];
    if (!consecutive) order.sort((a, b) => cmpNumbers(data[a] as number, data[b] as number) || a - b);
    g = group(order, n, (a, b) => data[a] === data[b]);
    values = fromHost(
      g.rep.map((i) => data[i] as number),
      [g.rep.length],
      { dtype: x.dtype, device },
    );
    inverseShape = [...x.shape];
  } else {
    const d = normalizeDim(op, options.dim, x.ndim);
    const xs = x.ndim === 0 ? x.reshape([1]) : x;
    if (xs.shape.some((s, i) => i !== d && s === 0)) {
      throw new ShapeError(
        op,
        `there are 0 sized dimensions, and they aren't selected, so unique cannot be applied (input shape ${fmtShape(x.shape)}, dim ${d})`,
      );
    }
    const moved = xs.movedim(d, 0);
    const data = moved.dataSync();
    const n = xs.shape[d] as number;
    const m = n === 0 ? 0 : data.length / n;
    const cmpSlices = (a: number, b: number): number => {
      for (let k = 0; k < m; k++) {
        const c = cmpNumbers(data[a * m + k] as number, data[b * m + k] as number);
        if (c !== 0) return c;
      }
      return 0;
    };
    const sameSlices = (a: number, b: number): boolean => {
      for (let k = 0; k < m; k++) if (data[a * m + k] !== data[b * m + k]) return false;
      return true;
    };
    const order = [...Array(n).keys()];
    if (!consecutive) order.sort((a, b) => cmpSlices(a, b) || a - b);
    g = group(order, n, sameSlices);
    const out = new Float64Array(g.rep.length * m);
    g.rep.forEach((r, j) => {
      out.set(data.subarray(r * m, (r + 1) * m), j * m);
    });
    values = fromHost(out, [g.rep.length, ...moved.shape.slice(1)], { dtype: x.dtype, device })
      .movedim(0, d)
      .contiguous();
    inverseShape = [n];
  }
  if (!returnInverse && !returnCounts) return values;
  const result: UniqueResult = { values };
  if (returnInverse) result.inverseIndices = fromHost(g.inverse, inverseShape, { dtype: "int64", device });
  if (returnCounts) result.counts = fromHost(g.counts, [g.counts.length], { dtype: "int64", device });
  return result;
}

type NoExtras = UniqueOptions & { returnInverse?: false; returnCounts?: false };

/**
 * torch.unique: the sorted distinct elements (or slices along `dim`). With returnInverse and/or
 * returnCounts it returns { values, inverseIndices?, counts? }. Each NaN counts as distinct.
 */
export function unique(x: Tensor, options?: NoExtras): Tensor;
export function unique(x: Tensor, options: UniqueOptions): UniqueResult;
export function unique(x: Tensor, options: UniqueOptions = {}): Tensor | UniqueResult {
  assertTensor("unique", x, "input");
  return uniqueImpl("unique", x, options, false);
}

/** torch.unique_consecutive: collapses runs of equal elements (or slices along `dim`). */
export function uniqueConsecutive(x: Tensor, options?: Omit<NoExtras, "sorted">): Tensor;
export function uniqueConsecutive(x: Tensor, options: Omit<UniqueOptions, "sorted">): UniqueResult;
export function uniqueConsecutive(x: Tensor, options: Omit<UniqueOptions, "sorted"> = {}): Tensor | UniqueResult {
  assertTensor("uniqueConsecutive", x, "input");
  return uniqueImpl("unique_consecutive", x, options, true);
}
