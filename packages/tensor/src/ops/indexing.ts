import { arange, fromHost, full, tensor } from "../creation.js";
import { type DType, isFloating } from "../dtype.js";
import { ArgumentError, DTypeError, fmtShape, IndexError, ShapeError } from "../errors.js";
import { labelGrad } from "../grad-hooks.js";
import { broadcastShapes, contiguousStrides, normalizeDim, numel, shapesEqual } from "../shape.js";
import { type BasicIndex, Tensor, parseSlice } from "../tensor.js";
import {
  assertNoInternalOverlap,
  binaryOp,
  commonDevice,
  gatherOp,
  scalarTensor,
  scatterOp,
  type TensorLike,
  whereOp,
  writeInPlace,
  assertTensor,
  assertTensorLike,
} from "./dispatch.js";

/**
 * Gathering and scattering by index: gather/scatter and their reductions, indexSelect, take,
 * maskedSelect, nonzero, oneHot, and NumPy/PyTorch advanced indexing (`index`, `indexPut`).
 * Values move only through gatherOp/scatterOp and views, so every result is differentiable;
 * only integer positions (masks, nonzero, bounds checks) are computed on the host.
 */

// ---- index validation ----

const isIndexType = (d: DType) => d === "int64" || d === "int32";

function requireIndexType(op: string, index: Tensor, name = "index"): void {
  if (!isIndexType(index.dtype)) throw new DTypeError(op, `expected dtype int64 or int32 for ${name}, got ${index.dtype}`);
}

const outOfBounds = (op: string, i: number, dim: number, size: number) =>
  new IndexError(op, `index ${i} is out of bounds for dimension ${dim} with size ${size}`);

/**
 * Checks on the host that every index lies in [0, size), or [-size, size) when negatives wrap,
 * and returns whether any is negative. Backends that cannot read synchronously skip the check
 * (their kernels still reject out-of-range positions) and report possible negatives.
 */
function checkIndices(op: string, index: Tensor, size: number, dim: number, allowNegative: boolean, error = outOfBounds): boolean {
  if (index.numel() === 0) return false;
  if (!index.backend.canReadSync) return allowNegative;
  const v = index.dataSync();
  let negative = false;
  for (let i = 0; i < v.length; i++) {
    const k = v[i] as number;
    if (k >= size || k < (allowNegative ? -size : 0)) throw error(op, k, dim, size);
    if (k < 0) negative = true;
  }
  return negative;
}

/** idx + size where idx < 0 (indices already known to lie in [-size, size)). */
function wrapNegative(idx: Tensor, size: number): Tensor {
  return whereOp(binaryOp("lt", idx, 0, idx.dtype, "bool"), binaryOp("add", idx, size), idx);
}

/** Validates an index along a dim of `size` and wraps negatives. */
function wrapIndex(op: string, idx: Tensor, size: number, dim: number): Tensor {
  return checkIndices(op, idx, size, dim, true) ? wrapNegative(idx, size) : idx;
}

const atLeast1d = (t: Tensor) => (t.ndim === 0 ? t.view(1) : t);

/** t with dim replaced by idx's dims: t.index(..., idx, ...) for one in-range index tensor. */
function selectAlong(t: Tensor, dim: number, idx: Tensor): Tensor {
  const n = idx.numel();
  const outShape = t.shape.map((s, k) => (k === dim ? n : s));
  const g = gatherOp(
    t,
    dim,
    idx
      .reshape(-1)
      .view(t.shape.map((_, k) => (k === dim ? n : 1)))
      .expand(outShape),
  );
  return g.reshape([...t.shape.slice(0, dim), ...idx.shape, ...t.shape.slice(dim + 1)]);
}

function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return false;
  const lead = to.length - from.length;
  return from.every((s, i) => s === 1 || s === to[lead + i]);
}

// ---- gather / scatter ----

function gatherImpl(op: string, x: Tensor, dim: number, index: Tensor): Tensor {
  commonDevice(op, [x, index]);
  requireIndexType(op, index);
  if (Math.max(index.ndim, 1) !== Math.max(x.ndim, 1)) {
    throw new ShapeError(
      op,
      `index tensor must have the same number of dimensions as input tensor (index ${fmtShape(index.shape)}, input ${fmtShape(x.shape)})`,
    );
  }
  const d = normalizeDim(op, dim, x.ndim);
  const x1 = atLeast1d(x);
  const i1 = atLeast1d(index);
  for (let k = 0; k < x1.ndim; k++) {
    if (k !== d && (i1.shape[k] as number) > (x1.shape[k] as number)) {
      throw new ShapeError(
        op,
        `size does not match at dimension ${k}: expected index ${fmtShape(index.shape)} to be no larger than input ${fmtShape(x.shape)} apart from dimension ${d}`,
      );
    }
  }
  checkIndices(op, i1, x1.shape[d] as number, d, false);
  const out = gatherOp(x1, d, i1);
  return labelGrad(index.ndim === 0 ? out.view([]) : out, "GatherBackward0");
}

