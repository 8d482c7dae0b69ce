import "@dl/autograd";
import {
  ArgumentError,
  DTypeError,
  IndexError,
  type IndexSpec,
  ShapeError,
  type Tensor,
  arange,
  argwhere,
  gather,
  index,
  indexAdd,
  indexCopy,
  indexFill,
  indexPut,
  indexSelect,
  indexSet,
  maskedFill_,
  maskedSelect,
  mul,
  nonzero,
  oneHot,
  scatter,
  scatterAdd,
  scatterReduce,
  slice,
  sum,
  take,
  takeAlongDim,
  tensor,
  zeros,
} from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("indexing");

// Transforms the generator applied in Python (see tooling/fixtures/gen_indexing.py).
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
function decodeSpec(s: any): IndexSpec {
  if (s !== null && typeof s === "object") {
    if ("list" in s) return s.list;
    const t = fromSpec(s.t as TSpec);
    return s.int32 ? t.to("int32") : t;
  }
  return s;
}

const i64 = (v: number[] | number[][] | number) => tensor(v, { dtype: "int64" });

describeEachBackend("advanced indexing: index()", () => {
  for (const c of fx.index) {
    it(c.name, () => {
      const x = applyXf(fromSpec(c.x), c.xf);
      expectClose(index(x, ...c.specs.map(decodeSpec)), c.out);
    });
  }

  it("returns a view sharing storage when every index is basic", () => {
    const x = arange(6).view(2, 3);
    const v = index(x, ":", 1);
    expect(v._storage).toBe(x._storage);
    expect(v.tolist()).toEqual([1, 4]);
    expect(index(x, slice(null, null, 1), null).shape).toEqual([2, 1, 3]);
  });

  it("results of advanced indexing are contiguous copies", () => {
    const x = arange(24).view(2, 3, 4);
    const r = index(x, ":", i64([0, 2]), i64([1, 3]));
    expect(r.isContiguous()).toBe(true);
    expect(r._storage).not.toBe(x._storage);
  });

  it("rejects out-of-range indices naming the index, dim and size", () => {
    const x = zeros(2, 3, 4);
    expect(() => index(x, i64([5]))).toThrow(IndexError);
    expect(() => index(x, i64([5]))).toThrow(/^index: index 5 is out of bounds for dimension 0 with size 2/);
    expect(() => index(x, ":", i64([0, -4]))).toThrow(/index -4 is out of bounds for dimension 1 with size 3/);
    expect(() => index(x, ":", ":", i64([4]).to("int32"))).toThrow(/index 4 is out of bounds for dimension 2 with size 4/);
    expect(() => index(x, 2)).toThrow(/index 2 is out of bounds for dimension 0 with size 2/);
  });

  it("rejects bad index dtypes, mask shapes, unbroadcastable indices and too many indices", () => {
    const x = zeros(2, 3, 4);
    expect(() => index(x, tensor([1]))).toThrow(/^index: tensors used as indices must be int64, int32 or bool tensors, got float32/);
    expect(() => index(x, tensor([true, false, true]))).toThrow(/the shape of the mask \[3\] at index 0 does not match the shape of the indexed tensor \[2,3,4\]/);
    expect(() => index(x, ":", tensor([[true, false, true]]))).toThrow(/mask \[1,3\] at index 1/);
    expect(() => index(x, i64([[0, 1]]), i64([0, 1, 2]))).toThrow(/shape mismatch: indexing tensors could not be broadcast together with shapes \[1,2\], \[3\]/);
    expect(() => index(x, i64([0]), 0, 0, 0)).toThrow(/too many indices for tensor of dimension 3 \(got 4\)/);
    expect(() => index(x, tensor([[[[true]]]]))).toThrow(/too many indices/);
    expect(() => index(x, "...", i64([0]), "...")).toThrow(/single ellipsis/);
    expect(() => index(x, [0.5] as unknown as number[])).toThrow(/integers or booleans/);
  });
});

