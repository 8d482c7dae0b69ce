import {
  ArgumentError,
  DTypeError,
  IndexError,
  type PadMode,
  ShapeError,
  type Tensor,
  arange,
  cat,
  chunk,
  concat,
  dstack,
  flip,
  hstack,
  ones,
  pad,
  repeat,
  repeatInterleave,
  roll,
  split,
  stack,
  tensor,
  tile,
  unbind,
  vstack,
  zeros,
} from "@dl/tensor";
import { describe, expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("shape");

type Tf = [string, ...unknown[]];
interface Input {
  base: TSpec;
  tf: Tf[];
}
interface Case {
  name: string;
  inputs: Input[];
  // biome-ignore lint/suspicious/noExplicitAny: fixture kwargs are free-form
  kwargs: Record<string, any>;
  out: TSpec | TSpec[];
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

function check(got: Tensor | Tensor[], want: TSpec | TSpec[]): void {
  if (Array.isArray(want)) {
    const list = got as Tensor[];
    expect(list.length).toBe(want.length);
    want.forEach((w, i) => expectClose(list[i] as Tensor, w));
  } else expectClose(got as Tensor, want);
}

function runGroup(group: string, fn: (xs: Tensor[], kw: Case["kwargs"], c: Case) => Tensor | Tensor[]): void {
  describe(group, () => {
    for (const c of fx[group] as Case[]) {
      it(c.name, () => {
        const xs = c.inputs.map(build);
        const before = xs.map((x) => x.tolist());
        check(fn(xs, c.kwargs, c), c.out);
        expect(xs.map((x) => x.tolist())).toEqual(before);
      });
    }
  });
}

const first = (xs: Tensor[]) => xs[0] as Tensor;

describeEachBackend("shape ops", () => {
  runGroup("cat", (xs, kw) => cat(xs, kw.dim));
  runGroup("stack", (xs, kw) => stack(xs, kw.dim));
  runGroup("hv", (xs, _, c) => (c.name.startsWith("hstack") ? hstack : c.name.startsWith("vstack") ? vstack : dstack)(xs));
  runGroup("split", (xs, kw) => split(first(xs), kw.split_size_or_sections, kw.dim));
  runGroup("chunk", (xs, kw) => chunk(first(xs), kw.chunks, kw.dim));
  runGroup("unbind", (xs, kw) => unbind(first(xs), kw.dim));
  runGroup("flip", (xs, kw) => flip(first(xs), kw.dims));
  runGroup("roll", (xs, kw) => roll(first(xs), kw.shifts, kw.dims));
  runGroup("repeat", (xs, kw) => repeat(first(xs), ...kw.r));
  runGroup("tile", (xs, kw) => tile(first(xs), kw.r));
  runGroup("repeatInterleave", (xs, kw) => repeatInterleave(first(xs), kw.repeats, kw.dim));
  runGroup("repeatInterleaveTensor", (xs, kw, c) =>
    c.name === "counts only" ? repeatInterleave(first(xs)) : repeatInterleave(first(xs), xs[1] as Tensor, kw.dim),
  );
  runGroup("pad", (xs, kw) => pad(first(xs), kw.pad, { mode: kw.mode as PadMode | undefined, value: kw.value }));

  describe("views and memory", () => {
    it("split, chunk and unbind return views sharing storage", () => {
      const x = arange(6, { dtype: "float32" }).view(2, 3);
      for (const part of [...split(x, 1, 1), ...chunk(x, 2), ...unbind(x, 1)]) expect(part._storage).toBe(x._storage);
    });
    it("cat, stack, flip, roll, repeat and pad return new memory even when nothing moves", () => {
      const x = arange(6, { dtype: "float32" }).view(2, 3);
      for (const r of [cat([x]), stack([x]), flip(x, []), roll(x, 0, 0), repeat(x, 1, 1), tile(x, [1]), pad(x, [0, 0]), repeatInterleave(x, 1, 0)]) {
        expect(r._storage).not.toBe(x._storage);
        expect(r.reshape(-1).tolist()).toEqual([0, 1, 2, 3, 4, 5]);
      }
    });
    it("cat of many inputs is exact and in order", () => {
      const parts = Array.from({ length: 37 }, (_, i) => tensor([i, i + 0.5]));
      const out = cat(parts);
      expect(out.tolist()).toEqual(parts.flatMap((_, i) => [i, i + 0.5]));
      expect(concat(parts.map((p) => p.view(1, 2)), 0).shape).toEqual([37, 2]);
    });
    it("cat does not copy an input through the backend's write primitive", () => {
      const x = ones(2, 2);
      const spy = vi.spyOn(x.backend, "write");
      cat([x, zeros(1, 2)]);
      expect(spy).not.toHaveBeenCalledWith(expect.objectContaining({ shape: [3, 2] }), expect.anything());
      spy.mockRestore();
    });
  });

  describe("errors", () => {
    it("cat", () => {
      expect(() => cat([])).toThrow(ArgumentError);
      expect(() => cat([])).toThrow(/cat: expected a non-empty list of Tensors/);
      expect(() => cat([ones([]), ones(2)])).toThrow(/cat: zero-dimensional tensor \(at position 0\) cannot be concatenated/);
      expect(() => cat([ones(2, 3), ones(2, 4)])).toThrow(ShapeError);
      expect(() => cat([ones(2, 3), ones(2, 4)])).toThrow(
        /cat: sizes of tensors must match except in dimension 0: expected size 3 but got size 4 for tensor number 1 in the list \(\[2,3\] vs \[2,4\]\)/,
      );
      expect(() => cat([ones(2, 3), ones(2, 3, 1)])).toThrow(/cat: tensors must have the same number of dimensions: got 2 \(tensor 0, \[2,3\]\) and 3 \(tensor 1, \[2,3,1\]\)/);
      expect(() => cat([ones(2, 3), ones(2, 4)], 2)).toThrow(IndexError);
      expect(() => cat([ones(2, 3), ones(2, 4)], 2)).toThrow(/cat: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/);
      expect(() => cat([zeros(0), ones(2, 3)], 2)).toThrow(/cat: dimension out of range/);
    });
    it("stack", () => {
      expect(() => stack([])).toThrow(/stack: expected a non-empty list of Tensors/);
      expect(() => hstack([])).toThrow(/hstack: expected a non-empty list of Tensors/);
      expect(() => vstack([])).toThrow(/vstack: expected a non-empty list of Tensors/);
      expect(() => stack([ones(2, 3), ones(2, 4)])).toThrow(/stack: expects each tensor to be equal size, but got \[2,3\] at entry 0 and \[2,4\] at entry 1/);
      expect(() => stack([ones(2, 3), ones(2, 3)], 3)).toThrow(/stack: dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)/);
    });
    it("split / chunk / unbind", () => {
      expect(() => split(ones(5), 0)).toThrow(/split: split_size can only be 0 if dimension size is 0, but got dimension size of 5/);
      expect(() => split(ones(5), -1)).toThrow(/split: expects split_size be a non-negative integer, but got split_size=-1/);
      expect(() => split(ones(5), [2, 2])).toThrow(/split: split_sizes must sum exactly to 5 \(input tensor's size at dimension 0\), but got split_sizes=\[2,2\]/);
      expect(() => split(ones(5), [2, -1, 4])).toThrow(/split: split_sizes must be non-negative integers/);
      expect(() => split(ones([]), 1)).toThrow(/split: expects at least a 1-dimensional tensor/);
      expect(() => chunk(ones(5), 0)).toThrow(/chunk: expects `chunks` to be an integer greater than 0, got: 0/);
      expect(() => chunk(ones([]), 2)).toThrow(/chunk: expects at least a 1-dimensional tensor/);
      expect(() => unbind(ones([]))).toThrow(/unbind: dimension specified as 0 but tensor has no dimensions/);
      expect(() => unbind(ones(2, 3), 2)).toThrow(/unbind: dimension out of range/);
    });
    it("flip / roll", () => {
      expect(() => flip(ones(2, 3), [0, -2])).toThrow(/flip: dim 0 appears multiple times in the list of dims \[0,-2\]/);
      expect(() => flip(ones(2, 3), [2])).toThrow(/flip: dimension out of range/);
      expect(() => roll(ones(2, 3), [1, 2])).toThrow(/roll: shifts and dimensions must align. shifts: 2, dims: 0/);
      expect(() => roll(ones(2, 3), [1, 2], [0])).toThrow(/roll: shifts and dimensions must align. shifts: 2, dims: 1/);
      expect(() => roll(ones(2, 3), 1, 2)).toThrow(/roll: dimension out of range/);
      expect(() => roll(ones([]), 1, 0)).toThrow(/roll: dimension specified as 0 but tensor has no dimensions/);
    });
    it("repeat / tile / repeatInterleave", () => {
      expect(() => repeat(ones(2, 3), 2)).toThrow(/repeat: number of dimensions of repeat dims \(1\) can not be smaller than number of dimensions of tensor \(2, \[2,3\]\)/);
      expect(() => repeat(ones(2, 3), 2, -1)).toThrow(/repeat: repeats must be non-negative integers, got \[2,-1\]/);
      expect(() => tile(ones(2), [-1])).toThrow(/tile: repeats must be non-negative integers/);
      const x = arange(3);
      expect(() => repeatInterleave(x, -1)).toThrow(/repeatInterleave: repeats can not be negative/);
      expect(() => repeatInterleave(x, tensor([1, -1, 2], { dtype: "int64" }))).toThrow(/repeatInterleave: repeats can not be negative/);
      expect(() => repeatInterleave(x, tensor([1, 0], { dtype: "int64" }))).toThrow(
        /repeatInterleave: repeats must have the same size as input along dim, but got repeats.size\(0\) = 2 and input.size\(0\) = 3/,
      );
      expect(() => repeatInterleave(x, tensor([1, 1, 2]))).toThrow(DTypeError);
      expect(() => repeatInterleave(x, tensor([[1, 1, 2]], { dtype: "int64" }))).toThrow(/repeatInterleave: repeats must be 0-dim or 1-dim tensor, got \[1,3\]/);
      expect(() => repeatInterleave(ones([]), 2, 0)).toThrow(/repeatInterleave: dimension specified as 0 but tensor has no dimensions/);
      expect(() => repeatInterleave(tensor([1.5, 2]))).toThrow(/repeatInterleave: repeats must be a 0-dim or 1-dim integer tensor, got float32 \[2\]/);
    });
    it("pad", () => {
      const x = arange(6, { dtype: "float32" }).view(1, 2, 3);
      expect(() => pad(x, [1])).toThrow(/pad: padding length must be divisible by 2, got 1/);
      expect(() => pad(x, [1, 1, 1, 1, 1, 1, 1, 1])).toThrow(/pad: padding length too large: 8 values pad 4 dims but the input \[1,2,3\] has 3/);
      expect(() => pad(x, [-2, -2])).toThrow(/pad: padding \(-2, -2\) at dimension 2 of input \[1,2,3\] would give a negative size -1/);
      expect(() => pad(x, [3, 0], { mode: "reflect" })).toThrow(
        /pad: reflect padding must be less than the corresponding input size 3, but got padding \(3, 0\) at dimension 2 of input \[1,2,3\]/,
      );
      expect(() => pad(x, [4, 3], { mode: "circular" })).toThrow(/pad: circular padding may wrap around at most once \(padding <= size 3\)/);
      expect(() => pad(zeros(1, 2, 0), [1, 1], { mode: "replicate" })).toThrow(/pad: replicate padding needs a non-empty dimension/);
      expect(() => pad(x, [1, 1], { mode: "reflect", value: 3 })).toThrow(/pad: padding mode 'reflect' doesn't take in value argument/);
      expect(() => pad(x, [1, 1], { mode: "foo" as PadMode })).toThrow(/pad: unrecognised padding mode 'foo'/);
    });
  });
});
