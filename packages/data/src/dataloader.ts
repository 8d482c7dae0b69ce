import { ArgumentError, type Generator as DLGenerator, Tensor, defaultGenerator } from "@dl/tensor";
import { type Collated, defaultCollate, defaultConvert } from "./collate.js";
import { type IterableDataset, type MapStyleDataset, isIterableStyle, isMapStyle } from "./dataset.js";
import { BatchSampler, RandomSampler, SequentialSampler } from "./sampler.js";
import type { WorkerDatasetSpec, WorkerFactory, WorkerPool } from "./worker/pool.js";

/**
 * The worker pool and its codec, loaded when a loader with numWorkers > 0 first iterates: bundlers
 * that split dynamic imports (Vite, webpack, Rollup, esbuild with splitting) keep them out of apps
 * that never use workers.
 */
type WorkerModule = typeof import("./worker/pool.js");

export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1); null turns automatic batching off (each item is converted, not collated). */
  batchSize?: number | null;
  /** Reshuffle every epoch (a RandomSampler over the dataset, seeded by `generator`). */
  shuffle?: boolean;
  /** Where indices come from (excludes shuffle). */
  sampler?: Iterable<number> & { readonly length?: number };
  /** Where index batches come from (excludes batchSize, shuffle, sampler and dropLast). */
  batchSampler?: Iterable<readonly number[]> & { readonly length?: number };
  /** Worker threads (Node) / Web Workers (browsers) loading batches ahead; 0 loads on the calling thread. */
  numWorkers?: number;
  /** Merges the items of a batch (default: defaultCollate; defaultConvert without batching). */
  collateFn?: (items: T[]) => B;
  /** Drop the last batch when it is incomplete. */
  dropLast?: boolean;
  /**
   * Seconds to wait for a batch from a worker before failing with a WorkerError (0, the default as in
   * PyTorch: no limit). The error says whether the worker's heartbeat had stopped (its thread is
   * blocked in synchronous code) or not (it waits on a promise that never settles).
   */
  timeout?: number;
  /**
   * With no timeout, seconds of waiting for one batch after which a warning names the worker, the
   * batch and the same diagnosis, once per batch, and the loader keeps waiting (default 30; 0: never).
   */
  stallWarning?: number;
  /** The seeded source for shuffling and the workers' base seed (default: the default generator). */
  generator?: DLGenerator;
  /** Batches each worker loads ahead (default 2; only with workers). */
  prefetchFactor?: number;
  /** Keep the workers between epochs (stop them with close()). */
  persistentWorkers?: boolean;
  /**
   * How a worker builds its own copy of the dataset (required with numWorkers > 0: a worker cannot
   * share objects with the main thread). The main thread keeps using `dataset` for its length.
   */
  workerDataset?: WorkerDatasetSpec;
  /** Starts workers (default: worker_threads in Node, Web Workers in browsers). */
  workerFactory?: WorkerFactory;
}

type AnyDataset<T> = MapStyleDataset<T> | IterableDataset<T>;

function isNonNegInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/**
 * Why a worker's batch has not come: its heartbeat (sent every HEARTBEAT_MS while its event loop
 * runs) tells a thread blocked in synchronous code from one waiting on something asynchronous. A
 * blocked thread may be slow rather than stuck: only a time limit (timeout) can decide that.
 */
function stallReason(pool: WorkerPool, worker: number, HEARTBEAT_MS: number): string {
  const silent = pool.silentFor(worker);
  return silent > (4 * HEARTBEAT_MS) / 1000
    ? `no heartbeat for ${silent.toFixed(1)} s: its thread is blocked in synchronous code (a getItem that is very slow or never returns)`
    : "its heartbeat continues: getItem is waiting on something asynchronous that has not settled (a promise, I/O)";
}

/**
 * Awaits a worker's batch. With a timeout (> 0) it fails after that many seconds with a WorkerError
 * naming the worker, the batch and the stall's cause; without one it waits as long as it takes (as
 * PyTorch does) and warns once after `stallWarning` seconds.
 */
