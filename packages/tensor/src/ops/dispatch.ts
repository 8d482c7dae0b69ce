import {
  type ArgReduceOp,
  type Backend,
  type BinaryOp,
  type ReduceOp,
  type ScanOp,
  type ScatterReduce,
  type UnaryOp,
  getBackend,
  getDefaultDevice,
} from "../backend.js";
import { autocastDtype } from "../autocast.js";
import { type DType, canCast, resultType } from "../dtype.js";
import { ArgumentError, DLError, DTypeError, DeviceError, ShapeError, describeValue, fmtShape } from "../errors.js";
import { gradState } from "../grad-hooks.js";
import { broadcastShapes, broadcastStrides, normalizeDim, normalizeDims, shapesEqual } from "../shape.js";
import { Tensor, record } from "../tensor.js";

/**
 * The layer between ops and backends: device checks, scalar wrapping, dtype promotion and
 * broadcasting, then one backend primitive, wrapped as a Tensor and reported to autograd.
 * Every op in @dl/tensor reaches a backend through these functions.
 */

export type Scalar = number | boolean;
export type TensorLike = Tensor | Scalar;

/**
 * Every public op checks its tensor arguments first, so plain JavaScript (or an `any`) gets an
 * ArgumentError naming the op, the argument and what was expected instead of a TypeError from deep
 * inside ("x._assertLive is not a function").
 */
export function assertTensor(op: string, v: unknown, name = "input"): asserts v is Tensor {
  if (!(v instanceof Tensor)) throw new ArgumentError(op, `argument '${name}' must be a Tensor, but got ${describeValue(v)}${listHint(v)}`);
}

/** A list of tensors (cat, stack): an array whose every element is a Tensor. */
export function assertTensorList(op: string, v: unknown, name = "tensors"): asserts v is readonly Tensor[] {
  if (!Array.isArray(v)) throw new ArgumentError(op, `argument '${name}' must be an array of Tensors, but got ${describeValue(v)}`);
  v.forEach((t, i) => {
    if (!(t instanceof Tensor))
      throw new ArgumentError(op, `argument '${name}' must be an array of Tensors, but element ${i} is ${describeValue(t)}`);
  });
}

// Nested arrays are not converted, as PyTorch does not convert lists for tensor arguments.
const listHint = (v: unknown): string =>
  Array.isArray(v) ? " (nested arrays are not converted, as in PyTorch: wrap it with tensor(...))" : "";

/** A tensor or a Python-style scalar (number or boolean) argument. */
export function assertTensorLike(op: string, v: unknown, name = "other"): asserts v is TensorLike {
  if (!(v instanceof Tensor) && typeof v !== "number" && typeof v !== "boolean") {
    throw new ArgumentError(op, `argument '${name}' must be a Tensor or a number, but got ${describeValue(v)}${listHint(v)}`);
  }
}

/** Checks that all tensors of an op live on one device and returns it. */
export function commonDevice(op: string, tensors: readonly Tensor[]): string {
  let device: string | undefined;
  for (const t of tensors) {
    assertTensor(op, t, "tensors");
    t._assertLive(op);
    if (device === undefined) device = t.device;
    else if (t.device !== device) {
      throw new DeviceError(op, `expected all tensors to be on the same device, but found at least two devices, ${device} and ${t.device}`);
    }
  }
  return device ?? getDefaultDevice();
}

/** A 0-dim tensor holding a scalar, on the given device. */
export function scalarTensor(value: Scalar, dtype: DType, device: string): Tensor {
  const b = getBackend(device);
  return Tensor.fromData(b, device, b.upload([Number(value)], dtype), dtype, []);
}

/** Wraps scalars as 0-dim tensors of `dtype` on the device of the tensor operands. */
export function wrap(op: string, values: readonly TensorLike[], dtype: DType): Tensor[] {
  values.forEach((v, i) => {
    assertTensorLike(op, v, operandName(values.length, i));
  });
  const device = commonDevice(
    op,
    values.filter((v): v is Tensor => v instanceof Tensor),
  );
  return values.map((v) => (v instanceof Tensor ? v : scalarTensor(v, dtype, device)));
}

/** PyTorch's names of an elementwise op's operands: input, other (where: condition, input, other). */
function operandName(n: number, i: number): string {
  return (n === 3 ? ["condition", "input", "other"] : ["input", "other"])[i] ?? `operand ${i}`;
}

/** result_type of tensors and scalars. */
export function promote(...values: readonly TensorLike[]): DType {
  return resultType(...values.map((v) => (v instanceof Tensor ? { dtype: v.dtype, ndim: v.ndim } : v)));
}

export function wrapResult(backend: Backend, device: string, data: unknown, dtype: DType, shape: readonly number[]): Tensor {
  return Tensor.fromData(backend, device, data, dtype, shape);
}

/** Reads a tensor as if broadcast to `shape` (stride 0 on expanded dims). */
export function broadcastRef(t: Tensor, shape: readonly number[]) {
  return { ...t.ref, shape, strides: broadcastStrides(t.shape, t.strides, shape) };
}

