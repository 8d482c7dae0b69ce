import { gradcheck } from "@dl/autograd";
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, F, MaxPool1d, MaxPool2d, MaxUnpool2d, Sequential } from "@dl/nn";
import { ArgumentError, IndexError, ShapeError, type Tensor, manualSeed, randn, sum, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { backendSupports, describeEachBackend } from "../helpers/backends.js";
import { construct, fixtures, fnCases } from "./conv-fixtures.js";

const POOL_CLASSES = new Set([
  "MaxPool1d",
  "MaxPool2d",
  "AvgPool1d",
  "AvgPool2d",
  "AdaptiveAvgPool1d",
  "AdaptiveAvgPool2d",
  "AdaptiveMaxPool1d",
  "AdaptiveMaxPool2d",
  "MaxUnpool1d",
  "MaxUnpool2d",
]);

describeEachBackend("F pooling vs PyTorch", (device) => {
  fnCases((c) => /Pool|Unpool/.test(c.op));

  it("max pool gradient goes to the first maximum only (no splitting between ties)", () => {
    const x = tensor([[[[1, 3, 3], [3, 0, 3], [2, 3, 1]]]], { dtype: backendSupports(device, "float64") ? "float64" : "float32" }).requiresGrad_();
    const [out, idx] = F.maxPool2d(x, 2, { stride: 1, returnIndices: true });
    expect(out.tolist()).toEqual([[[[3, 3], [3, 3]]]]);
    expect(idx.tolist()).toEqual([[[[1, 1], [3, 5]]]]);
    sum(out).backward();
    expect((x.grad as Tensor).tolist()).toEqual([[[[0, 2, 0], [1, 0, 1], [0, 0, 0]]]]);
  });

  it("avg and adaptive pools pass gradcheck", () => {
    manualSeed(4);
    const x = randn([1, 2, 5, 6], { dtype: "float64" }).requiresGrad_();
    expect(gradcheck((t) => F.avgPool2d(t, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), [x])).toBe(true);
    expect(gradcheck((t) => F.adaptiveAvgPool2d(t, [3, 4]), [x])).toBe(true);
    expect(gradcheck((t) => F.maxPool2d(t, [2, 3], { stride: [1, 2], padding: [1, 1], dilation: [2, 1] }), [x])).toBe(true);
    expect(gradcheck((t) => F.adaptiveMaxPool2d(t, [2, 4]), [x])).toBe(true);
  });

  it("MaxPool2d with returnIndices feeds MaxUnpool2d", () => {
    manualSeed(5);
    const pool = new MaxPool2d(2, { stride: 2, returnIndices: true });
    const unpool = new MaxUnpool2d(2, { stride: 2 });
    const x = randn(1, 1, 4, 4);
    const [out, idx] = pool.call(x);
    const back = unpool.call(out, idx);
    expect(back.shape).toEqual([1, 1, 4, 4]);
    const kept = (back.tolist() as number[][][][])[0]?.[0]?.flat().filter((v) => v !== 0).sort();
    expect(kept).toEqual((out.tolist() as number[][][][])[0]?.[0]?.flat().sort());
  });
});

describe("pooling layers", () => {
  for (const [cls, args, options, want] of fixtures.reprs.filter(([cls]) => POOL_CLASSES.has(cls))) {
    it(`repr: ${want}`, () => expect(String(construct(cls, args, options))).toBe(want));
  }

  it("work in Sequential and have no parameters", () => {
    const m = new Sequential(new MaxPool2d(2), new AvgPool2d(2, { stride: 1 }), new AdaptiveAvgPool2d([1, 1]));
    expect(m.numParameters()).toBe(0);
    expect((m.call(randn(2, 3, 8, 8)) as Tensor).shape).toEqual([2, 3, 1, 1]);
    const [o, i] = new AdaptiveMaxPool2d(3, { returnIndices: true }).call(randn(1, 2, 7, 7));
    expect(o.shape).toEqual([1, 2, 3, 3]);
    expect(i.dtype).toBe("int64");
    expect(new MaxPool1d(2).call(randn(2, 9)).shape).toEqual([2, 4]);
  });

  it("errors", () => {
    expect(() => F.maxPool2d(randn(1, 1, 4, 4), 2, { padding: 2 })).toThrow(/pad should be smaller than or equal to half of kernel size/);
    expect(() => F.maxPool2d(randn(1, 1, 2, 2), 3)).toThrow(ShapeError);
    expect(() => F.maxPool2d(randn(1, 1, 2, 2), 3)).toThrow("maxPool2d: Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small");
    expect(() => F.maxPool2d(randn(4, 4), 2)).toThrow(/expected 3D \(unbatched\) or 4D \(batched\) input/);
    expect(() => F.avgPool2d(randn(1, 1, 4, 4), 2, { divisorOverride: 0 })).toThrow(ArgumentError);
    expect(() => F.adaptiveAvgPool2d(randn(1, 1, 0, 4), 2)).toThrow(/non-zero size/);
    const [out, idx] = F.maxPool2d(randn(1, 1, 4, 4), 2, { returnIndices: true });
    expect(() => F.maxUnpool2d(out, idx, 2, { outputSize: [9, 9] })).toThrow(/invalid outputSize/);
    expect(() => F.maxUnpool2d(out, idx, 1)).toThrow(IndexError);
  });
});
