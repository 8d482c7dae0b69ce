import { type DType, getDefaultDtype, isFloating } from "../dtype.js";
import { ArgumentError, DTypeError, fmtShape, IndexError } from "../errors.js";
import { labelGrad } from "../grad-hooks.js";
import { normalizeDim, normalizeDims } from "../shape.js";
import { Tensor } from "../tensor.js";
import { argReduceOp, binaryOp, gatherOp, reduceOp, scanOp, unaryOp, whereOp, assertTensor } from "./dispatch.js";
import { namedTuple, valuesIndices } from "./named-tuple.js";

/**
 * Reductions and scans (torch.sum, mean, max, var, norm, cumsum, ...). Everything is composed from
 * the reduce / argReduce / scan / gather / elementwise primitives, so every float result is
 * differentiable; only indices and bool/int results come from non-recorded paths.
 */

/** One dim or a list of dims; undefined, null and [] reduce over every dim (PyTorch's dim=None / dim=()). */
export type Dims = number | readonly number[];

/**
 * PyTorch's (values, indices) namedtuples of max/min/sort/topk/kthvalue/median/mode/cummax: both
 * `max(x, 1).values` and `const [values, indices] = max(x, 1)` work.
 */
export interface ValuesIndices extends Iterable<Tensor> {
  values: Tensor;
  indices: Tensor;
}


export interface KeepDimOptions {
  keepdim?: boolean;
}

export interface ReduceOptions extends KeepDimOptions {
  /** Cast the input to this dtype before reducing (also the result dtype). */
  dtype?: DType;
}

export interface VarOptions extends KeepDimOptions {
  /** Difference between the sample size and the divisor (default 1, Bessel's correction). */
  correction?: number;
  /** Old spelling of correction: true is 1, false is 0. */
  unbiased?: boolean;
}

type DimArg<O> = Dims | null | undefined | O;

const isOptions = <O>(v: DimArg<O>): v is O => v !== null && typeof v === "object" && !Array.isArray(v);

/** Lets the dim be skipped: sum(x, { dtype }) is sum(x, dim=None, dtype=...). */
function splitArgs<O>(dim: DimArg<O>, options: O | undefined): [Dims | undefined, O] {
  if (isOptions(dim)) return [undefined, dim];
  return [dim ?? undefined, options ?? ({} as O)];
}

const allDims = (x: Tensor): number[] => [...x.shape.keys()];

const isAll = (dim: Dims | undefined): boolean => dim === undefined || (typeof dim !== "number" && dim.length === 0);

/** Normalized reduction dims (every dim when `dim` is absent or empty). */
function reductionDims(op: string, x: Tensor, dim: Dims | undefined): number[] {
  if (dim === undefined) return allDims(x);
  const list = typeof dim === "number" ? [dim] : dim;
  if (list.length === 0) return allDims(x);
  return normalizeDims(op, list, x.ndim);
}

/** Number of elements folded into each output element. */
function reducedCount(x: Tensor, dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= x.shape[d] ?? 1;
  return n;
}

/** x's shape without the reduced dims (or with them as 1 under keepdim). */
function outShape(x: Tensor, dims: readonly number[], keepdim: boolean): number[] {
  return keepdim ? x.shape.map((s, i) => (dims.includes(i) ? 1 : s)) : x.shape.filter((_, i) => !dims.includes(i));
}

/** Max-like reductions have no identity: refuse empty reductions as PyTorch does. */
function checkNonEmpty(op: string, x: Tensor, dims: readonly number[], dim: Dims | undefined): void {
  if (isAll(dim)) {
    if (x.numel() === 0) {
      throw new IndexError(
        op,
        `expected reduction dim to be specified for input.numel() == 0 (input shape ${fmtShape(x.shape)}); specify the reduction dim with the 'dim' argument`,
      );
    }
    return;
  }
  for (const d of dims) {
    if (x.shape[d] === 0) throw new IndexError(op, `expected reduction dim ${d} to have non-zero size (input shape ${fmtShape(x.shape)})`);
  }
}

/** The input an accumulating reduction into `dtype` reads (integers reach int64 without a copy). */
function accInput(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype || (!isFloating(x.dtype) && dtype === "int64")) return x;
  return x.to(dtype);
}

/** sum/prod's default result dtype: integers and bool accumulate in int64. */
const accDtype = (x: Tensor, dtype: DType | undefined): DType => dtype ?? (isFloating(x.dtype) ? x.dtype : "int64");