describeEachBackend("gather", () => {
  for (const c of fx.gather) {
    it(c.name, () => {
      expectClose(gather(applyXf(fromSpec(c.x), c.xf), c.dim, fromSpec(c.index)), c.out);
    });
  }

  it("accepts int32 indices", () => {
    const x = tensor([[1, 2], [3, 4]]);
    expect(gather(x, 1, tensor([[1, 1], [0, 1]], { dtype: "int32" })).tolist()).toEqual([[2, 2], [3, 4]]);
  });

  it("errors like PyTorch", () => {
    const x = zeros(2, 3);
    expect(() => gather(x, 0, tensor([[0]]))).toThrow(DTypeError);
    expect(() => gather(x, 0, tensor([[0]]))).toThrow(/^gather: expected dtype int64 or int32 for index, got float32/);
    expect(() => gather(x, 0, i64([0]))).toThrow(/index tensor must have the same number of dimensions as input tensor/);
    expect(() => gather(x, 1, zeros(3, 1, { dtype: "int64" }))).toThrow(ShapeError);
    expect(() => gather(x, 1, zeros(3, 1, { dtype: "int64" }))).toThrow(/size does not match at dimension 0: expected index \[3,1\] to be no larger than input \[2,3\] apart from dimension 1/);
    // Larger along dim itself is fine.
    expect(gather(x, 1, zeros(2, 5, { dtype: "int64" })).shape).toEqual([2, 5]);
    expect(() => gather(x, 0, i64([[2]]))).toThrow(/^gather: index 2 is out of bounds for dimension 0 with size 2/);
    expect(() => gather(x, 1, i64([[-1]]))).toThrow(/index -1 is out of bounds for dimension 1 with size 3/);
    expect(() => gather(x, 2, i64([[0]]))).toThrow(/dimension out of range/);
  });
});

describeEachBackend("scatter family", () => {
  for (const c of fx.scatter) {
    it(`scatter: ${c.name}`, () => {
      const src = typeof c.src === "number" ? c.src : fromSpec(c.src);
      const out = scatter(fromSpec(c.x), c.dim, fromSpec(c.index), src, c.reduce === null ? {} : { reduce: c.reduce });
      expectClose(out, c.out);
    });
  }

  it("scatterAdd accumulates duplicates", () => {
    const c = fx.scatter_add;
    expectClose(scatterAdd(fromSpec(c.x), c.dim, fromSpec(c.index), fromSpec(c.src)), c.out);
  });

  for (const c of fx.scatter_reduce) {
    it(`scatterReduce: ${c.name}`, () => {
      const out = scatterReduce(fromSpec(c.x), c.dim, fromSpec(c.index), fromSpec(c.src), c.reduce, { includeSelf: c.include_self });
      expectClose(out, c.out);
    });
  }

  it("leaves its input unchanged", () => {
    const x = zeros(3);
    scatter(x, 0, i64([1]), 5);
    scatterAdd(x, 0, i64([1]), tensor([5]));
    expect(x.tolist()).toEqual([0, 0, 0]);
  });

  it("errors like PyTorch", () => {
    const x = zeros(2, 3);
    const idx = zeros(2, 3, { dtype: "int64" });
    expect(() => scatter(x, 1, idx, zeros(2, 2))).toThrow(/^scatter: expected index \[2,3\] to be no larger than self \[2,3\] apart from dimension 1 and no larger than src \[2,2\]/);
    expect(() => scatter(x, 1, idx, zeros(2, 3, { dtype: "float64" }))).toThrow(/expected self.dtype to be equal to src.dtype \(self float32, src float64\)/);
    expect(() => scatter(x, 1, i64([[7]]), 1)).toThrow(/^scatter: index 7 is out of bounds for dimension 1 with size 3/);
    expect(() => scatter(x, 1, i64([[-1]]), 1)).toThrow(/index -1 is out of bounds for dimension 1 with size 3/);
    expect(() => scatter(x, 1, idx, 1, { reduce: "sum" as "add" })).toThrow(ArgumentError);
    expect(() => scatter(x, 1, tensor([[0]]), 1)).toThrow(/expected dtype int64 or int32 for index/);
    expect(() => scatter(x, 1, i64([0]), 1)).toThrow(/same number of dimensions as self/);
    expect(() => scatterAdd(x, 0, i64([[0]]), tensor([1]))).toThrow(/^scatterAdd: index tensor must have the same number of dimensions as src tensor/);
    expect(() => scatterReduce(x, 0, idx, x, "max" as "amax")).toThrow(/^scatterReduce: reduce argument must be either 'sum', 'prod', 'mean', 'amax' or 'amin', got 'max'/);
  });
});