function awaitBatch<R>(
  p: Promise<R>,
  pool: WorkerPool,
  limits: { timeout: number; stallWarning: number },
  worker: number,
  batch: number,
  workers: WorkerModule,
): Promise<R> {
  const { timeout, stallWarning } = limits;
  const seconds = timeout > 0 ? timeout : stallWarning;
  if (!(seconds > 0)) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // One more turn first, so that heartbeats queued while this thread was busy are counted.
      timer = setTimeout(() => {
        const why = stallReason(pool, worker, workers.HEARTBEAT_MS);
        if (timeout > 0) reject(new workers.WorkerError(worker, batch, `timed out after ${timeout} s waiting for the batch (${why})`));
        else {
          console.warn(
            `DataLoader: worker ${worker} has not delivered batch ${batch} after ${stallWarning} s (${why}); still waiting, as with PyTorch's timeout=0: set the timeout option to fail instead`,
          );
        }
      }, 0);
    }, seconds * 1000);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A map-style dataset that can fetch a collated batch at once (TensorDataset). */
interface BatchFetching<B> {
  getBatch(indices: readonly number[]): B;
}

/** Collects every Tensor reachable from a collated batch. */
function tensorsIn(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 64 || v === null || typeof v !== "object") return;
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) for (const x of v) tensorsIn(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) tensorsIn(x, out, depth + 1);
  else if (!ArrayBuffer.isView(v)) for (const x of Object.values(v)) tensorsIn(x, out, depth + 1);
}

/**
 * torch.utils.data.DataLoader: batches of a dataset, shuffled or not, collated into tensors.
 *
 * `for (const batch of loader)` loads on the calling thread. With `numWorkers > 0`, iterate with
 * `for await (const batch of loader)`: batch i is loaded by worker i % numWorkers while the caller
 * works on earlier batches (prefetchFactor batches per worker), and batches come out in order,
 * identical to numWorkers 0. Workers build their dataset from `workerDataset`; items come back as
 * structured clones (tensor data transferred) and are collated on the main thread, because
 * `collateFn` is a closure a worker cannot receive and tensors belong to the main thread's backend.
 */
export class DataLoader<T = unknown, B = Collated<T>> implements Iterable<B>, AsyncIterable<B> {
  readonly dataset: AnyDataset<T>;
  readonly batchSize: number | null;
  readonly dropLast: boolean;
  readonly sampler: (Iterable<number> & { readonly length?: number }) | null;
  readonly batchSampler: (Iterable<readonly number[]> & { readonly length?: number }) | null;
  readonly numWorkers: number;
  readonly collateFn: (items: T[]) => B;
  readonly timeout: number;
  readonly stallWarning: number;
  readonly generator: DLGenerator | undefined;
  readonly prefetchFactor: number;
  readonly persistentWorkers: boolean;
  readonly workerDataset: WorkerDatasetSpec | undefined;
  private readonly workerFactory: WorkerFactory | undefined;
  private readonly iterable: boolean;
  /** The persistent pool (persistentWorkers), kept between epochs. */
  private pool: WorkerPool | null = null;
  /** Every running pool (each iteration without persistentWorkers has its own, as in PyTorch). */
  private readonly pools = new Set<WorkerPool>();
  private epoch = 0;