const isHalf = (d: DType): boolean => d === "float16" || d === "bfloat16";

/** 0-dim tensors behave as one-element vectors along dim 0/-1; kernels get a real dim. */
const as1d = (x: Tensor): Tensor => (x.ndim === 0 ? x.reshape([1]) : x);

// ---------------------------------------------------------------------------------------------
// sum, mean, prod

/** torch.sum: over all dims or `dim`; integers and bool give int64. */
export function sum(x: Tensor, dim?: DimArg<ReduceOptions>, options?: ReduceOptions): Tensor {
  assertTensor("sum", x, "input");
  const [d, o] = splitArgs(dim, options);
  const dims = reductionDims("sum", x, d);
  const dtype = accDtype(x, o.dtype);
  return labelGrad(
    reduceOp("sum", accInput(x, dtype), dims, o.keepdim ?? false, dtype),
    d === undefined ? "SumBackward0" : "SumBackward1",
    [x],
  );
}

/** torch.nansum: sum treating NaN as zero. */
export function nansum(x: Tensor, dim?: DimArg<ReduceOptions>, options?: ReduceOptions): Tensor {
  assertTensor("nansum", x, "input");
  const [d, o] = splitArgs(dim, options);
  const dims = reductionDims("nansum", x, d);
  const dtype = accDtype(x, o.dtype);
  const src = accInput(x, dtype);
  const clean = isFloating(src.dtype) ? whereOp(unaryOp("isnan", src, "bool"), 0, src) : src;
  return labelGrad(reduceOp("sum", clean, dims, o.keepdim ?? false, dtype), "NansumBackward0");
}

function checkMeanDtype(op: string, x: Tensor, dtype: DType | undefined): DType {
  const dt = dtype ?? x.dtype;
  if (!isFloating(dt)) {
    const which = dtype === undefined ? "input" : "optional";
    throw new DTypeError(
      op,
      `could not infer output dtype: ${which} dtype must be a floating point dtype, got ${dt} (cast the input, or pass { dtype: "float32" })`,
    );
  }
  return dt;
}

/** torch.mean: floating inputs only (or an explicit floating `dtype`); the mean of nothing is NaN. */
export function mean(x: Tensor, dim?: DimArg<ReduceOptions>, options?: ReduceOptions): Tensor {
  assertTensor("mean", x, "input");
  const [d, o] = splitArgs(dim, options);
  const dtype = checkMeanDtype("mean", x, o.dtype);
  const dims = reductionDims("mean", x, d);
  const s = reduceOp("sum", accInput(x, dtype), dims, o.keepdim ?? false, dtype);
  return labelGrad(binaryOp("div", s, reducedCount(x, dims)), d === undefined ? "MeanBackward0" : "MeanBackward1", [x]);
}

/** torch.nanmean: mean over the non-NaN elements. */
export function nanmean(x: Tensor, dim?: DimArg<ReduceOptions>, options?: ReduceOptions): Tensor {
  assertTensor("nanmean", x, "input");
  const [d, o] = splitArgs(dim, options);
  if (!isFloating(x.dtype)) throw new DTypeError("nanmean", `expected input to have floating point dtype but got ${x.dtype}`);
  const dtype = checkMeanDtype("nanmean", x, o.dtype);
  const dims = reductionDims("nanmean", x, d);
  const keepdim = o.keepdim ?? false;
  const src = accInput(x, dtype);
  const nan = unaryOp("isnan", src, "bool");
  const s = reduceOp("sum", whereOp(nan, 0, src), dims, keepdim, dtype);
  const n = reduceOp("sum", unaryOp("logicalNot", nan, "bool"), dims, keepdim, "int64");
  return binaryOp("div", s, n, dtype);
}

/** torch.prod over all elements or one dim; integers and bool give int64. */
export function prod(x: Tensor, dim?: number | null | ReduceOptions, options?: ReduceOptions): Tensor {
  assertTensor("prod", x, "input");
  const [d, o] = splitArgs<ReduceOptions>(dim, options);
  if (d !== undefined && typeof d !== "number")
    throw new ArgumentError("prod", "dim must be a single int (PyTorch's prod reduces one dim or all)");
  const dims = reductionDims("prod", x, d);
  const dtype = accDtype(x, o.dtype);
  return labelGrad(
    reduceOp("prod", accInput(x, dtype), dims, o.keepdim ?? false, dtype),
    d === undefined ? "ProdBackward0" : "ProdBackward1",
  );
}

