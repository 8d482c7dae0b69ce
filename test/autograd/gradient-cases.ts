import * as dl from "@dl/tensor";
import type { Tensor } from "@dl/tensor";

/**
 * The TypeScript side of tooling/fixtures/gen_autograd.py: one function per fixture case, by
 * name, computing the same thing as the Python lambda. `a` are the (transformed) differentiable
 * inputs, `e` the extras (index tensors, masks) in fixture order.
 */
export type CaseFn = (a: Tensor[], e: Tensor[]) => Tensor | Tensor[];

const f64 = (...v: number[]) => dl.tensor(v, { dtype: "float64" });
const one = (f: (x: Tensor) => Tensor): CaseFn => (a) => f(a[0] as Tensor);
/** y = x * 1 (a non-leaf), op applied to y in place, then y * W23 (gen_autograd.py's on_copy). */
const W23 = () => dl.tensor([[0.5, -1, 2], [1.5, 0.25, -0.75]], { dtype: "float64" });
const onCopy =
  (op: (y: Tensor, a: Tensor[], e: Tensor[]) => unknown): CaseFn =>
  (a, e) => {
    const y = dl.mul(a[0] as Tensor, 1);
    op(y, a, e);
    return dl.mul(y, W23());
  };
const two = (f: (x: Tensor, y: Tensor) => Tensor): CaseFn => (a) => f(a[0] as Tensor, a[1] as Tensor);

const unary: Record<string, (x: Tensor) => Tensor> = {
  neg: dl.neg,
  abs: dl.abs,
  sign: dl.sign,
  sgn: dl.sgn,
  floor: dl.floor,
  ceil: dl.ceil,
  round: (x) => dl.round(x),
  trunc: dl.trunc,
  frac: dl.frac,
  reciprocal: dl.reciprocal,
  square: dl.square,
  exp: dl.exp,
  exp2: dl.exp2,
  expm1: dl.expm1,
  log: dl.log,
  log2: dl.log2,
  log10: dl.log10,
  log1p: dl.log1p,
  sqrt: dl.sqrt,
  rsqrt: dl.rsqrt,
  sin: dl.sin,
  cos: dl.cos,
  tan: dl.tan,
  asin: dl.asin,
  acos: dl.acos,
  atan: dl.atan,
  sinh: dl.sinh,
  cosh: dl.cosh,
  tanh: dl.tanh,
  asinh: dl.asinh,
  acosh: dl.acosh,
  atanh: dl.atanh,
  sigmoid: dl.sigmoid,
  erf: dl.erf,
  erfc: dl.erfc,
  erfinv: dl.erfinv,
  relu: dl.relu,
  logit: (x) => dl.logit(x),
};

