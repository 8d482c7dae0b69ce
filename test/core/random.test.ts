import {
  ArgumentError,
  DTypeError,
  Generator,
  ShapeError,
  bernoulli,
  defaultGenerator,
  full,
  manualSeed,
  multinomial,
  normal,
  rand,
  randint,
  randn,
  randperm,
  tensor,
  uniform,
} from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";

const values = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());

function moments(xs: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  const mean = s / xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += ((xs[i] as number) - mean) ** 2;
  return { mean, std: Math.sqrt(v / (xs.length - 1)) };
}

describeEachBackend("random: reproducibility", () => {
  it("manualSeed makes rand/randn/randint/randperm reproducible bit for bit", () => {
    const draw = () => [values(rand(5)), values(randn(2, 3)), values(randint(0, 10, [4])), values(randperm(6)), values(normal(1, 2, [3])), values(uniform(-1, 1, [3]))];
    manualSeed(42);
    const a = draw();
    manualSeed(42);
    const b = draw();
    expect(b).toEqual(a);
    manualSeed(43);
    const c = draw();
    expect(c[0]).not.toEqual(a[0]);
    expect(c[1]).not.toEqual(a[1]);
  });

  it("consecutive draws differ", () => {
    manualSeed(0);
    expect(values(rand(4))).not.toEqual(values(rand(4)));
  });

  it("Generator objects are independent of each other and of the default generator", () => {
    const g1 = new Generator(7);
    const g2 = new Generator(7);
    const a = values(rand(6, { generator: g1 }));
    manualSeed(1);
    rand(100); // draws from the default generator do not move g2
    const b = values(rand(6, { generator: g2 }));
    expect(b).toEqual(a);
    expect(g1.initialSeed()).toBe(7);
    expect(new Generator(8).random()).not.toBe(new Generator(7).random());
    // The default generator is unaffected by explicit generators.
    manualSeed(5);
    const d1 = values(rand(3));
    manualSeed(5);
    rand(3, { generator: new Generator(99) });
    expect(values(rand(3))).toEqual(d1);
    expect(manualSeed(5)).toBe(defaultGenerator);
  });

  it("getState/setState round-trips, including the cached second normal", () => {
    const g = new Generator(3);
    g.normal(); // leaves a spare normal cached
    const state = JSON.parse(JSON.stringify(g.getState()));
    const a = [g.normal(), g.random(), g.normal(), g.int(0, 1000)];
    const h = new Generator(12345).setState(state);
    expect([h.normal(), h.random(), h.normal(), h.int(0, 1000)]).toEqual(a);
    g.setState(state);
    expect([g.normal(), g.random(), g.normal(), g.int(0, 1000)]).toEqual(a);
  });
});