// ---------------------------------------------------------------------------------------------
// max, min, amax, amin, argmax, argmin, aminmax

/** max/min along one dim: indices from argReduce (first occurrence, NaN wins), values gathered. */
function extremeAlong(op: "max" | "min", x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const d = normalizeDim(op, dim, x.ndim);
  checkNonEmpty(op, x, [d], d);
  const xs = as1d(x);
  const indices = argReduceOp(op === "max" ? "argmax" : "argmin", xs, d, true);
  const values = gatherOp(xs, d, indices);
  const shape = outShape(x, [d], keepdim);
  return valuesIndices(labelGrad(values.view(shape), op === "max" ? "MaxBackward0" : "MinBackward0"), indices.view(shape));
}

/**
 * torch.max. max(x) is the largest element (NaN if any); max(x, dim, { keepdim }) gives
 * { values, indices } with the first index of the maximum; max(x, other) is maximum(x, other).
 */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, options?: KeepDimOptions): ValuesIndices;
export function max(x: Tensor, other: Tensor): Tensor;
export function max(x: Tensor, dim?: number | Tensor, options: KeepDimOptions = {}): Tensor | ValuesIndices {
  assertTensor("max", x, "input");
  if (dim instanceof Tensor) return binaryOp("maximum", x, dim);
  if (dim === undefined) {
    checkNonEmpty("max", x, [], undefined);
    return labelGrad(reduceOp("max", x, undefined, false, x.dtype), "MaxBackward1");
  }
  return extremeAlong("max", x, dim, options.keepdim ?? false);
}

/** torch.min; see max. */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, options?: KeepDimOptions): ValuesIndices;
export function min(x: Tensor, other: Tensor): Tensor;
export function min(x: Tensor, dim?: number | Tensor, options: KeepDimOptions = {}): Tensor | ValuesIndices {
  assertTensor("min", x, "input");
  if (dim instanceof Tensor) return binaryOp("minimum", x, dim);
  if (dim === undefined) {
    checkNonEmpty("min", x, [], undefined);
    return labelGrad(reduceOp("min", x, undefined, false, x.dtype), "MinBackward1");
  }
  return extremeAlong("min", x, dim, options.keepdim ?? false);
}

function amaxmin(op: "amax" | "amin", x: Tensor, dim: DimArg<KeepDimOptions>, options: KeepDimOptions | undefined): Tensor {
  const [d, o] = splitArgs(dim, options);
  const dims = reductionDims(op, x, d);
  checkNonEmpty(op, x, dims, d);
  return labelGrad(
    reduceOp(op === "amax" ? "max" : "min", x, dims, o.keepdim ?? false, x.dtype),
    op === "amax" ? "AmaxBackward0" : "AminBackward0",
  );
}

/** torch.amax over `dim` (all dims when omitted); NaN propagates. */
export function amax(x: Tensor, dim?: DimArg<KeepDimOptions>, options?: KeepDimOptions): Tensor {
  assertTensor("amax", x, "input");
  return amaxmin("amax", x, dim, options);
}

/** torch.amin over `dim` (all dims when omitted); NaN propagates. */
export function amin(x: Tensor, dim?: DimArg<KeepDimOptions>, options?: KeepDimOptions): Tensor {
  assertTensor("amin", x, "input");
  return amaxmin("amin", x, dim, options);
}

function argExtreme(
  op: "argmax" | "argmin",
  x: Tensor,
  dim: number | null | undefined | KeepDimOptions,
  options: KeepDimOptions | undefined,
): Tensor {
  const [d, o] = splitArgs<KeepDimOptions>(dim, options);
  if (x.dtype === "bool") throw new DTypeError(op, "not implemented for bool tensors (as in PyTorch); convert with x.to('int64') first");
  const keepdim = o.keepdim ?? false;
  if (d === undefined) {
    checkNonEmpty(op, x, [], undefined);
    const flat = argReduceOp(op, x.reshape([-1]), 0, false);
    return keepdim ? flat.view(x.shape.map(() => 1)) : flat;
  }
  if (typeof d !== "number") throw new ArgumentError(op, "dim must be a single int or omitted");
  const nd = normalizeDim(op, d, x.ndim);
  checkNonEmpty(op, x, [nd], nd);
  return argReduceOp(op, as1d(x), nd, true).view(outShape(x, [nd], keepdim));
}

