import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DataLoader, type WorkerFactory, WorkerError } from "@dl/data";
import { defaultWorkerFactory } from "@dl/data/workers";
import { Generator, Tensor } from "@dl/tensor";
import { build } from "esbuild";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { describeEachBackend } from "../helpers/backends.js";
// @ts-expect-error: a plain .mjs fixture without types
import { RangeDataset, Stream } from "./fixtures/plain-dataset.mjs";
// @ts-expect-error: a plain .mjs fixture without types
import { MixedDataset, ShardedStream, makeTensorDataset } from "./fixtures/tensor-dataset.mjs";

const plain = new URL("./fixtures/plain-dataset.mjs", import.meta.url);
let tmp = "";
let bundled = "";

beforeAll(async () => {
  // Workers run plain Node (no vite): bundle the dl-based fixture from sources.
  tmp = mkdtempSync(join(tmpdir(), "dl-data-"));
  const outfile = join(tmp, "tensor-dataset.bundle.mjs");
  await build({
    entryPoints: [new URL("./fixtures/tensor-dataset.mjs", import.meta.url).pathname],
    bundle: true,
    platform: "node",
    format: "esm",
    conditions: ["@dl/source"],
    outfile,
    logLevel: "warning",
  });
  bundled = pathToFileURL(outfile).href;
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The default factory, counting started and terminated workers. */
function countingFactory(): { factory: WorkerFactory; started: number; terminated: number; exited: number } {
  const counts = { factory: null as unknown as WorkerFactory, started: 0, terminated: 0, exited: 0 };
  const base = defaultWorkerFactory();
  counts.factory = (options) => {
    counts.started++;
    const h = base({ ...options, onExit: (code) => {
      counts.exited++;
      options.onExit(code);
    } });
    return { ...h, terminate: () => {
      counts.terminated++;
      h.terminate();
    } };
  };
  return counts;
}

async function collect<B>(loader: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of loader) out.push(b);
  return out;
}

/** A batch as plain values, for deep comparison. */
function plainOf(v: unknown): unknown {
  if (v instanceof Tensor) return { dtype: v.dtype, shape: [...v.shape], data: Array.from(v.dataSync()) };
  if (Array.isArray(v)) return v.map(plainOf);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainOf(x)]));
  return v;
}

