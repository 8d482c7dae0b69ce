import { ArgumentError, IndexError, ShapeError, fmtShape } from "./errors.js";
import { type Shape, inferShape, normalizeDim, normalizeDims, numel, viewStrides } from "./shape.js";

/**
 * Pure layout arithmetic for views: each function maps (shape, strides, offset) to the layout of
 * the view, or throws. No data is touched; tensor.ts wraps the result in a Tensor sharing storage.
 */
export interface Layout {
  shape: number[];
  strides: number[];
  offset: number;
}

export interface LayoutIn {
  readonly shape: Shape;
  readonly strides: Shape;
  readonly offset: number;
}

/** Accepts f(2, 3), f([2, 3]) and f() uniformly. */
export function dimsArg(args: readonly (number | readonly number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as readonly number[])];
  return args as number[];
}

export function viewLayout(op: string, x: LayoutIn, requested: readonly number[]): Layout | null {
  const shape = inferShape(op, requested, numel(x.shape));
  const strides = viewStrides(x.shape, x.strides, shape);
  return strides ? { shape, strides, offset: x.offset } : null;
}

export function permuteLayout(x: LayoutIn, dims: readonly number[]): Layout {
  if (dims.length !== x.shape.length) {
    throw new ShapeError("permute", `number of dims don't match: got ${dims.length} dims for a tensor of shape ${fmtShape(x.shape)}`);
  }
  const d = normalizeDims("permute", dims, x.shape.length);
  return { shape: d.map((i) => x.shape[i] as number), strides: d.map((i) => x.strides[i] as number), offset: x.offset };
}

export function transposeLayout(x: LayoutIn, d0: number, d1: number): Layout {
  const n = x.shape.length;
  const a = normalizeDim("transpose", d0, n);
  const b = normalizeDim("transpose", d1, n);
  const shape = [...x.shape];
  const strides = [...x.strides];
  [shape[a], shape[b]] = [shape[b] as number, shape[a] as number];
  [strides[a], strides[b]] = [strides[b] as number, strides[a] as number];
  return { shape, strides, offset: x.offset };
}

export function expandLayout(x: LayoutIn, sizes: readonly number[]): Layout {
  const n = sizes.length;
  if (n < x.shape.length) {
    throw new ShapeError("expand", `the number of sizes provided (${n}) must be greater or equal to the number of dimensions in the tensor (${x.shape.length})`);
  }
  const shape: number[] = [];
  const strides: number[] = [];
  const lead = n - x.shape.length;
  for (let i = 0; i < n; i++) {
    const want = sizes[i] as number;
    if (i < lead) {
      if (want < 0) throw new ShapeError("expand", `the expanded size -1 is not allowed in a leading, non-existing dimension ${i}`);
      shape.push(want);
      strides.push(0);
      continue;
    }
    const have = x.shape[i - lead] as number;
    const size = want === -1 ? have : want;
    if (have !== size && have !== 1) {
      throw new ShapeError(
        "expand",
        `the expanded size of the tensor (${size}) must match the existing size (${have}) at non-singleton dimension ${i}; target sizes ${fmtShape(sizes)}, tensor sizes ${fmtShape(x.shape)}`,
      );
    }
    shape.push(size);
    strides.push(have === size ? (x.strides[i - lead] as number) : 0);
  }
  return { shape, strides, offset: x.offset };
}

/** Python-style slice of one dim: start/end clamp, negative values count from the end, step > 0. */
export function sliceLayout(op: string, x: LayoutIn, dim: number, start?: number | null, end?: number | null, step = 1): Layout {
  const d = normalizeDim(op, dim, x.shape.length);
  if (!Number.isInteger(step) || step <= 0) throw new ArgumentError(op, `slice step must be positive, got ${step}`);
  const len = x.shape[d] as number;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + len : v, 0), len);
  const s = start == null ? 0 : clamp(start);
  const e = end == null ? len : clamp(end);
  const size = e > s ? Math.ceil((e - s) / step) : 0;
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape[d] = size;
  strides[d] = (x.strides[d] as number) * step;
  // Like PyTorch, the offset moves to start even when the slice is empty.
  return { shape, strides, offset: x.offset + s * (x.strides[d] as number) };
}