/** torch.argmax: index of the first maximum (NaN counts as the maximum); flattened when dim is omitted. */
export function argmax(x: Tensor, dim?: number | null | KeepDimOptions, options?: KeepDimOptions): Tensor {
  assertTensor("argmax", x, "input");
  return argExtreme("argmax", x, dim, options);
}

/** torch.argmin: index of the first minimum (NaN counts as the minimum); flattened when dim is omitted. */
export function argmin(x: Tensor, dim?: number | null | KeepDimOptions, options?: KeepDimOptions): Tensor {
  assertTensor("argmin", x, "input");
  return argExtreme("argmin", x, dim, options);
}

/** torch.aminmax: { min, max } over all elements or one dim. */
export function aminmax(x: Tensor, options: { dim?: number | null; keepdim?: boolean } = {}): { min: Tensor; max: Tensor } & Iterable<Tensor> {
  assertTensor("aminmax", x, "input");
  const keepdim = options.keepdim ?? false;
  const whole = options.dim === undefined || options.dim === null;
  const dims = whole ? allDims(x) : [normalizeDim("aminmax", options.dim as number, x.ndim)];
  if (whole ? x.numel() === 0 : x.shape[dims[0] as number] === 0) {
    throw new IndexError(
      "aminmax",
      `cannot compute aminmax over an empty dimension as the operation has no identity (input shape ${fmtShape(x.shape)})`,
    );
  }
  const shape = whole ? (keepdim ? x.shape.map(() => 1) : []) : outShape(x, dims, keepdim);
  return namedTuple({
    min: labelGrad(reduceOp("min", x, dims, true, x.dtype).view(shape), "AminmaxBackward0"),
    max: labelGrad(reduceOp("max", x, dims, true, x.dtype).view(shape), "AminmaxBackward0"),
  });
}

// ---------------------------------------------------------------------------------------------
// var, std, logsumexp, norm

function resolveCorrection(op: string, o: VarOptions): number {
  if (o.correction !== undefined && o.unbiased !== undefined) {
    throw new ArgumentError(op, "cannot specify both correction and unbiased; use correction (unbiased: true is correction 1)");
  }
  if (o.unbiased !== undefined) return o.unbiased ? 1 : 0;
  const c = o.correction ?? 1;
  if (!Number.isFinite(c)) throw new ArgumentError(op, `correction must be a finite number, got ${c}`);
  return c;
}

/** Variance and mean in a floating compute dtype (float32 for halves, as PyTorch's accumulators). */
function moments(op: string, x: Tensor, dim: DimArg<VarOptions>, options: VarOptions | undefined) {
  const [d, o] = splitArgs(dim, options);
  if (!isFloating(x.dtype)) throw new DTypeError(op, `std and var only support floating point dtypes, got ${x.dtype}`);
  const correction = resolveCorrection(op, o);
  const dims = reductionDims(op, x, d);
  const keepdim = o.keepdim ?? false;
  const xc = isHalf(x.dtype) ? x.to("float32") : x;
  const n = reducedCount(x, dims);
  const mu = binaryOp("div", reduceOp("sum", xc, dims, true, xc.dtype), n);
  const dev = binaryOp("sub", xc, mu);
  const ss = reduceOp("sum", binaryOp("mul", dev, dev), dims, keepdim, xc.dtype);
  const v = binaryOp("div", ss, Math.max(n - correction, 0));
  const m = keepdim ? mu : mu.view(outShape(x, dims, false));
  return { v, m, dtype: x.dtype };
}

const back = (t: Tensor, dtype: DType): Tensor => (t.dtype === dtype ? t : t.to(dtype));

/** torch.var (named `variance` because `var` is a JS keyword; also exported as `var`). */
export function variance(x: Tensor, dim?: DimArg<VarOptions>, options?: VarOptions): Tensor {
  assertTensor("variance", x, "input");
  const { v, dtype } = moments("var", x, dim, options);
  return labelGrad(back(v, dtype), "VarBackward0");
}

export { variance as var };

/** torch.std: sqrt of var, with the same { correction | unbiased, keepdim } options. */
export function std(x: Tensor, dim?: DimArg<VarOptions>, options?: VarOptions): Tensor {
  assertTensor("std", x, "input");
  const { v, dtype } = moments("std", x, dim, options);
  return labelGrad(back(unaryOp("sqrt", v), dtype), "StdBackward0");
}

