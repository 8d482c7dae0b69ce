import { gradcheck, gradgradcheck } from "@dl/autograd";
import { Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, F, Fold, Sequential, Unfold } from "@dl/nn";
import { ArgumentError, DTypeError, ShapeError, type Tensor, allclose, arange, cat, manualSeed, matmul, ones, randn, sum } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { backendSupports, describeEachBackend } from "../helpers/backends.js";
import { construct, fixtures, fnCases, runModuleCase } from "./conv-fixtures.js";

const CONV = new Set(["conv1d", "conv2d", "convTranspose1d", "convTranspose2d"]);
const FOLD = new Set(["unfold", "fold"]);
const CONV_CLASSES = new Set(["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Fold", "Unfold"]);

describeEachBackend("F.conv* vs PyTorch", () => {
  fnCases((c) => CONV.has(c.op));
});

describeEachBackend("F.unfold / F.fold vs PyTorch", () => {
  fnCases((c) => FOLD.has(c.op));

  it("fold(unfold(x)) is x times the number of blocks covering each pixel", () => {
    manualSeed(1);
    const x = randn([2, 3, 6, 5], { dtype: "float64" });
    const o = { dilation: [2, 1], padding: [1, 2], stride: [1, 2] };
    const y = F.fold(F.unfold(x, [2, 3], o), [6, 5], [2, 3], o);
    const count = F.fold(F.unfold(ones(1, 1, 6, 5, { dtype: "float64" }), [2, 3], o), [6, 5], [2, 3], o);
    const want = x.tolist() as number[][][][];
    const c = count.tolist() as number[][][][];
    const got = y.tolist() as number[][][][];
    for (let n = 0; n < 2; n++)
      for (let ch = 0; ch < 3; ch++)
        for (let i = 0; i < 6; i++)
          for (let j = 0; j < 5; j++) expect(got[n]?.[ch]?.[i]?.[j]).toBeCloseTo((want[n]?.[ch]?.[i]?.[j] as number) * (c[0]?.[0]?.[i]?.[j] as number), 12);
  });

  it("unfold and fold are each other's adjoint to every order (gradcheck, gradgradcheck)", () => {
    manualSeed(2);
    const x = randn([1, 2, 4, 5], { dtype: "float64" }).requiresGrad_();
    const o = { padding: 1, stride: [2, 1], dilation: [1, 2] };
    expect(gradcheck((t) => F.unfold(t, [2, 2], o), [x])).toBe(true);
    expect(gradgradcheck((t) => F.unfold(t, [2, 2], o), [x])).toBe(true);
    const cols = randn([1, 8, 15], { dtype: "float64" }).requiresGrad_();
    expect(gradcheck((t) => F.fold(t, [4, 5], [2, 2], o), [cols])).toBe(true);
    expect(gradgradcheck((t) => F.fold(t, [4, 5], [2, 2], o), [cols])).toBe(true);
  });

  it("rejects a block count that does not match the output size", () => {
    expect(() => F.fold(randn(1, 4, 5), [3, 3], 2)).toThrow(/fold: .*match the calculated number of sliding blocks 2 \* 2 = 4, but got input.size\(2\)=5/);
    expect(() => F.fold(randn(1, 5, 4), [3, 3], 2)).toThrow(/divisible by the product of kernel_size/);
    expect(() => F.unfold(randn(1, 1, 2, 2), 3)).toThrow(ShapeError);
  });
});

describeEachBackend("conv layers vs PyTorch", () => {
  for (const c of fixtures.modules) it(c.name, () => runModuleCase(c));

  it("conv2d and conv_transpose2d have second derivatives (gradgradcheck)", () => {
    manualSeed(3);
    const x = randn([1, 2, 4, 4], { dtype: "float64" }).requiresGrad_();
    const w = randn([2, 1, 2, 3], { dtype: "float64" }).requiresGrad_();
    const b = randn([2], { dtype: "float64" }).requiresGrad_();
    const conv = (a: Tensor, k: Tensor, c: Tensor) => F.conv2d(a, k, c, { stride: [1, 2], padding: 1, groups: 2 });
    expect(gradcheck(conv, [x, w, b])).toBe(true);
    expect(gradgradcheck(conv, [x, w, b])).toBe(true);
    const wt = randn([2, 2, 3, 2], { dtype: "float64" }).requiresGrad_();
    const convT = (a: Tensor, k: Tensor) => F.convTranspose2d(a, k, null, { stride: 2, padding: [1, 0], outputPadding: 1 });
    expect(gradcheck(convT, [x, wt])).toBe(true);
    expect(gradgradcheck(convT, [x, wt])).toBe(true);
  });
});