/** torch.gather: out[i][j] = x[index[i][j]][j] for dim 0 (index int64/int32, same ndim as x). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  assertTensor("gather", x, "input");
  assertTensor("gather", index, "index");
  return gatherImpl("gather", x, dim, index);
}

interface ScatterArgs {
  d: number;
  x1: Tensor;
  i1: Tensor;
}

/** PyTorch's scatter checks: index ndim and sizes against self (except along dim) and src. */
function scatterArgs(op: string, x: Tensor, dim: number, index: Tensor, src: Tensor | null): ScatterArgs {
  commonDevice(op, src ? [x, index, src] : [x, index]);
  requireIndexType(op, index);
  const nd = Math.max(x.ndim, 1);
  if (Math.max(index.ndim, 1) !== nd) {
    throw new ShapeError(
      op,
      `index tensor must have the same number of dimensions as self tensor (index ${fmtShape(index.shape)}, self ${fmtShape(x.shape)})`,
    );
  }
  if (src && Math.max(src.ndim, 1) !== nd) {
    throw new ShapeError(
      op,
      `index tensor must have the same number of dimensions as src tensor (index ${fmtShape(index.shape)}, src ${fmtShape(src.shape)})`,
    );
  }
  if (src && src.dtype !== x.dtype)
    throw new DTypeError(op, `expected self.dtype to be equal to src.dtype (self ${x.dtype}, src ${src.dtype})`);
  const d = normalizeDim(op, dim, x.ndim);
  const x1 = atLeast1d(x);
  const i1 = atLeast1d(index);
  const s1 = src ? atLeast1d(src) : null;
  for (let k = 0; k < nd; k++) {
    const n = i1.shape[k] as number;
    if ((k !== d && n > (x1.shape[k] as number)) || (s1 && n > (s1.shape[k] as number))) {
      const srcPart = src ? ` and no larger than src ${fmtShape(src.shape)}` : "";
      throw new ShapeError(
        op,
        `expected index ${fmtShape(index.shape)} to be no larger than self ${fmtShape(x.shape)} apart from dimension ${d}${srcPart}`,
      );
    }
  }
  checkIndices(op, i1, x1.shape[d] as number, d, false);
  return { d, x1, i1 };
}

const restore = (x: Tensor, out: Tensor) => (x.ndim === 0 ? out.view([]) : out);
const filled = (value: number, dtype: DType, shape: readonly number[], device: string) => scalarTensor(value, dtype, device).expand(shape);

/**
 * torch.scatter (out of place): a copy of x with src (a tensor of x's dtype, or a scalar cast to
 * it) written at index along dim; `reduce` 'add' | 'multiply' combines with the existing values.
 */
export function scatter(x: Tensor, dim: number, index: Tensor, src: TensorLike, options: { reduce?: "add" | "multiply" } = {}): Tensor {
  assertTensor("scatter", x, "input");
  assertTensor("scatter", index, "index");
  assertTensorLike("scatter", src, "src");
  return scatterImpl("scatter", x, dim, index, src, options);
}

function scatterImpl(op: string, x: Tensor, dim: number, index: Tensor, src: TensorLike, options: { reduce?: "add" | "multiply" }): Tensor {
  const reduce = options.reduce;
  if (reduce !== undefined && reduce !== "add" && reduce !== "multiply") {
    throw new ArgumentError(op, `reduce argument must be either 'add' or 'multiply', got '${reduce}'`);
  }
  const { d, x1, i1 } = scatterArgs(op, x, dim, index, src instanceof Tensor ? src : null);
  const s = src instanceof Tensor ? atLeast1d(src) : filled(Number(src), x.dtype, i1.shape, x.device);
  const out = restore(x, scatterOp(x1, d, i1, s, reduce ?? "none"));
  return reduce === undefined ? labelGrad(out, src instanceof Tensor ? "ScatterBackward0" : "ScatterBackward1") : out;
}