describeEachBackend("DataLoader workers", () => {
  it("numWorkers 2 yields the same batches, in the same order, as numWorkers 0 (shuffled, tensors)", async () => {
    const ds = makeTensorDataset(23);
    const opts = { batchSize: 4, shuffle: true };
    const ref = [...new DataLoader(ds, { ...opts, generator: new Generator(5) })].map(plainOf);
    const counts = countingFactory();
    const loader = new DataLoader(ds, {
      ...opts,
      generator: new Generator(5),
      numWorkers: 2,
      workerDataset: { module: bundled, exportName: "makeTensorDataset", args: [23] },
      workerFactory: counts.factory,
    });
    const got = (await collect(loader)).map(plainOf);
    expect(got).toEqual(ref);
    expect(got.length).toBe(6);
    expect(counts.started).toBe(2);
    expect(counts.terminated).toBe(2);
    expect(loader.liveWorkers).toBe(0);
  });

  it("round-trips mixed items (tensors of every kind, bigints, strings, booleans) and dropLast", async () => {
    const ds = new MixedDataset(10);
    const ref = [...new DataLoader(ds, { batchSize: 3, dropLast: true })].map(plainOf);
    const got = (
      await collect(new DataLoader(ds, { batchSize: 3, dropLast: true, numWorkers: 3, workerDataset: { module: bundled, exportName: "MixedDataset", args: [10] } }))
    ).map(plainOf);
    expect(got).toEqual(ref);
    expect(got.length).toBe(3);
    const first = got[0] as { mask: { dtype: string }; pair: { dtype: string }[] };
    expect(first.mask.dtype).toBe("bool");
    expect(first.pair[1]?.dtype).toBe("int64");
  });

  it("works with a plain module, a class export and prefetching slower than the consumer", async () => {
    const ds = new RangeDataset(9);
    const ref = [...new DataLoader(ds, { batchSize: 2 })].map(plainOf);
    const loader = new DataLoader(ds, {
      batchSize: 2,
      numWorkers: 2,
      prefetchFactor: 1,
      workerDataset: { module: plain, exportName: "RangeDataset", args: [9, { delayMs: 5 }] },
    });
    expect(loader.length).toBe(5);
    expect((await collect(loader)).map(plainOf)).toEqual(ref);
  });

  it("prefetches prefetchFactor batches per worker, round-robin, before the consumer asks", async () => {
    const base = defaultWorkerFactory();
    const posted: { worker: string; type: string; indices?: number[] }[] = [];
    const factory: WorkerFactory = (options) => {
      const h = base(options);
      return { ...h, post: (m, t) => {
        posted.push({ worker: options.name, ...(m as { type: string; indices?: number[] }) });
        h.post(m, t);
      } };
    };
    const loader = new DataLoader(new RangeDataset(20), {
      batchSize: 2,
      numWorkers: 2,
      prefetchFactor: 3,
      workerDataset: { module: plain, exportName: "RangeDataset", args: [20] },
      workerFactory: factory,
    });
    const it = loader[Symbol.asyncIterator]();
    await it.next();
    const fetches = posted.filter((m) => m.type === "fetch");
    // 6 sent up front, one more when batch 0 arrived; batch i went to worker i % 2
    expect(fetches.map((m) => m.indices)).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11], [12, 13]]);
    expect(fetches.map((m) => m.worker)).toEqual(["dl-data-worker-0", "dl-data-worker-1", "dl-data-worker-0", "dl-data-worker-1", "dl-data-worker-0", "dl-data-worker-1", "dl-data-worker-0"]);
    await it.return?.(undefined);
    expect(loader.liveWorkers).toBe(0);
  });

  it("batchSize null (no auto-batching) and a sampler given explicitly", async () => {
    const ds = new RangeDataset(6);
    const sampler = [5, 0, 3];
    const ref = [...new DataLoader(ds, { batchSize: null, sampler })].map(plainOf);
    const got = (await collect(new DataLoader(ds, { batchSize: null, sampler, numWorkers: 2, workerDataset: { module: plain, exportName: "makeRange", args: [6] } }))).map(plainOf);
    expect(got).toEqual(ref);
    expect((got[0] as { y: number }).y).toBe(5);
  });

  it("the sync iterator throws and tells to use for await", () => {
    const loader = new DataLoader(new RangeDataset(4), { numWorkers: 2, workerDataset: { module: plain, exportName: "RangeDataset", args: [4] } });
    expect(() => [...loader]).toThrow(/for await/);
  });

  it("an error in getItem surfaces as a WorkerError naming the worker and the batch, and workers stop", async () => {
    const counts = countingFactory();
    const loader = new DataLoader(new RangeDataset(12), {
      batchSize: 2,
      numWorkers: 2,
      workerDataset: { module: plain, exportName: "RangeDataset", args: [12, { failAt: 7 }] },
      workerFactory: counts.factory,
    });
    const seen: number[] = [];
    let error: unknown = null;
    try {
      for await (const b of loader) seen.push(...((b as { y: Tensor }).y.tolist() as number[]));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WorkerError);
    const we = error as WorkerError;
    // item 7 is in batch 3 ([6, 7]), which worker 3 % 2 = 1 loads
    expect(we.workerId).toBe(1);
    expect(we.batchIndex).toBe(3);
    expect(we.message).toMatch(/^DataLoader: worker 1 while loading batch 3: getItem\(7\) threw: RangeError: bad item 7/);
    expect(we.workerError?.stack).toMatch(/plain-dataset\.mjs/);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(counts.terminated).toBe(2);
    expect(loader.liveWorkers).toBe(0);
  });

  it("a dataset that cannot be built fails the first batch (no hang)", async () => {
    const a = new DataLoader(new RangeDataset(4), { numWorkers: 2, workerDataset: { module: plain, exportName: "broken" } });
    await expect(collect(a)).rejects.toThrow(/worker 0 while loading batch 0: failed to build its dataset: Error: cannot open the data files/);
    const b = new DataLoader(new RangeDataset(4), { numWorkers: 1, workerDataset: { module: plain, exportName: "notADataset" } });
    await expect(collect(b)).rejects.toThrow(/is not a dataset/);
    const c = new DataLoader(new RangeDataset(4), { numWorkers: 1, workerDataset: { module: plain, exportName: "missing" } });
    await expect(collect(c)).rejects.toThrow(/has no export 'missing'/);
    const d = new DataLoader(new RangeDataset(4), { numWorkers: 1, workerDataset: { module: new URL("./fixtures/nope.mjs", import.meta.url) } });
    await expect(collect(d)).rejects.toThrow(/worker 0 while loading batch 0: failed to build its dataset/);
    const e = new DataLoader(new RangeDataset(5), { numWorkers: 1, workerDataset: { module: plain, exportName: "RangeDataset", args: [4] } });
    await expect(collect(e)).rejects.toThrow(/length 4, but the main-thread dataset has length 5/);
  });

  it("a worker that exits (crash) fails its batch instead of hanging", async () => {
    const loader = new DataLoader(new RangeDataset(8), { batchSize: 2, numWorkers: 2, workerDataset: { module: plain, exportName: "RangeDataset", args: [8, { exitAt: 2 }] } });
    await expect(collect(loader)).rejects.toThrow(/worker 1 while loading batch 1: exited unexpectedly \(exit code 3\)/);
  });

  it("timeout fails a batch that never arrives", async () => {
    const loader = new DataLoader(new RangeDataset(8), {
      batchSize: 2,
      numWorkers: 2,
      timeout: 1.5,
      workerDataset: { module: plain, exportName: "RangeDataset", args: [8, { hangAt: 4 }] },
    });
    await expect(collect(loader)).rejects.toThrow(/worker 0 while loading batch 2: timed out after 1.5 s waiting for the batch \(its heartbeat continues: getItem is waiting on something asynchronous/);
  });

  it("timeout also fails a worker stuck in a synchronous endless loop, and terminates its thread", async () => {
    const counts = countingFactory();
    const loader = new DataLoader(new RangeDataset(8), {
      batchSize: 2,
      numWorkers: 2,
      timeout: 2,
      workerDataset: { module: plain, exportName: "RangeDataset", args: [8, { spinAt: 4 }] },
      workerFactory: counts.factory,
    });
    const e = await collect(loader).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(WorkerError);
    expect((e as Error).message).toMatch(
      /worker 0 while loading batch 2: timed out after 2 s waiting for the batch \(no heartbeat for \d+\.\d s: its thread is blocked in synchronous code/,
    );
    expect(loader.liveWorkers).toBe(0);
    await expect.poll(() => counts.exited, { timeout: 5000 }).toBe(2);
  });

  it("with the default timeout (0, as PyTorch) a stalled worker is waited for, with one warning saying why", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const loader = new DataLoader(new RangeDataset(8), {
        batchSize: 2,
        numWorkers: 2,
        stallWarning: 1.5,
        workerDataset: { module: plain, exportName: "RangeDataset", args: [8, { spinAt: 4 }] },
      });
      const run = collect(loader).catch((err: unknown) => err);
      await expect.poll(() => warn.mock.calls.length, { timeout: 10000 }).toBe(1);
      expect(warn.mock.calls[0]?.[0]).toMatch(
        /^DataLoader: worker 0 has not delivered batch 2 after 1.5 s \(no heartbeat for .* its thread is blocked in synchronous code.*\); still waiting, as with PyTorch's timeout=0: set the timeout option to fail instead/,
      );
      // Still waiting (no failure); close() stops the workers and ends the iteration.
      loader.close();
      const e = await run;
      expect(e).toBeInstanceOf(WorkerError);
      expect(loader.liveWorkers).toBe(0);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });

  it("breaking out of the loop terminates the workers", async () => {
    const counts = countingFactory();
    const loader = new DataLoader(new RangeDataset(40), {
      batchSize: 2,
      numWorkers: 3,
      workerDataset: { module: plain, exportName: "RangeDataset", args: [40] },
      workerFactory: counts.factory,
    });
    let n = 0;
    for await (const _ of loader) {
      if (++n === 2) break;
    }
    expect(counts.started).toBe(3);
    expect(counts.terminated).toBe(3);
    expect(loader.liveWorkers).toBe(0);
    // the Node threads really exit
    await expect.poll(() => counts.exited, { timeout: 5000 }).toBe(3);
  });

  it("persistentWorkers keeps the workers between epochs until close()", async () => {
    const counts = countingFactory();
    const ds = new RangeDataset(7);
    const loader = new DataLoader(ds, {
      batchSize: 3,
      shuffle: true,
      generator: new Generator(1),
      numWorkers: 2,
      persistentWorkers: true,
      workerDataset: { module: plain, exportName: "RangeDataset", args: [7] },
      workerFactory: counts.factory,
    });
    const ref = new DataLoader(ds, { batchSize: 3, shuffle: true, generator: new Generator(1) });
    const epochs: unknown[][] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      const want = [...ref].map(plainOf);
      const got: unknown[] = [];
      for await (const b of loader) got.push(plainOf(b));
      expect(got).toEqual(want);
      expect(loader.liveWorkers).toBe(2);
      epochs.push(got);
    }
    expect(epochs[0]).not.toEqual(epochs[1]);
    // an interrupted epoch keeps them too
    for await (const _ of loader) break;
    expect(loader.liveWorkers).toBe(2);
    expect(counts.started).toBe(2);
    loader.close();
    expect(counts.terminated).toBe(2);
  });

  it("two iterations at once each get their own workers; close() stops an abandoned iteration's workers", async () => {
    const ds = new RangeDataset(10);
    const loader = new DataLoader(ds, { batchSize: 3, numWorkers: 2, workerDataset: { module: plain, exportName: "RangeDataset", args: [10] } });
    const ref = [...new DataLoader(ds, { batchSize: 3 })].map(plainOf);
    const [a, b] = await Promise.all([collect(loader), collect(loader)]);
    expect(a.map(plainOf)).toEqual(ref);
    expect(b.map(plainOf)).toEqual(ref);
    expect(loader.liveWorkers).toBe(0);
    const it = loader[Symbol.asyncIterator]();
    await it.next();
    expect(loader.liveWorkers).toBe(2);
    loader.close();
    expect(loader.liveWorkers).toBe(0);
  });

  it("IterableDataset: every worker iterates its copy; batches interleave worker by worker", async () => {
    const got = (await collect(new DataLoader(new ShardedStream(11), { batchSize: 2, numWorkers: 2, workerDataset: { module: bundled, exportName: "ShardedStream", args: [11] } }))).map(
      (b) => ((b as Tensor).tolist() as number[][]).map((r) => r[0]),
    );
    // worker 0 yields 0,2,4,6,8,10; worker 1 yields 1,3,5,7,9 -> batches alternate between them
    expect(got).toEqual([[0, 2], [1, 3], [4, 6], [5, 7], [8, 10], [9]]);
    const dropped = await collect(
      new DataLoader(new Stream(7), { batchSize: 2, dropLast: true, numWorkers: 2, workerDataset: { module: plain, exportName: "Stream", args: [7] } }),
    );
    // dropLast applies per worker, as in PyTorch: worker 0 has 0,2,4,6; worker 1 has 1,3,5 (its last batch is dropped)
    expect(dropped.map((b) => ((b as { v: Tensor }).v.tolist() as number[]))).toEqual([[0, 2], [1, 3], [4, 6]]);
  });

  it("getWorkerInfo and workerDataset.initExport see the worker's id, count and seed", async () => {
    const gen = new Generator(3);
    const loader = new DataLoader(new RangeDataset(4), {
      batchSize: null,
      numWorkers: 2,
      generator: gen,
      workerDataset: { module: plain, exportName: "InfoDataset", initExport: "init" },
    });
    const items = (await collect(loader)) as { i: number; init: { id: number; numWorkers: number; seed: number } }[];
    expect(items.map((x) => x.i)).toEqual([0, 1, 2, 3]);
    expect(items.map((x) => x.init.id)).toEqual([0, 1, 0, 1]);
    expect(items.every((x) => x.init.numWorkers === 2)).toBe(true);
    const base = items[0]?.init.seed as number;
    expect(Number.isInteger(base)).toBe(true);
    expect(items[1]?.init.seed).toBe(base + 1);
  });

  it("rejects numWorkers without workerDataset, and bare module specifiers", async () => {
    expect(() => new DataLoader(new RangeDataset(3), { numWorkers: 1 })).toThrow(/needs the workerDataset option/);
    const loader = new DataLoader(new RangeDataset(3), { numWorkers: 1, workerDataset: { module: "some-package/dataset" } });
    await expect(loader[Symbol.asyncIterator]().next()).rejects.toThrow(/bare specifier/);
  });
});
