import {
  ArgumentError,
  type Generator,
  IndexError,
  ShapeError,
  type Tensor,
  defaultGenerator,
  fmtShape,
  fromHost,
  indexSelect,
  randperm,
} from "@dl/tensor";

/**
 * A map-style dataset (torch.utils.data.Dataset): items by index. Subclasses implement
 * `getItem(index)` and `length`. `getItem` may return a Promise when the dataset is only iterated
 * with `for await` (an async DataLoader awaits items; a sync one does not).
 */
export abstract class Dataset<T = unknown> implements Iterable<T> {
  abstract getItem(index: number): T;
  abstract get length(): number;

  /** `dataset + other` in PyTorch: a ConcatDataset of both. */
  concat(other: Dataset<T>): ConcatDataset<T> {
    return new ConcatDataset<T>([this, other]);
  }

  /** Items 0..length-1 in order (Python iterates a Dataset through __getitem__). */
  *[Symbol.iterator](): Iterator<T> {
    const n = this.length;
    for (let i = 0; i < n; i++) yield this.getItem(i);
  }
}

/**
 * A dataset that is a stream (torch.utils.data.IterableDataset). Subclasses implement
 * `[Symbol.iterator]` and/or `[Symbol.asyncIterator]` (async-only datasets need `for await` over
 * the DataLoader), and optionally `length`. In a DataLoader with workers every worker iterates its
 * own copy: shard with `getWorkerInfo()` as in PyTorch.
 */
export abstract class IterableDataset<T = unknown> {
  /** Type marker for the item type (subclasses define `*[Symbol.iterator]()` or `async *[Symbol.asyncIterator]()`). */
  declare readonly __item?: T;
  /** Optional: the number of items (DataLoader.length needs it). */
  get length(): number | undefined {
    return undefined;
  }

  /** `dataset + other` in PyTorch: a ChainDataset of both. */
  chain(other: IterableDataset<T>): ChainDataset<T> {
    return new ChainDataset<T>([this, other]);
  }
}

/** Anything with getItem and length. */
export interface MapStyleDataset<T = unknown> {
  getItem(index: number): T;
  readonly length: number;
}

export function isMapStyle(d: unknown): d is MapStyleDataset {
  return typeof d === "object" && d !== null && typeof (d as MapStyleDataset).getItem === "function";
}

export function isIterableStyle(d: unknown): d is IterableDataset {
  if (typeof d !== "object" || d === null || isMapStyle(d)) return false;
  const o = d as Record<symbol, unknown>;
  return typeof o[Symbol.iterator] === "function" || typeof o[Symbol.asyncIterator] === "function";
}

/** Python-style index: negative counts from the end; IndexError when out of range. */
function normIndex(op: string, index: number, length: number): number {
  if (!Number.isInteger(index)) throw new ArgumentError(op, `index must be an integer, got ${index}`);
  const i = index < 0 ? index + length : index;
  if (i < 0 || i >= length) throw new IndexError(op, `index ${index} is out of range for a dataset of length ${length}`);
  return i;
}

/**
 * torch.utils.data.TensorDataset: item i is the array of row i of every tensor (views, no copy).
 * Every tensor must have the same size along dim 0.
 */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: readonly Tensor[];

  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) throw new ArgumentError("TensorDataset", "expected at least one tensor");
    const first = tensors[0] as Tensor;
    if (first.ndim === 0) throw new ShapeError("TensorDataset", "tensors must have at least one dimension (got a 0-dim tensor)");
    for (const [i, t] of tensors.entries()) {
      if (t.ndim === 0 || t.shape[0] !== first.shape[0]) {
        throw new ShapeError(
          "TensorDataset",
          `Size mismatch between tensors: tensor 0 has shape ${fmtShape(first.shape)} but tensor ${i} has shape ${fmtShape(t.shape)} (dim 0 must agree)`,
        );
      }
    }
    this.tensors = tensors;
  }

  getItem(index: number): Tensor[] {
    const i = normIndex("TensorDataset", index, this.length);
    return this.tensors.map((t) => t.select(0, i));
  }

  /**
   * A whole batch in one gather per tensor: what defaultCollate would build from getItem() rows,
   * without stacking them one by one (the DataLoader uses it when no collateFn is given).
   */
  getBatch(indices: readonly number[]): Tensor[] {
    const n = this.length;
    const idx = fromHost(
      indices.map((i) => normIndex("TensorDataset", i, n)),
      [indices.length],
      { dtype: "int64", device: this.tensors[0]?.device },
    );
    const batch = this.tensors.map((t) => indexSelect(t, 0, idx));
    idx.dispose();
    return batch;
  }

  get length(): number {
    return this.tensors[0]?.shape[0] as number;
  }
}

/** torch.utils.data.Subset: the items of `dataset` at `indices`, in that order. */
export class Subset<T = unknown> extends Dataset<T> {
  readonly dataset: MapStyleDataset<T>;
  readonly indices: readonly number[];

  /** Present when the wrapped dataset can fetch collated batches (a Subset of a TensorDataset). */
  readonly getBatch?: (indices: readonly number[]) => unknown;

  constructor(dataset: MapStyleDataset<T>, indices: readonly number[] | ArrayLike<number>) {
    super();
    this.dataset = dataset;
    this.indices = Array.from(indices);
    const inner = dataset as { getBatch?: (indices: readonly number[]) => unknown };
    if (typeof inner.getBatch === "function") {
      const fetch = inner.getBatch.bind(dataset);
      this.getBatch = (idx) => fetch(idx.map((i) => this.indices[normIndex("Subset", i, this.indices.length)] as number));
    }
  }

