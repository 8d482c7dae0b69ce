import type seedrandomTypes from "seedrandom";
// seedrandom's ARC4 generator alone: its main entry also bundles six generators dl does not use.
// That file has no types of its own; it is the default export of "seedrandom".
// @ts-expect-error -- no declaration file for this path (see above)
import arc4 from "seedrandom/seedrandom.js";
import { type DType, getDefaultDtype } from "./dtype.js";
import { ArgumentError, ShapeError, describeValue, fmtShape } from "./errors.js";
import { type TensorOptions, assertAllocatable, checkOptions, checkShape, fromHost, requireFloating } from "./creation.js";
import { assertTensor } from "./ops/dispatch.js";
import { dimsArg } from "./layout.js";
import { numel } from "./shape.js";
import type { Tensor } from "./tensor.js";

const seedrandom = arc4 as typeof seedrandomTypes;

/**
 * A seeded source of random numbers (torch.Generator). All random ops draw from the default
 * generator unless given one; manualSeed(s) makes every run reproducible bit for bit. Numbers are
 * produced on the host and uploaded, so every backend sees the same values.
 */
export class Generator {
  private rng: seedrandomTypes.StatefulPRNG<seedrandomTypes.State.Arc4>;
  private seed: number;
  private spareNormal: number | null = null;

  constructor(seed = 0x5eed) {
    this.seed = seed;
    this.rng = seedrandom(String(seed), { state: true });
  }

  manualSeed(seed: number): this {
    this.seed = seed;
    this.rng = seedrandom(String(seed), { state: true });
    this.spareNormal = null;
    return this;
  }

  initialSeed(): number {
    return this.seed;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    return this.rng.double();
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer uniform in [low, high). */
  int(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  getState(): object {
    return { seed: this.seed, rng: this.rng.state(), spare: this.spareNormal };
  }

  setState(state: object): this {
    const s = state as { seed: number; rng: seedrandomTypes.State.Arc4; spare: number | null };
    this.seed = s.seed;
    this.rng = seedrandom("", { state: s.rng as seedrandomTypes.State.Arc4 });
    this.spareNormal = s.spare;
    return this;
  }
}

export const defaultGenerator = new Generator();

/** torch.manual_seed: reseeds the default generator. */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

type Args = (number | readonly number[] | RandomOptions)[];

function parse(op: string, args: Args): [number[], RandomOptions] {
  const last = args[args.length - 1];
  const hasOpts = last !== undefined && typeof last === "object" && !Array.isArray(last);
  const rest = (hasOpts ? args.slice(0, -1) : args) as (number | readonly number[])[];
  if (!rest.every((a) => typeof a === "number" || Array.isArray(a))) {
    throw new ShapeError(op, `size must be integers or an array of integers, but got ${rest.map(describeValue).join(", ")}`);
  }
  const shape = dimsArg(rest);
  for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `invalid shape ${fmtShape(shape)}`);
  return [shape, hasOpts ? (checkOptions(op, last) as RandomOptions) : {}];
}

function make(op: string, shape: readonly number[], options: RandomOptions, sample: (g: Generator) => number, dtype?: DType): Tensor {
  checkShape(op, shape);
  checkOptions(op, options);
  if (options.generator !== undefined && !(options.generator instanceof Generator)) {
    throw new ArgumentError(op, `generator must be a Generator, but got ${describeValue(options.generator)}`);
  }
  const dt = dtype ?? options.dtype ?? getDefaultDtype();
  assertAllocatable(op, shape, dt);
  const g = options.generator ?? defaultGenerator;
  const values = new Float64Array(numel(shape));
  for (let i = 0; i < values.length; i++) values[i] = sample(g);
  return fromHost(values, shape, { ...options, dtype: dt });
}

/** Scalar arguments (low, high, mean, std) must be numbers. */
function checkNumbers(op: string, values: Record<string, unknown>): void {
  for (const [name, v] of Object.entries(values)) {
    if (typeof v !== "number" || Number.isNaN(v))
      throw new ArgumentError(op, `argument '${name}' must be a number, but got ${describeValue(v)}`);
  }
}

/** Uniform [0, 1): rand(2, 3), rand([2, 3], { generator }). */
export function rand(...args: Args): Tensor {
  const [shape, o] = parse("rand", args);
  requireFloating("rand", o.dtype ?? getDefaultDtype());
  return make("rand", shape, o, (g) => g.random());
}

/** Standard normal. */
export function randn(...args: Args): Tensor {
  const [shape, o] = parse("randn", args);
  requireFloating("randn", o.dtype ?? getDefaultDtype());
  return make("randn", shape, o, (g) => g.normal());
}

/** Integers uniform in [low, high), int64 by default. */
export function randint(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkNumbers("randint", { low, high });
  if (!(high > low)) throw new ArgumentError("randint", `random_ expects 'from' to be less than 'to', but got from=${low} >= to=${high}`);
  return make("randint", shape, options, (g) => g.int(low, high), options.dtype ?? "int64");
}

/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError("randperm", `n must be non-negative, got ${n}`);
  const g = options.generator ?? defaultGenerator;
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.int(0, i + 1);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return fromHost(p, [n], { ...options, dtype: options.dtype ?? "int64" });
}