/** Elementwise unary primitive; `dtype` is the result dtype. */
export function unaryOp(op: UnaryOp, x: Tensor, dtype?: DType): Tensor {
  assertTensor(op, x);
  x._assertLive(op);
  dtype ??= x.dtype;
  const out = wrapResult(x.backend, x.device, x.backend.unary(op, x.ref, dtype), dtype, x.shape);
  return record(op, [x], out);
}

/**
 * Elementwise binary primitive with broadcasting. Operands are converted to `computeDtype`
 * (default: their promoted type); the result has `outDtype` (default: computeDtype).
 */
export function binaryOp(op: BinaryOp, a: TensorLike, b: TensorLike, computeDtype?: DType, outDtype?: DType): Tensor {
  assertTensorLike(op, a, "input");
  assertTensorLike(op, b, "other");
  const ct = computeDtype ?? promote(a, b);
  const [ta, tb] = wrap(op, [a, b], ct) as [Tensor, Tensor];
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  const ca = ta.dtype === ct ? ta : ta.to(ct);
  const cb = tb.dtype === ct ? tb : tb.to(ct);
  const od = outDtype ?? ct;
  const be = ca.backend;
  const out = wrapResult(be, ca.device, be.binary(op, broadcastRef(ca, shape), broadcastRef(cb, shape), od), od, shape);
  return record(op, [ca, cb], out);
}

/** cond ? a : b, broadcasting all three. */
export function whereOp(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  assertTensor("where", cond, "condition");
  assertTensorLike("where", a, "input");
  assertTensorLike("where", b, "other");
  const dt = promote(a, b);
  const [tc, ta, tb] = wrap("where", [cond, a, b], dt) as [Tensor, Tensor, Tensor];
  const shape = broadcastShapes("where", tc.shape, ta.shape, tb.shape);
  const ca = ta.dtype === dt ? ta : ta.to(dt);
  const cb = tb.dtype === dt ? tb : tb.to(dt);
  const be = ca.backend;
  const data = be.where(broadcastRef(tc, shape), broadcastRef(ca, shape), broadcastRef(cb, shape), dt);
  return record("where", [ca, cb], wrapResult(be, ca.device, data, dt, shape), { cond: tc });
}

/** Reduction primitive over dims (all when undefined); keepdim as PyTorch. */
export function reduceOp(op: ReduceOp, x: Tensor, dims: readonly number[] | undefined, keepdim: boolean, dtype: DType): Tensor {
  assertTensor(op, x);
  x._assertLive(op);
  const d = dims === undefined || dims.length === 0 ? [...x.shape.keys()] : normalizeDims(op, dims, x.ndim);
  const kept = x.shape.map((s, i) => (d.includes(i) ? 1 : s));
  const data = x.backend.reduce(op, x.ref, d, dtype);
  let out = record(op, [x], wrapResult(x.backend, x.device, data, dtype, kept), { dims: d });
  if (!keepdim) out = out.view(x.shape.filter((_, i) => !d.includes(i)));
  return out;
}

/** Index of max/min along dim (int64), keepdim as PyTorch. */
export function argReduceOp(op: ArgReduceOp, x: Tensor, dim: number, keepdim: boolean): Tensor {
  assertTensor(op, x);
  x._assertLive(op);
  const d = normalizeDim(op, dim, x.ndim);
  const kept = x.shape.map((s, i) => (i === d ? 1 : s));
  const out = wrapResult(x.backend, x.device, x.backend.argReduce(op, x.ref, d), "int64", kept);
  return keepdim ? out : out.view(x.shape.filter((_, i) => i !== d));
}

/** Inclusive scan along dim; `indices` for cummax/cummin. */
export function scanOp(op: ScanOp, x: Tensor, dim: number, dtype?: DType): { values: Tensor; indices?: Tensor } {
  assertTensor(op, x);
  x._assertLive(op);
  dtype ??= x.dtype;
  const d = normalizeDim(op, dim, x.ndim);
  const r = x.backend.scan(op, x.ref, d, dtype);
  const indices = r.indices === undefined ? undefined : wrapResult(x.backend, x.device, r.indices, "int64", x.shape);
  const values = record(op, [x], wrapResult(x.backend, x.device, r.values, dtype, x.shape), { dim: d, indices });
  return { values, indices };
}

/** Sort indices along dim (values are obtained differentiably with gatherOp). */
export function sortIndices(x: Tensor, dim: number, descending: boolean): Tensor {
  assertTensor("sort", x);
  x._assertLive("sort");
  const d = normalizeDim("sort", dim, x.ndim);
  const r = x.backend.sort(x.ref, d, descending);
  x.backend.dispose(r.values);
  return wrapResult(x.backend, x.device, r.indices, "int64", x.shape);
}

