import {
  ArgumentError,
  DTypeError,
  ShapeError,
  type Tensor,
  abs_,
  add_,
  arange,
  assertNoInternalOverlap,
  clamp_,
  div_,
  exp_,
  indexAdd_,
  indexCopy_,
  indexFill_,
  indexPut_,
  indexSet_,
  maskedFill_,
  mul_,
  neg_,
  pow_,
  relu_,
  scatterAdd_,
  scatterReduce_,
  scatter_,
  sigmoid_,
  sqrt_,
  sub_,
  tanh_,
  tensor,
  zeros,
} from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("indexing");

// biome-ignore lint/suspicious/noExplicitAny: fixture JSON
function applyXf(x: Tensor, xf: any[]): Tensor {
  let t = x;
  for (const tr of xf) {
    if (tr[0] === "t") t = t.transpose(tr[1], tr[2]);
    else if (tr[0] === "slice") t = t.slice(tr[1], tr[2], tr[3], tr[4]);
    else if (tr[0] === "expand") t = t.expand(tr[1]);
  }
  return t;
}

// biome-ignore lint/suspicious/noExplicitAny: fixture JSON
const arg = (a: any): any => (Array.isArray(a) ? a.map(arg) : a !== null && typeof a === "object" && "t" in a ? fromSpec(a.t) : a);

// PyTorch method names -> the in-place free functions (kwargs renamed to camelCase).
// biome-ignore lint/suspicious/noExplicitAny: fixture JSON
const ops: Record<string, (x: Tensor, args: any[], kw: any) => Tensor> = {
  add_: (x, [o], kw) => add_(x, o, kw),
  sub_: (x, [o], kw) => sub_(x, o, kw),
  mul_: (x, [o]) => mul_(x, o),
  div_: (x, [o], kw) => div_(x, o, { roundingMode: kw.rounding_mode }),
  pow_: (x, [e]) => pow_(x, e),
  clamp_: (x, args, kw) => (args.length ? clamp_(x, args[0], args[1]) : clamp_(x, kw)),
  neg_: (x) => neg_(x),
  abs_: (x) => abs_(x),
  exp_: (x) => exp_(x),
  sqrt_: (x) => sqrt_(x),
  sigmoid_: (x) => sigmoid_(x),
  tanh_: (x) => tanh_(x),
  relu_: (x) => relu_(x),
  masked_fill_: (x, [m, v]) => maskedFill_(x, m, v),
  scatter_: (x, [d, i, s]) => scatter_(x, d, i, s),
  scatter_add_: (x, [d, i, s]) => scatterAdd_(x, d, i, s),
  index_put_: (x, [ind, v], kw) => indexPut_(x, ind, v, kw),
  index_fill_: (x, [d, i, v]) => indexFill_(x, d, i, v),
  index_add_: (x, [d, i, s]) => indexAdd_(x, d, i, s),
  index_copy_: (x, [d, i, s]) => indexCopy_(x, d, i, s),
};

describeEachBackend("in-place ops (PyTorch fixtures)", () => {
  for (const c of fx.inplace) {
    it(c.name, () => {
      const base = fromSpec(c.base);
      const target = applyXf(base, c.xf);
      const fn = ops[c.op];
      if (!fn) throw new Error(`no mapping for ${c.op}`);
      const r = fn(target, c.args.map(arg), Object.fromEntries(Object.entries(c.kwargs).map(([k, v]) => [k, arg(v)])));
      expect(r).toBe(target);
      // The op wrote through the view into the base, with the base's dtype.
      expectClose(base, c.out);
    });
  }
});

