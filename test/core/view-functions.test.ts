import { F } from "@dl/nn";
import {
  arange,
  flatten,
  movedim,
  narrow,
  oneHot,
  pad,
  permute,
  reshape,
  squeeze,
  swapaxes,
  t,
  tensor,
  transpose,
  unsqueeze,
} from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

/** PyTorch spells these both torch.f(x) and x.f(): dl too, with the same views. */
describeEachBackend("view ops as free functions", () => {
  const x = () => arange(24).reshape(2, 3, 4);
  const same = (a: ReturnType<typeof x>, b: ReturnType<typeof x>) => {
    expect(a.shape).toEqual(b.shape);
    expect(a.tolist()).toEqual(b.tolist());
    expect(a._storage).toBe(b._storage); // a view, no copy
  };

  it("reshape, flatten, permute, transpose, swapaxes, t, movedim, narrow, squeeze, unsqueeze", () => {
    const v = x();
    same(reshape(v, 6, 4), v.reshape(6, 4));
    same(flatten(v, 1), v.flatten(1));
    same(permute(v, 2, 0, 1), v.permute(2, 0, 1));
    same(transpose(v, 0, 2), v.transpose(0, 2));
    same(swapaxes(v, 0, 2), v.transpose(0, 2));
    same(t(v.select(0, 0)), v.select(0, 0).t());
    same(movedim(v, 0, 2), v.movedim(0, 2));
    same(narrow(v, 2, 1, 2), v.narrow(2, 1, 2));
    same(squeeze(unsqueeze(v, 1), 1), v);
  });

  it("reject a non-tensor with the op's name", () => {
    expect(() => permute([1, 2] as never, 0)).toThrow(/^permute: /);
    expect(() => reshape(null as never, 2)).toThrow(/^reshape: /);
  });

  it("F.pad and F.oneHot are torch.nn.functional's names for pad and oneHot", () => {
    expect(F.pad).toBe(pad);
    expect(F.oneHot).toBe(oneHot);
    expect(F.pad(tensor([1, 2]), [1, 1]).tolist()).toEqual([0, 1, 2, 0]);
  });
});