/** torch.scatter_add: out[index[i][j]][j] += src[i][j] for dim 0 (duplicates accumulate). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  assertTensor("scatterAdd", x, "input");
  assertTensor("scatterAdd", index, "index");
  assertTensor("scatterAdd", src, "src");
  return scatterAddImpl("scatterAdd", x, dim, index, src);
}

function scatterAddImpl(op: string, x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const { d, x1, i1 } = scatterArgs(op, x, dim, index, src);
  return labelGrad(restore(x, scatterOp(x1, d, i1, atLeast1d(src), "add")), "ScatterAddBackward0");
}

export type ScatterReduction = "sum" | "prod" | "mean" | "amax" | "amin";

/**
 * torch.scatter_reduce: combines src into x at index along dim. With includeSelf=false the
 * positions that receive values start from those values alone; untouched positions keep x. Mean
 * of integers rounds down (as PyTorch's floor division).
 */
export function scatterReduce(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor,
  reduce: ScatterReduction,
  options: { includeSelf?: boolean } = {},
): Tensor {
  assertTensor("scatterReduce", x, "input");
  assertTensor("scatterReduce", index, "index");
  assertTensor("scatterReduce", src, "src");
  return scatterReduceImpl("scatterReduce", x, dim, index, src, reduce, options);
}

function scatterReduceImpl(
  op: string,
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor,
  reduce: ScatterReduction,
  options: { includeSelf?: boolean },
): Tensor {
  if (!["sum", "prod", "mean", "amax", "amin"].includes(reduce)) {
    throw new ArgumentError(op, `reduce argument must be either 'sum', 'prod', 'mean', 'amax' or 'amin', got '${reduce}'`);
  }
  const includeSelf = options.includeSelf ?? true;
  const { d, x1, i1 } = scatterArgs(op, x, dim, index, src);
  const s1 = atLeast1d(src);
  let out: Tensor;
  if (reduce === "amax" || reduce === "amin") {
    // Without self, targets start at the reduction's identity (±inf) so x is ignored there; integer
    // dtypes have no infinity, so they seed with one of the scattered values (same result, and
    // integers carry no gradient).
    const seed = isFloating(x.dtype)
      ? filled(reduce === "amax" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY, x.dtype, i1.shape, x.device)
      : s1;
    const base = includeSelf ? x1 : scatterOp(x1, d, i1, seed, "none");
    out = scatterOp(base, d, i1, s1, reduce);
  } else {
    const identity = reduce === "prod" ? 1 : 0;
    const base = includeSelf ? x1 : scatterOp(x1, d, i1, filled(identity, x.dtype, i1.shape, x.device), "none");
    out = scatterOp(base, d, i1, s1, reduce === "prod" ? "multiply" : "add");
  }
  if (reduce === "mean") {
    const start = full(x1.shape, includeSelf ? 1 : 0, { dtype: x.dtype, device: x.device });
    const counted = scatterOp(start, d, i1, filled(1, x.dtype, i1.shape, x.device), "add");
    const count = whereOp(binaryOp("eq", counted, 0, x.dtype, "bool"), 1, counted);
    out = binaryOp(isFloating(x.dtype) ? "div" : "floorDiv", out, count);
  }
  return labelGrad(restore(x, out), "ScatterReduceBackward0");
}

// ---- selecting along one dim ----

/** torch.index_select: the entries of x at a 1-D index along dim. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  assertTensor("indexSelect", x, "input");
  assertTensor("indexSelect", index, "index");
  const op = "indexSelect";
  commonDevice(op, [x, index]);
  requireIndexType(op, index);
  if (index.ndim > 1)
    throw new IndexError(op, `index is supposed to be a vector, got a ${index.ndim}-D tensor of shape ${fmtShape(index.shape)}`);
  const d = normalizeDim(op, dim, x.ndim);
  const x1 = atLeast1d(x);
  checkIndices(op, index, x1.shape[d] as number, d, false);
  const out = selectAlong(x1, d, index.reshape(-1));
  return labelGrad(x.ndim === 0 && out.numel() === 1 ? out.view([]) : out, "IndexSelectBackward0");
}

/** torch.take: x read as 1-D at index (negative indices count from the end); result has index's shape. */
export function take(x: Tensor, index: Tensor): Tensor {
  assertTensor("take", x, "input");
  assertTensor("take", index, "index");
  const op = "take";
  commonDevice(op, [x, index]);
  requireIndexType(op, index);
  const n = x.numel();
  const idx = checkIndices(
    op,
    index,
    n,
    0,
    true,
    (o, i, _d, size) => new IndexError(o, `out of range: tried to access index ${i} on a tensor of ${size} elements`),
  )
    ? wrapNegative(index, n)
    : index;
  return labelGrad(selectAlong(x.reshape(-1), 0, idx), "TakeBackward0");
}

/**
 * torch.take_along_dim: gather along dim after broadcasting x and indices in the other dims;
 * without dim, x and indices are read as 1-D.
 */
