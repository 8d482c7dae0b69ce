import { defineFunction } from "@dl/autograd";
import {
  ArgumentError,
  assertTensor,
  DTypeError,
  type Generator,
  ShapeError,
  Tensor,
  add,
  broadcastShapes,
  exp,
  fmtShape,
  fusedKernel,
  isFloating,
  isGradEnabled,
  matmul,
  mul,
  ones,
  sub,
  sum,
  tril,
  where,
} from "@dl/tensor";
import { softmax } from "./activation.js";
import { dropout } from "./dropout.js";

/**
 * F.scaled_dot_product_attention (PyTorch 2.x semantics): softmax(q k^T * scale + mask) v over the
 * last two dims, batch dims broadcast as in matmul.
 */
export interface ScaledDotProductAttentionOptions {
  /**
   * [..., L, S], broadcastable: bool (true = may attend, false = masked out) or a float mask of the
   * query's dtype added to the scores (-inf masks out).
   */
  attnMask?: Tensor | null;
  /** Dropout probability applied to the attention weights (always, as in PyTorch: pass 0 in eval). */
  dropoutP?: number;
  /** Causal (lower-triangular, top-left aligned) masking: position i attends to j <= i. Excludes attnMask. */
  isCausal?: boolean;
  /** Scale of the scores; default 1 / sqrt(E). */
  scale?: number | null;
  /** Generator for the dropout mask. */
  generator?: Generator;
}

/**
 * Attention output [..., L, Ev] of query [..., L, E], key [..., S, E], value [..., S, Ev].
 *
 * Rows that may attend to nothing (every column masked out) are NaN, as in PyTorch's math path:
 * softmax over a row of -inf is 0/0.
 *
 * On a backend with a fused attention kernel (the CPU backend) and no dropout, the scores, masking,
 * softmax and weighted sum run per block of rows and the [..., L, S] weights are never stored; the
 * backward recomputes them from the saved per-row logsumexp. Otherwise (the gpu backend, dropout, a
 * float mask that requires a gradient) the op is composed from matmul, softmax and where.
 */
export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): Tensor {
  const op = "scaledDotProductAttention";
  assertTensor(op, query, "query");
  assertTensor(op, key, "key");
  assertTensor(op, value, "value");
  const mask = options.attnMask ?? null;
  const dropoutP = options.dropoutP ?? 0;
  const isCausal = options.isCausal ?? false;
  for (const [name, t] of [
    ["query", query],
    ["key", key],
    ["value", value],
  ] as const) {
    if (t.ndim < 2) throw new ShapeError(op, `${name} must have at least 2 dims ([..., seq, embed]), got ${fmtShape(t.shape)}`);
    if (!isFloating(t.dtype)) throw new DTypeError(op, `${name} must be floating point, got ${t.dtype}`);
  }
  if (key.dtype !== query.dtype || value.dtype !== query.dtype) {
    throw new DTypeError(op, `expected query, key and value to have the same dtype, got ${query.dtype}, ${key.dtype} and ${value.dtype}`);
  }
  const L = query.shape[query.ndim - 2] as number;
  const E = query.shape[query.ndim - 1] as number;
  const S = key.shape[key.ndim - 2] as number;
  if (key.shape[key.ndim - 1] !== E) {
    throw new ShapeError(op, `query ${fmtShape(query.shape)} and key ${fmtShape(key.shape)} must have the same last dim (embedding size)`);
  }
  if (value.shape[value.ndim - 2] !== S) {
    throw new ShapeError(op, `key ${fmtShape(key.shape)} and value ${fmtShape(value.shape)} must have the same sequence length (dim -2)`);
  }
  if (!(dropoutP >= 0 && dropoutP <= 1)) throw new ArgumentError(op, `dropoutP must be in [0, 1], got ${dropoutP}`);
  if (isCausal && mask) throw new ArgumentError(op, "an explicit attnMask must not be given with isCausal=true");
  if (mask) {
    if (mask.dtype !== "bool" && mask.dtype !== query.dtype) {
      throw new DTypeError(op, `attnMask must be bool or of the query's dtype ${query.dtype}, got ${mask.dtype}`);
    }
    if (mask.ndim === 0) throw new ShapeError(op, "attnMask must have at least 1 dim, got a 0-dim tensor");
  }
  const scale = options.scale ?? 1 / Math.sqrt(E);
  const batchOf = (t: Tensor) => t.shape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(op, broadcastShapes(op, batchOf(query), batchOf(key)), batchOf(value));
    if (mask) {
      const ms = mask.ndim === 1 ? [1, ...mask.shape] : mask.shape;
      broadcastShapes(op, ms, [L, S]);
      batch = broadcastShapes(op, batch, ms.slice(0, -2));
    }
  } catch {
    throw new ShapeError(
      op,
      `cannot broadcast query ${fmtShape(query.shape)}, key ${fmtShape(key.shape)}, value ${fmtShape(value.shape)}${mask ? ` and attnMask ${fmtShape(mask.shape)} (expected [..., ${L}, ${S}])` : ""}`,
    );
  }
  const fused =
    fusedKernel(query, "attention") !== undefined &&
    (query.dtype === "float32" || query.dtype === "float64") &&
    (dropoutP === 0 || L === 0) &&
    !(mask?.requiresGrad ?? false);
  if (fused) {
    const q = query.expand([...batch, L, E]);
    const k = key.expand([...batch, S, E]);
    const v = value.expand([...batch, S, value.shape[value.ndim - 1] as number]);
    const m = mask ? mask.expand([...batch, L, S]) : null;
    return FusedAttention(q, k, v, m, scale, isCausal);
  }
  return composedAttention(query, key, value, mask, scale, isCausal, dropoutP, options.generator);
}

