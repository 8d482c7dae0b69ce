import {
  DTypeError,
  ShapeError,
  type Tensor,
  addmm,
  addmv,
  arange,
  baddbmm,
  bmm,
  dot,
  einsum,
  inner,
  matmul,
  mm,
  mv,
  ones,
  outer,
  tensor,
  tensordot,
  trace,
  tril,
  triu,
  vdot,
} from "@dl/tensor";
import { describe, expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("linalg");

type Tf = [string, ...unknown[]];
interface Input {
  base: TSpec;
  tf: Tf[];
}
interface Case {
  name: string;
  op: string;
  inputs: Input[];
  kwargs: Record<string, unknown>;
  out: TSpec;
}

/** Rebuilds an input exactly as the generator made it: a base tensor and view transforms. */
function build(input: Input): Tensor {
  let t = fromSpec(input.base);
  for (const [op, ...a] of input.tf) {
    if (op === "mT") t = t.mT;
    else if (op === "transpose") t = t.transpose(a[0] as number, a[1] as number);
    else if (op === "permute") t = t.permute(a[0] as number[]);
    else if (op === "expand") t = t.expand(a[0] as number[]);
    else if (op === "slice") t = t.slice(a[0] as number, a[1] as number | null, a[2] as number | null, (a[3] as number | null) ?? 1);
    else throw new Error(`unknown transform ${op}`);
  }
  return t;
}

const args = (c: Case) => c.inputs.map(build);

function runGroup(group: string, fn: (c: Case, xs: Tensor[]) => Tensor): void {
  describe(group, () => {
    for (const c of fx[group] as Case[]) {
      it(c.name, () => {
        const xs = args(c);
        const before = xs.map((x) => x.tolist());
        expectClose(fn(c, xs), c.out);
        // Inputs are never modified.
        expect(xs.map((x) => x.tolist())).toEqual(before);
      });
    }
  });
}

describeEachBackend("linalg", () => {
  runGroup("matmul", (_, [a, b]) => matmul(a as Tensor, b as Tensor));
  runGroup("mm", (_, [a, b]) => mm(a as Tensor, b as Tensor));
  runGroup("bmm", (_, [a, b]) => bmm(a as Tensor, b as Tensor));
  runGroup("mv", (_, [a, b]) => mv(a as Tensor, b as Tensor));
  runGroup("dot", (c, [a, b]) => (c.name === "vdot" ? vdot : dot)(a as Tensor, b as Tensor));
  runGroup("outer", (_, [a, b]) => outer(a as Tensor, b as Tensor));
  runGroup("inner", (_, [a, b]) => inner(a as Tensor, b as Tensor));
  runGroup("addmm", (c, [i, a, b]) => addmm(i as Tensor, a as Tensor, b as Tensor, c.kwargs as { beta?: number; alpha?: number }));
  runGroup("baddbmm", (c, [i, a, b]) => baddbmm(i as Tensor, a as Tensor, b as Tensor, c.kwargs as { beta?: number; alpha?: number }));
  runGroup("addmv", (c, [i, a, b]) => addmv(i as Tensor, a as Tensor, b as Tensor, c.kwargs as { beta?: number; alpha?: number }));
  runGroup("tensordot", (c, [a, b]) => tensordot(a as Tensor, b as Tensor, c.kwargs.dims as number | [number[], number[]]));
  runGroup("tri", (c, [x]) => (c.op === "tril" ? tril : triu)(x as Tensor, (c.kwargs.diagonal as number | undefined) ?? 0));
  runGroup("trace", (_, [x]) => trace(x as Tensor));

  describe("einsum", () => {
    for (const c of fx.einsum as { eq: string; inputs: Input[]; out: TSpec }[]) {
      it(`${c.eq} ${c.inputs.map((i) => `[${i.base.shape}]${i.tf.length ? "*" : ""}`).join(" ")}`, () => {
        expectClose(einsum(c.eq, ...c.inputs.map(build)), c.out);
      });
    }
    it("accepts the operands as one array", () => {
      const a = arange(6, { dtype: "float32" }).view(2, 3);
      expect(einsum("ij->ji", [a]).tolist()).toEqual([[0, 3], [1, 4], [2, 5]]);
    });
  });

  describe("matmul structure", () => {
    it("does not copy a broadcast batch operand (reads it through stride 0)", () => {
      const a = ones(1, 2, 3).expand(1000, 2, 3);
      const b = ones(3, 4);
      const out = matmul(a, b);
      expect(out.shape).toEqual([1000, 2, 4]);
      expect(out.index(999).tolist()).toEqual([[3, 3, 3, 3], [3, 3, 3, 3]]);
    });
    it("reads transposed and broadcast operands through their strides (no copies)", () => {
      const a = ones(1, 3, 2).expand(5, 3, 2).mT;
      const b = ones(4, 3).t();
      const spy = vi.spyOn(a.backend, "copy");
      try {
        expect(matmul(a, b).shape).toEqual([5, 2, 4]);
        expect(matmul(ones(2, 1, 2, 3), ones(1, 3, 3, 2).mT.mT).shape).toEqual([2, 3, 2, 2]);
        expect(spy).not.toHaveBeenCalled();
      } finally {
        spy.mockRestore();
      }
    });
    it("returns a contiguous result with the batch shape", () => {
      const out = matmul(ones(2, 1, 2, 3), ones(1, 3, 3, 2));
      expect(out.shape).toEqual([2, 3, 2, 2]);
      expect(out.isContiguous()).toBe(true);
    });
    it("1-D . 1-D is 0-dim", () => {
      const out = matmul(tensor([1, 2, 3]), tensor([4, 5, 6]));
      expect(out.shape).toEqual([]);
      expect(out.item()).toBe(32);
    });
  });

  describe("errors", () => {
    it("matmul: inner dims", () => {
      expect(() => matmul(ones(2, 3), ones(4, 5))).toThrow(ShapeError);
      expect(() => matmul(ones(2, 3), ones(4, 5))).toThrow("matmul: cannot multiply [2,3] by [4,5] (inner dims 3 and 4 differ)");
      expect(() => matmul(ones(3), ones(4))).toThrow(/matmul: cannot multiply \[3\] by \[4\]/);
      expect(() => matmul(ones(2, 2, 3), ones(3))).not.toThrow();
      expect(() => matmul(ones(2, 2, 3), ones(4))).toThrow(/matmul: cannot multiply \[2,2,3\] by \[4\] \(inner dims 3 and 4 differ\)/);
    });
    it("matmul: batch dims that do not broadcast", () => {
      expect(() => matmul(ones(2, 3, 3), ones(4, 3, 5))).toThrow(/matmul: batch dims \[2\] and \[4\] of \[2,3,3\] and \[4,3,5\] cannot be broadcast/);
    });
    it("matmul: 0-dim and bool", () => {
      expect(() => matmul(ones([]), ones(4))).toThrow(/matmul: both arguments need to be at least 1-D, but they are 0-D and 1-D/);
      expect(() => matmul(ones(2, 2, { dtype: "bool" }), ones(2, 2, { dtype: "bool" }))).toThrow(DTypeError);
      expect(() => matmul(ones(2, 2, { dtype: "bool" }), ones(2, 2, { dtype: "bool" }))).toThrow(/matmul: not implemented for bool/);
    });
    it("mm / bmm / mv rank and size checks", () => {
      expect(() => mm(ones(2, 3, 3), ones(3, 3))).toThrow(/mm: expected 2-D tensors, got \[2,3,3\] \(3-D\) and \[3,3\] \(2-D\)/);
      expect(() => mm(ones(2, 3), ones(4, 3))).toThrow(/mm: cannot multiply \[2,3\] by \[4,3\]/);
      expect(() => bmm(ones(3, 3), ones(2, 3, 3))).toThrow(/bmm: expected 3-D tensors/);
      expect(() => bmm(ones(2, 3, 3), ones(3, 3, 3))).toThrow(/bmm: batch sizes must be equal, got \[2,3,3\] and \[3,3,3\]/);
      expect(() => bmm(ones(2, 3, 3), ones(2, 4, 3))).toThrow(/bmm: cannot multiply \[2,3,3\] by \[2,4,3\] \(inner dims 3 and 4 differ\)/);
      expect(() => mv(ones(3, 3), ones(3, 1))).toThrow(/mv: expected a 2-D matrix and a 1-D vector/);
      expect(() => mv(ones(3, 3), ones(4))).toThrow(/mv: cannot multiply \[3,3\] by \[4\]/);
    });
    it("dot: ranks, sizes and dtypes", () => {
      expect(() => dot(ones(3, 1), ones(3))).toThrow(/dot: 1-D tensors expected, but got \[3,1\] \(2-D\) and \[3\] \(1-D\)/);
      expect(() => dot(ones(3), ones(4))).toThrow(/dot: inconsistent tensor size/);
      expect(() => dot(ones(3), ones(3, { dtype: "float64" }))).toThrow(/dot: expected both vectors to have same dtype, but found float32 and float64/);
      expect(() => dot(ones(3, { dtype: "bool" }), ones(3, { dtype: "bool" }))).toThrow(/dot: not implemented for bool/);
    });
    it("outer / addmm / trace / tril", () => {
      expect(() => outer(ones(3, 1), ones(2))).toThrow(/outer: expected 1-D arguments, got \[3,1\] \(2-D\)/);
      expect(() => addmm(ones(4), ones(2, 3), ones(3, 3))).toThrow(/addmm: input of shape \[4\] cannot be broadcast to the product's shape \[2,3\]/);
      expect(() => addmm(ones(2, 3), ones(2, 3, 1), ones(3, 3))).toThrow(/addmm: expected 2-D matrices/);
      expect(() => trace(ones(3))).toThrow(/trace: expected a matrix, but got tensor with shape \[3\]/);
      expect(() => trace(ones(2, 2, { dtype: "bool" }))).toThrow(/trace: not implemented for bool/);
      expect(() => tril(ones(3))).toThrow(/tril: input tensor must have at least 2 dimensions, got \[3\]/);
      expect(() => triu(ones([]))).toThrow(/triu: input tensor must have at least 2 dimensions/);
    });
    it("tensordot: mismatched contracted dims", () => {
      expect(() => tensordot(ones(2, 3), ones(4, 5), 1)).toThrow(/tensordot: contracted dimensions need to match, but first has size 3 in dim 1 and second has size 4 in dim 0/);
    });
    it("einsum: equation errors", () => {
      const m = ones(2, 3);
      expect(() => einsum("i$", m)).toThrow(/einsum: invalid subscript given at index 1 in the equation string, subscripts must be in \[a-zA-Z\]/);
      expect(() => einsum("i.j", m)).toThrow(/einsum: found '\.' for operand 0 that is not part of any ellipsis/);
      expect(() => einsum("i......", m)).toThrow(/einsum: found '\.' for operand 0 for which an ellipsis was already found/);
      expect(() => einsum("ij->ji", m, ones(2))).toThrow(/einsum: more operands were provided \(2\) than specified in the equation \(1\)/);
      expect(() => einsum("ij,jk", m)).toThrow(/einsum: fewer operands were provided \(1\) than specified in the equation \(2\)/);
      expect(() => einsum("ij->jj", m)).toThrow(/einsum: output subscript j appears more than once in the output/);
      expect(() => einsum("ij->k", m)).toThrow(/einsum: output subscript k does not appear in the equation for any input operand/);
      expect(() => einsum("ijk->ij", m)).toThrow(/einsum: the number of subscripts in the equation \(3\) does not match the number of dimensions \(2\) for operand 0 \[2,3\] and no ellipsis was given/);
      expect(() => einsum("ijk...->ij", m)).toThrow(/einsum: the number of subscripts in the equation \(3\) is more than the number of dimensions \(2\)/);
      expect(() => einsum("ii->i", m)).toThrow(/einsum: subscript i is repeated for operand 0 but the sizes don't match, 2 != 3/);
      expect(() => einsum("i,i->i", ones(3), ones(4))).toThrow(/einsum: subscript i has size 4 for operand 1 \[4\] which does not broadcast with previously seen size 3/);
      expect(() => einsum("i...j,...j", ones(2, 2, 3), ones(5, 3))).toThrow(/einsum: dimension 0 covered by ellipsis has size 5 for operand 1/);
      expect(() => einsum("ij->i->j", m)).toThrow(/einsum: the equation may contain at most one '->'/);
      expect(() => einsum("i")).toThrow(/einsum: must specify the equation string and at least one operand/);
    });
  });
});