describeEachBackend("in-place ops: validation before writing", () => {
  it("rejects a result that would change the tensor's shape, leaving it untouched", () => {
    const x = zeros(1);
    expect(() => add_(x, tensor([1, 2, 3]))).toThrow(ShapeError);
    expect(() => add_(x, tensor([1, 2, 3]))).toThrow(/^add_: output with shape \[1\] doesn't match the broadcast shape \[3\]/);
    expect(() => maskedFill_(zeros(3), tensor([[true, false, true], [false, false, false]]), 1)).toThrow(/^maskedFill_: output with shape \[3\] doesn't match the broadcast shape \[2,3\]/);
    expect(x.tolist()).toEqual([0]);
  });

  it("rejects unsafe casts (float result into an int tensor), leaving it untouched", () => {
    const x = tensor([1, 2, 3], { dtype: "int64" });
    expect(() => add_(x, tensor([0.5, 0.5, 0.5]))).toThrow(DTypeError);
    expect(() => add_(x, tensor([0.5, 0.5, 0.5]))).toThrow(/^add_: result type float32 can't be cast to the desired output type int64/);
    expect(() => mul_(x, 2.5)).toThrow(/result type float32 can't be cast/);
    expect(() => div_(x, 2)).toThrow(/^div_: result type float32 can't be cast to the desired output type int64/);
    expect(() => exp_(x)).toThrow(/^exp_: result type float32 can't be cast/);
    expect(() => clamp_(x, { min: 0.5 })).toThrow(/^clamp_: result type float32 can't be cast/);
    expect(() => pow_(x, -1)).toThrow(/integers to negative integer powers are not allowed/);
    expect(() => add_(tensor([true]), tensor([1], { dtype: "int32" }))).toThrow(/result type int32 can't be cast to the desired output type bool/);
    expect(x.tolist()).toEqual([1, 2, 3]);
  });

  it("fails on expanded (stride-0) tensors like PyTorch", () => {
    const base = zeros(1);
    const x = base.expand(3);
    const msg = /more than one element of the written-to tensor refers to a single memory location/;
    expect(() => add_(x, 1)).toThrow(ArgumentError);
    expect(() => add_(x, 1)).toThrow(msg);
    expect(() => relu_(x)).toThrow(msg);
    expect(() => maskedFill_(x, tensor([true, false, true]), 1)).toThrow(msg);
    expect(() => indexPut_(x, [tensor([1], { dtype: "int64" })], 1)).toThrow(msg);
    expect(() => assertNoInternalOverlap("op", zeros(3, 1).expand(3, 1))).not.toThrow();
    expect(base.tolist()).toEqual([0]);
  });

  it("checks indices before writing anything", () => {
    const x = arange(6).view(2, 3);
    expect(() => indexPut_(x, [tensor([0, 2], { dtype: "int64" })], 9)).toThrow(/^indexPut_: index 2 is out of bounds for dimension 0 with size 2/);
    expect(() => scatter_(x, 1, tensor([[0, 3]], { dtype: "int64" }), 9)).toThrow(/index 3 is out of bounds for dimension 1 with size 3/);
    expect(() => indexFill_(x, 1, tensor([0, -4], { dtype: "int64" }), 9)).toThrow(/index -4 is out of bounds/);
    expect(() => indexSet_(x, [":", tensor([1, 5], { dtype: "int64" })], 9)).toThrow(/^indexSet_: index 5 is out of bounds for dimension 1 with size 3/);
    expect(() => maskedFill_(x, tensor([1, 0, 1]), 9)).toThrow(/^maskedFill_: only supports boolean masks, but got mask with dtype float32/);
    expect(() => maskedFill_(x, tensor([true, false, true]), tensor([9]))).toThrow(/only supports a 0-dimensional value tensor, but got tensor with 1 dimension\(s\)/);
    expect(() => sub_(tensor([true]), tensor([true]))).toThrow(/subtraction with two bool tensors is not supported/);
    expect(() => neg_(tensor([true]))).toThrow(DTypeError);
    expect(x.tolist()).toEqual([[0, 1, 2], [3, 4, 5]]);
  });

  it("leaf tensors that require grad refuse in-place writes", () => {
    const w = zeros(2, { requiresGrad: true });
    expect(() => add_(w, 1)).toThrow(/a leaf tensor that requires grad is being used in an in-place operation/);
  });
});

describeEachBackend("in-place ops: writing through views and version counter", () => {
  it("indexSet_ on a transposed view writes into the base", () => {
    const base = zeros(2, 3);
    const v = base.t();
    indexSet_(v, [tensor([2, 0], { dtype: "int64" }), 1], tensor([5, 6]));
    expect(base.tolist()).toEqual([[0, 0, 0], [6, 0, 5]]);
  });

  it("scatterReduce_ and sigmoid_/tanh_ on a row view", () => {
    const base = zeros(2, 2);
    scatterReduce_(base.select(0, 1), 0, tensor([1, 1], { dtype: "int64" }), tensor([3, 4]), "amax", { includeSelf: false });
    expect(base.tolist()).toEqual([[0, 0], [0, 4]]);
    sigmoid_(base.select(0, 0));
    tanh_(base.select(0, 1));
    expect(base.select(0, 0).tolist()).toEqual([0.5, 0.5]);
    expect(base.select(0, 1).tolist()[0]).toBe(0);
  });

  it("bumps the storage version once per successful write, not on failures", () => {
    const x = zeros(3);
    const v0 = x._storage.version;
    add_(x, 1);
    expect(x._storage.version).toBe(v0 + 1);
    expect(() => add_(x, tensor([1, 2]))).toThrow();
    expect(x._storage.version).toBe(v0 + 1);
  });

  it("sqrt_ gives NaN for negatives and abs_ keeps ints", () => {
    const x = tensor([-4, 9]);
    sqrt_(x);
    expect(Number.isNaN(x.tolist()[0] as number)).toBe(true);
    const y = tensor([-4, 9], { dtype: "int32" });
    abs_(y);
    expect(y.dtype).toBe("int32");
    expect(y.tolist()).toEqual([4, 9]);
  });
});
