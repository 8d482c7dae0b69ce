import { noGrad } from "@dl/autograd";
import {
  ArgumentError,
  assertTensor,
  DTypeError,
  ShapeError,
  type Tensor,
  add,
  cat,
  chunk,
  empty,
  fmtShape,
  isFloating,
  matmul,
  mean,
  mul,
  ones,
  pad,
  tril,
  where,
  zeros,
} from "@dl/tensor";
import { softmax } from "../functional/activation.js";
import { scaledDotProductAttention } from "../functional/attention.js";
import { dropout } from "../functional/dropout.js";
import { linear } from "../functional/linear.js";
import { xavierNormal_, xavierUniform_ } from "../init.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import { Linear } from "./linear.js";

/** The output projection's class in PyTorch (a Linear that quantization leaves alone); same math. */
export class NonDynamicallyQuantizableLinear extends Linear {}

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights in training (default 0). */
  dropout?: number;
  /** Biases of the input and output projections (default true). */
  bias?: boolean;
  /** Learned bias_k / bias_v appended to the key and value sequences (default false). */
  addBiasKv?: boolean;
  /** Appends a zero key and value (after the projections) to every sequence (default false). */
  addZeroAttn?: boolean;
  /** Key feature size (default embedDim); differing sizes use separate q/k/v projection weights. */
  kdim?: number | null;
  /** Value feature size (default embedDim). */
  vdim?: number | null;
  /** Inputs and outputs are [batch, seq, feature] instead of [seq, batch, feature] (default false). */
  batchFirst?: boolean;
  dtype?: "float32" | "float64";
  device?: string;
}

export interface MultiheadAttentionForwardOptions {
  /**
   * [N, S] (or [S] unbatched): bool, true = this key is padding and is ignored; or float, added
   * to the scores of that key.
   */
  keyPaddingMask?: Tensor | null;
  /** Also return the attention weights (default true, as PyTorch). */
  needWeights?: boolean;
  /**
   * [L, S] or [N * numHeads, L, S]: bool, true = this position may NOT attend (the opposite of
   * F.scaledDotProductAttention's bool mask, as in PyTorch); or float, added to the scores.
   */
  attnMask?: Tensor | null;
  /** Average the returned weights over the heads (default true): [N, L, S] instead of [N, H, L, S]. */
  averageAttnWeights?: boolean;
  /** Causal attention: with attnMask given it is a hint that attnMask is causal; without, the causal mask is applied. */
  isCausal?: boolean;
}