/** The masked, scaled scores q k^T * scale (+ mask / -inf): the generic path's and backward's. */
function maskedScores(q: Tensor, k: Tensor, mask: Tensor | null, scale: number, isCausal: boolean): Tensor {
  let s = mul(matmul(q, k.transpose(-2, -1)), scale);
  const L = q.shape[q.ndim - 2] as number;
  const S = k.shape[k.ndim - 2] as number;
  // As PyTorch's math path, a bool mask becomes an additive bias (0 or -inf): the gradient then
  // flows through masked entries too, so a fully masked row's NaN reaches q, k and v as in PyTorch.
  const bias = (m: Tensor) => where(m, 0, Number.NEGATIVE_INFINITY).to(s.dtype);
  if (isCausal) s = add(s, bias(tril(ones([L, S], { dtype: "bool", device: q.device }))));
  if (mask) s = add(s, mask.dtype === "bool" ? bias(mask) : mask);
  return s;
}

function composedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | null,
  scale: number,
  isCausal: boolean,
  dropoutP: number,
  generator: Generator | undefined,
): Tensor {
  let p = softmax(maskedScores(q, k, mask, scale, isCausal), -1);
  if (dropoutP > 0) p = dropout(p, dropoutP, true, { generator });
  return matmul(p, v);
}

const FusedAttention = defineFunction("ScaledDotProductAttention", {
  forward(ctx, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, scale: number, isCausal: boolean) {
    const kernel = fusedKernel(q, "attention") as NonNullable<ReturnType<typeof fusedKernel<"attention">>>;
    const r = kernel(q.ref, k.ref, v.ref, mask ? mask.ref : null, { scale, isCausal });
    const L = q.shape[q.ndim - 2] as number;
    const batch = q.shape.slice(0, -2);
    const out = Tensor.fromData(q.backend, q.device, r.out, q.dtype, [...batch, L, v.shape[v.ndim - 1] as number]);
    const lse = Tensor.fromData(q.backend, q.device, r.lse, q.dtype, [...batch, L]);
    ctx.data.scale = scale;
    ctx.data.isCausal = isCausal;
    ctx.data.hasMask = mask !== null;
    ctx.saveForBackward(q, k, v, ...(mask ? [mask] : []), out, lse);
    return out;
  },
  backward(ctx, g) {
    const saved = ctx.savedTensors;
    const hasMask = ctx.data.hasMask as boolean;
    const [q, k, v] = saved as [Tensor, Tensor, Tensor];
    const mask = hasMask ? (saved[3] as Tensor) : null;
    const out = saved[hasMask ? 4 : 3] as Tensor;
    const lse = saved[hasMask ? 5 : 4] as Tensor;
    const scale = ctx.data.scale as number;
    const isCausal = ctx.data.isCausal as boolean;
    const maskGrad = hasMask ? [null] : [];
    const kernel = fusedKernel(q, "attentionBackward");
    // Under createGraph the gradient must itself be recorded: compose it from ops.
    if (kernel && !isGradEnabled()) {
      const r = kernel(g.ref, q.ref, k.ref, v.ref, mask ? mask.ref : null, out.ref, lse.ref, { scale, isCausal });
      return [
        Tensor.fromData(q.backend, q.device, r.gq, q.dtype, q.shape),
        Tensor.fromData(q.backend, q.device, r.gk, q.dtype, k.shape),
        Tensor.fromData(q.backend, q.device, r.gv, q.dtype, v.shape),
        ...maskGrad,
      ];
    }
    // Recomputed weights: from the saved logsumexp, or (createGraph: this backward is itself
    // differentiated, and lse carries no history) by a recorded softmax.
    const scores = maskedScores(q, k, mask, scale, isCausal);
    const recorded = isGradEnabled();
    const p = recorded ? softmax(scores, -1) : exp(sub(scores, lse.unsqueeze(-1)));
    const o = recorded ? matmul(p, v) : out;
    const gv = matmul(p.transpose(-2, -1), g);
    const gp = matmul(g, v.transpose(-2, -1));
    const gs = mul(mul(p, sub(gp, sum(mul(g, o), -1, { keepdim: true }))), scale);
    return [matmul(gs, k), matmul(gs.transpose(-2, -1), q), gv, ...maskGrad];
  },
});