describeEachBackend("conv2d paths agree", (device) => {
  // float64 where the device has it (to 1e-12); float32 on the gpu.
  const dtype = backendSupports(device, "float64") ? "float64" : "float32";
  const tol = dtype === "float64" ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 };
  // Stride-1 convolutions take the flat im2col path; F.unfold + matmul is the generic one.
  const geometries: { x: number[]; w: number[]; o: { padding?: [number, number]; dilation?: [number, number]; groups?: number } }[] = [
    { x: [1, 2, 5, 4], w: [3, 2, 3, 1], o: { padding: [3, 0], dilation: [2, 1] } },
    { x: [2, 4, 3, 6], w: [2, 2, 1, 4], o: { padding: [0, 2], dilation: [1, 2], groups: 2 } },
    { x: [3, 1, 7, 7], w: [2, 1, 5, 5], o: { padding: [0, 0] } },
    { x: [1, 3, 2, 9], w: [4, 3, 2, 3], o: { padding: [1, 4] } },
    { x: [2, 2, 6, 1], w: [1, 2, 4, 1], o: { padding: [2, 1], dilation: [1, 3] } },
  ];
  for (const { x: xs, w: ws, o } of geometries) {
    it(`x ${xs} w ${ws} ${JSON.stringify(o)}`, () => {
      manualSeed(7);
      const x = randn(xs, { dtype }).requiresGrad_();
      const w = randn(ws, { dtype }).requiresGrad_();
      const y = F.conv2d(x, w, null, o);
      const g = randn(y.shape, { dtype });
      y.backward(g);
      const [gx, gw] = [(x.grad as Tensor).clone(), (w.grad as Tensor).clone()];
      x.grad = null;
      w.grad = null;
      // Reference: per group, weight [O/G, C/G*kh*kw] @ unfold(x) [N, C/G*kh*kw, L].
      const groups = o.groups ?? 1;
      const [n, c] = xs as [number, number];
      const [oc, , kh, kw] = ws as [number, number, number, number];
      const parts: Tensor[] = [];
      for (let gi = 0; gi < groups; gi++) {
        const xg = x.narrow(1, (gi * c) / groups, c / groups);
        const wg = w.narrow(0, (gi * oc) / groups, oc / groups).reshape(oc / groups, -1);
        parts.push(matmul(wg, F.unfold(xg, [kh, kw], { padding: o.padding, dilation: o.dilation })));
      }
      const ref = cat(parts, 1).view(n, oc, y.shape[2] as number, y.shape[3] as number);
      expect(allclose(y, ref, tol)).toBe(true);
      ref.backward(g);
      const gradOf = (t: Tensor) => t.grad as Tensor;
      expect(allclose(gx, gradOf(x), tol)).toBe(true);
      expect(allclose(gw, gradOf(w), tol)).toBe(true);
    });
  }
});

