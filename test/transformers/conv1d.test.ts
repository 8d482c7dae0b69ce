import "@dl/autograd";
import { Conv1D } from "@dl/transformers";
import { Linear } from "@dl/nn";
import { ShapeError, tensor, randn, sum } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

describeEachBackend("Conv1D", () => {
  it("stores weight [nx, nf] and computes x·W + b like a Linear with the transposed weight", () => {
    const c = new Conv1D(3, 2);
    expect([...c.weight.shape]).toEqual([2, 3]);
    expect([...c.bias.shape]).toEqual([3]);
    expect(Object.keys(c.stateDict())).toEqual(["weight", "bias"]);
    c.weight.detach().copy_(tensor([[1, 2, 3], [4, 5, 6]]));
    c.bias.detach().copy_(tensor([0.5, -1, 2]));
    const x = tensor([[1, -1], [2, 0.5]]);
    // [1,-1]·W = [1-4, 2-5, 3-6] = [-3,-3,-3]; [2,0.5]·W = [4,6.5,9]
    expect(Array.from(c.call(x).dataSync())).toEqual([-2.5, -4, -1, 4.5, 5.5, 11]);
    const lin = new Linear(2, 3);
    lin.weight.detach().copy_(c.weight.detach().t());
    lin.bias?.detach().copy_(c.bias.detach());
    const xs = randn([2, 4, 2]);
    const a = c.call(xs).dataSync();
    const b = lin.call(xs).dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i] as number, 5);
  });

  it("trains: gradients reach weight and bias", () => {
    const c = new Conv1D(4, 3);
    sum(c.call(randn([2, 5, 3]))).backward();
    expect([...(c.weight.grad?.shape ?? [])]).toEqual([3, 4]);
    expect(Array.from(c.bias.grad?.dataSync() ?? [])).toEqual([10, 10, 10, 10]);
  });

  it("names the shapes when the input's last dim is wrong", () => {
    expect(() => new Conv1D(4, 3).call(randn([2, 5]))).toThrow(ShapeError);
    expect(() => new Conv1D(4, 3).call(randn([2, 5]))).toThrow(/\[2,5\].*nx=3/);
  });
});