  constructor(dataset: AnyDataset<T>, options: DataLoaderOptions<T, B> = {}) {
    const op = "DataLoader";
    const numWorkers = options.numWorkers ?? 0;
    if (!isNonNegInt(numWorkers))
      throw new ArgumentError(op, `num_workers option should be non-negative; use numWorkers: 0 to disable workers (got ${numWorkers})`);
    const timeout = options.timeout ?? 0;
    if (!(timeout >= 0)) throw new ArgumentError(op, `timeout option should be non-negative (got ${timeout})`);
    const stallWarning = options.stallWarning ?? 30;
    if (!(stallWarning >= 0)) throw new ArgumentError(op, `stallWarning option should be non-negative (got ${stallWarning})`);
    if (numWorkers === 0 && options.prefetchFactor !== undefined && options.prefetchFactor !== 2) {
      throw new ArgumentError(op, "prefetch_factor option could only be specified with workers: set numWorkers > 0");
    }
    const prefetchFactor = options.prefetchFactor ?? 2;
    if (!Number.isInteger(prefetchFactor) || prefetchFactor <= 0)
      throw new ArgumentError(op, `prefetchFactor must be a positive integer (got ${prefetchFactor})`);
    if (options.persistentWorkers && numWorkers === 0) throw new ArgumentError(op, "persistent_workers option needs numWorkers > 0");
    if (numWorkers > 0 && !options.workerDataset) {
      throw new ArgumentError(
        op,
        "numWorkers > 0 needs the workerDataset option ({ module, exportName?, args? }): a worker cannot share the dataset object, so it builds its own copy from an ES module",
      );
    }

    let iterable: boolean;
    if (isMapStyle(dataset)) iterable = false;
    else if (isIterableStyle(dataset)) iterable = true;
    else throw new ArgumentError(op, "dataset must have getItem(index) and length (map-style) or be iterable (IterableDataset)");

    let {
      shuffle = false,
      sampler = null,
      batchSampler = null,
      dropLast = false,
    } = options as {
      shuffle?: boolean;
      sampler?: DataLoader<T, B>["sampler"];
      batchSampler?: DataLoader<T, B>["batchSampler"];
      dropLast?: boolean;
    };
    let batchSize: number | null = options.batchSize === undefined ? 1 : options.batchSize;
    if (iterable) {
      if (shuffle)
        throw new ArgumentError(op, "DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle=true");
      if (sampler) throw new ArgumentError(op, "DataLoader with IterableDataset: expected unspecified sampler option");
      if (batchSampler) throw new ArgumentError(op, "DataLoader with IterableDataset: expected unspecified batchSampler option");
    }
    if (sampler && shuffle) throw new ArgumentError(op, "sampler option is mutually exclusive with shuffle");
    if (batchSampler) {
      if (batchSize !== 1 || shuffle || sampler || dropLast) {
        throw new ArgumentError(op, "batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast");
      }
      batchSize = null;
      dropLast = false;
    } else if (batchSize === null) {
      if (dropLast) throw new ArgumentError(op, "batchSize: null disables auto-batching and is mutually exclusive with dropLast");
    } else if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new ArgumentError(op, `batch_size should be a positive integer value, but got batch_size=${batchSize}`);
    }
    if (!iterable) {
      const ds = dataset as MapStyleDataset<T>;
      sampler ??= shuffle ? new RandomSampler(ds, { generator: options.generator }) : new SequentialSampler(ds);
      if (batchSize !== null && !batchSampler) batchSampler = new BatchSampler(sampler, batchSize, dropLast);
    }