describe("conv layers: parameters, init, repr", () => {
  it("weight layouts and PyTorch state-dict keys", () => {
    expect(new Conv2d(4, 6, [3, 2], { groups: 2 }).weight.shape).toEqual([6, 2, 3, 2]);
    expect(new Conv1d(3, 4, 5).weight.shape).toEqual([4, 3, 5]);
    expect(new ConvTranspose2d(4, 6, 3, { groups: 2 }).weight.shape).toEqual([4, 3, 3, 3]);
    expect(new ConvTranspose1d(4, 6, 3).weight.shape).toEqual([4, 6, 3]);
    const m = new Conv2d(2, 3, 3, { bias: false });
    expect(Object.keys(m.stateDict())).toEqual(["weight"]);
    expect(m.bias).toBe(null);
    expect(Object.keys(new Sequential(new Conv2d(1, 2, 3), new ConvTranspose2d(2, 1, 2)).stateDict())).toEqual(["0.weight", "0.bias", "1.weight", "1.bias"]);
  });

  it("default init: kaiming_uniform(a=sqrt(5)) and U(+-1/sqrt(fan_in)) bias, within PyTorch's bounds", () => {
    manualSeed(0);
    const m = new Conv2d(16, 32, 3);
    const bound = 1 / Math.sqrt(16 * 9); // gain sqrt(2/(1+5)) * sqrt(3/fan_in) = 1/sqrt(fan_in)
    const w = Array.from(m.weight.dataSync());
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(bound * 0.9);
    expect(Math.max(...Array.from((m.bias as Tensor).dataSync()).map(Math.abs))).toBeLessThanOrEqual(bound);
    // ConvTranspose's fan_in is weight.size(1) * kernel area = out/groups * kH * kW.
    const t = new ConvTranspose2d(8, 4, 2);
    expect(Math.max(...Array.from(t.weight.dataSync()).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(4 * 4));
  });

  for (const [cls, args, options, want] of fixtures.reprs.filter(([cls]) => CONV_CLASSES.has(cls))) {
    it(`repr: ${want}`, () => expect(String(construct(cls, args, options))).toBe(want));
  }

  it("prints inside containers like PyTorch", () => {
    const m = new Sequential(new Conv2d(1, 16, 3, { padding: 1 }), new Unfold(2), new Fold(4, 2));
    expect(String(m)).toBe(
      "Sequential(\n  (0): Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n  (1): Unfold(kernel_size=2, dilation=1, padding=0, stride=1)\n  (2): Fold(output_size=4, kernel_size=2, dilation=1, padding=0, stride=1)\n)",
    );
  });
});

describe("conv errors", () => {
  it("wrong number of input channels names the shapes, as PyTorch", () => {
    const m = new Conv2d(16, 32, 3);
    expect(() => m.call(randn(64, 8, 14, 14))).toThrow(ShapeError);
    expect(() => m.call(randn(64, 8, 14, 14))).toThrow(
      "conv2d: Given groups=1, weight of size [32,16,3,3], expected input[64,8,14,14] to have 16 channels, but got 8 channels instead",
    );
    expect(() => F.conv2d(randn(1, 4, 5, 5), randn(4, 3, 3, 3), null, { groups: 2 })).toThrow(/expected input\[1,4,5,5\] to have 6 channels, but got 4/);
    expect(() => F.convTranspose2d(randn(1, 3, 5, 5), randn(4, 2, 3, 3))).toThrow(/weight of size \[4,2,3,3\], expected input\[1,3,5,5\] to have 4 channels/);
  });

  it("rank, kernel size, bias, dtype and argument checks", () => {
    expect(F.conv2d(randn(3, 4, 5), randn(2, 3, 1, 1)).shape).toEqual([2, 4, 5]);
    expect(() => F.conv2d(randn(2, 3), randn(2, 3, 1, 1))).toThrow(/expected 3D \(unbatched\) or 4D \(batched\) input, but got input of size \[2,3\]/);
    expect(() => F.conv2d(randn(1, 1, 2, 2), randn(1, 1, 3, 3))).toThrow(
      "conv2d: Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than actual input size",
    );
    expect(() => F.conv2d(randn(1, 2, 4, 4), randn(3, 2, 3, 3), randn(2))).toThrow(/expected bias to be 1-dimensional with 3 elements, but got bias of size \[2\]/);
    expect(() => F.conv2d(randn(1, 2, 4, 4, { dtype: "float64" }), randn(3, 2, 3, 3))).toThrow(DTypeError);
    expect(() => F.conv2d(randn(1, 2, 4, 4), randn(3, 2, 3, 3), null, { padding: "same", stride: 2 })).toThrow(/padding='same' is not supported for strided convolutions/);
    expect(() => F.conv1d(arange(6).view(1, 1, 6), randn(1, 1, 2))).toThrow(/floating point/);
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/in_channels must be divisible by groups/);
    expect(() => new Conv2d(4, 3, 3, { groups: 2 })).toThrow(/out_channels must be divisible by groups/);
    expect(() => new Conv2d(4, 4, 3, { stride: 2, padding: "same" })).toThrow(ArgumentError);
    // biome-ignore lint/suspicious/noExplicitAny: an invalid option on purpose
    expect(() => new Conv2d(4, 4, 3, { paddingMode: "mirror" as any })).toThrow(/padding_mode must be one of/);
    // biome-ignore lint/suspicious/noExplicitAny: idem
    expect(() => new ConvTranspose2d(4, 4, 3, { paddingMode: "reflect" as any })).toThrow(/Only "zeros" padding mode is supported for ConvTranspose2d/);
    expect(() => F.convTranspose2d(randn(1, 2, 3, 3), randn(2, 2, 3, 3), null, { outputPadding: 1 })).toThrow(/output padding must be smaller than either stride or dilation/);
    expect(() => new ConvTranspose2d(2, 2, 3, { stride: 2 }).call(randn(1, 2, 3, 3), [9, 9])).toThrow(/requested an output size of \[9,9\], but valid sizes range from \[7,7\] to \[8,8\]/);
  });
});

describe("conv2d speed", () => {
  it("Conv2d(16, 32, 3, padding=1) forward + backward on [64, 16, 14, 14]", () => {
    manualSeed(0);
    const m = new Conv2d(16, 32, 3, { padding: 1 });
    const x = randn([64, 16, 14, 14]).requiresGrad_();
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      sum(m.call(x)).backward();
      (x.grad as Tensor).dataSync();
      times.push(performance.now() - t0);
      m.zeroGrad();
      x.grad = null;
    }
    const best = Math.min(...times.slice(1));
    console.log(`Conv2d(16,32,3,padding=1) on [64,16,14,14]: fwd+bwd best ${best.toFixed(1)} ms`);
    // A loose bound (shared CI machines); the target on 2 cores is < 60 ms.
    expect(best).toBeLessThan(1000);
  });
});
