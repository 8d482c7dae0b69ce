import { BatchSampler, DataLoader, Dataset, IterableDataset, SequentialSampler, TensorDataset, padCollate } from "@dl/data";
import { ArgumentError, Generator, Tensor, arange, manualSeed, tensor } from "@dl/tensor";
import { describe, expect, it } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
import { type TSpec, expectClose, fromSpec, loadFixtures } from "../helpers/fixtures.js";

const fx = loadFixtures("data");

class Items extends Dataset<{ id: number; v: number[]; name: string }> {
  constructor(readonly n: number) {
    super();
  }
  getItem(i: number) {
    return { id: i, v: [i, -i], name: `n${i}` };
  }
  get length() {
    return this.n;
  }
}

class AsyncItems extends Dataset<Promise<number>> {
  getItem(i: number): Promise<number> {
    return new Promise((r) => setTimeout(() => r(i * 2), 1));
  }
  get length() {
    return 5;
  }
}

class Stream extends IterableDataset<number> {
  constructor(readonly n: number, readonly withLength = true) {
    super();
  }
  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.n; i++) yield i;
  }
  override get length(): number | undefined {
    return this.withLength ? this.n : undefined;
  }
}

class AsyncStream extends IterableDataset<number> {
  async *[Symbol.asyncIterator](): AsyncIterator<number> {
    for (let i = 0; i < 5; i++) yield i;
  }
}

const ids = (batches: Iterable<{ id: Tensor }>) => [...batches].map((b) => b.id.tolist());

