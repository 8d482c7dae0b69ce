import { type Tensor, type TensorLike, binaryOp, full, reduceOp, unaryOp, whereOp } from "@dl/tensor";

// Gradient formulas are written with @dl/tensor's primitives, so they run on every backend and,
// under createGraph, are themselves recorded (higher-order gradients).

export const add = (a: TensorLike, b: TensorLike) => binaryOp("add", a, b);
export const sub = (a: TensorLike, b: TensorLike) => binaryOp("sub", a, b);
export const mul = (a: TensorLike, b: TensorLike) => binaryOp("mul", a, b);
export const div = (a: TensorLike, b: TensorLike) => binaryOp("div", a, b);
export const neg = (a: Tensor) => unaryOp("neg", a);
export const un = (op: Parameters<typeof unaryOp>[0], a: Tensor) => unaryOp(op, a);
export const cmp = (op: "eq" | "ne" | "lt" | "le" | "gt" | "ge", a: TensorLike, b: TensorLike) => {
  const t = a as Tensor;
  return binaryOp(op, a, b, undefined, "bool") as Tensor & { _cmp?: typeof t };
};
export const where = (c: Tensor, a: TensorLike, b: TensorLike) => whereOp(c, a, b);
export const zerosOf = (shape: readonly number[], like: Tensor) => full(shape, 0, { dtype: like.dtype, device: like.device });

/** Sums a broadcast gradient back to an input's shape. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((s, i) => s === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  const r = dims.length ? reduceOp("sum", g, dims, true, g.dtype) : g;
  return r.reshape(shape);
}
