import "@dl/autograd";
import { F, init } from "@dl/nn";
import { empty, manualSeed, randn } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

/**
 * One rule for F and init: PyTorch's parameters after the tensor can be given positionally, as in
 * PyTorch, or in one options object by their camelCase names; both give the same result.
 */
describeEachBackend("positional or options arguments", () => {
  const x = () => {
    manualSeed(0);
    return randn(3, 4);
  };
  const same = (a: { tolist(): unknown }, b: { tolist(): unknown }) => expect(a.tolist()).toEqual(b.tolist());

  it("F activations", () => {
    same(F.softplus(x(), 2, 3), F.softplus(x(), { beta: 2, threshold: 3 }));
    same(F.elu(x(), 0.5), F.elu(x(), { alpha: 0.5 }));
    same(F.leakyRelu(x(), 0.2), F.leakyRelu(x(), { negativeSlope: 0.2 }));
    same(F.hardtanh(x(), -0.5, 0.5), F.hardtanh(x(), { minVal: -0.5, maxVal: 0.5 }));
    expect(() => F.hardtanh(x(), { minVal: 1, maxVal: 0 })).toThrow(/min_val cannot be greater than max_val/);
  });

  it("F.normalize and F.dropout", () => {
    same(F.normalize(x(), 1, 0), F.normalize(x(), { p: 1, dim: 0 }));
    const a = x();
    manualSeed(1);
    const d1 = F.dropout(a, 0.3, true);
    manualSeed(1);
    same(d1, F.dropout(a, { p: 0.3, training: true }));
    same(F.dropout(a, { p: 0.3, training: false }), a);
  });

  it("init: xavier (gain) and kaiming (a, mode, nonlinearity)", () => {
    const w = () => empty(8, 5);
    manualSeed(2);
    const k1 = init.kaimingUniform_(w(), 0.1, "fan_out", "leaky_relu");
    manualSeed(2);
    same(k1, init.kaimingUniform_(w(), { a: 0.1, mode: "fan_out", nonlinearity: "leaky_relu" }));
    manualSeed(3);
    const x1 = init.xavierNormal_(w(), 2);
    manualSeed(3);
    same(x1, init.xavierNormal_(w(), { gain: 2 }));
  });

  it("init.calculateFans: named and iterable as PyTorch's (fan_in, fan_out) tuple", () => {
    const fans = init.calculateFans(empty(16, 3, 5, 5));
    const [fanIn, fanOut] = fans;
    expect([fanIn, fanOut]).toEqual([75, 400]);
    expect(fans.fanIn).toBe(75);
    expect(Object.keys(fans)).toEqual(["fanIn", "fanOut"]);
  });
});