describeEachBackend("DataLoader", () => {
  const x = fromSpec(fx.loader.x as TSpec);
  const y = fromSpec(fx.loader.y as TSpec);

  it("batches of a TensorDataset match PyTorch (batchSize, dropLast, length)", () => {
    for (const c of fx.loader.cases as { batch_size: number; drop_last: boolean; len: number; batches: [TSpec, TSpec][] }[]) {
      const loader = new DataLoader(new TensorDataset(x, y), { batchSize: c.batch_size, dropLast: c.drop_last });
      expect(loader.length).toBe(c.len);
      const got = [...loader];
      expect(got.length).toBe(c.batches.length);
      got.forEach((b, i) => {
        expectClose(b[0] as Tensor, c.batches[i]?.[0] as TSpec);
        expectClose(b[1] as Tensor, c.batches[i]?.[1] as TSpec);
      });
    }
  });

  it("batchSize null disables batching (items converted, not stacked)", () => {
    const loader = new DataLoader(new TensorDataset(x, y), { batchSize: null });
    expect(loader.length).toBe(fx.loader.unbatched.len);
    expect(loader.autoCollation).toBe(false);
    const items = [...loader].slice(0, 3);
    items.forEach((it, i) => {
      expectClose(it[0] as Tensor, fx.loader.unbatched.items[i][0]);
      expectClose(it[1] as Tensor, fx.loader.unbatched.items[i][1]);
    });
  });

  it("collates nested items: objects per key, arrays per position, strings as arrays", () => {
    const [b] = [...new DataLoader(new Items(3), { batchSize: 3 })];
    expect(b?.id.tolist()).toEqual([0, 1, 2]);
    expect(b?.v.map((t) => t.tolist())).toEqual([
      [0, 1, 2],
      [-0, -1, -2],
    ]);
    expect(b?.name).toEqual(["n0", "n1", "n2"]);
  });

  it("shuffle: the same seed gives the same batches; epochs differ; every index once per epoch", () => {
    const mk = (seed: number) => new DataLoader(new Items(10), { batchSize: 3, shuffle: true, generator: new Generator(seed) });
    const a = mk(1);
    const e1 = ids(a);
    const e2 = ids(a);
    expect(e1).not.toEqual(e2);
    expect((e1.flat() as number[]).sort((p, q) => p - q)).toEqual([...Array(10).keys()]);
    const b = mk(1);
    expect(ids(b)).toEqual(e1);
    expect(ids(b)).toEqual(e2);
    expect(ids(mk(2))).not.toEqual(e1);
    // without a generator: the default one (manualSeed)
    manualSeed(5);
    const d1 = ids(new DataLoader(new Items(10), { batchSize: 4, shuffle: true }));
    manualSeed(5);
    expect(ids(new DataLoader(new Items(10), { batchSize: 4, shuffle: true }))).toEqual(d1);
  });

  it("for await gives the same batches as for...of (same random draws), and awaits async items", async () => {
    const mk = () => new DataLoader(new Items(7), { batchSize: 2, shuffle: true, generator: new Generator(3) });
    const sync = ids(mk());
    const got: unknown[] = [];
    for await (const b of mk()) got.push(b.id.tolist());
    expect(got).toEqual(sync);
    const asyncItems: number[][] = [];
    for await (const b of new DataLoader(new AsyncItems(), { batchSize: 2 })) asyncItems.push(b.tolist() as number[]);
    expect(asyncItems).toEqual([[0, 2], [4, 6], [8]]);
  });

  it("dropLast drops the incomplete batch; sampler and batchSampler options", () => {
    expect(ids(new DataLoader(new Items(7), { batchSize: 3, dropLast: true }))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(ids(new DataLoader(new Items(7), { batchSize: 2, sampler: [6, 0, 5] }))).toEqual([[6, 0], [5]]);
    const bs = new BatchSampler(new SequentialSampler({ length: 5 }), 2, true);
    const loader = new DataLoader(new Items(7), { batchSampler: bs });
    expect(ids(loader)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(loader.length).toBe(2);
    expect(loader.batchSize).toBe(null);
    expect(ids(new DataLoader(new Items(7), { batchSampler: [[4, 4], [1]] }))).toEqual([[4, 4], [1]]);
  });

  it("a custom collateFn (padCollate for variable-length sequences)", () => {
    class Seqs extends Dataset<number[]> {
      getItem(i: number) {
        return Array.from({ length: i + 1 }, (_, k) => k + 1);
      }
      get length() {
        return 4;
      }
    }
    const [b] = [...new DataLoader(new Seqs(), { batchSize: 4, collateFn: (items) => padCollate(items) })];
    expect(b?.lengths.tolist()).toEqual([1, 2, 3, 4]);
    expect(b?.padded.shape).toEqual([4, 4]);
  });

  it("IterableDataset: batches from the stream, dropLast, length, batchSize null, async-only streams", async () => {
    const s = new DataLoader(new Stream(7), { batchSize: 3 });
    expect([...s].map((b) => b.tolist())).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(s.length).toBe(3);
    const d = new DataLoader(new Stream(7), { batchSize: 3, dropLast: true });
    expect([...d].map((b) => b.tolist())).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(d.length).toBe(2);
    expect([...new DataLoader(new Stream(6), { batchSize: 3 })].length).toBe(2);
    expect([...new DataLoader(new Stream(3), { batchSize: null })]).toEqual([0, 1, 2]);
    expect(() => new DataLoader(new Stream(3, false)).length).toThrow(/has no length/);
    const a = new DataLoader(new AsyncStream(), { batchSize: 2 });
    expect(() => [...a]).toThrow(/async-only: iterate with `for await/);
    const got: unknown[] = [];
    for await (const b of a) got.push(b.tolist());
    expect(got).toEqual([[0, 1], [2, 3], [4]]);
  });

  it("option errors as PyTorch", () => {
    const ds = new Items(4);
    expect(() => new DataLoader(ds, { numWorkers: -1 })).toThrow(/num_workers option should be non-negative/);
    expect(() => new DataLoader(ds, { timeout: -1 })).toThrow(/timeout option should be non-negative/);
    expect(() => new DataLoader(ds, { prefetchFactor: 4 })).toThrow(/prefetch_factor option could only be specified with workers/);
    expect(() => new DataLoader(ds, { persistentWorkers: true })).toThrow(/persistent_workers option needs numWorkers > 0/);
    expect(() => new DataLoader(ds, { sampler: [0], shuffle: true })).toThrow(/sampler option is mutually exclusive with shuffle/);
    expect(() => new DataLoader(ds, { batchSampler: [[0]], batchSize: 2 })).toThrow(/batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast/);
    expect(() => new DataLoader(ds, { batchSize: null, dropLast: true })).toThrow(/mutually exclusive with dropLast/);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/batch_size should be a positive integer value, but got batch_size=0/);
    expect(() => new DataLoader(new Stream(3), { shuffle: true })).toThrow(/expected unspecified shuffle option/);
    expect(() => new DataLoader(new Stream(3), { sampler: [0] })).toThrow(/expected unspecified sampler option/);
    expect(() => new DataLoader({} as never)).toThrow(ArgumentError);
    expect(() => new DataLoader({} as never)).toThrow(/dataset must have getItem/);
    expect(new DataLoader(ds).batchSize).toBe(1);
    expect([...new DataLoader(new TensorDataset(arange(3), tensor([1, 2, 3])))].length).toBe(3);
  });
});

describe("batch fetching", () => {
  it("a Subset of a TensorDataset gathers whole batches, equal to item-by-item collation", async () => {
    const { DataLoader, Subset, TensorDataset, defaultCollate } = await import("@dl/data");
    const { arange } = await import("@dl/tensor");
    const ds = new TensorDataset(arange(20).view(10, 2).float(), arange(10));
    const sub = new Subset(ds, [9, 3, 5, 0, 7]);
    expect(typeof sub.getBatch).toBe("function");
    const fast = [...new DataLoader(sub, { batchSize: 2 })].map((b) => (b as { tolist(): unknown }[]).map((t) => t.tolist()));
    const slow = [...new DataLoader(sub, { batchSize: 2, collateFn: defaultCollate })].map((b) => (b as { tolist(): unknown }[]).map((t) => t.tolist()));
    expect(fast).toEqual(slow);
    expect(fast[0]).toEqual([[[18, 19], [6, 7]], [9, 3]]);
  });
});