/** torch.var_mean: [var, mean]. */
export function varMean(x: Tensor, dim?: DimArg<VarOptions>, options?: VarOptions): [Tensor, Tensor] {
  assertTensor("varMean", x, "input");
  const { v, m, dtype } = moments("var_mean", x, dim, options);
  return [labelGrad(back(v, dtype), "VarMeanBackward0"), labelGrad(back(m, dtype), "VarMeanBackward0")];
}

/** torch.std_mean: [std, mean]. */
export function stdMean(x: Tensor, dim?: DimArg<VarOptions>, options?: VarOptions): [Tensor, Tensor] {
  assertTensor("stdMean", x, "input");
  const { v, m, dtype } = moments("std_mean", x, dim, options);
  return [labelGrad(back(unaryOp("sqrt", v), dtype), "StdMeanBackward0"), labelGrad(back(m, dtype), "StdMeanBackward0")];
}

/**
 * torch.logsumexp over `dim`: log(sum(exp(x - m))) + m with m the (finite) max, so large inputs
 * do not overflow. Integer inputs give the default float dtype.
 */
export function logsumexp(x: Tensor, dim: Dims, options: KeepDimOptions = {}): Tensor {
  assertTensor("logsumexp", x, "input");
  const keepdim = options.keepdim ?? false;
  const dims = reductionDims("logsumexp", x, dim);
  const dtype = isFloating(x.dtype) ? x.dtype : getDefaultDtype();
  const xc = isHalf(dtype) ? x.to("float32") : accInput(x, dtype);
  if (xc.numel() === 0) {
    return labelGrad(back(unaryOp("log", reduceOp("sum", unaryOp("exp", xc), dims, keepdim, xc.dtype)), dtype), "LogsumexpBackward0");
  }
  const m = reduceOp("max", xc, dims, true, xc.dtype);
  // An infinite max would turn x - m into NaN; shifting by 0 is exact there.
  const shift = whereOp(unaryOp("isinf", m, "bool"), 0, m);
  const s = reduceOp("sum", unaryOp("exp", binaryOp("sub", xc, shift)), dims, keepdim, xc.dtype);
  const r = binaryOp("add", unaryOp("log", s), keepdim ? shift : shift.view(outShape(x, dims, false)));
  return labelGrad(back(r, dtype), "LogsumexpBackward0");
}

/**
 * torch.norm (vector norms over `dim`, or over all elements): p = 'fro' (default) or 2, 1, inf,
 * -inf, 0 (count of non-zeros), or any other real p as sum(|x|^p)^(1/p).
 */
export function norm(
  x: Tensor,
  p: number | "fro" | "nuc" = "fro",
  dim?: Dims | null,
  options: { keepdim?: boolean; dtype?: DType } = {},
): Tensor {
  assertTensor("norm", x, "input");
  const keepdim = options.keepdim ?? false;
  if (!isFloating(x.dtype)) throw new DTypeError("norm", `input dtype should be floating point, got ${x.dtype}`);
  if (options.dtype !== undefined && !isFloating(options.dtype)) {
    throw new DTypeError("norm", `the desired output dtype should be floating point, got ${options.dtype}`);
  }
  if (typeof p === "string") {
    if (p === "nuc") throw new ArgumentError("norm", "the nuclear norm ('nuc') needs singular values and is not supported here");
    if (p !== "fro") throw new ArgumentError("norm", `only valid string values are 'fro' and 'nuc', found '${p}'`);
  }
  const d = dim ?? undefined;
  const dims = reductionDims("norm", x, d);
  if (p === "fro" && !isAll(d) && dims.length > 2) {
    throw new ArgumentError("norm", `the 'fro' norm reduces at most 2 dims, got ${dims.length} (dim ${fmtShape(dims)})`);
  }
  const dtype = options.dtype ?? x.dtype;
  const xc = isHalf(dtype) ? x.to("float32") : accInput(x, dtype);
  const ct = xc.dtype;
  let r: Tensor;
  if (p === "fro" || p === 2) {
    r = unaryOp("sqrt", reduceOp("sum", binaryOp("mul", xc, xc), dims, keepdim, ct));
  } else if (p === 1) {
    r = reduceOp("sum", unaryOp("abs", xc), dims, keepdim, ct);
  } else if (p === Number.POSITIVE_INFINITY || p === Number.NEGATIVE_INFINITY) {
    // torch.norm gives 0 for an empty reduction instead of failing like amax.
    const a = unaryOp("abs", xc);
    r = reducedCount(x, dims) === 0 ? reduceOp("sum", a, dims, keepdim, ct) : reduceOp(p > 0 ? "max" : "min", a, dims, keepdim, ct);
  } else if (p === 0) {
    r = reduceOp("sum", binaryOp("ne", xc, 0, ct, "bool").to(ct), dims, keepdim, ct);
  } else {
    const s = reduceOp("sum", binaryOp("pow", unaryOp("abs", xc), p), dims, keepdim, ct);
    r = binaryOp("pow", s, 1 / p);
  }
  return labelGrad(back(r, dtype), "NormBackward1");
}

