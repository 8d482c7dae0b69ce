import { arange } from "../creation.js";
import { type DType, isIntegral, promoteTypes } from "../dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape, describeValue } from "../errors.js";
import { labelGrad } from "../grad-hooks.js";
import { broadcastShapes, numel, viewStrides } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { binaryOp, commonDevice, matmulOp, reduceOp, whereOp, assertTensor } from "./dispatch.js";
import { stack } from "./shape.js";

/**
 * Matrix products and friends. Every product goes through matmulOp, the [B,M,K] x [B,K,N]
 * primitive: operands reach it as strided views (a transposed operand is read through its
 * strides, a broadcast batch through stride 0), never as copies made here.
 */

/** The dtype a product computes in: the promoted type; bool has no matmul (as in PyTorch). */
function productDtype(op: string, a: Tensor, b: Tensor): DType {
  const dt = promoteTypes(a.dtype, b.dtype);
  if (dt === "bool") throw new DTypeError(op, `not implemented for bool tensors (got ${a.dtype} and ${b.dtype}); convert them to an integer or float dtype`);
  return dt;
}

const cast = (t: Tensor, dt: DType): Tensor => (t.dtype === dt ? t : t.to(dt));

const ndimName = (t: Tensor) => `${fmtShape(t.shape)} (${t.ndim}-D)`;

/**
 * [...ba, M, K] x [...bb, K, N] -> [...batch, M, N] with the batch dims broadcast. Both operands
 * are expanded (stride 0) to the common batch and viewed as [B, M, K] / [B, K, N]. When a batch
 * cannot be flattened into one strided dim without a copy (e.g. [2,1,..] x [1,3,..], where each
 * operand is broadcast along a different dim), the leading batch dims are looped over and the
 * per-slice products stacked; broadcast operands are still never materialized.
 */
function batchedProduct(op: string, a: Tensor, b: Tensor, dt: DType, shown: [Tensor, Tensor]): Tensor {
  const M = a.shape[a.ndim - 2] as number;
  const K = a.shape[a.ndim - 1] as number;
  const N = b.shape[b.ndim - 1] as number;
  if (b.shape[b.ndim - 2] !== K) {
    throw new ShapeError(op, `cannot multiply ${fmtShape(shown[0].shape)} by ${fmtShape(shown[1].shape)} (inner dims ${K} and ${b.shape[b.ndim - 2]} differ)`);
  }
  const ba = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(op, ba, bb);
  } catch {
    throw new ShapeError(op, `batch dims ${fmtShape(ba)} and ${fmtShape(bb)} of ${fmtShape(shown[0].shape)} and ${fmtShape(shown[1].shape)} cannot be broadcast`);
  }
  // Smallest s such that batch dims s.. flatten into one strided dim for both operands.
  const flattens = (t: Tensor, s: number, rows: number, cols: number) =>
    viewStrides(t.shape.slice(s), t.strides.slice(s), [numel(batch.slice(s)), rows, cols]) !== null;
  // An operand whose batch dims do not flatten and that is not broadcast (e.g. [B,L,H,D] permuted
  // to [B,H,L,D], as attention passes) is made contiguous once: one copy of the operand, instead of
  // a product per leading batch index stacked (copied again) into the result.
  const flat = (t: Tensor, rows: number, cols: number) =>
    flattens(t, 0, rows, cols) || t.strides.slice(0, -2).some((st, d) => st === 0 && (t.shape[d] as number) > 1) ? t : t.contiguous();
  const ae = flat(cast(a, dt).expand([...batch, M, K]), M, K);
  const be = flat(cast(b, dt).expand([...batch, K, N]), K, N);
  let s = 0;
  while (s < batch.length && !(flattens(ae, s, M, K) && flattens(be, s, K, N))) s++;
  const inner = numel(batch.slice(s));
  const outer = batch.slice(0, s);
  const one = (x: Tensor, y: Tensor) => matmulOp(x.reshape([inner, M, K]), y.reshape([inner, K, N]), dt);
  let out: Tensor;
  if (outer.length === 0) out = one(ae, be);
  else {
    const parts: Tensor[] = [];
    const idx = new Array<number>(outer.length).fill(0);
    for (let i = 0; i < numel(outer); i++) {
      let x = ae;
      let y = be;
      for (const k of idx) {
        x = x.select(0, k);
        y = y.select(0, k);
      }
      parts.push(one(x, y));
      for (let d = outer.length - 1; d >= 0 && ++(idx[d] as number) === outer[d]; d--) idx[d] = 0;
    }
    out = stack(parts, 0);
  }
  return out.view([...batch, M, N]);
}

