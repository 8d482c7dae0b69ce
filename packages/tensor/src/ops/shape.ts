import { arange, fromHost, full } from "../creation.js";
import { type DType, isIntegral, promoteTypes } from "../dtype.js";
import { ArgumentError, DTypeError, IndexError, ShapeError, fmtShape, describeValue } from "../errors.js";
import { labelGrad } from "../grad-hooks.js";
import { dimsArg } from "../layout.js";
import { normalizeDim, numel, shapesEqual } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { assertTensor, assertTensorList, commonDevice, gatherOp, scatterOp } from "./dispatch.js";

/**
 * Joining, splitting and rearranging: cat/stack, split/chunk/unbind (views), flip, roll, repeat,
 * tile, repeatInterleave and pad. Results that need new memory are built from recorded primitives
 * (gather, scatter, expand + copy), so they are differentiable without formulas of their own.
 */

/** An int64 index holding `values` along `dim`, broadcast (stride 0) to `shape` elsewhere. */
function indexAlong(values: ArrayLike<number>, dim: number, shape: readonly number[], device: string): Tensor {
  const lineShape = shape.map((_, d) => (d === dim ? values.length : 1));
  const line = fromHost(values, lineShape, { dtype: "int64", device });
  return line.expand(shape.map((s, d) => (d === dim ? values.length : s)));
}

function range(start: number, length: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = start + i;
  return out;
}

/** A result that must not alias its input (PyTorch returns new memory from these ops). */
function fresh(x: Tensor): Tensor {
  return x.clone();
}

// ---- cat / stack ----

/**
 * torch.cat. Inputs are promoted to a common dtype; 1-D empty tensors (shape [0]) are skipped, as
 * PyTorch's legacy rule allows.
 *
 * Implementation: there is no "write into a slice" primitive that autograd records, so each
 * input is placed with scatterOp (whose gradient for src is a gather) into a zero base. Scattering
 * k inputs one after another into one growing base would copy the whole output k times, so inputs
 * are merged as a balanced tree: every level copies the output about twice, O(n log k) in all,
 * and each input's gradient is a single gather.
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  assertTensorList("cat", tensors);
  nonEmptyList("cat", tensors);
  const device = commonDevice("cat", tensors);
  tensors.forEach((t, i) => {
    if (t.ndim === 0) throw new ShapeError("cat", `zero-dimensional tensor (at position ${i}) cannot be concatenated`);
  });
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  const isLegacyEmpty = (t: Tensor) => t.ndim === 1 && t.shape[0] === 0;
  const parts = tensors.filter((t) => !isLegacyEmpty(t));
  const first = parts[0];
  if (first === undefined) return full([0], 0, { dtype, device });
  const d = normalizeDim("cat", dim, first.ndim);
  const i0 = tensors.indexOf(first);
  let total = 0;
  tensors.forEach((t, i) => {
    if (isLegacyEmpty(t)) return;
    if (t.ndim !== first.ndim) {
      throw new ShapeError(
        "cat",
        `tensors must have the same number of dimensions: got ${first.ndim} (tensor ${i0}, ${fmtShape(first.shape)}) and ${t.ndim} (tensor ${i}, ${fmtShape(t.shape)})`,
      );
    }
    for (let k = 0; k < t.ndim; k++) {
      if (k !== d && t.shape[k] !== first.shape[k]) {
        throw new ShapeError(
          "cat",
          `sizes of tensors must match except in dimension ${d}: expected size ${first.shape[k]} but got size ${t.shape[k]} for tensor number ${i} in the list (${fmtShape(first.shape)} vs ${fmtShape(t.shape)})`,
        );
      }
    }
    total += t.shape[d] as number;
  });
  const outShape = first.shape.map((s, k) => (k === d ? total : s));
  // Inputs empty along dim contribute nothing but were validated above.
  const nonEmpty = parts.filter((t) => (t.shape[d] as number) > 0);
  if (nonEmpty.length === 0 || numel(outShape) === 0) return full(outShape, 0, { dtype, device });
  const only = nonEmpty[0] as Tensor;
  // One input left: a copy in the result dtype (never the input itself).
  if (nonEmpty.length === 1) return labelGrad(only.dtype === dtype ? fresh(only) : only.to(dtype), "CatBackward0");
  const pieces = nonEmpty.map((t) => (t.dtype === dtype ? t : t.to(dtype)));
  return labelGrad(mergeAlong(pieces, d, dtype, device), "CatBackward0");
}

/** Concatenation of non-empty same-dtype pieces along d, as a balanced tree of scatters. */
function mergeAlong(pieces: readonly Tensor[], d: number, dtype: DType, device: string): Tensor {
  const len = pieces.reduce((n, t) => n + (t.shape[d] as number), 0);
  const shape = (pieces[0] as Tensor).shape.map((s, k) => (k === d ? len : s));
  // Up to 3 pieces are scattered straight into the base; more are first merged in two halves.
  let groups: Tensor[] = [...pieces];
  if (pieces.length > 3) {
    const mid = Math.ceil(pieces.length / 2);
    groups = [mergeAlong(pieces.slice(0, mid), d, dtype, device), mergeAlong(pieces.slice(mid), d, dtype, device)];
  }
  let out = full(shape, 0, { dtype, device });
  let at = 0;
  for (const g of groups) {
    const n = g.shape[d] as number;
    out = scatterOp(out, d, indexAlong(range(at, n), d, g.shape, device), g, "none");
    at += n;
  }
  return out;
}