  getItem(index: number): T {
    const i = normIndex("Subset", index, this.indices.length);
    return this.dataset.getItem(this.indices[i] as number);
  }

  get length(): number {
    return this.indices.length;
  }
}

/** torch.utils.data.ConcatDataset: the datasets one after another. */
export class ConcatDataset<T = unknown> extends Dataset<T> {
  readonly datasets: readonly MapStyleDataset<T>[];
  /** Running totals of the lengths (PyTorch's cumulative_sizes). */
  readonly cumulativeSizes: readonly number[];

  constructor(datasets: Iterable<MapStyleDataset<T>>) {
    super();
    const list = [...datasets];
    if (list.length === 0) throw new ArgumentError("ConcatDataset", "datasets should not be an empty iterable");
    for (const [i, d] of list.entries()) {
      if (!isMapStyle(d)) throw new ArgumentError("ConcatDataset", `does not support IterableDataset (dataset ${i} has no getItem)`);
    }
    let total = 0;
    this.cumulativeSizes = list.map((d) => {
      total += d.length;
      return total;
    });
    this.datasets = list;
  }

  getItem(index: number): T {
    const n = this.length;
    if (Number.isInteger(index) && index < 0 && -index > n) {
      throw new IndexError("ConcatDataset", `absolute value of index ${index} should not exceed dataset length ${n}`);
    }
    const i = normIndex("ConcatDataset", index, n);
    // bisect_right over the running totals
    let lo = 0;
    let hi = this.cumulativeSizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cumulativeSizes[mid] as number) <= i) lo = mid + 1;
      else hi = mid;
    }
    const sample = lo === 0 ? i : i - (this.cumulativeSizes[lo - 1] as number);
    return (this.datasets[lo] as MapStyleDataset<T>).getItem(sample);
  }

  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1] ?? 0;
  }
}

/** torch.utils.data.ChainDataset: iterable datasets one after another. */
export class ChainDataset<T = unknown> extends IterableDataset<T> {
  readonly datasets: readonly (IterableDataset<T> | Iterable<T> | AsyncIterable<T>)[];

  constructor(datasets: Iterable<IterableDataset<T> | Iterable<T> | AsyncIterable<T>>) {
    super();
    this.datasets = [...datasets];
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const [i, d] of this.datasets.entries()) {
      const f = (d as Iterable<T>)[Symbol.iterator];
      if (typeof f !== "function") throw new ArgumentError("ChainDataset", `dataset ${i} is async-only: iterate with for await`);
      yield* d as Iterable<T>;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (const d of this.datasets) {
      if (typeof (d as AsyncIterable<T>)[Symbol.asyncIterator] === "function") yield* d as AsyncIterable<T>;
      else yield* d as Iterable<T>;
    }
  }

  override get length(): number | undefined {
    let total = 0;
    for (const d of this.datasets) {
      const n = (d as { length?: unknown }).length;
      if (typeof n !== "number") return undefined;
      total += n;
    }
    return total;
  }
}

/** Resolves lengths given as fractions summing to 1 into integer lengths, as PyTorch 1.13 does. */
export function splitLengths(total: number, lengths: readonly number[]): number[] {
  const sum = lengths.reduce((a, b) => a + b, 0);
  // math.isclose(sum, 1) with rel_tol 1e-9, and sum <= 1
  const isFractions = Math.abs(sum - 1) <= 1e-9 * Math.max(Math.abs(sum), 1) && sum <= 1;
  let out = [...lengths];
  if (isFractions) {
    out = lengths.map((frac, i) => {
      if (frac < 0 || frac > 1) throw new ArgumentError("randomSplit", `Fraction at index ${i} is not between 0 and 1 (got ${frac})`);
      return Math.floor(total * frac);
    });
    const remainder = total - out.reduce((a, b) => a + b, 0);
    // one more item to each split, round-robin, until the remainder is used up
    for (let i = 0; i < remainder; i++) out[i % out.length] = (out[i % out.length] as number) + 1;
    out.forEach((n, i) => {
      if (n === 0) console.warn(`randomSplit: Length of split at index ${i} is 0. This might result in an empty dataset.`);
    });
  }
  for (const [i, n] of out.entries()) {
    if (!Number.isInteger(n) || n < 0) {
      throw new ArgumentError("randomSplit", `lengths must be non-negative integers or fractions summing to 1, got ${n} at index ${i}`);
    }
  }
  const got = out.reduce((a, b) => a + b, 0);
  if (got !== total) {
    throw new ArgumentError("randomSplit", `Sum of input lengths (${got}) does not equal the length of the input dataset (${total})!`);
  }
  return out;
}

/**
 * torch.utils.data.random_split: non-overlapping Subsets of the given lengths, either integers
 * summing to the dataset's length or fractions summing to 1 (floor(frac * n) each, then the
 * remainder handed out one by one from the first split, as in PyTorch 1.13). The permutation comes
 * from `randperm(n, { generator })` (the default generator unless given).
 */
export function randomSplit<T>(
  dataset: MapStyleDataset<T>,
  lengths: readonly number[],
  options: { generator?: Generator } = {},
): Subset<T>[] {
  const sizes = splitLengths(dataset.length, lengths);
  const perm = randperm(dataset.length, { generator: options.generator ?? defaultGenerator });
  const indices = Array.from(perm.dataSync());
  perm.dispose();
  const out: Subset<T>[] = [];
  let offset = 0;
  for (const n of sizes) {
    out.push(new Subset(dataset, indices.slice(offset, offset + n)));
    offset += n;
  }
  return out;
}