/** Normal with the given mean and std (numbers), of `shape`. */
export function normal(mean: number, std: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkNumbers("normal", { mean, std });
  if (!(std >= 0)) throw new ArgumentError("normal", `expects std >= 0.0, but found std ${std}`);
  return make("normal", shape, options, (g) => mean + std * g.normal());
}

/** Uniform in [low, high). */
export function uniform(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkNumbers("uniform", { low, high });
  return make("uniform", shape, options, (g) => low + (high - low) * g.random());
}

/** Draws 0/1 with probabilities p (a tensor in [0, 1]); result has p's shape and dtype. */
export function bernoulli(p: Tensor, options: RandomOptions = {}): Tensor {
  assertTensor("bernoulli", p, "input");
  const probs = p.dataSync();
  for (const v of probs) if (!(v >= 0 && v <= 1)) throw new ArgumentError("bernoulli", `expects 0 <= p <= 1, got ${v}`);
  let i = 0;
  return make(
    "bernoulli",
    p.shape,
    { device: p.device, ...options },
    (g) => (g.random() < (probs[i++] as number) ? 1 : 0),
    options.dtype ?? p.dtype,
  );
}

/**
 * Samples category indices from rows of non-negative weights (1-D or 2-D), int64 result of shape
 * [numSamples] or [rows, numSamples].
 */
export function multinomial(weights: Tensor, numSamples: number, replacement = false, options: RandomOptions = {}): Tensor {
  assertTensor("multinomial", weights, "input");
  if (!Number.isInteger(numSamples) || numSamples < 0) {
    throw new ArgumentError("multinomial", `argument 'num_samples' must be a non-negative integer, but got ${describeValue(numSamples)}`);
  }
  if (weights.ndim < 1 || weights.ndim > 2) throw new ShapeError("multinomial", `prob_dist must be 1 or 2 dim, got ${weights.ndim}`);
  const rows = weights.ndim === 1 ? 1 : (weights.shape[0] as number);
  const k = weights.shape[weights.ndim - 1] as number;
  if (!replacement && numSamples > k) {
    throw new ArgumentError(
      "multinomial",
      `cannot sample n_sample (${numSamples}) > prob_dist.size(-1) (${k}) samples without replacement`,
    );
  }
  const w = weights.dataSync();
  const g = options.generator ?? defaultGenerator;
  const out = new Float64Array(rows * numSamples);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(w.subarray(r * k, (r + 1) * k));
    for (const v of row)
      if (!(v >= 0) || !Number.isFinite(v))
        throw new ArgumentError("multinomial", "probability tensor contains either inf, nan or element < 0");
    for (let s = 0; s < numSamples; s++) {
      const total = row.reduce((a, b) => a + b, 0);
      if (total <= 0) throw new ArgumentError("multinomial", "invalid multinomial distribution (sum of probabilities <= 0)");
      let u = g.random() * total;
      let pick = 0;
      while (pick < k - 1 && (u >= (row[pick] as number) || row[pick] === 0)) u -= row[pick++] as number;
      out[r * numSamples + s] = pick;
      if (!replacement) row[pick] = 0;
    }
  }
  const shape = weights.ndim === 1 ? [numSamples] : [rows, numSamples];
  return fromHost(out, shape, { device: weights.device, dtype: "int64" });
}