/** torch.concat / torch.concatenate: aliases of cat. */
export const concat = cat;
export const concatenate = cat;

/** torch.stack: equal-shaped tensors joined along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  assertTensorList("stack", tensors);
  nonEmptyList("stack", tensors);
  const first = tensors[0] as Tensor;
  tensors.forEach((t, i) => {
    if (!shapesEqual(t.shape, first.shape)) {
      throw new ShapeError("stack", `expects each tensor to be equal size, but got ${fmtShape(first.shape)} at entry 0 and ${fmtShape(t.shape)} at entry ${i}`);
    }
  });
  const d = normalizeDim("stack", dim, first.ndim, 1);
  return labelGrad(cat(tensors.map((t) => t.unsqueeze(d)), d), "StackBackward0");
}

function atLeast(x: Tensor, n: 1 | 2 | 3): Tensor {
  if (x.ndim >= n) return x;
  if (x.ndim === 0) return x.reshape(new Array<number>(n).fill(1));
  if (n === 2) return x.unsqueeze(0);
  // atleast_3d: [n] -> [1, n, 1]; [m, n] -> [m, n, 1].
  return x.ndim === 1 ? x.unsqueeze(0).unsqueeze(2) : x.unsqueeze(2);
}

function nonEmptyList(op: string, tensors: readonly Tensor[]): void {
  if (tensors.length === 0) throw new ArgumentError(op, "expected a non-empty list of Tensors");
}

/** torch.hstack: cat along dim 1 (dim 0 for 1-D inputs). */
export function hstack(tensors: readonly Tensor[]): Tensor {
  assertTensorList("hstack", tensors);
  nonEmptyList("hstack", tensors);
  const t = tensors.map((x) => atLeast(x, 1));
  return cat(t, t[0]?.ndim === 1 ? 0 : 1);
}

/** torch.vstack: 1-D inputs become rows, then cat along dim 0. */
export function vstack(tensors: readonly Tensor[]): Tensor {
  assertTensorList("vstack", tensors);
  nonEmptyList("vstack", tensors);
  return cat(tensors.map((x) => atLeast(x, 2)), 0);
}

/** torch.dstack: cat along dim 2 after atleast_3d. */
export function dstack(tensors: readonly Tensor[]): Tensor {
  assertTensorList("dstack", tensors);
  nonEmptyList("dstack", tensors);
  return cat(tensors.map((x) => atLeast(x, 3)), 2);
}

// ---- split / chunk / unbind (views) ----

