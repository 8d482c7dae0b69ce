import {
  ArgumentError,
  type BasicIndex,
  DLError,
  IndexError,
  ShapeError,
  Tensor,
  arange,
  fromHost,
  slice,
  tensor,
} from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, loadFixtures } from "../helpers/fixtures.js";

type Op = [string, ...unknown[]];
interface ViewCase {
  shape: number[];
  chain: Op[];
  out: TSpec;
  stride: number[];
  offset: number;
  shares: boolean;
  baseAfterFill?: TSpec;
  baseAfterCopy?: TSpec;
}
interface ErrorCase {
  shape: number[];
  chain: Op[];
  kind: string;
  torch: string;
}

const fx = loadFixtures("core").views as { cases: ViewCase[]; errors: ErrorCase[] };
const errorTypes: Record<string, typeof DLError> = { ShapeError, IndexError, ArgumentError };

/** Applies one fixture op, as tooling/fixtures/gen_core.py's apply() does in PyTorch. */
function apply(t: Tensor, op: Op): Tensor {
  const [name, ...a] = op;
  const n = (i: number) => a[i] as number;
  switch (name) {
    case "view":
      return t.view(a[0] as number[]);
    case "reshape":
      return t.reshape(a[0] as number[]);
    case "transpose":
      return t.transpose(n(0), n(1));
    case "t":
      return t.t();
    case "mT":
      return t.mT;
    case "permute":
      return t.permute(a[0] as number[]);
    case "expand":
      return t.expand(a[0] as number[]);
    case "narrow":
      return t.narrow(n(0), n(1), n(2));
    case "slice":
      return t.slice(n(0), a[1] as number | null, a[2] as number | null, (a[3] as number | null) ?? 1);
    case "select":
      return t.select(n(0), n(1));
    case "squeeze":
      return a.length ? t.squeeze(n(0)) : t.squeeze();
    case "unsqueeze":
      return t.unsqueeze(n(0));
    case "flatten":
      return t.flatten(...(a as number[]));
    case "unflatten":
      return t.unflatten(n(0), a[1] as number[]);
    case "diagonal":
      return t.diagonal(...(a as number[]));
    case "unfold":
      return t.unfold(n(0), n(1), n(2));
    case "movedim":
      return t.movedim(a[0] as number | number[], a[1] as number | number[]);
    case "index":
      return t.index(...(a[0] as BasicIndex[]));
    case "contiguous":
      return t.contiguous();
    default:
      throw new Error(`unknown op ${name}`);
  }
}

const base = (shape: number[]) => arange(shape.reduce((x, y) => x * y, 1), { dtype: "float32" }).reshape(shape);
const run = (t: Tensor, chain: Op[]) => chain.reduce(apply, t);
const label = (c: { shape: number[]; chain: Op[] }) => `[${c.shape}] ${c.chain.map((o) => JSON.stringify(o)).join(" ")}`;

describeEachBackend("views vs PyTorch", () => {
  it.each(fx.cases.map((c) => [label(c), c] as const))("%s", (_l, c) => {
    const b = base(c.shape);
    const v = run(b, c.chain);
    expectClose(v, c.out);
    expect([...v.stride()]).toEqual(c.stride);
    expect(v.storageOffset()).toBe(c.offset);
    if (c.out.shape.reduce((x, y) => x * y, 1) > 0) expect(v._storage === b._storage).toBe(c.shares);
    // isContiguous agrees with the row-major rule applied to PyTorch's strides.
    let expected = 1;
    let contiguous = true;
    for (let i = c.out.shape.length - 1; i >= 0; i--) {
      const s = c.out.shape[i] as number;
      if (s === 0) break;
      if (s !== 1 && c.stride[i] !== expected) contiguous = false;
      expected *= s;
    }
    expect(v.isContiguous()).toBe(contiguous || c.out.shape.includes(0));
  });

  it.each(fx.cases.filter((c) => c.baseAfterFill).map((c) => [label(c), c] as const))("writes through %s reach the base", (_l, c) => {
    const b1 = base(c.shape);
    run(b1, c.chain).fill_(-1);
    expectClose(b1, c.baseAfterFill as TSpec);
    const b2 = base(c.shape);
    const v = run(b2, c.chain);
    v.copy_(fromHost(Array.from({ length: v.numel() }, (_, i) => -i - 100), v.shape, { dtype: "float32" }));
    expectClose(b2, c.baseAfterCopy as TSpec);
  });

  it.each(fx.errors.map((c) => [label(c), c] as const))("%s throws like PyTorch", (_l, c) => {
    const b = base(c.shape);
    let err: unknown;
    try {
      run(b, c.chain);
    } catch (e) {
      err = e;
    }
    expect(err, `PyTorch: ${c.torch}`).toBeInstanceOf(errorTypes[c.kind] as typeof DLError);
    const last = c.chain[c.chain.length - 1] as Op;
    const op = last[0] === "index" ? "index" : last[0];
    expect((err as DLError).message).toMatch(new RegExp(`^(${op}|${c.chain.map((o) => o[0]).join("|")}): `));
  });
});