describeEachBackend("indexSelect / take / takeAlongDim", () => {
  for (const c of fx.index_select) {
    it(`indexSelect: ${c.name}`, () => {
      const idx = fromSpec(c.index);
      expectClose(indexSelect(applyXf(fromSpec(c.x), c.xf), c.dim, c.int32 ? idx.to("int32") : idx), c.out);
    });
  }
  for (const c of fx.take) {
    it(`take: ${c.name}`, () => {
      expectClose(take(applyXf(fromSpec(c.x), c.xf), fromSpec(c.index)), c.out);
    });
  }
  for (const c of fx.take_along_dim) {
    it(`takeAlongDim: ${c.name}`, () => {
      const x = fromSpec(c.x);
      const idx = fromSpec(c.index);
      expectClose(c.dim === null ? takeAlongDim(x, idx) : takeAlongDim(x, idx, c.dim), c.out);
    });
  }

  it("errors like PyTorch", () => {
    const x = zeros(2, 3);
    expect(() => indexSelect(x, 1, i64([[1]]))).toThrow(/^indexSelect: index is supposed to be a vector, got a 2-D tensor of shape \[1,1\]/);
    expect(() => indexSelect(x, 1, tensor([1]))).toThrow(DTypeError);
    // index_select does not wrap negative indices.
    expect(() => indexSelect(x, 1, i64([-1]))).toThrow(/^indexSelect: index -1 is out of bounds for dimension 1 with size 3/);
    expect(() => indexSelect(x, 0, i64([2]))).toThrow(IndexError);
    expect(() => take(x, i64([6]))).toThrow(/^take: out of range: tried to access index 6 on a tensor of 6 elements/);
    expect(() => take(x, i64([-7]))).toThrow(/tried to access index -7 on a tensor of 6 elements/);
    expect(() => takeAlongDim(x, i64([0, 1]), 1)).toThrow(/^takeAlongDim: input and indices should have the same number of dimensions, but got 2 dimensions for input, and 1 dimensions for indices/);
    expect(() => takeAlongDim(x, i64([[0, 1]]), 1).shape).not.toThrow();
    expect(() => takeAlongDim(x, i64([[3]]), 1)).toThrow(/index 3 is out of bounds for dimension 1 with size 3/);
  });
});

describeEachBackend("masks and positions", () => {
  for (const c of fx.masked_select) {
    it(`maskedSelect: ${c.name}`, () => {
      expectClose(maskedSelect(applyXf(fromSpec(c.x), c.xf), fromSpec(c.mask)), c.out);
    });
  }
  for (const c of fx.nonzero) {
    it(`nonzero: ${c.name}`, () => {
      const x = fromSpec(c.x);
      expectClose(nonzero(x), c.out);
      expectClose(argwhere(x), c.out);
      if (c.tuple !== null) {
        const cols = nonzero(x, { asTuple: true });
        expect(cols.length).toBe(c.tuple.length);
        cols.forEach((t, k) => expectClose(t, c.tuple[k]));
      }
    });
  }
  for (const c of fx.one_hot) {
    it(`oneHot: ${c.name}`, () => {
      expectClose(oneHot(fromSpec(c.x), c.num_classes), c.out);
    });
  }

  it("errors like PyTorch", () => {
    expect(() => maskedSelect(zeros(3), tensor([1, 0, 1]))).toThrow(/^maskedSelect: expected a bool tensor for mask, got float32/);
    expect(() => maskedSelect(zeros(3), tensor([true, false]))).toThrow(ShapeError);
    expect(() => oneHot(tensor([1, 2]))).toThrow(/^oneHot: one_hot is only applicable to index tensors \(int64\), got float32/);
    expect(() => oneHot(i64([1, -2]))).toThrow(/class values must be non-negative/);
    expect(() => oneHot(i64([1, 4]), 3)).toThrow(/class values must be smaller than numClasses \(got 4 for numClasses 3\)/);
    expect(() => oneHot(tensor([], { dtype: "int64" }))).toThrow(/can not infer total number of classes from empty tensor/);
  });
});

