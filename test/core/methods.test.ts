import "@dl/backend-cpu/register";
import "@dl/autograd";
import "@dl/tensor/methods";
import { add, argmax, exp, index, matmul, max, relu, sum, Tensor, tensor, variance, where } from "@dl/tensor";
import { describe, expect, it } from "vitest";

const x = tensor([
  [1, -2, 3],
  [4, 5, -6],
]);

describe("@dl/tensor/methods: PyTorch's tensor methods delegate to the free functions", () => {
  it("reductions, math and linear algebra as methods", () => {
    expect(x.sum(1).tolist()).toEqual(sum(x, 1).tolist());
    expect(x.sum().item()).toBe(5);
    expect(x.abs().sum(1, { keepdim: true }).shape).toEqual([2, 1]);
    expect(x.argmax(1).tolist()).toEqual(argmax(x, 1).tolist());
    expect(x.var(1).tolist()).toEqual(variance(x, 1).tolist());
    expect(x.matmul(x.t()).tolist()).toEqual(matmul(x, x.t()).tolist());
    expect(x.relu().exp().tolist()).toEqual(exp(relu(x)).tolist());
    expect(x.add(1).tolist()).toEqual(add(x, 1).tolist());
  });

  it("named tuples and overloads: max(dim) gives values and indices, max(other) the elementwise maximum", () => {
    const [values, indices] = x.max(1);
    expect(values.tolist()).toEqual(max(x, 1).values.tolist());
    expect(indices.tolist()).toEqual([2, 1]);
    expect(x.max().item()).toBe(5);
    expect(x.max(tensor(0)).tolist()).toEqual([
      [1, 0, 3],
      [4, 5, 0],
    ]);
  });

  it("x.where(condition, y) is where(condition, x, y)", () => {
    const c = x.gt(0);
    expect(x.where(c, 0).tolist()).toEqual(where(c, x, 0).tolist());
  });

  it("x.index takes tensors and arrays as the free index() does, and basic indices as before", () => {
    const i = tensor([1, 0], { dtype: "int64" });
    expect(x.index(i).tolist()).toEqual(index(x, i).tolist());
    expect(x.index([1, 1], [0, 2]).tolist()).toEqual([4, -6]);
    expect(x.index(0, "1:").tolist()).toEqual([-2, 3]);
  });

  it("in-place methods mutate the tensor, gradients flow through methods", () => {
    const y = x.clone();
    const r = y.add_(1);
    expect(r).toBe(y);
    expect(y.tolist()).toEqual([
      [2, -1, 4],
      [5, 6, -5],
    ]);
    const w = tensor([1, 2, 3], { requiresGrad: true });
    w.mul(w).sum().backward();
    expect((w.grad as Tensor).tolist()).toEqual([2, 4, 6]);
  });

  it("the views Tensor already had are unchanged", () => {
    expect(Tensor.prototype.reshape.name).toBe("reshape");
    expect(x.reshape(3, 2).shape).toEqual([3, 2]);
  });
});