/**
 * torch.split: an int gives chunks of that size (the last may be smaller); an array gives the
 * sizes of the sections, which must add up to the size of dim. Returns views.
 */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  assertTensor("split", x, "input");
  if (typeof sizeOrSections !== "number" && !Array.isArray(sizeOrSections)) {
    throw new ArgumentError("split", `argument 'split_size_or_sections' must be an integer or an array of integers, but got ${describeValue(sizeOrSections)}`);
  }
  if (x.ndim === 0) throw new ShapeError("split", "expects at least a 1-dimensional tensor");
  const d = normalizeDim("split", dim, x.ndim);
  const len = x.shape[d] as number;
  let sizes: number[];
  if (typeof sizeOrSections === "number") {
    const size = sizeOrSections;
    if (!Number.isInteger(size) || size < 0) throw new ArgumentError("split", `expects split_size be a non-negative integer, but got split_size=${size}`);
    if (size === 0 && len !== 0) throw new ArgumentError("split", `split_size can only be 0 if dimension size is 0, but got dimension size of ${len}`);
    const n = size === 0 ? 1 : Math.max(Math.ceil(len / size), 1);
    sizes = Array.from({ length: n }, (_, i) => (i < n - 1 ? size : len - size * (n - 1)));
  } else {
    sizes = [...sizeOrSections];
    if (sizes.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new ArgumentError("split", `split_sizes must be non-negative integers, but got split_sizes=${fmtShape(sizes)}`);
    }
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (sum !== len) {
      throw new ShapeError("split", `split_sizes must sum exactly to ${len} (input tensor's size at dimension ${d}), but got split_sizes=${fmtShape(sizes)}`);
    }
  }
  const out: Tensor[] = [];
  const name = typeof sizeOrSections === "number" ? "SplitBackward0" : "SplitWithSizesBackward0";
  let at = 0;
  for (const s of sizes) {
    out.push(labelGrad(x.narrow(d, at, s), name, [x]));
    at += s;
  }
  return out;
}

/**
 * torch.chunk: chunks of size ceil(n / chunks) along dim, so fewer than `chunks` may come back
 * (6 split into 4 gives 3 chunks of 2). A size-0 dim gives `chunks` empty chunks. Returns views.
 */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  assertTensor("chunk", x, "input");
  if (x.ndim === 0) throw new ShapeError("chunk", "expects at least a 1-dimensional tensor");
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ArgumentError("chunk", `expects \`chunks\` to be an integer greater than 0, got: ${chunks}`);
  const d = normalizeDim("chunk", dim, x.ndim);
  const len = x.shape[d] as number;
  if (len === 0) return split(x, new Array<number>(chunks).fill(0), d);
  return split(x, Math.ceil(len / chunks), d);
}

/** torch.unbind: the slices along dim, as views with that dim removed. */
export function unbind(x: Tensor, dim = 0): Tensor[] {
  assertTensor("unbind", x, "input");
  if (x.ndim === 0) throw new IndexError("unbind", "dimension specified as 0 but tensor has no dimensions");
  const d = normalizeDim("unbind", dim, x.ndim);
  return Array.from({ length: x.shape[d] as number }, (_, i) => labelGrad(x.select(d, i), "UnbindBackward0", [x]));
}

// ---- flip / roll ----

function dimList(op: string, dims: number | readonly number[], ndim: number): number[] {
  if (typeof dims !== "number" && !Array.isArray(dims)) {
    throw new ArgumentError(op, `argument 'dims' must be an integer or an array of integers, but got ${describeValue(dims)}`);
  }
  const list = typeof dims === "number" ? [dims] : [...dims];
  const out = list.map((v) => normalizeDim(op, v, ndim));
  out.forEach((v, i) => {
    if (out.indexOf(v) !== i) throw new ArgumentError(op, `dim ${v} appears multiple times in the list of dims ${fmtShape(list)}`);
  });
  return out;
}

/** Reorders x along dim with out[i] = x[src[i]] (one gather). */
function permuteAlong(x: Tensor, dim: number, src: ArrayLike<number>): Tensor {
  return gatherOp(x, dim, indexAlong(src, dim, x.shape, x.device));
}

/** torch.flip: reverses the order of elements along the given dims (a copy, as in PyTorch). */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  assertTensor("flip", x, "input");
  x._assertLive("flip");
  const ds = dimList("flip", dims, x.ndim);
  let out = x;
  for (const d of ds) {
    if (x.ndim === 0) continue;
    const n = x.shape[d] as number;
    if (n <= 1) continue;
    out = permuteAlong(out, d, range(0, n).reverse());
  }
  return labelGrad(out === x ? fresh(x) : out, "FlipBackward0");
}