describeEachBackend("random: distributions", () => {
  it("rand is uniform in [0, 1) with the right moments", () => {
    manualSeed(2024);
    const x = rand(100000);
    expect(x.dtype).toBe("float32");
    const v = x.dataSync();
    let lo = 1;
    let hi = 0;
    for (const e of v) {
      lo = Math.min(lo, e);
      hi = Math.max(hi, e);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    const m = moments(v);
    expect(Math.abs(m.mean - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(m.std - Math.sqrt(1 / 12))).toBeLessThan(0.01);
  });

  it("randn has mean 0 and std 1 (100k samples)", () => {
    manualSeed(7);
    const m = moments(randn(100000, { dtype: "float64" }).dataSync());
    expect(Math.abs(m.mean)).toBeLessThan(0.02);
    expect(Math.abs(m.std - 1)).toBeLessThan(0.02);
  });

  it("normal(mean, std) and uniform(low, high) scale and shift", () => {
    manualSeed(8);
    const n = moments(normal(3, 0.5, [100000], { dtype: "float64" }).dataSync());
    expect(Math.abs(n.mean - 3)).toBeLessThan(0.01);
    expect(Math.abs(n.std - 0.5)).toBeLessThan(0.01);
    const u = uniform(-2, 4, [100000]).dataSync();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(4);
    expect(Math.abs(moments(u).mean - 1)).toBeLessThan(0.05);
    expect(() => normal(0, -1, [2])).toThrow(ArgumentError);
    expect(() => normal(0, -1, [2])).toThrow(/^normal: expects std >= 0/);
  });

  it("rand/randn accept shapes as varargs or arrays and need a floating dtype", () => {
    expect(rand(2, 3).shape).toEqual([2, 3]);
    expect(randn([4]).shape).toEqual([4]);
    expect(rand(2, { dtype: "float64" }).dtype).toBe("float64");
    expect(rand().shape).toEqual([]);
    expect(() => rand(2, { dtype: "int64" })).toThrow(DTypeError);
    expect(() => randn(2, { dtype: "int32" })).toThrow(/^randn: expected a floating point dtype/);
    expect(() => rand(-1)).toThrow(ShapeError);
  });

  it("randint draws int64 in [low, high) and hits every value", () => {
    manualSeed(11);
    const x = randint(-3, 4, [5000]);
    expect(x.dtype).toBe("int64");
    const v = values(x);
    expect(new Set(v)).toEqual(new Set([-3, -2, -1, 0, 1, 2, 3]));
    expect(v.every(Number.isInteger)).toBe(true);
    expect(randint(0, 2, [3], { dtype: "int32" }).dtype).toBe("int32");
    expect(() => randint(5, 5, [1])).toThrow(ArgumentError);
    expect(() => randint(5, 2, [1])).toThrow(/^randint: /);
  });

  it("randperm is a permutation of 0..n-1 (int64)", () => {
    manualSeed(12);
    const p = randperm(50);
    expect(p.dtype).toBe("int64");
    expect([...values(p)].sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
    expect(values(p)).not.toEqual([...Array(50).keys()]);
    expect(randperm(0).shape).toEqual([0]);
    expect(() => randperm(-1)).toThrow(/^randperm: /);
  });

  it("bernoulli: p=0 gives 0, p=1 gives 1, dtype and shape of p; rejects p outside [0, 1]", () => {
    manualSeed(13);
    const p = tensor([[0, 1, 0, 1]]);
    const b = bernoulli(p);
    expect(b.dtype).toBe("float32");
    expect(b.shape).toEqual([1, 4]);
    expect(b.tolist()).toEqual([[0, 1, 0, 1]]);
    const half = moments(bernoulli(full([20000], 0.3)).dataSync());
    expect(Math.abs(half.mean - 0.3)).toBeLessThan(0.02);
    expect(() => bernoulli(tensor([1.5]))).toThrow(ArgumentError);
    expect(() => bernoulli(tensor([-0.1]))).toThrow(/^bernoulli: expects 0 <= p <= 1/);
    expect(() => bernoulli(tensor([Number.NaN]))).toThrow(/^bernoulli: /);
  });

  it("multinomial without replacement never repeats and never picks zero weights", () => {
    manualSeed(14);
    for (let k = 0; k < 20; k++) {
      const s = multinomial(tensor([0, 1, 2, 0, 3]), 3);
      expect(s.dtype).toBe("int64");
      const v = values(s);
      expect(new Set(v).size).toBe(3);
      expect(v.every((i) => [1, 2, 4].includes(i))).toBe(true);
    }
    const rows = multinomial(tensor([[1, 0, 0], [0, 0, 1]]), 1);
    expect(rows.shape).toEqual([2, 1]);
    expect(rows.tolist()).toEqual([[0], [2]]);
  });

  it("multinomial with replacement follows the weights", () => {
    manualSeed(15);
    const v = values(multinomial(tensor([1, 3]), 20000, true));
    const ones = v.filter((i) => i === 1).length / v.length;
    expect(Math.abs(ones - 0.75)).toBeLessThan(0.02);
  });

  it("multinomial errors", () => {
    expect(() => multinomial(tensor([1, 1]), 3)).toThrow(/^multinomial: cannot sample n_sample \(3\) > prob_dist.size\(-1\) \(2\) samples without replacement/);
    expect(() => multinomial(tensor([1, -1]), 1)).toThrow(/^multinomial: probability tensor contains either inf, nan or element < 0/);
    expect(() => multinomial(tensor([0, 0]), 1)).toThrow(/^multinomial: invalid multinomial distribution/);
    expect(() => multinomial(tensor(1), 1)).toThrow(ShapeError);
    expect(() => multinomial(tensor([[[1]]]), 1)).toThrow(/^multinomial: prob_dist must be 1 or 2 dim/);
  });
});

describe("Generator API", () => {
  it("int(low, high) stays in range", () => {
    const g = new Generator(1);
    for (let i = 0; i < 1000; i++) {
      const v = g.int(-2, 3);
      expect(v).toBeGreaterThanOrEqual(-2);
      expect(v).toBeLessThan(3);
    }
  });
});