/**
 * torch.nn.MultiheadAttention: attention over numHeads heads of size embedDim / numHeads,
 * with PyTorch's parameters (in_proj_weight [3E, E] and in_proj_bias [3E], or q_proj_weight,
 * k_proj_weight, v_proj_weight when kdim or vdim differ from embedDim; out_proj; bias_k, bias_v),
 * so PyTorch state dicts load unchanged.
 *
 * forward(query [L, N, E], key [S, N, kdim], value [S, N, vdim]) (batchFirst: [N, L, E], ...;
 * unbatched: [L, E], ...) returns [output (query's layout), weights or null]. Weights are
 * computed (and the [N, H, L, S] tensor kept) only when needWeights is true; otherwise the heads go
 * through F.scaledDotProductAttention, whose fused CPU kernel never stores them.
 *
 * A query row whose keys are all masked out gives NaN in the output (and weights), as PyTorch's
 * math path does (PyTorch's inference fast path, taken for some inputs without autograd, gives 0
 * there instead).
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly addZeroAttn: boolean;
  /** Whether q, k and v share in_proj_weight (kdim == vdim == embedDim). */
  readonly _qkvSameEmbedDim: boolean;
  in_proj_weight: Parameter | null;
  q_proj_weight: Parameter | null;
  k_proj_weight: Parameter | null;
  v_proj_weight: Parameter | null;
  in_proj_bias: Parameter | null;
  out_proj: NonDynamicallyQuantizableLinear;
  bias_k: Parameter | null;
  bias_v: Parameter | null;

  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    if (!Number.isInteger(embedDim) || embedDim <= 0 || !Number.isInteger(numHeads) || numHeads <= 0) {
      throw new ArgumentError("MultiheadAttention", `embed_dim and num_heads must be positive integers, got ${embedDim} and ${numHeads}`);
    }
    if (embedDim % numHeads !== 0) {
      throw new ArgumentError(
        "MultiheadAttention",
        `embed_dim must be divisible by num_heads (got embed_dim=${embedDim}, num_heads=${numHeads})`,
      );
    }
    this.embedDim = embedDim;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.dropout = options.dropout ?? 0;
    this.batchFirst = options.batchFirst ?? false;
    this.addZeroAttn = options.addZeroAttn ?? false;
    this._qkvSameEmbedDim = this.kdim === embedDim && this.vdim === embedDim;
    const o = { dtype: options.dtype, device: options.device };
    const bias = options.bias ?? true;
    this.in_proj_weight = this._qkvSameEmbedDim ? new Parameter(empty([3 * embedDim, embedDim], o)) : null;
    this.q_proj_weight = this._qkvSameEmbedDim ? null : new Parameter(empty([embedDim, embedDim], o));
    this.k_proj_weight = this._qkvSameEmbedDim ? null : new Parameter(empty([embedDim, this.kdim], o));
    this.v_proj_weight = this._qkvSameEmbedDim ? null : new Parameter(empty([embedDim, this.vdim], o));
    this.in_proj_bias = bias ? new Parameter(empty([3 * embedDim], o)) : null;
    this.out_proj = new NonDynamicallyQuantizableLinear(embedDim, embedDim, { bias, ...o });
    this.bias_k = options.addBiasKv ? new Parameter(empty([1, 1, embedDim], o)) : null;
    this.bias_v = options.addBiasKv ? new Parameter(empty([1, 1, embedDim], o)) : null;
    this.resetParameters();
  }

  /** PyTorch's _reset_parameters: xavier_uniform_ projections, zero biases, xavier_normal_ bias_k/bias_v. */
  resetParameters(): void {
    if (this.in_proj_weight) xavierUniform_(this.in_proj_weight);
    for (const w of [this.q_proj_weight, this.k_proj_weight, this.v_proj_weight]) if (w) xavierUniform_(w);
    noGrad(() => {
      this.in_proj_bias?.zero_();
      this.out_proj.bias?.zero_();
    });
    if (this.bias_k) xavierNormal_(this.bias_k);
    if (this.bias_v) xavierNormal_(this.bias_v);
  }

  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const op = "MultiheadAttention";
    const E = this.embedDim;
    const H = this.numHeads;
    const hd = this.headDim;
    assertTensor(op, query, "query");
    assertTensor(op, key, "key");
    assertTensor(op, value, "value");
    if (options.attnMask != null) assertTensor(op, options.attnMask, "attnMask");
    if (options.keyPaddingMask != null) assertTensor(op, options.keyPaddingMask, "keyPaddingMask");
    const batched = query.ndim === 3;
    if (query.ndim !== 2 && query.ndim !== 3)
      throw new ShapeError(op, `query should be unbatched 2-D or batched 3-D, got ${fmtShape(query.shape)}`);
    if (key.ndim !== query.ndim || value.ndim !== query.ndim) {
      throw new ShapeError(
        op,
        `query ${fmtShape(query.shape)}, key ${fmtShape(key.shape)} and value ${fmtShape(value.shape)} must all be ${query.ndim}-D`,
      );
    }
    if (!isFloating(query.dtype)) throw new DTypeError(op, `expected a floating point query, got ${query.dtype}`);
    // Batch-major views [N, seq, feature]; no copy.
    const major = (t: Tensor) => (!batched ? t.unsqueeze(0) : this.batchFirst ? t : t.transpose(0, 1));
    const q0 = major(query);
    const k0 = major(key);
    const v0 = major(value);
    const N = q0.shape[0] as number;
    const L = q0.shape[1] as number;
    const S = k0.shape[1] as number;
    if (q0.shape[2] !== E) throw new ShapeError(op, `query's last dim must be embed_dim=${E}, got ${fmtShape(query.shape)}`);
    if (k0.shape[2] !== this.kdim) throw new ShapeError(op, `key's last dim must be kdim=${this.kdim}, got ${fmtShape(key.shape)}`);
    if (v0.shape[2] !== this.vdim) throw new ShapeError(op, `value's last dim must be vdim=${this.vdim}, got ${fmtShape(value.shape)}`);
    if (k0.shape[0] !== N || v0.shape[0] !== N || v0.shape[1] !== S) {
      throw new ShapeError(
        op,
        `key ${fmtShape(key.shape)} and value ${fmtShape(value.shape)} must have the same batch and sequence sizes, and the query's batch (${N})`,
      );
    }

    // ---- projections ----
    let q: Tensor;
    let k: Tensor;
    let v: Tensor;
    const b = this.in_proj_bias ? chunk(this.in_proj_bias, 3) : [null, null, null];
    if (this.in_proj_weight) {
      const w = this.in_proj_weight;
      if (query === key && key === value) {
        // Self-attention: one [N, L, 3E] product, split into views.
        [q, k, v] = chunk(linear(q0, w, this.in_proj_bias), 3, -1) as [Tensor, Tensor, Tensor];
      } else {
        const [wq, wk, wv] = chunk(w, 3) as [Tensor, Tensor, Tensor];
        q = linear(q0, wq, b[0]);
        if (key === value) {
          // One product for key and value (rows E..3E of the packed weight).
          const bkv = this.in_proj_bias ? this.in_proj_bias.narrow(0, E, 2 * E) : null;
          [k, v] = chunk(linear(k0, w.narrow(0, E, 2 * E), bkv), 2, -1) as [Tensor, Tensor];
        } else {
          k = linear(k0, wk, b[1]);
          v = linear(v0, wv, b[2]);
        }
      }
    } else {
      q = linear(q0, this.q_proj_weight as Tensor, b[0]);
      k = linear(k0, this.k_proj_weight as Tensor, b[1]);
      v = linear(v0, this.v_proj_weight as Tensor, b[2]);
    }

    // ---- masks, as one additive bias broadcastable to [N, H, L, S'] ----
    let bias: Tensor | null = null;
    let causal = false;
    const attnMask = options.attnMask ?? null;
    const kpm = options.keyPaddingMask ?? null;
    const toBias = (m: Tensor, what: string) => {
      if (m.dtype === "bool") return where(m, Number.NEGATIVE_INFINITY, 0).to(q0.dtype);
      if (!isFloating(m.dtype)) throw new DTypeError(op, `only bool and floating types of ${what} are supported, got ${m.dtype}`);
      return m.dtype === q0.dtype ? m : m.to(q0.dtype);
    };
    if (attnMask) {
      let m: Tensor;
      if (attnMask.ndim === 2) {
        if (attnMask.shape[0] !== L || attnMask.shape[1] !== S) {
          throw new ShapeError(op, `the shape of the 2D attn_mask is ${fmtShape(attnMask.shape)}, but should be ${fmtShape([L, S])}`);
        }
        m = attnMask;
      } else if (attnMask.ndim === 3) {
        if (attnMask.shape[0] !== N * H || attnMask.shape[1] !== L || attnMask.shape[2] !== S) {
          throw new ShapeError(
            op,
            `the shape of the 3D attn_mask is ${fmtShape(attnMask.shape)}, but should be ${fmtShape([N * H, L, S])}`,
          );
        }
        m = attnMask.view([N, H, L, S]);
      } else throw new ShapeError(op, `attn_mask's dimension ${attnMask.ndim} is not supported (expected 2 or 3)`);
      bias = toBias(m, "attn_mask");
    } else if (options.isCausal) {
      if (kpm || options.needWeights !== false || this.bias_k || this.addZeroAttn) {
        bias = where(tril(ones([L, S], { dtype: "bool", device: q0.device })), 0, Number.NEGATIVE_INFINITY).to(q0.dtype);
      } else causal = true;
    }
    if (kpm) {
      const want = batched ? [N, S] : [S];
      if (kpm.ndim !== want.length || kpm.shape.some((s, i) => s !== want[i])) {
        throw new ShapeError(op, `expected key_padding_mask of shape ${fmtShape(want)}, but got ${fmtShape(kpm.shape)}`);
      }
      const kb = toBias(kpm, "key_padding_mask").reshape([N, 1, 1, S]);
      bias = bias ? add(bias, kb) : kb;
    }

    // ---- bias_k / bias_v, heads, zero attention ----
    if (this.bias_k && this.bias_v) {
      k = cat([k, this.bias_k.expand([N, 1, E])], 1);
      v = cat([v, this.bias_v.expand([N, 1, E])], 1);
      if (bias) bias = pad(bias, [0, 1]);
    }
    const heads = (t: Tensor) => t.reshape([N, t.shape[1] as number, H, hd]).permute([0, 2, 1, 3]);
    q = heads(q);
    k = heads(k);
    v = heads(v);
    if (this.addZeroAttn) {
      k = cat([k, zeros([N, H, 1, hd], { dtype: k.dtype, device: k.device })], 2);
      v = cat([v, zeros([N, H, 1, hd], { dtype: v.dtype, device: v.device })], 2);
      if (bias) bias = pad(bias, [0, 1]);
    }

    // ---- attention ----
    const p = this.training ? this.dropout : 0;
    let out: Tensor;
    let weights: Tensor | null = null;
    if (options.needWeights ?? true) {
      let s = mul(matmul(q, k.transpose(-2, -1)), 1 / Math.sqrt(hd));
      if (bias) s = add(s, bias);
      let w = softmax(s, -1);
      if (p > 0) w = dropout(w, p, true);
      out = matmul(w, v);
      weights = (options.averageAttnWeights ?? true) ? mean(w, 1) : w;
      if (!batched) weights = weights.squeeze(0);
    } else {
      out = scaledDotProductAttention(q, k, v, { attnMask: bias, dropoutP: p, isCausal: causal });
    }

    // [N, H, L, hd] -> query's layout, then the output projection.
    const merged =
      batched && !this.batchFirst ? out.permute([2, 0, 1, 3]).reshape([L, N, E]) : out.permute([0, 2, 1, 3]).reshape([N, L, E]);
    const y = this.out_proj.call(merged);
    return [batched ? y : y.squeeze(0), weights];
  }
}