export function takeAlongDim(x: Tensor, indices: Tensor, dim?: number): Tensor {
  assertTensor("takeAlongDim", x, "input");
  assertTensor("takeAlongDim", indices, "indices");
  const op = "takeAlongDim";
  commonDevice(op, [x, indices]);
  requireIndexType(op, indices, "indices");
  if (dim === undefined) return gatherImpl(op, x.reshape(-1), 0, indices.reshape(-1));
  if (x.ndim !== indices.ndim) {
    throw new ShapeError(
      op,
      `input and indices should have the same number of dimensions, but got ${x.ndim} dimensions for input, and ${indices.ndim} dimensions for indices`,
    );
  }
  const d = normalizeDim(op, dim, x.ndim);
  const shape = broadcastShapes(
    op,
    x.shape.map((s, k) => (k === d ? (indices.shape[k] as number) : s)),
    indices.shape,
  );
  const xShape = shape.map((s, k) => (k === d ? (x.shape[k] as number) : s));
  return gatherImpl(op, x.expand(xShape), d, indices.expand(shape));
}

// ---- masks and positions ----

/** torch.nonzero: the [n, ndim] int64 coordinates of nonzero entries (asTuple: one 1-D tensor per dim). */
export function nonzero(x: Tensor): Tensor;
export function nonzero(x: Tensor, options: { asTuple: true }): Tensor[];
export function nonzero(x: Tensor, options: { asTuple?: boolean }): Tensor | Tensor[];
export function nonzero(x: Tensor, options: { asTuple?: boolean } = {}): Tensor | Tensor[] {
  assertTensor("nonzero", x, "input");
  x._assertLive("nonzero");
  const cols = nonzeroColumns(x);
  if (options.asTuple) {
    const n = (cols[0] as number[]).length;
    return cols.map((c) => fromHost(c, [n], { dtype: "int64", device: x.device }));
  }
  const n = (cols[0] as number[]).length;
  const flat = new Float64Array(n * x.ndim);
  for (let k = 0; k < x.ndim; k++) for (let i = 0; i < n; i++) flat[i * x.ndim + k] = (cols[k] as number[])[i] as number;
  return fromHost(flat, [n, x.ndim], { dtype: "int64", device: x.device });
}

/** torch.argwhere (same as nonzero). */
export function argwhere(x: Tensor): Tensor {
  assertTensor("argwhere", x, "input");
  return nonzero(x);
}

/** Host coordinates of nonzero entries, one array per dim (a 0-dim tensor counts as 1-D). */
function nonzeroColumns(x: Tensor): number[][] {
  const v = x.dataSync();
  const strides = contiguousStrides(x.shape);
  const cols: number[][] = Array.from({ length: Math.max(x.ndim, 1) }, () => []);
  for (let i = 0; i < v.length; i++) {
    if ((v[i] as number) === 0) continue; // NaN counts as nonzero, -0 as zero
    if (x.ndim === 0) (cols[0] as number[]).push(0);
    let r = i;
    for (let k = 0; k < x.ndim; k++) {
      const s = strides[k] as number;
      (cols[k] as number[]).push(Math.floor(r / s));
      r %= s;
    }
  }
  return cols;
}

/** torch.masked_select: the entries of x where the (broadcast) bool mask is true, as a 1-D tensor. */
export function maskedSelect(x: Tensor, mask: Tensor): Tensor {
  assertTensor("maskedSelect", x, "input");
  assertTensor("maskedSelect", mask, "mask");
  const op = "maskedSelect";
  commonDevice(op, [x, mask]);
  if (mask.dtype !== "bool") throw new DTypeError(op, `expected a bool tensor for mask, got ${mask.dtype}`);
  const shape = broadcastShapes(op, x.shape, mask.shape);
  const m = mask.expand(shape).dataSync();
  const positions: number[] = [];
  for (let i = 0; i < m.length; i++) if (m[i]) positions.push(i);
  const idx = fromHost(positions, [positions.length], { dtype: "int64", device: x.device });
  return labelGrad(selectAlong(x.expand(shape).reshape(-1), 0, idx), "MaskedSelectBackward0");
}