export function narrowLayout(x: LayoutIn, dim: number, start: number, length: number): Layout {
  const d = normalizeDim("narrow", dim, x.shape.length);
  const len = x.shape[d] as number;
  const s = start < 0 ? start + len : start;
  if (s < 0 || s > len || length < 0 || s + length > len) {
    throw new IndexError("narrow", `start (${start}) + length (${length}) exceeds dimension size (${len})`);
  }
  return sliceLayout("narrow", x, d, s, s + length);
}

export function selectLayout(x: LayoutIn, dim: number, index: number): Layout {
  const d = normalizeDim("select", dim, x.shape.length);
  const len = x.shape[d] as number;
  if (!Number.isInteger(index) || index < -len || index >= len) {
    throw new IndexError("select", `index ${index} is out of bounds for dimension ${d} with size ${len}`);
  }
  const i = index < 0 ? index + len : index;
  return {
    shape: x.shape.filter((_, k) => k !== d),
    strides: x.strides.filter((_, k) => k !== d),
    offset: x.offset + i * (x.strides[d] as number),
  };
}

export function squeezeLayout(x: LayoutIn, dims?: readonly number[]): Layout {
  const drop = dims === undefined ? x.shape.map((s, i) => (s === 1 ? i : -1)).filter((i) => i >= 0) : normalizeDims("squeeze", dims, x.shape.length).filter((d) => x.shape[d] === 1);
  return {
    shape: x.shape.filter((_, i) => !drop.includes(i)),
    strides: x.strides.filter((_, i) => !drop.includes(i)),
    offset: x.offset,
  };
}

export function unsqueezeLayout(x: LayoutIn, dim: number): Layout {
  const d = normalizeDim("unsqueeze", dim, x.shape.length, 1);
  const shape = [...x.shape];
  const strides = [...x.strides];
  const stride = d < x.shape.length ? (x.strides[d] as number) * (x.shape[d] as number) : 1;
  shape.splice(d, 0, 1);
  strides.splice(d, 0, stride);
  return { shape, strides, offset: x.offset };
}

export function diagonalLayout(x: LayoutIn, offset: number, dim1: number, dim2: number): Layout {
  const n = x.shape.length;
  const a = normalizeDim("diagonal", dim1, n);
  const b = normalizeDim("diagonal", dim2, n);
  if (a === b) throw new ArgumentError("diagonal", `diagonal dimensions cannot be identical ${dim1}, ${dim2}`);
  let off = x.offset;
  let size: number;
  const sa = x.shape[a] as number;
  const sb = x.shape[b] as number;
  if (offset >= 0) {
    size = Math.max(Math.min(sa, sb - offset), 0);
    if (size > 0) off += offset * (x.strides[b] as number);
  } else {
    size = Math.max(Math.min(sa + offset, sb), 0);
    if (size > 0) off -= offset * (x.strides[a] as number);
  }
  const shape = x.shape.filter((_, i) => i !== a && i !== b);
  const strides = x.strides.filter((_, i) => i !== a && i !== b);
  shape.push(size);
  strides.push((x.strides[a] as number) + (x.strides[b] as number));
  return { shape, strides, offset: off };
}

/** Tensor.unfold: windows of `size` every `step` along dim, as a new last dim. */
export function unfoldLayout(x: LayoutIn, dim: number, size: number, step: number): Layout {
  const d = normalizeDim("unfold", dim, Math.max(x.shape.length, 1));
  const len = x.shape.length === 0 ? 1 : (x.shape[d] as number);
  if (size > len) throw new ShapeError("unfold", `maximum size for tensor at dimension ${d} is ${len} but size is ${size}`);
  if (step <= 0) throw new ArgumentError("unfold", `step is ${step} but must be > 0`);
  const shape = [...x.shape];
  const strides = [...x.strides];
  const st = x.shape.length === 0 ? 1 : (x.strides[d] as number);
  if (x.shape.length > 0) {
    shape[d] = Math.floor((len - size) / step) + 1;
    strides[d] = st * step;
  }
  shape.push(size);
  strides.push(st);
  return { shape, strides, offset: x.offset };
}
