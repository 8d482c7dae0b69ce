/**
 * `import "@dl/tensor/methods"` makes every op that PyTorch has as both `torch.f(x, ...)` and
 * `x.f(...)` a Tensor method too: `x.sum(1)`, `x.matmul(w).relu()`, `x.argmax(1)`, `x.add_(y)`.
 * Each method delegates to the free function (`x.f(...a)` is `f(x, ...a)`), so results, errors and
 * gradients are the free function's.
 *
 * Opt-in because a method table ties every op to the Tensor class: a bundle that imports this
 * module carries all of them (+24 kB gzipped on a one-op bundle), one that does not carries only the ops it imports.
 * The views (reshape, permute, transpose, ...) are methods without it.
 */
import * as arithmetic from "./ops/arithmetic.js";
import * as compare from "./ops/compare.js";
import type { TensorLike } from "./ops/dispatch.js";
import { type IndexSpec, index } from "./ops/indexing.js";
import * as indexing from "./ops/indexing.js";
import * as inplace from "./ops/inplace.js";
import * as linalg from "./ops/linalg.js";
import * as math from "./ops/math.js";
import type { KeepDimOptions, ValuesIndices } from "./ops/reduce.js";
import * as reduce from "./ops/reduce.js";
import * as shape from "./ops/shape.js";
import * as softmax from "./ops/softmax.js";
import type { UniqueOptions, UniqueResult } from "./ops/sort.js";
import * as sort from "./ops/sort.js";
import { type BasicIndex, Tensor } from "./tensor.js";

/** PyTorch's Tensor methods that are free functions in dl, by method name. */
const delegated = {
  ...pick(arithmetic, "add sub mul div trueDivide floorDivide remainder fmod pow neg abs sign sgn reciprocal square"),
  ...pick(
    math,
    "exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh atan2 " +
      "sigmoid relu erf erfc erfinv logit xlogy hypot copysign floor ceil trunc round frac maximum minimum fmax fmin clamp clip lerp",
  ),
  ...pick(
    compare,
    "eq ne lt le gt ge logicalAnd logicalOr logicalXor logicalNot bitwiseAnd bitwiseOr bitwiseXor bitwiseNot isnan isinf " +
      "isposinf isneginf isfinite signbit isclose allclose equal maskedFill nanToNum",
  ),
  ...pick(
    reduce,
    "sum nansum mean nanmean prod max min amax amin argmax argmin aminmax std logsumexp norm cumsum cumprod cummax cummin " +
      "logcumsumexp all any countNonzero",
  ),
  var: reduce.variance,
  ...pick(sort, "sort argsort msort topk kthvalue median nanmedian unique uniqueConsecutive"),
  ...pick(linalg, "matmul mm bmm mv dot vdot inner outer addmm baddbmm addmv tril triu trace"),
  ...pick(shape, "split chunk unbind flip roll repeat tile repeatInterleave"),
  ...pick(softmax, "softmax logSoftmax"),
  ...pick(
    indexing,
    "gather scatter scatterAdd scatterReduce indexSelect take takeAlongDim nonzero argwhere maskedSelect indexPut indexFill " +
      "indexAdd indexCopy scatter_ scatterAdd_ scatterReduce_ indexPut_ indexFill_ indexAdd_ indexCopy_",
  ),
  ...pick(inplace, "add_ sub_ mul_ div_ pow_ clamp_ maskedFill_"),
};

function pick<M extends object>(module: M, names: string): Record<string, (...args: never[]) => unknown> {
  const out: Record<string, (...args: never[]) => unknown> = {};
  for (const name of names.split(" ")) out[name] = module[name as keyof M] as (...args: never[]) => unknown;
  return out;
}

const proto = Tensor.prototype as unknown as Record<string, unknown>;
for (const [name, fn] of Object.entries(delegated)) {
  // Tensor's own methods (views, conversions) stay as they are.
  if (name in proto) continue;
  Object.defineProperty(proto, name, {
    value: function (this: Tensor, ...args: unknown[]) {
      return (fn as (x: Tensor, ...rest: unknown[]) => unknown)(this, ...args);
    },
    writable: true,
    configurable: true,
  });
}

// x.where(condition, y) is torch.where(condition, x, y).
Object.defineProperty(proto, "where", {
  value: function (this: Tensor, condition: Tensor, other: TensorLike) {
    return compare.where(condition, this, other);
  },
  writable: true,
  configurable: true,
});

// x.index(...) also takes tensors and arrays (advanced indexing), as x[idx] does in Python.
const basicIndex = Tensor.prototype.index;
Object.defineProperty(proto, "index", {
  value: function (this: Tensor, ...specs: IndexSpec[]) {
    const advanced = specs.some((s) => s instanceof Tensor || Array.isArray(s));
    return advanced ? index(this, ...specs) : basicIndex.apply(this, specs as BasicIndex[]);
  },
  writable: true,
  configurable: true,
});