    this.dataset = dataset;
    this.batchSize = batchSize;
    this.dropLast = dropLast;
    this.sampler = sampler;
    this.batchSampler = batchSampler;
    this.numWorkers = numWorkers;
    this.timeout = timeout;
    this.stallWarning = stallWarning;
    this.generator = options.generator;
    this.prefetchFactor = prefetchFactor;
    this.persistentWorkers = options.persistentWorkers ?? false;
    this.workerDataset = options.workerDataset;
    this.workerFactory = options.workerFactory;
    this.iterable = iterable;
    const autoCollation = batchSampler !== null || (iterable && batchSize !== null);
    this.collateFn = options.collateFn ?? ((autoCollation ? defaultCollate : defaultConvert) as (items: T[]) => B);
    this.batchFetch =
      options.collateFn === undefined && autoCollation && !iterable && typeof (dataset as { getBatch?: unknown }).getBatch === "function";
  }

  /** Whether batches come from dataset.getBatch(indices) (already collated) instead of getItem + collate. */
  private readonly batchFetch: boolean;

  /** The number of batches (for an IterableDataset: from its length, if it has one). */
  get length(): number {
    if (this.iterable) {
      const n = (this.dataset as { length?: unknown }).length;
      if (typeof n !== "number") throw new ArgumentError("DataLoader", "the IterableDataset has no length");
      if (this.batchSize === null) return n;
      return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
    }
    const s = this.batchSampler ?? this.sampler;
    const n = s?.length;
    if (typeof n !== "number") throw new ArgumentError("DataLoader", "the sampler has no length");
    return n;
  }

  /** Whether items are collated in batches (false with batchSize: null). */
  get autoCollation(): boolean {
    return this.batchSampler !== null || (this.iterable && this.batchSize !== null);
  }

  /** Workers currently running (persistent workers stay up between epochs). */
  get liveWorkers(): number {
    let n = 0;
    for (const p of this.pools) n += p.liveWorkers;
    return n;
  }

  /**
   * The seed workers get for this iteration (base + worker id). Drawn at the start of every
   * iteration, with or without workers, so that shuffles are the same either way (PyTorch's
   * _base_seed).
   */
  private drawBaseSeed(): number {
    return Math.floor((this.generator ?? defaultGenerator).random() * 2 ** 52);
  }

  /** The index lists (or single indices without batching) of one epoch. */
  private indexStream(): Iterator<readonly number[] | number> {
    if (this.batchSampler) return this.batchSampler[Symbol.iterator]();
    return (this.sampler as Iterable<number>)[Symbol.iterator]();
  }

  [Symbol.iterator](): Iterator<B> {
    if (this.numWorkers > 0) {
      throw new ArgumentError(
        "DataLoader",
        `with numWorkers > 0 (${this.numWorkers}) batches are loaded asynchronously by workers: iterate with \`for await (const batch of loader)\`, or use numWorkers: 0 for a synchronous for...of`,
      );
    }
    this.drawBaseSeed();
    return this.iterable ? this.syncIterable() : this.syncMap();
  }

  private *syncMap(): Generator<B> {
    const ds = this.dataset as MapStyleDataset<T>;
    const it = this.indexStream();
    for (let r = it.next(); !r.done; r = it.next()) {
      const idx = r.value;
      if (typeof idx === "number") yield this.collateFn(ds.getItem(idx) as never);
      else yield this.batchFetch ? (ds as unknown as BatchFetching<B>).getBatch(idx) : this.collateFn(idx.map((i) => ds.getItem(i)));
    }
  }

  private *syncIterable(): Generator<B> {
    const ds = this.dataset as IterableDataset<T> & Partial<Iterable<T>>;
    const make = ds[Symbol.iterator];
    if (typeof make !== "function") {
      throw new ArgumentError("DataLoader", "this IterableDataset is async-only: iterate with `for await (const batch of loader)`");
    }
    const it = make.call(ds);
    const bs = this.batchSize;
    for (;;) {
      if (bs === null) {
        const r = it.next();
        if (r.done) return;
        yield this.collateFn(r.value as never);
        continue;
      }
      const items: T[] = [];
      while (items.length < bs) {
        const r = it.next();
        if (r.done) break;
        items.push(r.value);
      }
      if (items.length === 0 || (this.dropLast && items.length < bs)) return;
      yield this.collateFn(items);
      if (items.length < bs) return;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<B> {
    const seed = this.drawBaseSeed();
    if (this.numWorkers === 0) return this.iterable ? this.asyncIterable() : this.asyncMap();
    return this.iterable ? this.workerIterable(seed) : this.workerMap(seed);
  }

  private async *asyncMap(): AsyncGenerator<B> {
    const ds = this.dataset as MapStyleDataset<T>;
    const it = this.indexStream();
    for (let r = it.next(); !r.done; r = it.next()) {
      const idx = r.value;
      if (typeof idx === "number") yield this.collateFn((await ds.getItem(idx)) as never);
      else if (this.batchFetch) yield (ds as unknown as BatchFetching<B>).getBatch(idx);
      else {
        const items: T[] = [];
        for (const i of idx) items.push(await ds.getItem(i));
        yield this.collateFn(items);
      }
    }
  }

  private async *asyncIterable(): AsyncGenerator<B> {
    const ds = this.dataset as IterableDataset<T> & Partial<Iterable<T> & AsyncIterable<T>>;
    const it: AsyncIterator<T> | Iterator<T> =
      typeof ds[Symbol.asyncIterator] === "function"
        ? (ds[Symbol.asyncIterator] as () => AsyncIterator<T>).call(ds)
        : (ds[Symbol.iterator] as () => Iterator<T>).call(ds);
    const bs = this.batchSize;
    for (;;) {
      const want = bs ?? 1;
      const items: T[] = [];
      while (items.length < want) {
        const r = await it.next();
        if (r.done) break;
        items.push(r.value);
      }
      if (items.length === 0 || (bs !== null && this.dropLast && items.length < bs)) return;
      yield bs === null ? this.collateFn(items[0] as never) : this.collateFn(items);
      if (items.length < want) return;
    }
  }

  private getPool(seed: number, workers: WorkerModule): WorkerPool {
    if (this.persistentWorkers && this.pool && !this.pool.isClosed) return this.pool;
    const expectLength = this.iterable ? null : (this.dataset as MapStyleDataset<T>).length;
    const pool = new workers.WorkerPool({
      numWorkers: this.numWorkers,
      spec: this.workerDataset as WorkerDatasetSpec,
      seed,
      factory: this.workerFactory ?? workers.defaultWorkerFactory(),
      expect: { kind: this.iterable ? "iterable" : "map", length: expectLength },
    });
    this.pools.add(pool);
    if (this.persistentWorkers) this.pool = pool;
    return pool;
  }

  /** Ends an epoch: stops the workers, or keeps persistent ones (forgetting outstanding requests). */
  private release(pool: WorkerPool, failed: boolean): void {
    if (this.persistentWorkers && !failed) pool.abandon();
    else {
      pool.close();
      this.pools.delete(pool);
      if (this.pool === pool) this.pool = null;
    }
  }

  /** Decodes what a worker sent, collates it, and frees the decoded tensors the batch does not keep. */
  private finish(items: unknown, workers: WorkerModule): B {
    const created: Tensor[] = [];
    const decoded = workers.decodeItems(items, created);
    const batch = this.collateFn(decoded as never);
    if (created.length > 0) {
      const kept = new Set<Tensor>();
      tensorsIn(batch, kept);
      for (const t of created) if (!kept.has(t)) t.dispose();
    }
    return batch;
  }

  private async *workerMap(seed: number): AsyncGenerator<B> {
    const workers = await import("./worker/pool.js");
    const pool = this.getPool(seed, workers);
    const n = this.numWorkers;
    const it = this.indexStream();
    const inflight: { worker: number; promise: Promise<{ type: string; items?: unknown }> }[] = [];
    let sent = 0;
    let failed = false;
    const sendNext = (): void => {
      const r = it.next();
      if (r.done) return;
      const b = sent++;
      const w = b % n;
      const idx = r.value;
      const promise = pool.request(
        w,
        { type: "fetch", indices: typeof idx === "number" ? [idx] : [...idx], batched: typeof idx !== "number" },
        () => b,
      );
      promise.catch(() => {}); // surfaced in order when the batch is reached
      inflight.push({ worker: w, promise });
    };
    try {
      for (let k = 0; k < this.prefetchFactor * n; k++) sendNext();
      for (let b = 0; inflight.length > 0; b++) {
        const next = inflight.shift() as (typeof inflight)[number];
        const reply = await awaitBatch(next.promise, pool, this, next.worker, b, workers);
        sendNext();
        yield this.finish(reply.items, workers);
      }
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      // also runs when the consumer breaks out of `for await` (the generator's return())
      this.release(pool, failed);
    }
  }

  private async *workerIterable(seed: number): AsyncGenerator<B> {
    const workers = await import("./worker/pool.js");
    const pool = this.getPool(seed, workers);
    const n = this.numWorkers;
    const epoch = this.epoch++;
    const active = new Array<boolean>(n).fill(true);
    // per worker, its requests in order; batch numbers are given when a reply is consumed
    const queues: Promise<{ type: string; items?: unknown }>[][] = Array.from({ length: n }, () => []);
    let yielded = 0;
    const ask = (w: number): void => {
      const p = pool.request(w, { type: "next", epoch, count: this.batchSize, dropLast: this.dropLast }, () => yielded);
      p.catch(() => {});
      (queues[w] as Promise<unknown>[]).push(p as Promise<never>);
    };
    let failed = false;
    try {
      for (let k = 0; k < this.prefetchFactor; k++) for (let w = 0; w < n; w++) ask(w);
      let w = 0;
      while (active.some(Boolean)) {
        if (!active[w]) {
          w = (w + 1) % n;
          continue;
        }
        const q = queues[w] as Promise<{ type: string; items?: unknown }>[];
        const reply = await awaitBatch(q.shift() as Promise<{ type: string; items?: unknown }>, pool, this, w, yielded, workers);
        if (reply.type === "done") {
          active[w] = false;
          q.length = 0;
        } else {
          ask(w);
          yield this.finish(reply.items, workers);
          yielded++;
        }
        w = (w + 1) % n;
      }
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      this.release(pool, failed);
    }
  }

  /**
   * Stops every worker of this loader: persistent ones, and those of iterations abandoned without
   * finishing or breaking out (an iterator dropped half way cannot stop its workers by itself).
   */
  close(): void {
    for (const p of this.pools) p.close();
    this.pools.clear();
    this.pool = null;
  }
}