describeEachBackend("views: details", () => {
  it("view() reports the shape and strides and points to reshape()", () => {
    const x = base([2, 3, 4]).transpose(0, 1);
    expect(() => x.view(-1)).toThrow(/^view: view size \[-1\] is not compatible with input tensor's size \[3,2,4\] and stride \[4,12,1\].*reshape/);
  });

  it("reshape copies only when a view is impossible", () => {
    const x = base([2, 3, 4]);
    expect(x.reshape(6, 4)._storage).toBe(x._storage);
    expect(x.reshape([4, -1])._storage).toBe(x._storage);
    const t = x.transpose(1, 2);
    const r = t.reshape(-1);
    expect(r._storage).not.toBe(x._storage);
    expect(r.isContiguous()).toBe(true);
    // The copy is independent of the base.
    r.fill_(0);
    expect(x.index(0, 0, 1).item()).toBe(1);
  });

  it("view/reshape/expand accept varargs and arrays alike", () => {
    const x = base([2, 6]);
    expect(x.view(3, 4).shape).toEqual([3, 4]);
    expect(x.view([3, 4]).shape).toEqual([3, 4]);
    expect(x.reshape(12).shape).toEqual([12]);
    expect(x.index(0).unsqueeze(0).expand(3, -1).shape).toEqual([3, 6]);
    expect(x.permute(1, 0).shape).toEqual([6, 2]);
    expect(x.viewAs(base([4, 3])).shape).toEqual([4, 3]);
    expect(x.reshapeAs(base([12])).shape).toEqual([12]);
    expect(x.index(0).unsqueeze(1).expandAs(base([6, 5])).stride()).toEqual([1, 0]);
  });

  it("view(dtype) is rejected with a pointer to to()", () => {
    expect(() => base([2]).view("int32" as never)).toThrow(ArgumentError);
  });

  it("index accepts slice() objects like Python slices", () => {
    const x = base([4, 6]);
    const a = x.index(slice(1, null, 2), slice(null, -1, 3));
    expect(a.shape).toEqual([2, 2]);
    expect(a.tolist()).toEqual([[6, 9], [18, 21]]);
    expect(x.index("1:3", "...").shape).toEqual([2, 6]);
    expect(() => x.index("...", "...")).toThrow(/^index: .*single ellipsis/);
    expect(() => x.index("1:2:3:4")).toThrow(IndexError);
    expect(() => x.index("a:b")).toThrow(IndexError);
  });

  it("Tensor.index rejects tensor, array and other non-basic indices from plain JavaScript (it returned the whole tensor)", () => {
    const x = base([4, 6]);
    const bad: unknown[] = [tensor([0, 1], { dtype: "int64" }), [0, 1], [[0, 1]], true, undefined, { begin: 1 }, { start: "1" }, () => 0];
    for (const spec of bad) {
      expect(() => (x.index as (...s: unknown[]) => unknown)(spec)).toThrow(IndexError);
    }
    expect(() => (x.index as (...s: unknown[]) => unknown)(tensor([0, 1], { dtype: "int64" }))).toThrow(
      /^index: Tensor\.index takes basic indices .* got a Tensor at position 0; use index\(x, \.\.\.\) for tensor, mask or array indices/,
    );
    expect(() => (x.index as (...s: unknown[]) => unknown)(0, [1, 2])).toThrow(/got an array at position 1/);
    // Slice objects, with any of start/stop/step, stay accepted.
    expect(x.index({ start: 1 }).shape).toEqual([3, 6]);
    expect(x.index({}, { stop: 2 }).shape).toEqual([4, 2]);
  });

  it("slice rejects non-positive steps (as PyTorch)", () => {
    expect(() => base([4]).slice(0, null, null, 0)).toThrow(/^slice: slice step must be positive/);
    expect(() => base([4]).slice(0, null, null, -1)).toThrow(ArgumentError);
  });

  it("contiguous() returns the same tensor when already contiguous", () => {
    const x = base([3, 4]);
    expect(x.contiguous()).toBe(x);
    const c = x.t().contiguous();
    expect(c).not.toBe(x);
    expect(c._storage).not.toBe(x._storage);
    expect(c.isContiguous()).toBe(true);
    expect(c.stride()).toEqual([3, 1]);
  });

  it("size()/stride() with negative dims, ndim/dim()/numel()", () => {
    const x = base([2, 3, 4]).transpose(0, 2);
    expect(x.size(-1)).toBe(2);
    expect(x.stride(0)).toBe(1);
    expect(x.ndim).toBe(3);
    expect(x.dim()).toBe(3);
    expect(x.numel()).toBe(24);
    expect(() => x.size(3)).toThrow(IndexError);
  });

  it("expanded views alias one element: reading works, stride is 0", () => {
    const x = tensor([1, 2, 3]).unsqueeze(0).expand(4, 3);
    expect(x.stride()).toEqual([0, 1]);
    expect(x.tolist()).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3]]);
  });

  it("a view keeps the storage alive after the base is disposed", () => {
    const x = fromHost([1, 2, 3, 4], [2, 2], { dtype: "float32" });
    const v = x.t();
    x.dispose();
    expect(v.tolist()).toEqual([[1, 3], [2, 4]]);
    v.dispose();
    expect(v._storage.disposed).toBe(true);
  });
});

describe("detach shares storage", () => {
  it("detach() is a view cut from the graph", () => {
    const x = tensor([1, 2]);
    const d = x.detach();
    expect(d._storage).toBe(x._storage);
    d.fill_(5);
    expect(x.tolist()).toEqual([5, 5]);
  });
});
