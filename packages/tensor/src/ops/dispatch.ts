import { type Backend, type BinaryOp, type ReduceOp, type UnaryOp, getBackend, getDefaultDevice } from "../backend.js";
import { type DType, resultType } from "../dtype.js";
import { DeviceError, fmtShape } from "../errors.js";
import { broadcastShapes, broadcastStrides, normalizeDims } from "../shape.js";
import { Tensor, record } from "../tensor.js";

/**
 * The layer between ops and backends: device checks, scalar wrapping, dtype promotion and
 * broadcasting, then one backend primitive, wrapped as a Tensor and reported to autograd.
 * Every op in @dl/tensor reaches a backend through these functions.
 */

export type Scalar = number | boolean;
export type TensorLike = Tensor | Scalar;

/** Checks that all tensors of an op live on one device and returns it. */
export function commonDevice(op: string, tensors: readonly Tensor[]): string {
  let device: string | undefined;
  for (const t of tensors) {
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
  const device = commonDevice(op, values.filter((v): v is Tensor => v instanceof Tensor));
  return values.map((v) => (v instanceof Tensor ? v : scalarTensor(v, dtype, device)));
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
export function unaryOp(op: UnaryOp, x: Tensor, dtype: DType = x.dtype): Tensor {
  x._assertLive(op);
  const out = wrapResult(x.backend, x.device, x.backend.unary(op, x.ref, dtype), dtype, x.shape);
  return record(op, [x], out);
}

/**
 * Elementwise binary primitive with broadcasting. Operands are converted to `computeDtype`
 * (default: their promoted type); the result has `outDtype` (default: computeDtype).
 */
export function binaryOp(op: BinaryOp, a: TensorLike, b: TensorLike, computeDtype?: DType, outDtype?: DType): Tensor {
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
  x._assertLive(op);
  const d = dims === undefined || dims.length === 0 ? [...x.shape.keys()] : normalizeDims(op, dims, x.ndim);
  const kept = x.shape.map((s, i) => (d.includes(i) ? 1 : s));
  const data = x.backend.reduce(op, x.ref, d, dtype);
  let out = record(op, [x], wrapResult(x.backend, x.device, data, dtype, kept), { dims: d });
  if (!keepdim) out = out.view(x.shape.filter((_, i) => !d.includes(i)));
  return out;
}

export { fmtShape };
