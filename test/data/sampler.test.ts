import { BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler } from "@dl/data";
import { ArgumentError, Generator, ShapeError, manualSeed, randperm, tensor } from "@dl/tensor";
import { expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("data");
const sized = (n: number) => ({ length: n });

describeEachBackend("samplers", () => {
  it("SequentialSampler: 0..n-1", () => {
    const s = new SequentialSampler(sized(4));
    expect([...s]).toEqual([0, 1, 2, 3]);
    expect(s.length).toBe(4);
  });

  it("RandomSampler: a permutation per pass, seeded, equal to randperm with the same generator", () => {
    const s = new RandomSampler(sized(10), { generator: new Generator(7) });
    const a = [...s];
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
    expect(Array.from(randperm(10, { generator: new Generator(7) }).dataSync())).toEqual(a);
    expect([...new RandomSampler(sized(10), { generator: new Generator(7) })]).toEqual(a);
    // the same generator continues: the next pass is a different permutation
    expect([...s]).not.toEqual(a);
    expect(s.length).toBe(10);
  });

  it("RandomSampler: without a generator each pass seeds from the default generator (manualSeed reproduces)", () => {
    manualSeed(11);
    const a = [...new RandomSampler(sized(8))];
    manualSeed(11);
    expect([...new RandomSampler(sized(8))]).toEqual(a);
  });

  it("RandomSampler: numSamples beyond n without replacement concatenates permutations; with replacement draws in range", () => {
    const s = new RandomSampler(sized(4), { numSamples: 10, generator: new Generator(1) });
    const v = [...s];
    expect(v.length).toBe(10);
    expect([...v.slice(0, 4)].sort()).toEqual([0, 1, 2, 3]);
    expect([...v.slice(4, 8)].sort()).toEqual([0, 1, 2, 3]);
    expect(new Set(v.slice(8)).size).toBe(2);
    const r = new RandomSampler(sized(3), { replacement: true, numSamples: 70, generator: new Generator(2) });
    const w = [...r];
    expect(w.length).toBe(70);
    expect(w.every((i) => i >= 0 && i < 3)).toBe(true);
    expect(new Set(w).size).toBe(3);
    expect(r.length).toBe(70);
  });

  it("RandomSampler: argument errors as PyTorch", () => {
    expect(() => new RandomSampler(sized(0))).toThrow(/num_samples should be a positive integer value, but got num_samples=0/);
    expect(() => new RandomSampler(sized(3), { numSamples: 1.5 })).toThrow(ArgumentError);
    expect(() => new RandomSampler(sized(3), { replacement: 1 as unknown as boolean })).toThrow(/replacement should be a boolean value/);
  });

  it("SubsetRandomSampler: the given indices, permuted by the generator", () => {
    const idx = [10, 20, 30, 40, 50];
    const s = new SubsetRandomSampler(idx, { generator: new Generator(4) });
    const v = [...s];
    expect([...v].sort()).toEqual(idx);
    const perm = Array.from(randperm(5, { generator: new Generator(4) }).dataSync());
    expect(v).toEqual(perm.map((i) => idx[i]));
    expect(s.length).toBe(5);
  });

  it("WeightedRandomSampler: frequencies follow the weights (chi-square), zero weights never drawn", () => {
    const weights = [1, 2, 0, 5, 2];
    const n = 20000;
    const s = new WeightedRandomSampler(weights, n, { generator: new Generator(9) });
    const counts = new Array(weights.length).fill(0);
    for (const i of s) counts[i]++;
    expect(counts[2]).toBe(0);
    const total = weights.reduce((a, b) => a + b, 0);
    let chi2 = 0;
    weights.forEach((w, i) => {
      if (w === 0) return;
      const e = (n * w) / total;
      chi2 += (counts[i] - e) ** 2 / e;
    });
    // 3 degrees of freedom: P(chi2 > 16.27) = 0.001
    expect(chi2).toBeLessThan(16.27);
    // the same seed gives the same draws
    const first = [...new WeightedRandomSampler(weights, 50, { generator: new Generator(9) })];
    expect([...new WeightedRandomSampler(weights, 50, { generator: new Generator(9) })]).toEqual(first);
    expect([...new WeightedRandomSampler(weights, 50, { generator: new Generator(10) })]).not.toEqual(first);
    expect(s.length).toBe(n);
  });

  it("WeightedRandomSampler: without replacement every index at most once; weights as a tensor; errors", () => {
    const s = new WeightedRandomSampler(tensor([0.9, 0.4, 0.05, 0.2, 0.3, 0.1]), 5, false);
    const v = [...s];
    expect(new Set(v).size).toBe(5);
    expect(() => [...new WeightedRandomSampler([1, 1], 3, { replacement: false })]).toThrow(/cannot sample n_sample \(3\) > prob_dist.size\(-1\) \(2\)/);
    expect(() => new WeightedRandomSampler(tensor([[1, 2]]), 1)).toThrow(ShapeError);
    expect(() => new WeightedRandomSampler(tensor([[1, 2]]), 1)).toThrow(/weights should be a 1d sequence but given weights have shape \[1,2\]/);
    expect(() => new WeightedRandomSampler([1, 2], 0)).toThrow(/num_samples should be a positive integer value, but got num_samples=0/);
  });

  it("BatchSampler: batches of a given index order and length match PyTorch", () => {
    for (const c of fx.batch_sampler as { order: number[]; batch_size: number; drop_last: boolean; batches: number[][]; len: number }[]) {
      const s = new BatchSampler(c.order, c.batch_size, c.drop_last);
      expect([...s], `bs=${c.batch_size} drop_last=${c.drop_last}`).toEqual(c.batches);
      expect(s.length).toBe(c.len);
    }
  });

  it("BatchSampler: argument errors as PyTorch; a sampler without length", () => {
    expect(() => new BatchSampler([1], 0, false)).toThrow(/batch_size should be a positive integer value, but got batch_size=0/);
    expect(() => new BatchSampler([1], 2, 1 as unknown as boolean)).toThrow(/drop_last should be a boolean value/);
    const gen = {
      *[Symbol.iterator]() {
        yield 1;
        yield 2;
        yield 3;
      },
    };
    const s = new BatchSampler(gen, 2, false);
    expect([...s]).toEqual([[1, 2], [3]]);
    expect(() => s.length).toThrow(/has no length/);
  });
});