/**
 * torch.matmul: 1-D . 1-D is a dot product (0-dim); 2-D x 2-D a matrix product; a 1-D operand
 * gets a dim prepended (left) or appended (right) that is removed again; higher ranks are
 * batched products with the batch dims broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertTensor("matmul", a, "input");
  assertTensor("matmul", b, "other");
  commonDevice("matmul", [a, b]);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError("matmul", `both arguments need to be at least 1-D, but they are ${a.ndim}-D and ${b.ndim}-D (${fmtShape(a.shape)} and ${fmtShape(b.shape)})`);
  }
  const dt = productDtype("matmul", a, b);
  if (a.ndim === 1 && b.ndim === 1) {
    if (a.shape[0] !== b.shape[0]) {
      throw new ShapeError("matmul", `cannot multiply ${fmtShape(a.shape)} by ${fmtShape(b.shape)} (1-D tensors of different sizes ${a.shape[0]} and ${b.shape[0]})`);
    }
    return labelGrad(dotProduct(a, b, dt), "DotBackward0");
  }
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  const out = batchedProduct("matmul", a2, b2, dt, [a, b]);
  const shape = out.shape.filter((_, i) => !((a.ndim === 1 && i === out.ndim - 2) || (b.ndim === 1 && i === out.ndim - 1)));
  const r = shape.length === out.ndim ? out : out.view(shape);
  if (a.ndim >= 3 || b.ndim >= 3) return labelGrad(r, "UnsafeViewBackward0");
  if (a.ndim === 2) return labelGrad(r, b.ndim === 2 ? "MmBackward0" : "MvBackward0");
  return r;
}

function dotProduct(a: Tensor, b: Tensor, dt: DType): Tensor {
  const K = a.shape[0] as number;
  return matmulOp(cast(a, dt).view([1, 1, K]), cast(b, dt).view([1, K, 1]), dt).view([]);
}

/** torch.mm: 2-D x 2-D only. */
export function mm(a: Tensor, b: Tensor): Tensor {
  assertTensor("mm", a, "input");
  assertTensor("mm", b, "other");
  commonDevice("mm", [a, b]);
  if (a.ndim !== 2 || b.ndim !== 2) throw new ShapeError("mm", `expected 2-D tensors, got ${ndimName(a)} and ${ndimName(b)}`);
  return labelGrad(batchedProduct("mm", a, b, productDtype("mm", a, b), [a, b]), "MmBackward0");
}

