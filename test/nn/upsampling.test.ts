import { gradcheck } from "@dl/autograd";
import { F, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d } from "@dl/nn";
import { ArgumentError, ShapeError, arange, manualSeed, randn } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { construct, fixtures, fnCases } from "./conv-fixtures.js";

const UP_CLASSES = new Set(["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]);

describeEachBackend("F.interpolate vs PyTorch", () => {
  fnCases((c) => c.op === "interpolate");

  it("bilinear and bicubic pass gradcheck", () => {
    manualSeed(6);
    const x = randn([1, 2, 3, 4], { dtype: "float64" }).requiresGrad_();
    expect(gradcheck((t) => F.interpolate(t, { size: [5, 3], mode: "bilinear" }), [x])).toBe(true);
    expect(gradcheck((t) => F.interpolate(t, { scaleFactor: 1.5, mode: "bicubic", alignCorners: true }), [x])).toBe(true);
    expect(gradcheck((t) => F.interpolate(t, { size: [7, 9] }), [x])).toBe(true);
  });
});

describe("upsampling layers", () => {
  for (const [cls, args, options, want] of fixtures.reprs.filter(([cls]) => UP_CLASSES.has(cls))) {
    it(`repr: ${want}`, () => expect(String(construct(cls, args, options))).toBe(want));
  }

  it("Upsample, UpsamplingNearest2d and UpsamplingBilinear2d", () => {
    const x = arange(4, { dtype: "float32" }).view(1, 1, 2, 2);
    expect(new Upsample({ scaleFactor: 2 }).call(x).tolist()).toEqual([[[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]]]);
    expect(new UpsamplingNearest2d({ size: 4 }).call(x).tolist()).toEqual(new Upsample({ size: [4, 4] }).call(x).tolist());
    expect(new UpsamplingBilinear2d({ size: 3 }).call(x).tolist()).toEqual([[[[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]]]]);
  });

  it("errors", () => {
    const x = randn(1, 1, 3, 3);
    expect(() => F.interpolate(x, { size: 4, scaleFactor: 2 })).toThrow("interpolate: only one of size or scale_factor should be defined");
    expect(() => F.interpolate(x, {})).toThrow(/either size or scale_factor should be defined/);
    expect(() => F.interpolate(x, { size: 4, alignCorners: true })).toThrow(/align_corners option can only be set with the interpolating modes/);
    expect(() => F.interpolate(x, { size: 4, mode: "linear" })).toThrow(ShapeError);
    expect(() => F.interpolate(x, { size: 4, mode: "linear" })).toThrow(/linear mode needs 3D input/);
    expect(() => F.interpolate(x, { size: [4, 4, 4] })).toThrow(/same number of spatial dimensions/);
    expect(() => F.interpolate(x, { size: 4, recomputeScaleFactor: true })).toThrow(/recompute_scale_factor is not meaningful with an explicit size/);
    // biome-ignore lint/suspicious/noExplicitAny: an invalid mode on purpose
    expect(() => F.interpolate(x, { size: 4, mode: "cubic" as any })).toThrow(ArgumentError);
    expect(() => F.interpolate(randn(3, 3), { size: 4 })).toThrow(/Only 3D, 4D and 5D input/);
  });
});