describeEachBackend("indexPut / indexSet / indexFill / indexAdd / indexCopy", () => {
  for (const c of fx.index_put) {
    it(`indexPut: ${c.name}`, () => {
      const x = fromSpec(c.x);
      const before = x.tolist();
      expectClose(indexPut(x, c.indices.map(decodeSpec) as Tensor[], fromSpec(c.values), { accumulate: c.accumulate }), c.out);
      expect(x.tolist()).toEqual(before);
    });
  }
  for (const c of fx.setitem) {
    it(`indexSet: ${c.name}`, () => {
      expectClose(indexSet(fromSpec(c.x), c.specs.map(decodeSpec), fromSpec(c.values)), c.out);
    });
  }
  for (const c of fx.index_fill) {
    it(`indexFill: ${c.name}`, () => {
      expectClose(indexFill(fromSpec(c.x), c.dim, fromSpec(c.index), c.value), c.out);
    });
  }
  for (const c of fx.index_add) {
    it(`indexAdd: ${c.name}`, () => {
      expectClose(indexAdd(fromSpec(c.x), c.dim, fromSpec(c.index), fromSpec(c.src), { alpha: c.alpha }), c.out);
    });
  }
  for (const c of fx.index_copy) {
    it(`indexCopy: ${c.name}`, () => {
      expectClose(indexCopy(fromSpec(c.x), c.dim, fromSpec(c.index), fromSpec(c.src)), c.out);
    });
  }

  it("indexPut treats null as a full slice", () => {
    const x = zeros(2, 3);
    expect(indexPut(x, [null, i64([2, 0])], 1).tolist()).toEqual([[1, 0, 1], [1, 0, 1]]);
  });

  it("errors like PyTorch", () => {
    const x = zeros(3);
    expect(() => indexPut(x, [i64([5])], 1)).toThrow(/^indexPut: index 5 is out of bounds for dimension 0 with size 3/);
    expect(() => indexPut(x, [i64([1])], tensor(1, { dtype: "float64" }))).toThrow(/index put requires the source and destination dtypes match, got float32 for the destination and float64 for the source/);
    expect(() => indexPut(x, [i64([1, 2])], tensor([1, 2, 3]))).toThrow(/shape mismatch: value tensor of shape \[3\] cannot be broadcast to indexing result of shape \[2\]/);
    expect(() => indexFill(x, 0, i64([3]), 1)).toThrow(/^indexFill: index 3 is out of bounds for dimension 0 with size 3/);
    expect(() => indexFill(x, 0, tensor([1], { dtype: "int64" }), tensor([7]))).toThrow(/only supports a 0-dimensional value tensor, but got tensor with 1 dimension\(s\)/);
    expect(() => indexAdd(x, 0, i64([0, 1]), tensor([1, 2, 3]))).toThrow(/^indexAdd: number of indices \(2\) should be equal to source.size\(dim\) \(3\), for dim 0/);
    expect(() => indexAdd(x, 0, i64([0]), tensor([1], { dtype: "float64" }))).toThrow(/self \(float32\) and source \(float64\) must have the same dtype/);
    expect(() => indexAdd(x, 0, i64([-1]), tensor([1]))).toThrow(/index -1 is out of bounds/);
    expect(() => indexAdd(i64([1, 2]), 0, i64([1]), i64([7]), { alpha: 0.5 })).toThrow(/alpha must not be a floating point number/);
    expect(() => indexCopy(zeros(1, 2), 0, i64([0]), zeros(1, 3))).toThrow(/^indexCopy: source \[1,3\] and self \[1,2\] must have the same slice shapes/);
  });
});