/** torch.bmm: [B,M,K] x [B,K,N], equal batch sizes (no broadcasting). */
export function bmm(a: Tensor, b: Tensor): Tensor {
  assertTensor("bmm", a, "input");
  assertTensor("bmm", b, "other");
  commonDevice("bmm", [a, b]);
  if (a.ndim !== 3 || b.ndim !== 3) throw new ShapeError("bmm", `expected 3-D tensors, got ${ndimName(a)} and ${ndimName(b)}`);
  if (a.shape[0] !== b.shape[0]) throw new ShapeError("bmm", `batch sizes must be equal, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const dt = productDtype("bmm", a, b);
  if (a.shape[2] !== b.shape[1]) {
    throw new ShapeError("bmm", `cannot multiply ${fmtShape(a.shape)} by ${fmtShape(b.shape)} (inner dims ${a.shape[2]} and ${b.shape[1]} differ)`);
  }
  return labelGrad(matmulOp(cast(a, dt), cast(b, dt), dt), "BmmBackward0");
}

/** torch.mv: [M,K] x [K] -> [M]. */
export function mv(a: Tensor, v: Tensor): Tensor {
  assertTensor("mv", a, "input");
  assertTensor("mv", v, "v");
  commonDevice("mv", [a, v]);
  if (a.ndim !== 2 || v.ndim !== 1) throw new ShapeError("mv", `expected a 2-D matrix and a 1-D vector, got ${ndimName(a)} and ${ndimName(v)}`);
  const out = batchedProduct("mv", a, v.unsqueeze(1), productDtype("mv", a, v), [a, v]);
  return labelGrad(out.view([a.shape[0] as number]), "MvBackward0");
}

/** torch.dot: 1-D . 1-D of the same size and dtype -> 0-dim. */
export function dot(a: Tensor, b: Tensor): Tensor {
  assertTensor("dot", a, "input");
  assertTensor("dot", b, "other");
  return dotLike("dot", a, b);
}

/** torch.vdot: dot(conj(a), b); the same as dot for real dtypes. */
export function vdot(a: Tensor, b: Tensor): Tensor {
  assertTensor("vdot", a, "input");
  assertTensor("vdot", b, "other");
  return dotLike("vdot", a, b);
}

/** torch.inner for 1-D operands is dot; higher ranks contract the last dims. */
export function inner(a: Tensor, b: Tensor): Tensor {
  assertTensor("inner", a, "input");
  assertTensor("inner", b, "other");
  commonDevice("inner", [a, b]);
  if (a.ndim === 0 || b.ndim === 0) return binaryOp("mul", a, b);
  if (a.shape[a.ndim - 1] !== b.shape[b.ndim - 1]) {
    throw new ShapeError("inner", `last dimensions must match, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  return tensordot(a, b, [[a.ndim - 1], [b.ndim - 1]]);
}

function dotLike(op: string, a: Tensor, b: Tensor): Tensor {
  commonDevice(op, [a, b]);
  if (a.ndim !== 1 || b.ndim !== 1) throw new ShapeError(op, `1-D tensors expected, but got ${ndimName(a)} and ${ndimName(b)}`);
  if (a.dtype !== b.dtype) throw new DTypeError(op, `expected both vectors to have same dtype, but found ${a.dtype} and ${b.dtype}`);
  const dt = productDtype(op, a, b);
  if (a.shape[0] !== b.shape[0]) {
    throw new ShapeError(op, `inconsistent tensor size: ${fmtShape(a.shape)} and ${fmtShape(b.shape)} must have the same number of elements`);
  }
  return labelGrad(dotProduct(a, b, dt), op === "vdot" ? "VdotBackward0" : "DotBackward0");
}

/** torch.outer (ger): a[:, None] * b[None, :] for 1-D a and b. */
export function outer(a: Tensor, b: Tensor): Tensor {
  assertTensor("outer", a, "input");
  assertTensor("outer", b, "other");
  commonDevice("outer", [a, b]);
  if (a.ndim !== 1 || b.ndim !== 1) throw new ShapeError("outer", `expected 1-D arguments, got ${ndimName(a)} and ${ndimName(b)}`);
  return binaryOp("mul", a.unsqueeze(1), b.unsqueeze(0));
}

export const ger = outer;

/** Scales t by s (skipped when s is 1); integer results take the integer part of s, as PyTorch casts it. */
function scaled(t: Tensor, s: number, dt: DType): Tensor {
  const k = isIntegral(dt) ? Math.trunc(s) : s;
  return k === 1 ? t : binaryOp("mul", t, k, dt);
}

/** beta * input + alpha * product, input broadcast to product's shape; beta = 0 ignores input (NaN included). */
function addScaled(op: string, input: Tensor, product: Tensor, beta: number, alpha: number): Tensor {
  commonDevice(op, [input, product]);
  let ok = true;
  try {
    ok = broadcastShapes(op, input.shape, product.shape).join() === product.shape.join();
  } catch {
    ok = false;
  }
  if (!ok) throw new ShapeError(op, `input of shape ${fmtShape(input.shape)} cannot be broadcast to the product's shape ${fmtShape(product.shape)}`);
  const dt = promoteTypes(input.dtype, product.dtype);
  const p = scaled(product, alpha, dt);
  if (beta === 0) return cast(p, dt);
  return binaryOp("add", scaled(input, beta, dt), p, dt);
}

/** torch.addmm: beta * input + alpha * (a @ b) with 2-D a and b. */
export function addmm(input: Tensor, a: Tensor, b: Tensor, options: { beta?: number; alpha?: number } = {}): Tensor {
  assertTensor("addmm", input, "input");
  assertTensor("addmm", a, "input");
  assertTensor("addmm", b, "other");
  commonDevice("addmm", [input, a, b]);
  if (a.ndim !== 2 || b.ndim !== 2) throw new ShapeError("addmm", `expected 2-D matrices, got ${ndimName(a)} and ${ndimName(b)}`);
  const prod = batchedProduct("addmm", a, b, productDtype("addmm", a, b), [a, b]);
  return labelGrad(addScaled("addmm", input, prod, options.beta ?? 1, options.alpha ?? 1), "AddmmBackward0");
}

/** torch.baddbmm: beta * input + alpha * bmm(a, b). */
export function baddbmm(input: Tensor, a: Tensor, b: Tensor, options: { beta?: number; alpha?: number } = {}): Tensor {
  assertTensor("baddbmm", input, "input");
  assertTensor("baddbmm", a, "input");
  assertTensor("baddbmm", b, "other");
  commonDevice("baddbmm", [input, a, b]);
  return labelGrad(addScaled("baddbmm", input, bmm(a, b), options.beta ?? 1, options.alpha ?? 1), "BaddbmmBackward0");
}

/** torch.addmv: beta * input + alpha * (mat @ vec). */
export function addmv(input: Tensor, mat: Tensor, vec: Tensor, options: { beta?: number; alpha?: number } = {}): Tensor {
  assertTensor("addmv", input, "input");
  assertTensor("addmv", mat, "mat");
  assertTensor("addmv", vec, "vec");
  commonDevice("addmv", [input, mat, vec]);
  return labelGrad(addScaled("addmv", input, mv(mat, vec), options.beta ?? 1, options.alpha ?? 1), "AddmvBackward0");
}

/**
 * torch.tensordot: contracts dims `dims[0]` of a with `dims[1]` of b, or the last n dims of a with
 * the first n of b when dims is a number. Result dims: a's free dims, then b's.
 */
export function tensordot(a: Tensor, b: Tensor, dims: number | readonly [readonly number[], readonly number[]] = 2): Tensor {
  assertTensor("tensordot", a, "input");
  assertTensor("tensordot", b, "other");
  commonDevice("tensordot", [a, b]);
  if (typeof dims !== "number" && !(Array.isArray(dims) && dims.length === 2 && dims.every(Array.isArray))) {
    throw new ArgumentError("tensordot", `argument 'dims' must be an integer or a pair of dim arrays, but got ${describeValue(dims)}`);
  }
  let da: number[];
  let db: number[];
  if (typeof dims === "number") {
    if (!Number.isInteger(dims) || dims < 0 || dims > a.ndim || dims > b.ndim) {
      throw new ArgumentError("tensordot", `dims must be an integer in [0, ${Math.min(a.ndim, b.ndim)}], got ${dims}`);
    }
    da = Array.from({ length: dims }, (_, i) => a.ndim - dims + i);
    db = Array.from({ length: dims }, (_, i) => i);
  } else {
    if (dims[0].length !== dims[1].length) throw new ArgumentError("tensordot", `both dimension lists should have the same length, got ${fmtShape(dims[0])} and ${fmtShape(dims[1])}`);
    da = dims[0].map((d) => (d < 0 ? d + a.ndim : d));
    db = dims[1].map((d) => (d < 0 ? d + b.ndim : d));
  }
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (a.ndim + b.ndim > letters.length) throw new ArgumentError("tensordot", "too many dimensions");
  const la = Array.from({ length: a.ndim }, (_, i) => letters[i] as string);
  const lb = Array.from({ length: b.ndim }, (_, i) => letters[a.ndim + i] as string);
  da.forEach((d, i) => {
    const e = db[i] as number;
    if (d < 0 || d >= a.ndim || e < 0 || e >= b.ndim) throw new ArgumentError("tensordot", `dimension out of range in dims ${fmtShape(da)} / ${fmtShape(db)}`);
    if (a.shape[d] !== b.shape[e]) {
      throw new ShapeError("tensordot", `contracted dimensions need to match, but first has size ${a.shape[d]} in dim ${d} and second has size ${b.shape[e]} in dim ${e}`);
    }
    lb[e] = la[d] as string;
  });
  const out = [...la.filter((_, i) => !da.includes(i)), ...lb.filter((_, i) => !db.includes(i))];
  return einsum(`${la.join("")},${lb.join("")}->${out.join("")}`, a, b);
}

// ---- triangles and trace ----

function triangle(op: "tril" | "triu", x: Tensor, diagonal: number): Tensor {
  x._assertLive(op);
  if (x.ndim < 2) throw new ShapeError(op, `input tensor must have at least 2 dimensions, got ${fmtShape(x.shape)}`);
  if (!Number.isInteger(diagonal)) throw new ArgumentError(op, `diagonal must be an integer, got ${diagonal}`);
  const M = x.shape[x.ndim - 2] as number;
  const N = x.shape[x.ndim - 1] as number;
  // col - row compared with the diagonal offset: a bool [M, N] mask broadcast over the batch.
  const rows = arange(0, M, { device: x.device }).view([M, 1]);
  const cols = arange(0, N, { device: x.device }).view([1, N]);
  const diff = binaryOp("sub", cols, rows);
  const mask = binaryOp(op === "tril" ? "le" : "ge", diff, diagonal, "int64", "bool");
  return labelGrad(whereOp(mask, x, x.dtype === "bool" ? false : 0), op === "tril" ? "TrilBackward0" : "TriuBackward0");
}

/** torch.tril: keeps elements on and below the `diagonal`-th diagonal of the last two dims. */
export function tril(x: Tensor, diagonal = 0): Tensor {
  assertTensor("tril", x, "input");
  return triangle("tril", x, diagonal);
}

/** torch.triu: keeps elements on and above the `diagonal`-th diagonal of the last two dims. */
export function triu(x: Tensor, diagonal = 0): Tensor {
  assertTensor("triu", x, "input");
  return triangle("triu", x, diagonal);
}

/** torch.trace: sum of the main diagonal of a 2-D tensor (integers sum to int64). */
export function trace(x: Tensor): Tensor {
  assertTensor("trace", x, "input");
  x._assertLive("trace");
  if (x.ndim !== 2) throw new ShapeError("trace", `expected a matrix, but got tensor with shape ${fmtShape(x.shape)}`);
  if (x.dtype === "bool") throw new DTypeError("trace", "not implemented for bool tensors");
  const dt: DType = isIntegral(x.dtype) ? "int64" : x.dtype;
  return labelGrad(reduceOp("sum", x.diagonal(), undefined, false, dt), "TraceBackward0");
}

// ---- einsum ----

const ELLIPSIS = -1;
const ELL_BASE = 52; // label ids: A-Z 0..25, a-z 26..51, ellipsis dims from 52

function labelChar(id: number): string {
  return id < 26 ? String.fromCharCode(65 + id) : id < ELL_BASE ? String.fromCharCode(97 + id - 26) : "...";
}

/** Parses one term into label ids (ELLIPSIS for '...'), checking characters. */
function parseTerm(eq: string, start: number, end: number, what: string): number[] {
  const out: number[] = [];
  let ell = false;
  for (let i = start; i < end; i++) {
    const c = eq[i] as string;
    if (c === " ") continue;
    if (c === ".") {
      if (ell) throw new ArgumentError("einsum", `found '.' for ${what} for which an ellipsis was already found`);
      if (eq.slice(i, i + 3) !== "..." || i + 3 > end) throw new ArgumentError("einsum", `found '.' for ${what} that is not part of any ellipsis`);
      ell = true;
      out.push(ELLIPSIS);
      i += 2;
    } else if (/[A-Z]/.test(c)) out.push(c.charCodeAt(0) - 65);
    else if (/[a-z]/.test(c)) out.push(c.charCodeAt(0) - 97 + 26);
    else throw new ArgumentError("einsum", `invalid subscript given at index ${i} in the equation string, subscripts must be in [a-zA-Z]`);
  }
  return out;
}

interface Term {
  t: Tensor;
  labels: number[];
}

/**
 * torch.einsum. Implicit ('ij,jk') and explicit ('ij,jk->ik') outputs, ellipsis broadcasting,
 * repeated subscripts within an operand (diagonals), size-1 broadcasting of subscripts, and
 * summation over subscripts missing from the output. Operands are promoted to a common dtype.
 * Operands are contracted left to right: subscripts only one side still needs are summed first,
 * then the pair becomes one batched matmul (or a broadcast multiply when nothing is contracted).
 */
export function einsum(equation: string, ...operands: (Tensor | readonly Tensor[])[]): Tensor {
  const ops: Tensor[] = operands.length === 1 && Array.isArray(operands[0]) ? [...(operands[0] as Tensor[])] : (operands as Tensor[]);
  if (ops.length === 0) throw new ArgumentError("einsum", "must specify the equation string and at least one operand");
  commonDevice("einsum", ops);
  const arrow = equation.indexOf("->");
  if (arrow >= 0 && equation.indexOf("->", arrow + 2) >= 0) throw new ArgumentError("einsum", "the equation may contain at most one '->'");
  const lhsEnd = arrow >= 0 ? arrow : equation.length;
  // Split the left side on commas, keeping absolute positions for error messages.
  const terms: number[][] = [];
  let from = 0;
  for (let i = 0; i <= lhsEnd; i++) {
    if (i === lhsEnd || equation[i] === ",") {
      terms.push(parseTerm(equation, from, i, `operand ${terms.length}`));
      from = i + 1;
    }
  }
  if (terms.length > ops.length) throw new ArgumentError("einsum", `fewer operands were provided (${ops.length}) than specified in the equation (${terms.length})`);
  if (terms.length < ops.length) throw new ArgumentError("einsum", `more operands were provided (${ops.length}) than specified in the equation (${terms.length})`);

  // Ellipsis dims get ids ELL_BASE.. aligned to the right across operands (they broadcast).
  const ellDims = terms.map((term, i) => {
    const t = ops[i] as Tensor;
    const n = term.filter((l) => l !== ELLIPSIS).length;
    if (!term.includes(ELLIPSIS)) {
      if (n !== t.ndim) throw new ShapeError("einsum", `the number of subscripts in the equation (${n}) does not match the number of dimensions (${t.ndim}) for operand ${i} ${fmtShape(t.shape)} and no ellipsis was given`);
      return 0;
    }
    if (n > t.ndim) throw new ShapeError("einsum", `the number of subscripts in the equation (${n}) is more than the number of dimensions (${t.ndim}) for operand ${i} ${fmtShape(t.shape)}`);
    return t.ndim - n;
  });
  const E = Math.max(0, ...ellDims);
  const ellIds = Array.from({ length: E }, (_, k) => ELL_BASE + k);
  const expanded = terms.map((term, i) => term.flatMap((l) => (l === ELLIPSIS ? ellIds.slice(E - (ellDims[i] as number)) : [l])));

  // Output labels.
  let output: number[];
  if (arrow >= 0) {
    const rhs = parseTerm(equation, arrow + 2, equation.length, "output");
    const seen = new Set(expanded.flat());
    output = [];
    for (const l of rhs) {
      if (l === ELLIPSIS) output.push(...ellIds);
      else {
        if (output.includes(l)) throw new ArgumentError("einsum", `output subscript ${labelChar(l)} appears more than once in the output`);
        if (!seen.has(l)) throw new ArgumentError("einsum", `output subscript ${labelChar(l)} does not appear in the equation for any input operand`);
        output.push(l);
      }
    }
  } else {
    const count = new Map<number, number>();
    for (const l of expanded.flat()) if (l < ELL_BASE) count.set(l, (count.get(l) ?? 0) + 1);
    output = [...ellIds, ...[...count.keys()].filter((l) => count.get(l) === 1).sort((x, y) => x - y)];
  }

  // Diagonals for repeated subscripts, then check that each subscript's sizes broadcast.
  const dt = ops.map((t) => t.dtype).reduce(promoteTypes);
  const sizes = new Map<number, number>();
  const items: Term[] = ops.map((t0, i) => {
    let t = cast(t0, dt);
    const labels = [...(expanded[i] as number[])];
    for (let p = 0; p < labels.length; p++) {
      const q = labels.indexOf(labels[p] as number, p + 1);
      if (q < 0) continue;
      if (t.shape[p] !== t.shape[q]) {
        throw new ShapeError("einsum", `subscript ${labelChar(labels[p] as number)} is repeated for operand ${i} but the sizes don't match, ${t.shape[p]} != ${t.shape[q]}`);
      }
      const l = labels[p] as number;
      t = t.diagonal(0, p, q);
      labels.splice(q, 1);
      labels.splice(p, 1);
      labels.push(l);
      p = -1; // rescan: positions moved
    }
    labels.forEach((l, d) => {
      const s = t.shape[d] as number;
      const prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, s);
      else if (s !== prev && s !== 1) {
        const what = l >= ELL_BASE ? `dimension ${l - ELL_BASE} covered by ellipsis` : `subscript ${labelChar(l)}`;
        throw new ShapeError("einsum", `${what} has size ${s} for operand ${i} ${fmtShape(t0.shape)} which does not broadcast with previously seen size ${prev}`);
      }
    });
    return { t, labels };
  });

  let acc = items[0] as Term;
  for (let i = 1; i < items.length; i++) {
    const needed = new Set([...output, ...items.slice(i + 1).flatMap((x) => x.labels)]);
    acc = contractPair(acc, items[i] as Term, needed);
  }
  acc = sumOut(acc, new Set(output), new Set());
  // Output subscripts missing from every operand cannot happen (checked above); permute into place.
  return acc.labels.length === 0 ? acc.t : acc.t.permute(output.map((l) => acc.labels.indexOf(l)));
}

