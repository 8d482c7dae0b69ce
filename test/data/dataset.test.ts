import { ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, randomSplit } from "@dl/data";
import { ArgumentError, Generator, IndexError, ShapeError, arange, manualSeed, randn, tensor } from "@dl/tensor";
import { expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("data");

class Squares extends Dataset<number> {
  constructor(readonly n: number) {
    super();
  }
  getItem(i: number): number {
    if (i < 0 || i >= this.n) throw new IndexError("Squares", `index ${i} out of range`);
    return i * i;
  }
  get length(): number {
    return this.n;
  }
}

class Count extends IterableDataset<number> {
  constructor(readonly from: number, readonly to: number) {
    super();
  }
  *[Symbol.iterator](): Iterator<number> {
    for (let i = this.from; i < this.to; i++) yield i;
  }
  override get length(): number {
    return this.to - this.from;
  }
}

describeEachBackend("datasets", () => {
  it("TensorDataset: items are the rows of every tensor (views), negative indices, length", () => {
    const x = arange(12).reshape(4, 3);
    const y = tensor([10, 20, 30, 40], { dtype: "int64" });
    const ds = new TensorDataset(x, y);
    expect(ds.length).toBe(4);
    const [a, b] = ds.getItem(1);
    expect(a?.tolist()).toEqual([3, 4, 5]);
    expect(b?.item()).toBe(20);
    expect(b?.dtype).toBe("int64");
    expect(a?.isContiguous()).toBe(true);
    expect(ds.getItem(-1)[1]?.item()).toBe(40);
    expect(() => ds.getItem(4)).toThrow(IndexError);
    expect(() => ds.getItem(4)).toThrow(/^TensorDataset: index 4 is out of range for a dataset of length 4/);
    expect([...ds].length).toBe(4);
  });

  it("TensorDataset: size mismatch and empty input are errors", () => {
    expect(() => new TensorDataset(randn(3, 2), randn(4))).toThrow(ShapeError);
    expect(() => new TensorDataset(randn(3, 2), randn(4))).toThrow(/Size mismatch between tensors: tensor 0 has shape \[3,2\] but tensor 1 has shape \[4\]/);
    expect(() => new TensorDataset()).toThrow(ArgumentError);
    expect(() => new TensorDataset(tensor(1))).toThrow(/0-dim/);
  });

  it("Subset maps indices (negative too); ConcatDataset bisects; concat() is dataset + other", () => {
    const sq = new Squares(5);
    const sub = new Subset(sq, [4, 0, 2]);
    expect(sub.length).toBe(3);
    expect([...sub]).toEqual([16, 0, 4]);
    expect(sub.getItem(-1)).toBe(4);
    expect(() => sub.getItem(3)).toThrow(IndexError);

    const cat = new ConcatDataset([new Squares(2), new Squares(0), new Squares(3)]);
    expect(cat.length).toBe(5);
    expect(cat.cumulativeSizes).toEqual([2, 2, 5]);
    expect([...cat]).toEqual([0, 1, 0, 1, 4]);
    expect(cat.getItem(-1)).toBe(4);
    expect(cat.getItem(-5)).toBe(0);
    expect(() => cat.getItem(-6)).toThrow(/absolute value of index -6 should not exceed dataset length 5/);
    expect(() => cat.getItem(5)).toThrow(IndexError);
    expect(() => new ConcatDataset([])).toThrow(/datasets should not be an empty iterable/);
    expect(() => new ConcatDataset([new Count(0, 2) as never])).toThrow(/does not support IterableDataset/);
    expect([...new Squares(2).concat(new Squares(2))]).toEqual([0, 1, 0, 1]);
  });

  it("ChainDataset chains iterable datasets (sync and async) with a summed length", async () => {
    const chain = new Count(0, 2).chain(new Count(5, 7));
    expect(chain).toBeInstanceOf(ChainDataset);
    expect([...(chain as unknown as Iterable<number>)]).toEqual([0, 1, 5, 6]);
    expect(chain.length).toBe(4);
    const out: number[] = [];
    for await (const v of chain as unknown as AsyncIterable<number>) out.push(v);
    expect(out).toEqual([0, 1, 5, 6]);
  });

  it("randomSplit: sizes from fractions and integers match PyTorch 1.13", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    for (const c of fx.random_split as { n: number; lengths: number[]; sizes: number[] }[]) {
      const parts = randomSplit(new Squares(c.n), c.lengths, { generator: new Generator(1) });
      expect(
        parts.map((p) => p.length),
        `n=${c.n} lengths=${c.lengths}`,
      ).toEqual(c.sizes);
    }
    // (6, [0, 6]) is an integer split and does not warn; fractions giving an empty split do
    expect(warn).not.toHaveBeenCalled();
    expect(randomSplit(new Squares(1), [0.5, 0.5]).map((p) => p.length)).toEqual([1, 0]);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/Length of split at index 1 is 0/));
    warn.mockRestore();
  });

  it("randomSplit: a seeded partition of every index, equal to randperm's order", () => {
    const ds = new Squares(20);
    const parts = randomSplit(ds, [0.5, 0.3, 0.2], { generator: new Generator(42) });
    const all = parts.flatMap((p) => [...p.indices]);
    expect([...all].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    const again = randomSplit(ds, [10, 6, 4], { generator: new Generator(42) });
    expect(again.map((p) => p.indices)).toEqual(parts.map((p) => p.indices));
    const other = randomSplit(ds, [10, 6, 4], { generator: new Generator(43) });
    expect(other.map((p) => p.indices)).not.toEqual(parts.map((p) => p.indices));
    // default generator: manualSeed makes it reproducible
    manualSeed(3);
    const d1 = randomSplit(ds, [15, 5]).map((p) => p.indices);
    manualSeed(3);
    expect(randomSplit(ds, [15, 5]).map((p) => p.indices)).toEqual(d1);
    expect(parts[0]?.getItem(0)).toBe((parts[0]?.indices[0] as number) ** 2);
  });

  it("randomSplit: errors as PyTorch", () => {
    expect(() => randomSplit(new Squares(10), [3, 3])).toThrow(/Sum of input lengths \(6\) does not equal the length of the input dataset \(10\)/);
    expect(() => randomSplit(new Squares(10), [1.5, -0.5])).toThrow(/Fraction at index 0 is not between 0 and 1/);
    expect(() => randomSplit(new Squares(10), [2.5, 7.5])).toThrow(/non-negative integers or fractions/);
  });
});