/**
 * torch.roll: elements shifted along dims, wrapping around. Without dims the tensor is rolled as
 * if flattened, then restored to its shape.
 */
export function roll(x: Tensor, shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
  assertTensor("roll", x, "input");
  x._assertLive("roll");
  if (typeof shifts !== "number" && !Array.isArray(shifts)) {
    throw new ArgumentError("roll", `argument 'shifts' must be an integer or an array of integers, but got ${describeValue(shifts)}`);
  }
  const sh = typeof shifts === "number" ? [shifts] : [...shifts];
  if (sh.some((s) => !Number.isInteger(s))) throw new ArgumentError("roll", `shifts must be integers, got ${fmtShape(sh)}`);
  if (dims === undefined || (typeof dims !== "number" && dims.length === 0)) {
    if (sh.length !== 1) throw new ArgumentError("roll", `shifts and dimensions must align. shifts: ${sh.length}, dims: 0`);
    return labelGrad(roll(x.flatten(), sh[0] as number, 0).view(x.shape), "RollBackward0");
  }
  const ds = typeof dims === "number" ? [dims] : [...dims];
  if (ds.length !== sh.length) throw new ArgumentError("roll", `shifts and dimensions must align. shifts: ${sh.length}, dims: ${ds.length}`);
  if (x.ndim === 0) throw new IndexError("roll", "dimension specified as 0 but tensor has no dimensions");
  let out = x;
  ds.forEach((dim, i) => {
    const d = normalizeDim("roll", dim, x.ndim);
    const n = x.shape[d] as number;
    if (n === 0) return;
    const k = (((sh[i] as number) % n) + n) % n;
    if (k === 0) return;
    const src = new Float64Array(n);
    for (let j = 0; j < n; j++) src[j] = (j - k + n) % n;
    out = permuteAlong(out, d, src);
  });
  return labelGrad(out === x ? fresh(x) : out, "RollBackward0");
}

// ---- repeat / tile / repeatInterleave ----

function repeatSizes(op: string, sizes: readonly (number | readonly number[])[]): number[] {
  const r = dimsArg(sizes);
  if (r.some((s) => !Number.isInteger(s) || s < 0)) throw new ArgumentError(op, `repeats must be non-negative integers, got ${fmtShape(r)}`);
  return r;
}

/**
 * Tensor.repeat: x tiled sizes[i] times along each dim (sizes may add leading dims). Built as a
 * stride-0 expand of an interleaved view, then one copy.
 */
export function repeat(x: Tensor, ...sizes: (number | readonly number[])[]): Tensor {
  assertTensor("repeat", x, "input");
  x._assertLive("repeat");
  const r = repeatSizes("repeat", sizes);
  if (r.length < x.ndim) {
    throw new ShapeError("repeat", `number of dimensions of repeat dims (${r.length}) can not be smaller than number of dimensions of tensor (${x.ndim}, ${fmtShape(x.shape)})`);
  }
  const shape = [...new Array<number>(r.length - x.ndim).fill(1), ...x.shape];
  const interleaved1 = shape.flatMap((s) => [1, s]);
  const interleaved = shape.flatMap((s, i) => [r[i] as number, s]);
  const e = x.reshape(interleaved1).expand(interleaved);
  const c = e.isContiguous() ? e.clone() : e.contiguous();
  return labelGrad(c.view(shape.map((s, i) => s * (r[i] as number))), "RepeatBackward0");
}

/** torch.tile: repeat with reps padded with leading 1s when shorter than x.ndim. */
export function tile(x: Tensor, ...reps: (number | readonly number[])[]): Tensor {
  assertTensor("tile", x, "input");
  const r = repeatSizes("tile", reps);
  return repeat(x, [...new Array<number>(Math.max(x.ndim - r.length, 0)).fill(1), ...r]);
}

/**
 * torch.repeat_interleave: each element repeated along dim (x flattened when dim is omitted).
 * `repeats` is a count, or an integer tensor with one count per element along dim.
 * repeatInterleave(counts) with an integer tensor alone returns the indices 0,0,1,2,2,... .
 */