/** Sums over labels that are neither needed later nor shared with `other`. */
function sumOut(x: Term, needed: ReadonlySet<number>, other: ReadonlySet<number>): Term {
  const dims = x.labels.map((l, d) => (needed.has(l) || other.has(l) ? -1 : d)).filter((d) => d >= 0);
  if (dims.length === 0) return x;
  // Summing integers gives int64, as torch.sum does inside PyTorch's einsum.
  const dt: DType = isIntegral(x.t.dtype, true) ? "int64" : x.t.dtype;
  return { t: reduceOp("sum", x.t, dims, false, dt), labels: x.labels.filter((_, d) => !dims.includes(d)) };
}

function contractPair(a0: Term, b0: Term, needed: ReadonlySet<number>): Term {
  let a = sumOut(a0, needed, new Set(b0.labels));
  let b = sumOut(b0, needed, new Set(a.labels));
  // A contracted subscript of size 1 on one side and n on the other: sum the n side first.
  for (const l of a.labels.filter((l) => b.labels.includes(l) && !needed.has(l))) {
    const sa = a.t.shape[a.labels.indexOf(l)] as number;
    const sb = b.t.shape[b.labels.indexOf(l)] as number;
    if (sa === sb) continue;
    const [big, small] = sa === 1 ? [b, a] : [a, b];
    const ds = small.labels.indexOf(l);
    const shrunk = { t: small.t.select(ds, 0), labels: small.labels.filter((x) => x !== l) };
    const summed = sumOut(big, new Set([...needed, ...big.labels.filter((x) => x !== l)]), new Set());
    if (sa === 1) [a, b] = [shrunk, summed];
    else [a, b] = [summed, shrunk];
  }
  const batch = a.labels.filter((l) => b.labels.includes(l) && needed.has(l));
  const sum = a.labels.filter((l) => b.labels.includes(l) && !needed.has(l));
  const aOnly = a.labels.filter((l) => !b.labels.includes(l));
  const bOnly = b.labels.filter((l) => !a.labels.includes(l));
  const size = (x: Term, l: number) => x.t.shape[x.labels.indexOf(l)] as number;
  const perm = (x: Term, order: number[]) => x.t.permute(order.map((l) => x.labels.indexOf(l)));
  const labels = [...batch, ...aOnly, ...bOnly];
  if (sum.length === 0) {
    // Nothing to contract: a broadcast elementwise product.
    const ta = perm(a, [...batch, ...aOnly]).reshape([...batch.map((l) => size(a, l)), ...aOnly.map((l) => size(a, l)), ...bOnly.map(() => 1)]);
    const tb = perm(b, [...batch, ...bOnly]).reshape([...batch.map((l) => size(b, l)), ...aOnly.map(() => 1), ...bOnly.map((l) => size(b, l))]);
    return { t: binaryOp("mul", ta, tb), labels };
  }
  const M = numel(aOnly.map((l) => size(a, l)));
  const K = numel(sum.map((l) => size(a, l)));
  const N = numel(bOnly.map((l) => size(b, l)));
  const ta = perm(a, [...batch, ...aOnly, ...sum]).reshape([...batch.map((l) => size(a, l)), M, K]);
  const tb = perm(b, [...batch, ...sum, ...bOnly]).reshape([...batch.map((l) => size(b, l)), K, N]);
  const prod = batchedProduct("einsum", ta, tb, productDtype("einsum", ta, tb), [ta, tb]);
  const batchShape = prod.shape.slice(0, batch.length);
  return { t: prod.view([...batchShape, ...aOnly.map((l) => size(a, l)), ...bOnly.map((l) => size(b, l))]), labels };
}
