import { ArgumentError, fmtShape, IndexError, ShapeError } from "./errors.js";

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major strides of a contiguous tensor (size-0 dims count as 1, as in PyTorch: [3,0] -> [1,1]). */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= Math.max(shape[i] as number, 1);
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether (shape, strides) addresses memory in row-major order without gaps. */
export function isContiguousLayout(shape: Shape, strides: Shape): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const size = shape[i] as number;
    if (size === 0) return true;
    if (size !== 1 && strides[i] !== expected) return false;
    expected *= size;
  }
  return true;
}

/** Wraps a possibly negative dim into [0, ndim); `extra` allows the one-past-the-end slot (unsqueeze). */
export function normalizeDim(op: string, dim: number, ndim: number, extra = 0): number {
  const n = Math.max(ndim + extra, 1);
  if (typeof dim !== "number")
    throw new ArgumentError(op, `argument 'dim' must be an integer, but got ${typeof dim === "string" ? `'${dim}'` : String(dim)}`);
  if (!Number.isInteger(dim) || dim < -n || dim >= n) {
    throw new IndexError(op, `dimension out of range (expected to be in range of [${-n}, ${n - 1}], but got ${dim})`);
  }
  return dim < 0 ? dim + n : dim;
}

export function normalizeDims(op: string, dims: readonly number[], ndim: number): number[] {
  if (!Array.isArray(dims)) {
    throw new ArgumentError(
      op,
      `argument 'dim' must be an integer or a list of integers, but got ${typeof dims === "string" ? `'${dims}'` : String(dims)}`,
    );
  }
  const out = dims.map((d) => normalizeDim(op, d, ndim));
  if (new Set(out).size !== out.length) throw new IndexError(op, `dim ${dims.join(",")} appears multiple times in the list of dims`);
  return out;
}

/** PyTorch/NumPy broadcasting of any number of shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = ndim - s.length + i;
      const a = out[j] as number;
      const b = s[i] as number;
      if (a === b || b === 1) continue;
      if (a === 1) out[j] = b;
      else {
        throw new ShapeError(op, `shapes ${shapes.map(fmtShape).join(" and ")} cannot be broadcast (size ${a} vs ${b} at dim ${j - ndim})`);
      }
    }
  }
  return out;
}

/** Strides that read a tensor of (shape, strides) as if it had the broadcast shape `to` (0 on expanded dims). */
export function broadcastStrides(shape: Shape, strides: Shape, to: Shape): number[] {
  const out = new Array<number>(to.length).fill(0);
  const lead = to.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[lead + i] = shape[i] === 1 && to[lead + i] !== 1 ? 0 : (strides[i] as number);
  return out;
}

/** Resolves one -1 in a requested shape and checks that the element count matches. */
export function inferShape(op: string, requested: readonly number[], total: number): number[] {
  let infer = -1;
  let known = 1;
  requested.forEach((s, i) => {
    if (s === -1) {
      if (infer >= 0) throw new ShapeError(op, "only one dimension can be inferred");
      infer = i;
    } else if (!Number.isInteger(s) || s < 0) {
      throw new ShapeError(op, `invalid shape dimension ${s} in ${fmtShape(requested)}`);
    } else known *= s;
  });
  const out = [...requested];
  if (infer >= 0) {
    if (known === 0 || total % known !== 0) {
      throw new ShapeError(op, `shape ${fmtShape(requested)} is invalid for input of size ${total}`);
    }
    out[infer] = total / known;
  } else if (known !== total) {
    throw new ShapeError(op, `shape ${fmtShape(requested)} is invalid for input of size ${total}`);
  }
  return out;
}

/**
 * Strides for viewing (shape, strides) as newShape without copying, or null when impossible
 * (PyTorch's computeStride: dims can be split or merged only within contiguous chunks).
 */
export function viewStrides(shape: Shape, strides: Shape, newShape: Shape): number[] | null {
  const n = numel(shape);
  const out = new Array<number>(newShape.length);
  if (n === 0 || shape.length === 0) return contiguousStrides(newShape);
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1] ?? 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d] as number;
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD] as number;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1] as number;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return out;
}

/** A strided walk with merged dims (see coalesceDims). */
export interface MergedDims {
  shape: number[];
  /** One strides array per operand, over the merged shape. */
  strides: number[][];
}

/**
 * Merges adjacent dims that are contiguous for every operand and drops size-1 dims, so that a
 * contiguous or row-broadcast operand becomes one long run: what every backend's strided kernels
 * iterate over.
 */
export function coalesceDims(shape: readonly number[], stridesList: readonly (readonly number[])[]): MergedDims {
  const outShape: number[] = [];
  const outStrides: number[][] = stridesList.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d] as number;
    if (size === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && stridesList.every((s, k) => (outStrides[k] as number[])[last] === (s[d] as number) * size)) {
      outShape[last] = (outShape[last] as number) * size;
      for (let k = 0; k < stridesList.length; k++) (outStrides[k] as number[])[last] = (stridesList[k] as readonly number[])[d] as number;
      continue;
    }
    outShape.push(size);
    for (let k = 0; k < stridesList.length; k++) (outStrides[k] as number[]).push((stridesList[k] as readonly number[])[d] as number);
  }
  return { shape: outShape, strides: outStrides };
}