export const gradientCases: Record<string, CaseFn> = {
  ...Object.fromEntries(Object.entries(unary).map(([k, f]) => [k, one(f)])),
  "abs at 0": one(dl.abs),
  "relu at 0": one(dl.relu),
  "round decimals": one((x) => dl.round(x, { decimals: 1 })),
  "logit eps": one((x) => dl.logit(x, 0.2)),
  "nanToNum finite": one((x) => dl.nanToNum(x)),
  "nanToNum nonfinite": one((x) => dl.nanToNum(x)),
  "float32 exp": one(dl.exp),
  "float32 tanh": one(dl.tanh),

  // ---- binary elementwise ----
  "add broadcast": two((a, b) => dl.add(a, b)),
  "add alpha": two((a, b) => dl.add(a, b, { alpha: 2.5 })),
  "add scalar": one((a) => dl.add(a, 1.5)),
  "sub broadcast": two((a, b) => dl.sub(a, b)),
  "sub alpha": two((a, b) => dl.sub(a, b, { alpha: -0.5 })),
  rsub: two((a, b) => dl.rsub(a, b)),
  "rsub scalar": one((a) => dl.rsub(a, 2)),
  "mul broadcast": two(dl.mul),
  "mul scalar": one((a) => dl.mul(a, -3)),
  "mul same input": one((a) => dl.mul(a, a)),
  "mul expanded": two(dl.mul),
  "mixed dtype mul": two(dl.mul),
  "div broadcast": two((a, b) => dl.div(a, b)),
  "div scalar": one((a) => dl.div(a, 4)),
  "div trunc": two((a, b) => dl.div(a, b, { roundingMode: "trunc" })),
  "div floor": two((a, b) => dl.div(a, b, { roundingMode: "floor" })),
  remainder: two(dl.remainder),
  "remainder scalar": one((a) => dl.remainder(a, 1.5)),
  fmod: two(dl.fmod),
  "fmod scalar": one((a) => dl.fmod(a, 1.5)),
  "pow tensor scalar": one((a) => dl.pow(a, 3)),
  "pow tensor half": one((a) => dl.pow(a, 0.5)),
  "pow tensor tensor": two(dl.pow),
  "pow scalar tensor": one((b) => dl.pow(2, b)),
  "pow zero base": two(dl.pow),
  atan2: two(dl.atan2),
  hypot: two(dl.hypot),
  maximum: two(dl.maximum),
  minimum: two(dl.minimum),
  "maximum ties": two(dl.maximum),
  "minimum ties": two(dl.minimum),
  fmax: two(dl.fmax),
  fmin: two(dl.fmin),
  "fmax smooth": two(dl.fmax),
  copysign: two(dl.copysign),
  "copysign scalar": one((a) => dl.copysign(a, -1)),
  xlogy: two(dl.xlogy),
  "xlogy zero x": two(dl.xlogy),
  "xlogy scalar y": one((a) => dl.xlogy(a, 3)),
  "xlogy scalar x": one((b) => dl.xlogy(2, b)),
  "lerp scalar weight": two((a, b) => dl.lerp(a, b, 0.3)),
  "lerp scalar weight high": two((a, b) => dl.lerp(a, b, 0.8)),
  "lerp tensor weight": (a) => dl.lerp(a[0] as Tensor, a[1] as Tensor, a[2] as Tensor),

  // ---- clamp, where, masked_fill ----
  clamp: one((x) => dl.clamp(x, -0.5, 0.7)),
  "clamp at bounds": one((x) => dl.clamp(x, -0.5, 0.5)),
  "clamp min only": one((x) => dl.clamp(x, { min: 0.1 })),
  "clamp max only": one((x) => dl.clamp(x, { max: 0.1 })),
  "clamp tensor bounds": (a) => dl.clamp(a[0] as Tensor, a[1] as Tensor, a[2] as Tensor),
  clip: one((x) => dl.clip(x, -0.5, 0.7)),
  where: (a, e) => dl.where(e[0] as Tensor, a[0] as Tensor, a[1] as Tensor),
  "where broadcast cond": (a, e) => dl.where(e[0] as Tensor, a[0] as Tensor, a[1] as Tensor),
  "maskedFill scalar": (a, e) => dl.maskedFill(a[0] as Tensor, e[0] as Tensor, 2.5),
  "maskedFill tensor": (a, e) => dl.maskedFill(a[0] as Tensor, e[0] as Tensor, a[1] as Tensor),

  // ---- reductions ----
  "sum all": one((x) => dl.sum(x)),
  "sum dim": one((x) => dl.sum(x, 1)),
  "sum dims keepdim": one((x) => dl.sum(x, [0, 2], { keepdim: true })),
  "sum negative dim": one((x) => dl.sum(x, -1)),
  "float32 sum": one((x) => dl.sum(x, 0)),
  nansum: one((x) => dl.nansum(x)),
  "nansum smooth": one((x) => dl.nansum(x, 1)),
  "mean all": one((x) => dl.mean(x)),
  "mean dim keepdim": one((x) => dl.mean(x, -1, { keepdim: true })),
  "mean dims": one((x) => dl.mean(x, [0, 2])),
  nanmean: one((x) => dl.nanmean(x)),
  "prod all": one((x) => dl.prod(x)),
  "prod dim": one((x) => dl.prod(x, 1)),
  "prod dim keepdim": one((x) => dl.prod(x, 0, { keepdim: true })),
  "prod one zero": one((x) => dl.prod(x)),
  "prod two zeros": one((x) => dl.prod(x)),
  "prod dim zeros": one((x) => dl.prod(x, 1)),
  "max all": one((x) => dl.max(x)),
  "max all ties": one((x) => dl.max(x)),
  "min all ties": one((x) => dl.min(x)),
  "max dim": one((x) => dl.max(x, 1).values),
  "max dim keepdim": one((x) => dl.max(x, 0, { keepdim: true }).values),
  "min dim": one((x) => dl.min(x, -1).values),
  "max dim ties": one((x) => dl.max(x, 1).values),
  "amax dims": one((x) => dl.amax(x, [0, 2])),
  "amax ties": one((x) => dl.amax(x, 1)),
  "amin ties": one((x) => dl.amin(x, 0)),
  "amax all ties": one((x) => dl.amax(x)),
  "var all": one((x) => dl.variance(x)),
  "var dim correction 0": one((x) => dl.variance(x, 1, { correction: 0 })),
  "std all": one((x) => dl.std(x)),
  "std dim keepdim": one((x) => dl.std(x, 0, { keepdim: true })),
  varMean: (a) => dl.varMean(a[0] as Tensor, 1),
  stdMean: (a) => dl.stdMean(a[0] as Tensor, 0, { correction: 0 }),
  logsumexp: one((x) => dl.logsumexp(x, 1)),
  "logsumexp dims keepdim": one((x) => dl.logsumexp(x, [0, 2], { keepdim: true })),
  "norm fro": one((x) => dl.norm(x)),
  "norm p1": one((x) => dl.norm(x, 1)),
  "norm inf": one((x) => dl.norm(x, Number.POSITIVE_INFINITY)),
  "norm p3 dim": one((x) => dl.norm(x, 3, 1)),
  "norm dim keepdim": one((x) => dl.norm(x, 2, 0, { keepdim: true })),
  cumsum: one((x) => dl.cumsum(x, 1)),
  "cumsum dim 0": one((x) => dl.cumsum(x, 0)),
  cumprod: one((x) => dl.cumprod(x, 1)),
  "cumprod one zero": one((x) => dl.cumprod(x, 0)),
  "cumprod two zeros": one((x) => dl.cumprod(x, 1)),
  "cumprod leading zero": one((x) => dl.cumprod(x, 0)),
  cummax: one((x) => dl.cummax(x, 1).values),
  cummin: one((x) => dl.cummin(x, 0).values),
  logcumsumexp: one((x) => dl.logcumsumexp(x, 1)),
  trace: one(dl.trace),

  // ---- sort family ----
  sort: one((x) => dl.sort(x, 1).values),
  "sort descending dim 0": one((x) => dl.sort(x, 0, { descending: true }).values),
  msort: one(dl.msort),
  topk: one((x) => dl.topk(x, 2).values),
  "topk smallest dim 0": one((x) => dl.topk(x, 2, 0, { largest: false }).values),
  kthvalue: one((x) => dl.kthvalue(x, 2, 1).values),
  "kthvalue keepdim": one((x) => dl.kthvalue(x, 3, 0, { keepdim: true }).values),
  "median all": one((x) => dl.median(x)),
  "median dim": one((x) => dl.median(x, 1).values),
  nanmedian: one((x) => dl.nanmedian(x)),

  // ---- matrix products ----
  "matmul 1d 1d": two(dl.matmul),
  "matmul 2d 1d": two(dl.matmul),
  "matmul 1d 2d": two(dl.matmul),
  "matmul 2d 2d": two(dl.matmul),
  "matmul transposed operands": two(dl.matmul),
  "matmul batched broadcast": two(dl.matmul),
  "matmul batched both broadcast": two(dl.matmul),
  "matmul 3d 2d": two(dl.matmul),
  "matmul 1d 3d": two(dl.matmul),
  "matmul 3d 1d": two(dl.matmul),
  "matmul expanded batch": two(dl.matmul),
  "float32 matmul": two(dl.matmul),
  mm: two(dl.mm),
  bmm: two(dl.bmm),
  mv: two(dl.mv),
  dot: two(dl.dot),
  vdot: two(dl.vdot),
  inner: two(dl.inner),
  outer: two(dl.outer),
  addmm: (a) => dl.addmm(a[0] as Tensor, a[1] as Tensor, a[2] as Tensor, { beta: 0.5, alpha: 2 }),
  baddbmm: (a) => dl.baddbmm(a[0] as Tensor, a[1] as Tensor, a[2] as Tensor, { beta: 1.5, alpha: -1 }),
  addmv: (a) => dl.addmv(a[0] as Tensor, a[1] as Tensor, a[2] as Tensor),
  tensordot: two((a, b) => dl.tensordot(a, b, [[1, 2], [0, 1]])),
  "einsum ij,jk->ik": two((a, b) => dl.einsum("ij,jk->ik", a, b)),
  "einsum bij,bjk->bik": two((a, b) => dl.einsum("bij,bjk->bik", a, b)),
  "einsum ii->i": one((a) => dl.einsum("ii->i", a)),
  "einsum ij->": one((a) => dl.einsum("ij->", a)),
  "einsum i,j->ij": two((a, b) => dl.einsum("i,j->ij", a, b)),
  "einsum ...ij,...jk": two((a, b) => dl.einsum("...ij,...jk", a, b)),
  "einsum ijk,ikl->jl": two((a, b) => dl.einsum("ijk,ikl->jl", a, b)),
  "einsum bii->bi transposed": one((a) => dl.einsum("bii->bi", a)),
  tril: one((x) => dl.tril(x)),
  "triu offset": one((x) => dl.triu(x, 1)),
  "tril batched negative": one((x) => dl.tril(x, -1)),

  // ---- joining, splitting, rearranging ----
  cat: (a) => dl.cat(a, 1),
  "cat many": (a) => dl.cat(a, 0),
  stack: (a) => dl.stack(a, 1),
  hstack: (a) => dl.hstack(a),
  vstack: (a) => dl.vstack(a),
  dstack: (a) => dl.dstack(a),
  "split sizes": (a) => dl.split(a[0] as Tensor, [1, 3], 1),
  "split int": (a) => dl.split(a[0] as Tensor, 2, 0),
  chunk: (a) => dl.chunk(a[0] as Tensor, 2, 1),
  unbind: (a) => dl.unbind(a[0] as Tensor, 1),
  flip: one((x) => dl.flip(x, [0, 1])),
  "flip transposed": one((x) => dl.flip(x, [1])),
  "roll dims": one((x) => dl.roll(x, [1, -2], [0, 1])),
  "roll flat": one((x) => dl.roll(x, 2)),
  repeat: one((x) => dl.repeat(x, 2, 1, 3)),
  tile: one((x) => dl.tile(x, [2])),
  "repeatInterleave int": one((x) => dl.repeatInterleave(x, 2, 1)),
  "repeatInterleave tensor": (a, e) => dl.repeatInterleave(a[0] as Tensor, e[0] as Tensor, 0),
  "repeatInterleave flat": one((x) => dl.repeatInterleave(x, 2)),
  "pad constant": one((x) => dl.pad(x, [1, 2, 0, 1], { value: 0.5 })),
  "pad constant negative": one((x) => dl.pad(x, [-1, 1])),
  "pad reflect": one((x) => dl.pad(x, [2, 1], { mode: "reflect" })),
  "pad reflect 2d": one((x) => dl.pad(x, [1, 1, 2, 1], { mode: "reflect" })),
  "pad replicate": one((x) => dl.pad(x, [2, 3], { mode: "replicate" })),
  "pad circular": one((x) => dl.pad(x, [2, 1], { mode: "circular" })),
  "pad circular 2d transposed": one((x) => dl.pad(x, [1, 1, 1, 0], { mode: "circular" })),

  // ---- gather, scatter and indexing ----
  gather: (a, e) => dl.gather(a[0] as Tensor, 1, e[0] as Tensor),
  "gather dim 0 transposed": (a, e) => dl.gather(a[0] as Tensor, 0, e[0] as Tensor),
  scatter: (a, e) => dl.scatter(a[0] as Tensor, 1, e[0] as Tensor, a[1] as Tensor),
  "scatter scalar": (a, e) => dl.scatter(a[0] as Tensor, 1, e[0] as Tensor, 2),
  scatterAdd: (a, e) => dl.scatterAdd(a[0] as Tensor, 1, e[0] as Tensor, a[1] as Tensor),
  "scatterAdd dim 0": (a, e) => dl.scatterAdd(a[0] as Tensor, 0, e[0] as Tensor, a[1] as Tensor),
  "scatterReduce sum": (a, e) => dl.scatterReduce(a[0] as Tensor, 1, e[0] as Tensor, a[1] as Tensor, "sum"),
  "scatterReduce mean": (a, e) => dl.scatterReduce(a[0] as Tensor, 1, e[0] as Tensor, a[1] as Tensor, "mean"),
  "scatterReduce sum exclude self": (a, e) =>
    dl.scatterReduce(a[0] as Tensor, 1, e[0] as Tensor, a[1] as Tensor, "sum", { includeSelf: false }),
  "scatterReduce prod": (a, e) => dl.scatterReduce(a[0] as Tensor, 1, e[0] as Tensor, a[1] as Tensor, "prod"),
  "scatterReduce prod zeros": (a, e) => dl.scatterReduce(a[0] as Tensor, 1, e[0] as Tensor, a[1] as Tensor, "prod"),
  "scatterReduce amax": (a, e) => dl.scatterReduce(a[0] as Tensor, 1, e[0] as Tensor, a[1] as Tensor, "amax"),
  "scatterReduce amin exclude self": (a, e) =>
    dl.scatterReduce(a[0] as Tensor, 1, e[0] as Tensor, a[1] as Tensor, "amin", { includeSelf: false }),
  indexSelect: (a, e) => dl.indexSelect(a[0] as Tensor, 0, e[0] as Tensor),
  "indexSelect dim 1 transposed": (a, e) => dl.indexSelect(a[0] as Tensor, 1, e[0] as Tensor),
  take: (a, e) => dl.take(a[0] as Tensor, e[0] as Tensor),
  takeAlongDim: (a, e) => dl.takeAlongDim(a[0] as Tensor, e[0] as Tensor, 1),
  maskedSelect: (a, e) => dl.maskedSelect(a[0] as Tensor, e[0] as Tensor),
  "maskedSelect broadcast": (a, e) => dl.maskedSelect(a[0] as Tensor, e[0] as Tensor),
  "index tensor": (a, e) => dl.index(a[0] as Tensor, e[0] as Tensor),
  "index tensor inner": (a, e) => dl.index(a[0] as Tensor, ":", e[0] as Tensor),
  "index two tensors": (a, e) => dl.index(a[0] as Tensor, e[0] as Tensor, ":", e[1] as Tensor),
  "index mask": (a, e) => dl.index(a[0] as Tensor, e[0] as Tensor),
  "index slice and tensor": (a, e) => dl.index(a[0] as Tensor, "1:", e[0] as Tensor),
  "index transposed": (a, e) => dl.index(a[0] as Tensor, e[0] as Tensor),
  indexPut: (a, e) => dl.indexPut(a[0] as Tensor, [e[0] as Tensor], a[1] as Tensor),
  "indexPut accumulate": (a, e) => dl.indexPut(a[0] as Tensor, [e[0] as Tensor, e[1] as Tensor], a[1] as Tensor, { accumulate: true }),
  "indexPut broadcast value": (a, e) => dl.indexPut(a[0] as Tensor, [e[0] as Tensor], a[1] as Tensor),
  indexFill: (a, e) => dl.indexFill(a[0] as Tensor, 1, e[0] as Tensor, -1),
  indexAdd: (a, e) => dl.indexAdd(a[0] as Tensor, 0, e[0] as Tensor, a[1] as Tensor, { alpha: 2 }),
  indexCopy: (a, e) => dl.indexCopy(a[0] as Tensor, 1, e[0] as Tensor, a[1] as Tensor),

  // ---- views ----
  view: one((x) => dl.mul(x.view(3, 2), f64(1, 2))),
  "reshape non-contiguous": one((x) => x.reshape(6)),
  permute: one((x) => x.permute(2, 0, 1)),
  transpose: one((x) => x.transpose(0, 2)),
  t: one((x) => x.t()),
  mT: one((x) => x.mT),
  expand: one((x) => x.expand(2, 3, 4)),
  expandAs: two((x, y) => x.expandAs(y)),
  narrow: one((x) => x.narrow(1, 1, 2)),
  "slice steps": one((x) => x.index("::2", "1::2")),
  "slice steps of slice": one((x) => x.index("1:", "::3").index("::2")),
  select: one((x) => x.index(1)),
  "select negative inner": one((x) => x.index(":", -1)),
  diagonal: one((x) => x.diagonal()),
  "diagonal offset dims": one((x) => x.diagonal(1, 0, 2)),
  "diagonal negative offset": one((x) => x.diagonal(-1)),
  "unfold overlapping": one((x) => x.unfold(1, 3, 1)),
  "unfold step": one((x) => x.unfold(0, 2, 3)),
  squeeze: one((x) => x.squeeze(1)),
  unsqueeze: one((x) => x.unsqueeze(1)),
  flatten: one((x) => x.flatten(1)),
  unflatten: one((x) => x.unflatten(1, [2, 2])),
  movedim: one((x) => x.movedim(0, 2)),
  contiguous: one((x) => x.contiguous()),
  clone: one((x) => x.clone()),
  "to float32": one((x) => x.to("float32")),

  // ---- in-place ops under autograd ----
  "inplace sub_": onCopy((y, a) => dl.sub_(y, a[1] as Tensor, { alpha: 0.5 })),
  "inplace div_ scalar": onCopy((y) => dl.div_(y, 4)),
  "inplace div_ tensor": onCopy((y, a) => dl.div_(y, a[1] as Tensor)),
  "inplace mul_ tensor": onCopy((y, a) => dl.mul_(y, a[1] as Tensor)),
  "inplace pow_": onCopy((y) => dl.pow_(y, 2)),
  "inplace neg_": onCopy((y) => dl.neg_(y)),
  "inplace abs_": onCopy((y) => dl.abs_(y)),
  "inplace exp_": onCopy((y) => dl.exp_(y)),
  "inplace sqrt_": onCopy((y) => dl.sqrt_(y)),
  "inplace sigmoid_": onCopy((y) => dl.sigmoid_(y)),
  "inplace tanh_": onCopy((y) => dl.tanh_(y)),
  "inplace scatter_": onCopy((y, a, e) => dl.scatter_(y, 1, e[0] as Tensor, a[1] as Tensor)),
  "inplace scatterAdd_": onCopy((y, a, e) => dl.scatterAdd_(y, 1, e[0] as Tensor, a[1] as Tensor)),
  "inplace scatterReduce_ sum": onCopy((y, a, e) => dl.scatterReduce_(y, 1, e[0] as Tensor, a[1] as Tensor, "sum")),
  "inplace indexAdd_": onCopy((y, a, e) => dl.indexAdd_(y, 1, e[0] as Tensor, a[1] as Tensor)),
  "inplace indexCopy_": onCopy((y, a, e) => dl.indexCopy_(y, 0, e[0] as Tensor, a[1] as Tensor)),
  "inplace indexFill_": onCopy((y, _a, e) => dl.indexFill_(y, 1, e[0] as Tensor, 0.5)),
  "inplace indexPut_ accumulate": onCopy((y, a, e) => dl.indexPut_(y, [e[0] as Tensor], a[1] as Tensor, { accumulate: true })),
  "inplace setitem mask": onCopy((y, a, e) => dl.indexSet_(y, [e[0] as Tensor], a[1] as Tensor)),
  trueDivide: two(dl.trueDivide),
  indexSet: (a, e) => dl.indexSet(a[0] as Tensor, [":", e[0] as Tensor], a[1] as Tensor),
  ger: two(dl.ger),
  concat: (a) => dl.concat(a, 0),
  "inplace mul_ on a view of a non-leaf": one((x) => {
    const y = dl.mul(x, 1);
    dl.mul_(y.index(":", "0:2"), 2);
    return dl.mul(y, y);
  }),
  "inplace copy_ into a slice": two((x, b) => {
    const y = dl.mul(x, 1);
    y.index(1).copy_(b);
    return dl.mul(y, x);
  }),
  "inplace copy_ into a strided slice": two((x, b) => {
    const y = x.clone();
    y.index(":", "::2").copy_(dl.mul(b, 3));
    return dl.sin(y);
  }),
  "inplace add_": two((x, b) => {
    const y = dl.sin(x);
    dl.add_(y, b, { alpha: 2 });
    return dl.mul(y, y);
  }),
  "inplace relu_": one((x) => {
    const y = dl.mul(x, 2);
    dl.relu_(y);
    return y;
  }),
  "inplace mul_ on a view of a view": one((x) => {
    const y = dl.mul(x, 1);
    dl.mul_(y.index("1:").index(":", 0), 3);
    return dl.pow(y, 2);
  }),
  "inplace maskedFill_": (a, e) => {
    const x = a[0] as Tensor;
    const y = dl.sin(x);
    dl.maskedFill_(y, e[0] as Tensor, 0.5);
    return dl.mul(y, x);
  },
  "inplace indexPut_": (a, e) => {
    const y = dl.add(a[0] as Tensor, 0);
    dl.indexPut_(y, [e[0] as Tensor], a[1] as Tensor);
    return dl.mul(y, y);
  },
  "inplace clamp_ on a row": one((x) => {
    const y = dl.mul(x, 1);
    dl.clamp_(y.index(0), -0.5, 0.5);
    return y;
  }),
};

/** Scalar composites of the "hvp" fixtures (Hessian-vector products): inputs, then constants. */
export const hvpCases: Record<string, (...a: Tensor[]) => Tensor> = {
  "tanh MLP layer": (x, w, b, c) => dl.sum(dl.mul(dl.tanh(dl.add(dl.matmul(x as Tensor, w as Tensor), b as Tensor)), c as Tensor)),
  "softmax-like exp/sum": (x, r) => {
    const e = dl.exp(x as Tensor);
    return dl.sum(dl.mul(dl.div(e, dl.sum(e, -1, { keepdim: true })), r as Tensor));
  },
  "x*sin(x)": (x) => dl.sum(dl.mul(x as Tensor, dl.sin(x as Tensor))),
  "two-layer tanh MLP": (x, w1, w2) => dl.mean(dl.pow(dl.tanh(dl.matmul(dl.tanh(dl.matmul(x as Tensor, w1 as Tensor)), w2 as Tensor)), 2)),
  "logsumexp and norm": (x) => dl.add(dl.sum(dl.logsumexp(x as Tensor, 1)), dl.norm(x as Tensor)),
  "prod, cumsum and division": (x, y) => dl.prod(dl.div(dl.cumsum(x as Tensor, 0), y as Tensor)),
};