/** torch.nn.functional.one_hot: int64 indices of shape S give int64 [...S, numClasses] (-1 infers max + 1). */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  assertTensor("oneHot", indices, "indices");
  const op = "oneHot";
  indices._assertLive(op);
  if (indices.dtype !== "int64") throw new DTypeError(op, `one_hot is only applicable to index tensors (int64), got ${indices.dtype}`);
  if (!Number.isInteger(numClasses) || numClasses < -1)
    throw new ArgumentError(op, `numClasses must be a non-negative integer or -1, got ${numClasses}`);
  const v = indices.dataSync();
  let max = -1;
  for (let i = 0; i < v.length; i++) {
    const k = v[i] as number;
    if (k < 0) throw new IndexError(op, `class values must be non-negative (got ${k})`);
    if (k > max) max = k;
  }
  let c = numClasses;
  if (c === -1) {
    if (v.length === 0) throw new ArgumentError(op, "can not infer total number of classes from empty tensor; pass numClasses");
    c = max + 1;
  } else if (max >= c) {
    throw new IndexError(op, `class values must be smaller than numClasses (got ${max} for numClasses ${c})`);
  }
  const out = new Float64Array(v.length * c);
  for (let i = 0; i < v.length; i++) out[i * c + (v[i] as number)] = 1;
  return fromHost(out, [...indices.shape, c], { dtype: "int64", device: indices.device });
}

// ---- advanced indexing ----

type NestedIndexArray = number | boolean | readonly NestedIndexArray[];

/**
 * One index of `index(x, ...)`: everything Tensor.index takes (integers, slices, null, '...')
 * plus int64/int32 tensors, bool mask tensors, and JS arrays of integers or booleans.
 */
export type IndexSpec = BasicIndex | Tensor | readonly NestedIndexArray[];

function arraySpec(op: string, a: readonly NestedIndexArray[], device: string): Tensor {
  const leaves = (a as unknown[]).flat(Number.POSITIVE_INFINITY) as (number | boolean)[];
  if (leaves.length > 0 && leaves.every((v) => typeof v === "boolean")) return tensor(a, { dtype: "bool", device });
  if (!leaves.every((v) => typeof v === "number" && Number.isInteger(v))) {
    throw new IndexError(op, "arrays used as indices must hold integers or booleans only");
  }
  return tensor(a, { dtype: "int64", device });
}

/** One 1-D int64 tensor per dim a bool mask covers: the coordinates of its true entries. */
function maskIndices(mask: Tensor): Tensor[] {
  const cols = nonzeroColumns(mask);
  const n = (cols[0] as number[]).length;
  return cols.map((c) => fromHost(c, [n], { dtype: "int64", device: mask.device }));
}

function indexImpl(op: string, x: Tensor, specs: readonly IndexSpec[]): Tensor {
  x._assertLive(op);
  const items = specs.map((s) =>
    Array.isArray(s) ? arraySpec(op, s as readonly NestedIndexArray[], x.device) : (s as BasicIndex | Tensor),
  );
  if (!items.some((s) => s instanceof Tensor)) return x.index(...(items as BasicIndex[]));
  if (items.filter((s) => s === "...").length > 1) throw new IndexError(op, "an index can only have a single ellipsis ('...')");
  // A bool mask consumes as many dims as it has; integers, slices and int tensors one each.
  const consumed = items.reduce<number>(
    (n, s) => n + (s === null || s === "..." ? 0 : s instanceof Tensor && s.dtype === "bool" ? s.ndim : 1),
    0,
  );
  if (consumed > x.ndim) throw new IndexError(op, `too many indices for tensor of dimension ${x.ndim} (got ${consumed})`);

  // Basic indices become views first (integers select, as in PyTorch); tensors are collected with
  // the dim of the view they index.
  let t = x;
  let d = 0;
  const adv: { dim: number; idx: Tensor }[] = [];
  for (const s of items) {
    if (s instanceof Tensor) {
      const idx = s.device === x.device ? s : s.to(x.device);
      if (idx.dtype === "bool") {
        if (idx.ndim === 0) {
          // x[True] adds a dim of size 1 (x[False]: size 0).
          t = t.unsqueeze(d);
          adv.push({ dim: d++, idx: maskIndices(idx)[0] as Tensor });
          continue;
        }
        const covered = t.shape.slice(d, d + idx.ndim);
        if (!shapesEqual(covered, idx.shape)) {
          throw new IndexError(
            op,
            `the shape of the mask ${fmtShape(idx.shape)} at index ${d} does not match the shape of the indexed tensor ${fmtShape(t.shape)} at index ${d}`,
          );
        }
        for (const col of maskIndices(idx)) adv.push({ dim: d++, idx: col });
      } else if (isIndexType(idx.dtype)) {
        adv.push({ dim: d++, idx });
      } else {
        throw new IndexError(op, `tensors used as indices must be int64, int32 or bool tensors, got ${idx.dtype}`);
      }
    } else if (s === "...") {
      d += x.ndim - consumed;
    } else if (s === null) {
      t = t.unsqueeze(d++);
    } else if (typeof s === "number") {
      const len = t.shape[d] as number;
      if (!Number.isInteger(s) || s < -len || s >= len) throw outOfBounds(op, s, d, len);
      t = t.select(d, s);
    } else {
      const sl = typeof s === "string" ? parseSlice(s, op) : s;
      t = t.slice(d++, sl.start, sl.stop, sl.step ?? 1);
    }
  }

  let shape: number[];
  try {
    shape = broadcastShapes(op, ...adv.map((a) => a.idx.shape));
  } catch {
    throw new IndexError(
      op,
      `shape mismatch: indexing tensors could not be broadcast together with shapes ${adv.map((a) => fmtShape(a.idx.shape)).join(", ")}`,
    );
  }
  const idxs = adv.map((a) => wrapIndex(op, a.idx, t.shape[a.dim] as number, a.dim));
  const dims = adv.map((a) => a.dim);
  if (dims.length === 1) return labelGrad(selectAlong(t, dims[0] as number, idxs[0] as Tensor), "IndexBackward0");

  // Several index tensors: move their dims to the front, merge them into one, and select with
  // the row-major linear position of each broadcast index tuple.
  const rest = [...t.shape.keys()].filter((k) => !dims.includes(k));
  const sizes = dims.map((k) => t.shape[k] as number);
  let linear: Tensor | undefined;
  let mult = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    const idx = (idxs[i] as Tensor).dtype === "int64" ? (idxs[i] as Tensor) : (idxs[i] as Tensor).to("int64");
    const term = mult === 1 ? idx : binaryOp("mul", idx, mult);
    linear = linear === undefined ? term : binaryOp("add", term, linear);
    mult *= sizes[i] as number;
  }
  const merged = t.permute([...dims, ...rest]).reshape([numel(sizes), ...rest.map((k) => t.shape[k] as number)]);
  let out = selectAlong(merged, 0, (linear as Tensor).expand(shape));
  // Adjacent index tensors put the indexed dims where they were; separated ones leave them first.
  const first = dims[0] as number;
  const adjacent = dims.every((k, i) => i === 0 || k === (dims[i - 1] as number) + 1);
  if (adjacent && first > 0) {
    const nb = shape.length;
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    out = out.permute([...range(nb, nb + first), ...range(0, nb), ...range(nb + first, nb + rest.length)]).contiguous();
  }
  return labelGrad(out, "IndexBackward0");
}