// ---------------------------------------------------------------------------------------------
// scans: cumsum, cumprod, cummax, cummin, logcumsumexp

function scanDim(op: string, x: Tensor, dim: number): number {
  return normalizeDim(op, dim, x.ndim);
}

function accScan(op: "cumsum" | "cumprod", x: Tensor, dim: number, dtype: DType | undefined): Tensor {
  const d = scanDim(op, x, dim);
  const dt = accDtype(x, dtype);
  const src = accInput(x, dt);
  return labelGrad(scanOp(op, as1d(src), d, dt).values.view(x.shape), op === "cumsum" ? "CumsumBackward0" : "CumprodBackward0", [x]);
}

/** torch.cumsum along dim; integers and bool give int64. */
export function cumsum(x: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  assertTensor("cumsum", x, "input");
  return accScan("cumsum", x, dim, options.dtype);
}

/** torch.cumprod along dim; integers and bool give int64. */
export function cumprod(x: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  assertTensor("cumprod", x, "input");
  return accScan("cumprod", x, dim, options.dtype);
}

function cumExtreme(op: "cummax" | "cummin", x: Tensor, dim: number): ValuesIndices {
  const d = scanDim(op, x, dim);
  const xs = as1d(x);
  const r = scanOp(op, xs, d);
  // Values are re-read through gather so that they are differentiable through the indices.
  r.values.dispose();
  const indices = r.indices as Tensor;
  const values = gatherOp(xs, d, indices).view(x.shape);
  return valuesIndices(labelGrad(values, op === "cummax" ? "CummaxBackward0" : "CumminBackward0"), indices.view(x.shape));
}

/** torch.cummax: running max and the index where it was reached (ties and NaN move to the later index). */
export function cummax(x: Tensor, dim: number): ValuesIndices {
  assertTensor("cummax", x, "input");
  return cumExtreme("cummax", x, dim);
}

/** torch.cummin: running min and the index where it was reached. */
export function cummin(x: Tensor, dim: number): ValuesIndices {
  assertTensor("cummin", x, "input");
  return cumExtreme("cummin", x, dim);
}

/** torch.logcumsumexp along dim (floating inputs only). */
export function logcumsumexp(x: Tensor, dim: number): Tensor {
  assertTensor("logcumsumexp", x, "input");
  const d = scanDim("logcumsumexp", x, dim);
  if (!isFloating(x.dtype)) throw new DTypeError("logcumsumexp", `expected a floating point tensor, got ${x.dtype}`);
  return labelGrad(scanOp("logcumsumexp", as1d(x), d).values.view(x.shape), "LogcumsumexpBackward0", [x]);
}

// ---------------------------------------------------------------------------------------------
// all, any, countNonzero

/** torch.all: whether every element (along dim) is non-zero; bool result. */
export function all(x: Tensor, dim?: DimArg<KeepDimOptions>, options?: KeepDimOptions): Tensor {
  assertTensor("all", x, "input");
  const [d, o] = splitArgs(dim, options);
  return reduceOp("all", x, reductionDims("all", x, d), o.keepdim ?? false, "bool");
}

/** torch.any: whether any element (along dim) is non-zero; bool result. */
export function any(x: Tensor, dim?: DimArg<KeepDimOptions>, options?: KeepDimOptions): Tensor {
  assertTensor("any", x, "input");
  const [d, o] = splitArgs(dim, options);
  return reduceOp("any", x, reductionDims("any", x, d), o.keepdim ?? false, "bool");
}

/** torch.count_nonzero over dim (all when omitted); int64 result. NaN counts as non-zero. */
export function countNonzero(x: Tensor, dim?: Dims | null): Tensor {
  assertTensor("countNonzero", x, "input");
  const dims = reductionDims("count_nonzero", x, dim ?? undefined);
  return reduceOp("sum", binaryOp("ne", x, 0, undefined, "bool"), dims, false, "int64");
}