/** torch.gather primitive (index int64/int32, same ndim as x). */
export function gatherOp(x: Tensor, dim: number, index: Tensor): Tensor {
  assertTensor("gather", x);
  assertTensor("gather", index, "index");
  commonDevice("gather", [x, index]);
  const d = normalizeDim("gather", dim, x.ndim);
  const out = wrapResult(x.backend, x.device, x.backend.gather(x.ref, d, index.ref), x.dtype, index.shape);
  return record("gather", [x], out, { dim: d, index });
}

/** Scatter primitive: a copy of base with src combined in at index along dim. */
export function scatterOp(base: Tensor, dim: number, index: Tensor, src: Tensor, reduce: ScatterReduce): Tensor {
  assertTensor("scatter", base);
  assertTensor("scatter", index, "index");
  assertTensor("scatter", src, "src");
  commonDevice("scatter", [base, index, src]);
  const d = normalizeDim("scatter", dim, base.ndim);
  const data = base.backend.scatter(base.ref, d, index.ref, src.ref, reduce);
  return record("scatter", [base, src], wrapResult(base.backend, base.device, data, base.dtype, base.shape), { dim: d, index, reduce });
}

/** Batched matmul primitive on 3-D operands [B,M,K] x [B,K,N] (batch dims may be stride-0 broadcast). */
export function matmulOp(a: Tensor, b: Tensor, dtype: DType): Tensor {
  assertTensor("matmul", a);
  assertTensor("matmul", b, "other");
  const cast = autocastDtype(dtype);
  if (cast !== dtype) {
    // Under autocast the product runs in half precision (the casts are recorded for autograd).
    return matmulOp(a.dtype === cast ? a : a.to(cast), b.dtype === cast ? b : b.to(cast), cast);
  }
  const shape = [a.shape[0] as number, a.shape[1] as number, b.shape[2] as number];
  const data = a.backend.matmul(a.ref, b.ref, dtype);
  return record("matmul", [a, b], wrapResult(a.backend, a.device, data, dtype, shape));
}

/**
 * PyTorch's assert_no_internal_overlap: writing into a tensor where several elements share one
 * memory location (an expanded, stride-0 view) is an error, since the result would depend on
 * the order of the writes.
 */
export function assertNoInternalOverlap(op: string, x: Tensor): void {
  for (let d = 0; d < x.ndim; d++) {
    if (x.strides[d] === 0 && (x.shape[d] as number) > 1) {
      throw new ArgumentError(
        op,
        `unsupported operation: more than one element of the written-to tensor refers to a single memory location (shape ${fmtShape(x.shape)}, strides ${fmtShape(x.strides)}); clone() the tensor first`,
      );
    }
  }
}

/**
 * Writes `value` into x in place (x.copy_(value) semantics: broadcast to x's shape, cast to x's
 * dtype). Validates everything before writing; bumps the storage version for autograd.
 */
export function writeInPlace(op: string, x: Tensor, value: TensorLike, anyCast = false): Tensor {
  assertTensor(op, x, "self");
  assertTensorLike(op, value, anyCast ? "src" : "value");
  assertNoInternalOverlap(op, x);
  if (gradState.enabled && x.requiresGrad && x.isLeaf) {
    throw new DLError(op, "a leaf tensor that requires grad is being used in an in-place operation");
  }
  if (gradState.enabled && x._base?.requiresGrad && x._base.isLeaf) {
    throw new DLError(op, "a view of a leaf tensor that requires grad is being used in an in-place operation");
  }
  x._assertLive(op);
  // A scalar is made on x's device (not the default one: zero_() on a gpu tensor under a cpu default).
  let v = value instanceof Tensor ? value : scalarTensor(value, x.dtype, x.device);
  // A scalar wrapped here, or a copy moved to x's device, is freed once written.
  let temporary = !(value instanceof Tensor);
  if (anyCast && v.device !== x.device) {
    v = v.to(x.device);
    temporary = true;
  }
  commonDevice(op, [x, v]);
  const shape = broadcastShapes(op, x.shape, v.shape);
  if (!shapesEqual(shape, x.shape)) {
    throw new ShapeError(op, `output with shape ${fmtShape(x.shape)} doesn't match the broadcast shape ${fmtShape(shape)}`);
  }
  if (!anyCast && !canCast(v.dtype, x.dtype)) {
    throw new DTypeError(op, `result type ${v.dtype} can't be cast to the desired output type ${x.dtype}`);
  }
  // Autograd: x (and its base, when x is a view) takes on the history of the written values
  // (x.add_(y) wrote x + y), or loses its old history where constants overwrote it.
  const recorder = gradState.recorder;
  let history: Tensor | null = null;
  if (recorder !== null && gradState.enabled && (v.requiresGrad || x.requiresGrad || x._base?.requiresGrad)) {
    history = v;
    if (!shapesEqual(history.shape, x.shape)) history = history.expand(x.shape);
    if (history.dtype !== x.dtype) history = history.to(x.dtype);
  }
  if (history !== null && v.requiresGrad) recorder?.prepareWrite(x, v);
  x.backend.write(x.ref, broadcastRef(v, x.shape));
  x._storage.version++;
  if (history !== null) recorder?.rebase(x, history);
  if (temporary) v.dispose();
  return x;
}
