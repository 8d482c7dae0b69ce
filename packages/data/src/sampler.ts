import { ArgumentError, Generator, ShapeError, defaultGenerator, fmtShape, fromHost, multinomial, randint, randperm } from "@dl/tensor";

/** Anything with a length (a dataset, an array). */
export interface Sized {
  readonly length: number;
}

/**
 * torch.utils.data.Sampler: an iterable of dataset indices (or of index batches for a batch
 * sampler), with an optional `length`.
 */
export abstract class Sampler<T = number> implements Iterable<T> {
  abstract [Symbol.iterator](): Iterator<T>;
  get length(): number {
    throw new ArgumentError(this.constructor.name, "this sampler has no length");
  }
}

function positiveInt(op: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new ArgumentError(op, `${name} should be a positive integer value, but got ${name}=${String(v)}`);
  }
  return v;
}

function boolArg(op: string, name: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new ArgumentError(op, `${name} should be a boolean value, but got ${name}=${String(v)}`);
  return v;
}

/** Reads an int64 index tensor into numbers and frees it. */
function take(t: ReturnType<typeof randperm>): number[] {
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

/** torch.utils.data.SequentialSampler: 0, 1, ..., length-1. */
export class SequentialSampler extends Sampler<number> {
  readonly dataSource: Sized;
  constructor(dataSource: Sized) {
    super();
    this.dataSource = dataSource;
  }
  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataSource.length;
    for (let i = 0; i < n; i++) yield i;
  }
  override get length(): number {
    return this.dataSource.length;
  }
}

export interface RandomSamplerOptions {
  /** Draw with replacement (default false). */
  replacement?: boolean;
  /** How many indices per pass (default: the dataset's length). */
  numSamples?: number;
  /** Seeded source; without one each pass seeds a fresh Generator from the default generator (as PyTorch). */
  generator?: Generator;
}

/**
 * torch.utils.data.RandomSampler. Without replacement: whole permutations (randperm), the last one
 * cut to numSamples; with replacement: randint(0, n) in chunks of 32, as PyTorch draws them.
 */
export class RandomSampler extends Sampler<number> {
  readonly dataSource: Sized;
  readonly replacement: boolean;
  readonly generator: Generator | undefined;
  private readonly _numSamples: number | undefined;

  constructor(dataSource: Sized, options: RandomSamplerOptions = {}) {
    super();
    this.dataSource = dataSource;
    this.replacement = boolArg("RandomSampler", "replacement", options.replacement ?? false);
    this._numSamples = options.numSamples;
    this.generator = options.generator;
    positiveInt("RandomSampler", "num_samples", this.numSamples);
  }

  get numSamples(): number {
    return this._numSamples ?? this.dataSource.length;
  }

  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataSource.length;
    const generator = this.generator ?? new Generator(Math.floor(defaultGenerator.random() * 2 ** 53));
    const total = this.numSamples;
    if (this.replacement) {
      for (let k = 0; k < Math.floor(total / 32); k++) yield* take(randint(0, n, [32], { generator }));
      yield* take(randint(0, n, [total % 32], { generator }));
    } else {
      for (let k = 0; k < Math.floor(total / n); k++) yield* take(randperm(n, { generator }));
      yield* take(randperm(n, { generator })).slice(0, total % n);
    }
  }

  override get length(): number {
    return this.numSamples;
  }
}

/** torch.utils.data.SubsetRandomSampler: the given indices in a random order. */
export class SubsetRandomSampler extends Sampler<number> {
  readonly indices: readonly number[];
  readonly generator: Generator | undefined;

  constructor(indices: ArrayLike<number> | Iterable<number>, options: { generator?: Generator } = {}) {
    super();
    this.indices = Array.from(indices as ArrayLike<number>);
    this.generator = options.generator;
  }

  *[Symbol.iterator](): Iterator<number> {
    for (const i of take(randperm(this.indices.length, { generator: this.generator ?? defaultGenerator }))) {
      yield this.indices[i] as number;
    }
  }

  override get length(): number {
    return this.indices.length;
  }
}

/**
 * torch.utils.data.WeightedRandomSampler: indices 0..len(weights)-1 drawn with probabilities
 * proportional to the weights (multinomial over float64 weights), with replacement by default.
 */
export class WeightedRandomSampler extends Sampler<number> {
  readonly weights: Float64Array;
  readonly numSamples: number;
  readonly replacement: boolean;
  readonly generator: Generator | undefined;

  constructor(
    weights: ArrayLike<number> | readonly number[] | { dataSync(): ArrayLike<number>; shape: readonly number[] },
    numSamples: number,
    options: boolean | { replacement?: boolean; generator?: Generator } = {},
  ) {
    super();
    const o = typeof options === "boolean" ? { replacement: options } : options;
    this.numSamples = positiveInt("WeightedRandomSampler", "num_samples", numSamples);
    this.replacement = boolArg("WeightedRandomSampler", "replacement", o.replacement ?? true);
    if ("dataSync" in weights && typeof weights.dataSync === "function") {
      if (weights.shape.length !== 1) {
        throw new ShapeError(
          "WeightedRandomSampler",
          `weights should be a 1d sequence but given weights have shape ${fmtShape(weights.shape)}`,
        );
      }
      this.weights = Float64Array.from(weights.dataSync());
    } else {
      const arr = weights as ArrayLike<unknown>;
      for (let i = 0; i < arr.length; i++) {
        if (typeof arr[i] !== "number") {
          throw new ShapeError("WeightedRandomSampler", `weights should be a 1d sequence of numbers, but element ${i} is ${typeof arr[i]}`);
        }
      }
      this.weights = Float64Array.from(arr as ArrayLike<number>);
    }
    this.generator = o.generator;
  }

  *[Symbol.iterator](): Iterator<number> {
    const w = fromHost(this.weights, [this.weights.length], { dtype: "float64" });
    try {
      yield* take(multinomial(w, this.numSamples, this.replacement, { generator: this.generator ?? defaultGenerator }));
    } finally {
      w.dispose();
    }
  }

  override get length(): number {
    return this.numSamples;
  }
}

/**
 * torch.utils.data.BatchSampler: groups the indices of `sampler` into arrays of `batchSize`; the
 * last, shorter batch is kept unless `dropLast`.
 */
export class BatchSampler extends Sampler<number[]> {
  readonly sampler: Iterable<number> & { readonly length?: number };
  readonly batchSize: number;
  readonly dropLast: boolean;

  constructor(sampler: Iterable<number> & { readonly length?: number }, batchSize: number, dropLast: boolean) {
    super();
    this.batchSize = positiveInt("BatchSampler", "batch_size", batchSize);
    this.dropLast = boolArg("BatchSampler", "drop_last", dropLast);
    this.sampler = sampler;
  }

  *[Symbol.iterator](): Iterator<number[]> {
    let batch: number[] = [];
    for (const idx of this.sampler) {
      batch.push(idx);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0 && !this.dropLast) yield batch;
  }

  override get length(): number {
    const n = this.sampler.length;
    if (typeof n !== "number") throw new ArgumentError("BatchSampler", "the wrapped sampler has no length");
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }
}