/**
 * x[...] with NumPy/PyTorch semantics: basic indices (integers, slices, null, '...') as views,
 * plus advanced indices (int64/int32 tensors, bool masks, JS arrays). Index tensors broadcast
 * together; their dims replace the indexed dims in place when adjacent, and go first otherwise.
 * Integers are applied as select first, as in PyTorch (x[0, :, idx] has shape [x.size(1), ...idx]
 * where NumPy would put idx's dims first). Negative indices wrap; out-of-range ones throw before
 * anything is computed. Returns a view when every index is basic, a new tensor otherwise.
 */
export function index(x: Tensor, ...specs: IndexSpec[]): Tensor {
  assertTensor("index", x, "input");
  return indexImpl("index", x, specs);
}

/** x[specs] = values computed out of place: a copy of x with values scattered at the indexed positions. */
function putAt(op: string, x: Tensor, specs: readonly IndexSpec[], values: TensorLike, accumulate: boolean): Tensor {
  x._assertLive(op);
  if (values instanceof Tensor) {
    commonDevice(op, [x, values]);
    if (values.dtype !== x.dtype) {
      throw new DTypeError(
        op,
        `index put requires the source and destination dtypes match, got ${x.dtype} for the destination and ${values.dtype} for the source`,
      );
    }
  }
  const v = values instanceof Tensor ? values : scalarTensor(values, x.dtype, x.device);
  // The flat positions x[specs] reads are the same indexing applied to arange(numel).
  const positions = indexImpl(op, arange(x.numel(), { dtype: "int64", device: x.device }).view(x.shape), specs);
  const shape = positions.shape;
  if (!broadcastsTo(v.shape, shape)) {
    throw new ShapeError(
      op,
      `shape mismatch: value tensor of shape ${fmtShape(v.shape)} cannot be broadcast to indexing result of shape ${fmtShape(shape)}`,
    );
  }
  const out = scatterOp(x.reshape(-1), 0, positions.reshape(-1), v.expand(shape).reshape(-1), accumulate ? "add" : "none");
  return labelGrad(out.view(x.shape), "IndexPutBackward0");
}

/**
 * torch.index_put (out of place): x[indices] = values, where indices are index tensors for the
 * leading dims (null stands for ':'); accumulate adds instead, summing duplicate positions.
 * values must have x's dtype (scalars are cast) and broadcast to the indexed shape.
 */