/** `f(x, ...rest)` as the method `x.f(...rest)` (the last overload of an overloaded f). */
type Method<F> = F extends (x: Tensor, ...rest: infer A) => infer R ? (...rest: A) => R : never;

declare module "./tensor.js" {
  interface Tensor {
    add: Method<typeof arithmetic.add>;
    sub: Method<typeof arithmetic.sub>;
    mul: Method<typeof arithmetic.mul>;
    div: Method<typeof arithmetic.div>;
    trueDivide: Method<typeof arithmetic.trueDivide>;
    floorDivide: Method<typeof arithmetic.floorDivide>;
    remainder: Method<typeof arithmetic.remainder>;
    fmod: Method<typeof arithmetic.fmod>;
    pow: Method<typeof arithmetic.pow>;
    neg: Method<typeof arithmetic.neg>;
    abs: Method<typeof arithmetic.abs>;
    sign: Method<typeof arithmetic.sign>;
    sgn: Method<typeof arithmetic.sgn>;
    reciprocal: Method<typeof arithmetic.reciprocal>;
    square: Method<typeof arithmetic.square>;
    exp: Method<typeof math.exp>;
    exp2: Method<typeof math.exp2>;
    expm1: Method<typeof math.expm1>;
    log: Method<typeof math.log>;
    log2: Method<typeof math.log2>;
    log10: Method<typeof math.log10>;
    log1p: Method<typeof math.log1p>;
    sqrt: Method<typeof math.sqrt>;
    rsqrt: Method<typeof math.rsqrt>;
    sin: Method<typeof math.sin>;
    cos: Method<typeof math.cos>;
    tan: Method<typeof math.tan>;
    asin: Method<typeof math.asin>;
    acos: Method<typeof math.acos>;
    atan: Method<typeof math.atan>;
    sinh: Method<typeof math.sinh>;
    cosh: Method<typeof math.cosh>;
    tanh: Method<typeof math.tanh>;
    asinh: Method<typeof math.asinh>;
    acosh: Method<typeof math.acosh>;
    atanh: Method<typeof math.atanh>;
    atan2: Method<typeof math.atan2>;
    sigmoid: Method<typeof math.sigmoid>;
    relu: Method<typeof math.relu>;
    erf: Method<typeof math.erf>;
    erfc: Method<typeof math.erfc>;
    erfinv: Method<typeof math.erfinv>;
    logit: Method<typeof math.logit>;
    xlogy: Method<typeof math.xlogy>;
    hypot: Method<typeof math.hypot>;
    copysign: Method<typeof math.copysign>;
    floor: Method<typeof math.floor>;
    ceil: Method<typeof math.ceil>;
    trunc: Method<typeof math.trunc>;
    round: Method<typeof math.round>;
    frac: Method<typeof math.frac>;
    maximum: Method<typeof math.maximum>;
    minimum: Method<typeof math.minimum>;
    fmax: Method<typeof math.fmax>;
    fmin: Method<typeof math.fmin>;
    clamp: Method<typeof math.clamp>;
    clip: Method<typeof math.clip>;
    lerp: Method<typeof math.lerp>;
    eq: Method<typeof compare.eq>;
    ne: Method<typeof compare.ne>;
    lt: Method<typeof compare.lt>;
    le: Method<typeof compare.le>;
    gt: Method<typeof compare.gt>;
    ge: Method<typeof compare.ge>;
    logicalAnd: Method<typeof compare.logicalAnd>;
    logicalOr: Method<typeof compare.logicalOr>;
    logicalXor: Method<typeof compare.logicalXor>;
    logicalNot: Method<typeof compare.logicalNot>;
    bitwiseAnd: Method<typeof compare.bitwiseAnd>;
    bitwiseOr: Method<typeof compare.bitwiseOr>;
    bitwiseXor: Method<typeof compare.bitwiseXor>;
    bitwiseNot: Method<typeof compare.bitwiseNot>;
    isnan: Method<typeof compare.isnan>;
    isinf: Method<typeof compare.isinf>;
    isposinf: Method<typeof compare.isposinf>;
    isneginf: Method<typeof compare.isneginf>;
    isfinite: Method<typeof compare.isfinite>;
    signbit: Method<typeof compare.signbit>;
    isclose: Method<typeof compare.isclose>;
    allclose: Method<typeof compare.allclose>;
    equal: Method<typeof compare.equal>;
    maskedFill: Method<typeof compare.maskedFill>;
    nanToNum: Method<typeof compare.nanToNum>;
    /** torch.where(condition, x, other) */
    where(condition: Tensor, other: TensorLike): Tensor;
    sum: Method<typeof reduce.sum>;
    nansum: Method<typeof reduce.nansum>;
    mean: Method<typeof reduce.mean>;
    nanmean: Method<typeof reduce.nanmean>;
    prod: Method<typeof reduce.prod>;
    max(): Tensor;
    max(dim: number, options?: KeepDimOptions): ValuesIndices;
    max(other: Tensor): Tensor;
    min(): Tensor;
    min(dim: number, options?: KeepDimOptions): ValuesIndices;
    min(other: Tensor): Tensor;
    amax: Method<typeof reduce.amax>;
    amin: Method<typeof reduce.amin>;
    argmax: Method<typeof reduce.argmax>;
    argmin: Method<typeof reduce.argmin>;
    aminmax: Method<typeof reduce.aminmax>;
    var: Method<typeof reduce.variance>;
    std: Method<typeof reduce.std>;
    logsumexp: Method<typeof reduce.logsumexp>;
    norm: Method<typeof reduce.norm>;
    cumsum: Method<typeof reduce.cumsum>;
    cumprod: Method<typeof reduce.cumprod>;
    cummax: Method<typeof reduce.cummax>;
    cummin: Method<typeof reduce.cummin>;
    logcumsumexp: Method<typeof reduce.logcumsumexp>;
    all: Method<typeof reduce.all>;
    any: Method<typeof reduce.any>;
    countNonzero: Method<typeof reduce.countNonzero>;
    sort: Method<typeof sort.sort>;
    argsort: Method<typeof sort.argsort>;
    msort: Method<typeof sort.msort>;
    topk: Method<typeof sort.topk>;
    kthvalue: Method<typeof sort.kthvalue>;
    median(): Tensor;
    median(dim: number, options?: KeepDimOptions): ValuesIndices;
    nanmedian(): Tensor;
    nanmedian(dim: number, options?: KeepDimOptions): ValuesIndices;
    unique(options?: { sorted?: boolean; dim?: number | null }): Tensor;
    unique(options: UniqueOptions): UniqueResult;
    uniqueConsecutive(options?: { dim?: number | null }): Tensor;
    uniqueConsecutive(options: Omit<UniqueOptions, "sorted">): UniqueResult;
    matmul: Method<typeof linalg.matmul>;
    mm: Method<typeof linalg.mm>;
    bmm: Method<typeof linalg.bmm>;
    mv: Method<typeof linalg.mv>;
    dot: Method<typeof linalg.dot>;
    vdot: Method<typeof linalg.vdot>;
    inner: Method<typeof linalg.inner>;
    outer: Method<typeof linalg.outer>;
    addmm: Method<typeof linalg.addmm>;
    baddbmm: Method<typeof linalg.baddbmm>;
    addmv: Method<typeof linalg.addmv>;
    tril: Method<typeof linalg.tril>;
    triu: Method<typeof linalg.triu>;
    trace: Method<typeof linalg.trace>;
    split: Method<typeof shape.split>;
    chunk: Method<typeof shape.chunk>;
    unbind: Method<typeof shape.unbind>;
    flip: Method<typeof shape.flip>;
    roll: Method<typeof shape.roll>;
    repeat: Method<typeof shape.repeat>;
    tile: Method<typeof shape.tile>;
    repeatInterleave: Method<typeof shape.repeatInterleave>;
    softmax: Method<typeof softmax.softmax>;
    logSoftmax: Method<typeof softmax.logSoftmax>;
    gather: Method<typeof indexing.gather>;
    scatter: Method<typeof indexing.scatter>;
    scatterAdd: Method<typeof indexing.scatterAdd>;
    scatterReduce: Method<typeof indexing.scatterReduce>;
    indexSelect: Method<typeof indexing.indexSelect>;
    take: Method<typeof indexing.take>;
    takeAlongDim: Method<typeof indexing.takeAlongDim>;
    nonzero(): Tensor;
    nonzero(options: { asTuple: true }): Tensor[];
    argwhere: Method<typeof indexing.argwhere>;
    maskedSelect: Method<typeof indexing.maskedSelect>;
    indexPut: Method<typeof indexing.indexPut>;
    indexFill: Method<typeof indexing.indexFill>;
    indexAdd: Method<typeof indexing.indexAdd>;
    indexCopy: Method<typeof indexing.indexCopy>;
    scatter_: Method<typeof indexing.scatter_>;
    scatterAdd_: Method<typeof indexing.scatterAdd_>;
    scatterReduce_: Method<typeof indexing.scatterReduce_>;
    indexPut_: Method<typeof indexing.indexPut_>;
    indexFill_: Method<typeof indexing.indexFill_>;
    indexAdd_: Method<typeof indexing.indexAdd_>;
    indexCopy_: Method<typeof indexing.indexCopy_>;
    add_: Method<typeof inplace.add_>;
    sub_: Method<typeof inplace.sub_>;
    mul_: Method<typeof inplace.mul_>;
    div_: Method<typeof inplace.div_>;
    pow_: Method<typeof inplace.pow_>;
    clamp_: Method<typeof inplace.clamp_>;
    maskedFill_: Method<typeof inplace.maskedFill_>;
    /** Basic indices as without this module; tensors or arrays as the free index(). */
    index(...specs: IndexSpec[]): Tensor;
  }
}
