import { noGrad } from "@dl/autograd";
import { add, mul, reduceOp, tensor, binaryOp } from "@dl/tensor";
import { expect, it } from "vitest";
import "../helpers/backends.js";

it("dz/dx = 12 (tutorial §3)", () => {
  const x = tensor([2.0], { requiresGrad: true });
  const y = mul(mul(x, x), 3);
  const z = reduceOp("sum", y, undefined, false, y.dtype);
  z.backward();
  expect(x.grad?.tolist()).toEqual([12]);
  expect((y.gradFn as { name(): string }).name()).toBe("MulBackward0");
});

it("accumulates 2 + 3 = 5", () => {
  const x = tensor([2.0], { requiresGrad: true });
  mul(x, 2).backward();
  expect(x.grad?.tolist()).toEqual([2]);
  mul(x, 3).backward();
  expect(x.grad?.tolist()).toEqual([5]);
  x.grad?.zero_();
  expect(x.grad?.tolist()).toEqual([0]);
});

it("vector-Jacobian product and no_grad", () => {
  const x = tensor([2.0, 3.0], { requiresGrad: true });
  const y = mul(x, x);
  y.backward(tensor([1.0, 1.0]));
  expect(x.grad?.tolist()).toEqual([4, 6]);
  const w = noGrad(() => mul(x, 2));
  expect(w.requiresGrad).toBe(false);
  const z = add(x, 1);
  const f = binaryOp("div", reduceOp("sum", mul(mul(z, z), 2), undefined, false, "float32"), 1);
  x.grad = null;
  f.backward();
  expect(x.grad?.tolist()).toEqual([12, 16]);
});