export function indexPut(
  x: Tensor,
  indices: readonly (Tensor | null)[],
  values: TensorLike,
  options: { accumulate?: boolean } = {},
): Tensor {
  assertTensor("indexPut", x, "input");
  assertTensorLike("indexPut", values, "values");
  return putAt(
    "indexPut",
    x,
    indices.map((i) => i ?? ":"),
    values,
    options.accumulate ?? false,
  );
}

/** x[specs] = values for any specs of `index` (out of place); see indexPut_ for in place. */
export function indexSet(x: Tensor, specs: readonly IndexSpec[], values: TensorLike, options: { accumulate?: boolean } = {}): Tensor {
  assertTensor("indexSet", x, "input");
  assertTensorLike("indexSet", values, "values");
  return putAt("indexSet", x, specs, values, options.accumulate ?? false);
}

// ---- index_fill / index_add / index_copy ----

function vectorIndex(op: string, index: Tensor): void {
  requireIndexType(op, index);
  if (index.ndim > 1)
    throw new IndexError(op, `index is supposed to be a vector, got a ${index.ndim}-D tensor of shape ${fmtShape(index.shape)}`);
}

/** torch.index_fill: x with the slices at index along dim set to value (a scalar or 0-dim tensor). */
export function indexFill(x: Tensor, dim: number, index: Tensor, value: TensorLike): Tensor {
  assertTensor("indexFill", x, "input");
  assertTensor("indexFill", index, "index");
  assertTensorLike("indexFill", value, "value");
  return indexFillImpl("indexFill", x, dim, index, value);
}

function indexFillImpl(op: string, x: Tensor, dim: number, index: Tensor, value: TensorLike): Tensor {
  commonDevice(op, value instanceof Tensor ? [x, index, value] : [x, index]);
  vectorIndex(op, index);
  if (value instanceof Tensor && value.ndim !== 0) {
    throw new ShapeError(op, `only supports a 0-dimensional value tensor, but got tensor with ${value.ndim} dimension(s)`);
  }
  const d = normalizeDim(op, dim, x.ndim);
  const v = value instanceof Tensor ? value.to(x.dtype) : value;
  const x1 = atLeast1d(x);
  return labelGrad(restore(x, putAt(op, x1, [...new Array<string>(d).fill(":"), index.reshape(-1)], v, false)), "IndexFillBackward0");
}

/** The index expanded over source for index_add/index_copy, after PyTorch's checks. */
function indexSourceArgs(
  op: string,
  x: Tensor,
  dim: number,
  index: Tensor,
  source: Tensor,
): { d: number; x1: Tensor; s1: Tensor; idx: Tensor } {
  commonDevice(op, [x, index, source]);
  vectorIndex(op, index);
  if (source.dtype !== x.dtype) throw new DTypeError(op, `self (${x.dtype}) and source (${source.dtype}) must have the same dtype`);
  const d = normalizeDim(op, dim, x.ndim);
  const x1 = atLeast1d(x);
  const s1 = atLeast1d(source);
  if (s1.ndim !== x1.ndim) {
    throw new ShapeError(op, `source ${fmtShape(source.shape)} must have the same number of dimensions as self ${fmtShape(x.shape)}`);
  }
  const n = index.numel();
  if (s1.shape[d] !== n)
    throw new ShapeError(op, `number of indices (${n}) should be equal to source.size(dim) (${s1.shape[d]}), for dim ${d}`);
  for (let k = 0; k < x1.ndim; k++) {
    if (k !== d && s1.shape[k] !== x1.shape[k]) {
      throw new ShapeError(
        op,
        `source ${fmtShape(source.shape)} and self ${fmtShape(x.shape)} must have the same slice shapes (size ${s1.shape[k]} vs ${x1.shape[k]} at dimension ${k})`,
      );
    }
  }
  checkIndices(op, index, x1.shape[d] as number, d, false);
  const idx = index
    .reshape(-1)
    .view(s1.shape.map((s, k) => (k === d ? s : 1)))
    .expand(s1.shape);
  return { d, x1, s1, idx };
}

/** torch.index_add: x with alpha * source added at index along dim (duplicates accumulate). */
export function indexAdd(x: Tensor, dim: number, index: Tensor, source: Tensor, options: { alpha?: number } = {}): Tensor {
  assertTensor("indexAdd", x, "input");
  assertTensor("indexAdd", index, "index");
  assertTensor("indexAdd", source, "source");
  return indexAddImpl("indexAdd", x, dim, index, source, options);
}

function indexAddImpl(op: string, x: Tensor, dim: number, index: Tensor, source: Tensor, options: { alpha?: number }): Tensor {
  const alpha = options.alpha ?? 1;
  const { d, x1, s1, idx } = indexSourceArgs(op, x, dim, index, source);
  if (!isFloating(x.dtype) && !Number.isInteger(alpha)) {
    throw new DTypeError(op, `for integral input tensors, argument alpha must not be a floating point number (got ${alpha})`);
  }
  const src = alpha === 1 ? s1 : binaryOp("mul", s1, alpha, x.dtype);
  return labelGrad(restore(x, scatterOp(x1, d, idx, src, "add")), "IndexAddBackward0");
}