export function repeatInterleave(x: Tensor, repeats?: number | Tensor, dim?: number): Tensor {
  assertTensor("repeatInterleave", x, "input");
  if (repeats === undefined) {
    if (x.ndim > 1 || !isIntegral(x.dtype)) {
      throw new DTypeError("repeatInterleave", `repeats must be a 0-dim or 1-dim integer tensor, got ${x.dtype} ${fmtShape(x.shape)}`);
    }
    return repeatInterleave(arange(0, x.numel(), { device: x.device }), x, 0);
  }
  x._assertLive("repeatInterleave");
  if (dim !== undefined && x.ndim === 0) throw new IndexError("repeatInterleave", `dimension specified as ${dim} but tensor has no dimensions`);
  const input = dim === undefined ? x.flatten() : x;
  const d = dim === undefined ? 0 : normalizeDim("repeatInterleave", dim, x.ndim);
  const len = input.shape[d] as number;
  let counts: number[] | undefined;
  let uniform: number;
  if (typeof repeats === "number") {
    uniform = repeats;
  } else {
    commonDevice("repeatInterleave", [x, repeats]);
    if (!isIntegral(repeats.dtype)) throw new DTypeError("repeatInterleave", `repeats must be an int32 or int64 tensor, got ${repeats.dtype}`);
    if (repeats.ndim > 1) throw new ShapeError("repeatInterleave", `repeats must be 0-dim or 1-dim tensor, got ${fmtShape(repeats.shape)}`);
    const values = Array.from(repeats.dataSync());
    if (values.length === 1) uniform = values[0] as number;
    else {
      if (values.length !== len) {
        throw new ShapeError("repeatInterleave", `repeats must have the same size as input along dim, but got repeats.size(0) = ${values.length} and input.size(${d}) = ${len}`);
      }
      counts = values;
      uniform = 0;
    }
  }
  const all = counts ?? [uniform];
  if (all.some((c) => c < 0)) throw new ArgumentError("repeatInterleave", "repeats can not be negative");
  if (!all.every(Number.isInteger)) throw new ArgumentError("repeatInterleave", `repeats must be integers, got ${fmtShape(all)}`);
  if (counts === undefined) {
    // A uniform count: expand a new dim after d (stride 0) and merge it into d with one copy.
    const shape = input.shape;
    const e = input.unsqueeze(d + 1).expand([...shape.slice(0, d + 1), uniform, ...shape.slice(d + 1)]);
    const c = e.isContiguous() ? e.clone() : e.contiguous();
    return labelGrad(c.view([...shape.slice(0, d), len * uniform, ...shape.slice(d + 1)]), "IndexSelectBackward0");
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const src = new Float64Array(total);
  let o = 0;
  counts.forEach((c, i) => {
    src.fill(i, o, o + c);
    o += c;
  });
  const outShape = input.shape.map((s, k) => (k === d ? total : s));
  return labelGrad(gatherOp(input, d, indexAlong(src, d, outShape, x.device)), "IndexSelectBackward0");
}

// ---- pad ----

export type PadMode = "constant" | "reflect" | "replicate" | "circular";

/**
 * torch.nn.functional.pad. `padding` pairs (before, after) start from the last dim and go
 * backwards; negative values crop. Modes: constant (filled with `value`, default 0), reflect
 * (mirror without repeating the edge), replicate (repeat the edge), circular (wrap around).
 * Unlike PyTorch 1.13, the non-constant modes accept any number of leading (batch) dims.
 */
export function pad(x: Tensor, padding: readonly number[], options: { mode?: PadMode; value?: number | boolean } = {}): Tensor {
  assertTensor("pad", x, "input");
  x._assertLive("pad");
  if (!Array.isArray(padding) || !padding.every(Number.isInteger)) {
    throw new ArgumentError("pad", `argument 'pad' must be an array of integers, but got ${describeValue(padding)}`);
  }
  const mode = options.mode ?? "constant";
  if (!["constant", "reflect", "replicate", "circular"].includes(mode)) {
    throw new ArgumentError("pad", `unrecognised padding mode '${mode}' (expected constant, reflect, replicate or circular)`);
  }
  if (padding.length % 2 !== 0) throw new ArgumentError("pad", `padding length must be divisible by 2, got ${padding.length}`);
  if (padding.some((p) => !Number.isInteger(p))) throw new ArgumentError("pad", `padding must be integers, got ${fmtShape(padding)}`);
  if (padding.length / 2 > x.ndim) {
    throw new ShapeError("pad", `padding length too large: ${padding.length} values pad ${padding.length / 2} dims but the input ${fmtShape(x.shape)} has ${x.ndim}`);
  }
  if (mode !== "constant" && options.value !== undefined) throw new ArgumentError("pad", `padding mode '${mode}' doesn't take in value argument`);
  // Per padded dim: [dim, before, after], validated before any data is touched.
  const plan: [number, number, number][] = [];
  for (let k = 0; k < padding.length / 2; k++) {
    const d = x.ndim - 1 - k;
    const before = padding[2 * k] as number;
    const after = padding[2 * k + 1] as number;
    const len = x.shape[d] as number;
    const where = `padding (${before}, ${after}) at dimension ${d} of input ${fmtShape(x.shape)}`;
    if (len + before + after < 0) throw new ShapeError("pad", `${where} would give a negative size ${len + before + after}`);
    if (mode === "reflect" && (before >= len || after >= len)) {
      throw new ShapeError("pad", `reflect padding must be less than the corresponding input size ${len}, but got ${where}`);
    }
    if (mode === "replicate" && len === 0 && len + before + after > 0) throw new ShapeError("pad", `replicate padding needs a non-empty dimension, but got ${where}`);
    if (mode === "circular") {
      if (before > len || after > len) throw new ShapeError("pad", `circular padding may wrap around at most once (padding <= size ${len}), but got ${where}`);
      const kept = len - Math.max(-before, 0) - Math.max(-after, 0);
      if (kept <= 0 && Math.max(before, 0) + Math.max(after, 0) > 0) throw new ShapeError("pad", `circular padding has nothing to wrap after cropping: ${where}`);
    }
    if (before !== 0 || after !== 0) plan.push([d, before, after]);
  }
  if (mode === "constant") return labelGrad(constantPad(x, plan, options.value ?? 0), "ConstantPadNdBackward0");
  let out = x;
  for (const [d, before, after] of plan) out = permuteAlong(out, d, padSource(mode, x.shape[d] as number, before, after));
  return out === x ? fresh(x) : out;
}

/** Source index along one dim for each output position of a reflect/replicate/circular pad. */
function padSource(mode: PadMode, len: number, before: number, after: number): Float64Array {
  const n = len + before + after;
  const src = new Float64Array(n);
  // Circular wraps within what is left after cropping (as PyTorch does), the others index the input.
  const cropStart = Math.max(-before, 0);
  const kept = len - cropStart - Math.max(-after, 0);
  for (let j = 0; j < n; j++) {
    const i = j - before;
    if (mode === "reflect") src[j] = i < 0 ? -i : i > len - 1 ? 2 * (len - 1) - i : i;
    else if (mode === "replicate") src[j] = Math.min(Math.max(i, 0), len - 1);
    else src[j] = cropStart + ((((j - Math.max(before, 0)) % kept) + kept) % kept);
  }
  return src;
}

/** Crops negative padding with narrow, then places the rest into a filled base with one scatter per dim. */
function constantPad(x: Tensor, plan: readonly [number, number, number][], value: number | boolean): Tensor {
  let out = x;
  for (const [d, before, after] of plan) {
    const len = out.shape[d] as number;
    const start = Math.max(-before, 0);
    out = out.narrow(d, start, len - start - Math.max(-after, 0));
  }
  for (const [d, before, after] of plan) {
    const b = Math.max(before, 0);
    const a = Math.max(after, 0);
    if (b === 0 && a === 0) continue;
    const len = out.shape[d] as number;
    const shape = out.shape.map((s, k) => (k === d ? len + b + a : s));
    const base = full(shape, value, { dtype: x.dtype, device: x.device });
    out = numel(out.shape) === 0 ? base : scatterOp(base, d, indexAlong(range(b, len), d, out.shape, x.device), out, "none");
  }
  return out === x || out._storage === x._storage ? fresh(out) : out;
}