describe("index specs", () => {
  it("slice() objects and strings select the same", () => {
    const x = arange(10);
    expect(index(x, slice(1, 8, 3), null).tolist()).toEqual(index(x, "1:8:3", null).tolist());
    expect(index(x, i64([9]), null).shape).toEqual([1, 1]);
  });
});

// Gradients flow through gatherOp/scatterOp; PyTorch gives the expected d/d(inputs) of sum(out * w).
describeEachBackend("gradients (PyTorch fixtures)", () => {
  // biome-ignore lint/suspicious/noExplicitAny: fixture JSON
  const calls: Record<string, (l: Record<string, Tensor>, a: any) => Tensor> = {
    index: (l, a) => index(l.x as Tensor, ...a.map(decodeSpec)),
    gather: (l, a) => gather(l.x as Tensor, a.dim, fromSpec(a.index)),
    scatter: (l, a) => scatter(l.x as Tensor, a.dim, fromSpec(a.index), l.src as Tensor),
    scatterAdd: (l, a) => scatterAdd(l.x as Tensor, a.dim, fromSpec(a.index), l.src as Tensor),
    scatterReduce: (l, a) => scatterReduce(l.x as Tensor, a.dim, fromSpec(a.index), l.src as Tensor, a.reduce, { includeSelf: a.include_self }),
    indexSelect: (l, a) => indexSelect(l.x as Tensor, a.dim, fromSpec(a.index)),
    take: (l, a) => take(l.x as Tensor, fromSpec(a.index)),
    takeAlongDim: (l, a) => takeAlongDim(l.x as Tensor, fromSpec(a.index), a.dim),
    maskedSelect: (l, a) => maskedSelect(l.x as Tensor, fromSpec(a.mask)),
    indexPut: (l, a) => indexPut(l.x as Tensor, a.indices.map(decodeSpec), l.values as Tensor, { accumulate: a.accumulate }),
    indexFill: (l, a) => indexFill(l.x as Tensor, a.dim, fromSpec(a.index), a.value),
    indexAdd: (l, a) => indexAdd(l.x as Tensor, a.dim, fromSpec(a.index), l.src as Tensor, { alpha: a.alpha }),
    indexCopy: (l, a) => indexCopy(l.x as Tensor, a.dim, fromSpec(a.index), l.src as Tensor),
    maskedFill_: (l, a) => maskedFill_(mul(l.x as Tensor, 2), fromSpec(a.mask), 0.5),
  };
  for (const c of fx.grad) {
    it(c.name, () => {
      const leaves: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(c.leaves)) leaves[k] = fromSpec(v as TSpec, { requiresGrad: true });
      const call = calls[c.op];
      if (!call) throw new Error(`no mapping for ${c.op}`);
      sum(mul(call(leaves, c.args), fromSpec(c.w))).backward();
      for (const [k, g] of Object.entries(c.grads)) {
        const grad = (leaves[k] as Tensor).grad;
        expect(grad, `grad of ${k}`).not.toBeNull();
        expectClose(grad as Tensor, g as TSpec);
      }
    });
  }

  it("gradFn names follow PyTorch", () => {
    const x = zeros(3, 4, { requiresGrad: true });
    const name = (t: Tensor) => (t.gradFn as { name(): string }).name();
    expect(name(index(x, ":", i64([1])))).toBe("IndexBackward0");
    expect(name(gather(x, 1, i64([[0], [1], [2]])))).toBe("GatherBackward0");
    expect(name(indexSelect(x, 0, i64([1])))).toBe("IndexSelectBackward0");
    expect(name(maskedSelect(x, tensor([true, false, true, true])))).toBe("MaskedSelectBackward0");
    expect(name(indexPut(x, [i64([1])], 2))).toBe("IndexPutBackward0");
    expect(name(scatter(x, 1, i64([[0]]), 2))).toBe("ScatterBackward1");
  });
});