/** torch.index_copy: x with the slices at index along dim replaced by source's. */
export function indexCopy(x: Tensor, dim: number, index: Tensor, source: Tensor): Tensor {
  assertTensor("indexCopy", x, "input");
  assertTensor("indexCopy", index, "index");
  assertTensor("indexCopy", source, "source");
  return indexCopyImpl("indexCopy", x, dim, index, source);
}

function indexCopyImpl(op: string, x: Tensor, dim: number, index: Tensor, source: Tensor): Tensor {
  const { d, x1, s1, idx } = indexSourceArgs(op, x, dim, index, source);
  return labelGrad(restore(x, scatterOp(x1, d, idx, s1, "none")), "IndexCopyBackward0");
}

// ---- in-place variants (validated fully before writing; see inplace.ts) ----

function inPlace(op: string, x: Tensor, compute: () => Tensor): Tensor {
  x._assertLive(op);
  assertNoInternalOverlap(op, x);
  return writeInPlace(op, x, compute());
}

export function scatter_(x: Tensor, dim: number, index: Tensor, src: TensorLike, options: { reduce?: "add" | "multiply" } = {}): Tensor {
  assertTensor("scatter_", x, "input");
  assertTensor("scatter_", index, "index");
  assertTensorLike("scatter_", src, "src");
  return inPlace("scatter_", x, () => scatterImpl("scatter_", x, dim, index, src, options));
}

export function scatterAdd_(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  assertTensor("scatterAdd_", x, "input");
  assertTensor("scatterAdd_", index, "index");
  assertTensor("scatterAdd_", src, "src");
  return inPlace("scatterAdd_", x, () => scatterAddImpl("scatterAdd_", x, dim, index, src));
}

export function scatterReduce_(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor,
  reduce: ScatterReduction,
  options: { includeSelf?: boolean } = {},
): Tensor {
  assertTensor("scatterReduce_", x, "input");
  assertTensor("scatterReduce_", index, "index");
  assertTensor("scatterReduce_", src, "src");
  return inPlace("scatterReduce_", x, () => scatterReduceImpl("scatterReduce_", x, dim, index, src, reduce, options));
}

/** x[indices] = values in place (accumulate: +=); indices are index tensors for the leading dims (null = ':'). */
export function indexPut_(
  x: Tensor,
  indices: readonly (Tensor | null)[],
  values: TensorLike,
  options: { accumulate?: boolean } = {},
): Tensor {
  assertTensor("indexPut_", x, "input");
  assertTensorLike("indexPut_", values, "values");
  const op = "indexPut_";
  return inPlace(op, x, () =>
    putAt(
      op,
      x,
      indices.map((i) => i ?? ":"),
      values,
      options.accumulate ?? false,
    ),
  );
}

/** x[...specs] = values in place for any specs of index() (Python's __setitem__). */
export function indexSet_(x: Tensor, specs: readonly IndexSpec[], values: TensorLike, options: { accumulate?: boolean } = {}): Tensor {
  assertTensor("indexSet_", x, "input");
  assertTensorLike("indexSet_", values, "values");
  const op = "indexSet_";
  return inPlace(op, x, () => putAt(op, x, specs, values, options.accumulate ?? false));
}

export function indexFill_(x: Tensor, dim: number, index: Tensor, value: TensorLike): Tensor {
  assertTensor("indexFill_", x, "input");
  assertTensor("indexFill_", index, "index");
  assertTensorLike("indexFill_", value, "value");
  return inPlace("indexFill_", x, () => indexFillImpl("indexFill_", x, dim, index, value));
}

export function indexAdd_(x: Tensor, dim: number, index: Tensor, source: Tensor, options: { alpha?: number } = {}): Tensor {
  assertTensor("indexAdd_", x, "input");
  assertTensor("indexAdd_", index, "index");
  assertTensor("indexAdd_", source, "source");
  return inPlace("indexAdd_", x, () => indexAddImpl("indexAdd_", x, dim, index, source, options));
}

export function indexCopy_(x: Tensor, dim: number, index: Tensor, source: Tensor): Tensor {
  assertTensor("indexCopy_", x, "input");
  assertTensor("indexCopy_", index, "index");
  assertTensor("indexCopy_", source, "source");
  return inPlace("indexCopy_", x, () => indexCopyImpl("indexCopy_", x, dim, index, source));
}
