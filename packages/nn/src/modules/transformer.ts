import { ArgumentError, type DType, ShapeError, type Tensor, add, assertTensor, fmtShape, full, triu } from "@dl/tensor";
import { ModuleList } from "../containers.js";
import { gelu, relu } from "../functional/activation.js";
import { xavierUniform_ } from "../init.js";
import { Module } from "../module.js";
import { deepcopy } from "../utils/deepcopy.js";
import { MultiheadAttention } from "./attention.js";
import { Dropout } from "./dropout.js";
import { Linear } from "./linear.js";
import { LayerNorm } from "./normalization.js";

/**
 * torch.nn.TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer,
 * TransformerDecoder and Transformer, with PyTorch's submodule names (self_attn, multihead_attn,
 * linear1, linear2, norm1..3, dropout1..3), so PyTorch state dicts load unchanged. Masks follow
 * MultiheadAttention: bool true = masked out, or float added; key-padding masks [N, S].
 *
 * PyTorch's inference fast paths (native kernels and nested tensors, taken in eval mode without
 * autograd) are not reproduced: dl always computes the math path, which PyTorch also takes in
 * training and under autograd. They differ only where a row is fully padded (NaN here, 0 or
 * padding-dropped there).
 */

/** The feed-forward activation: "relu", "gelu", a function, or a module (registered as a child). */
export type TransformerActivation = "relu" | "gelu" | ((x: Tensor) => Tensor) | Module;

export interface TransformerLayerOptions {
  /** Feed-forward width (default 2048). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block, and on the attention weights (default 0.1). */
  dropout?: number;
  activation?: TransformerActivation;
  layerNormEps?: number;
  /** [batch, seq, feature] inputs instead of [seq, batch, feature] (default false). */
  batchFirst?: boolean;
  /** Pre-norm: LayerNorm before attention and feed-forward instead of after the residual add (default false). */
  normFirst?: boolean;
  /** Biases in the linear layers, attention and layer norms (default true). */
  bias?: boolean;
  dtype?: "float32" | "float64";
  device?: string;
}

export interface TransformerEncoderLayerForwardOptions {
  /** Attention mask [L, L] or [N * nhead, L, L] (PyTorch's src_mask). */
  srcMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  /** srcMask is causal (a hint), or, without srcMask, apply the causal mask. */
  isCausal?: boolean;
}

export interface TransformerDecoderLayerForwardOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

function activationFn(a: TransformerActivation): (x: Tensor) => Tensor {
  if (a === "relu") return (x) => relu(x);
  if (a === "gelu") return (x) => gelu(x);
  if (a instanceof Module) return (x) => (a as Module & { forward(x: Tensor): Tensor }).call(x);
  if (typeof a === "function") return a;
  throw new ArgumentError("Transformer", `activation should be relu/gelu, a function or a module, not ${String(a)}`);
}

/** Sub-modules shared by the encoder and decoder layers: the feed-forward block. */
function feedForward(dModel: number, o: TransformerLayerOptions) {
  const f = { bias: o.bias ?? true, dtype: o.dtype, device: o.device };
  const dff = o.dimFeedforward ?? 2048;
  return { linear1: new Linear(dModel, dff, f), linear2: new Linear(dff, dModel, f) };
}

const norm = (dModel: number, o: TransformerLayerOptions) =>
  new LayerNorm(dModel, { eps: o.layerNormEps ?? 1e-5, bias: o.bias ?? true, dtype: o.dtype, device: o.device });

const attention = (dModel: number, nhead: number, o: TransformerLayerOptions) =>
  new MultiheadAttention(dModel, nhead, {
    dropout: o.dropout ?? 0.1,
    bias: o.bias ?? true,
    batchFirst: o.batchFirst ?? false,
    dtype: o.dtype,
    device: o.device,
  });

/** Self-attention, then a feed-forward block, each with a residual connection and LayerNorm (torch.nn.TransformerEncoderLayer). */
export class TransformerEncoderLayer extends Module {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  readonly normFirst: boolean;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  activation: TransformerActivation;
  private readonly _act: (x: Tensor) => Tensor;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const p = options.dropout ?? 0.1;
    this.self_attn = attention(dModel, nhead, options);
    const ff = feedForward(dModel, options);
    this.linear1 = ff.linear1;
    this.dropout = new Dropout(p);
    this.linear2 = ff.linear2;
    this.normFirst = options.normFirst ?? false;
    this.norm1 = norm(dModel, options);
    this.norm2 = norm(dModel, options);
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.activation = options.activation ?? "relu";
    this._act = activationFn(this.activation);
  }

  forward(src: Tensor, options: TransformerEncoderLayerForwardOptions = {}): Tensor {
    let x = src;
    const sa = (t: Tensor) =>
      this.dropout1.call(
        this.self_attn.call(t, t, t, {
          attnMask: options.srcMask ?? null,
          keyPaddingMask: options.srcKeyPaddingMask ?? null,
          needWeights: false,
          isCausal: options.isCausal ?? false,
        })[0],
      );
    if (this.normFirst) {
      x = add(x, sa(this.norm1.call(x)));
      x = add(x, this.ff(this.norm2.call(x)));
    } else {
      x = this.norm1.call(add(x, sa(x)));
      x = this.norm2.call(add(x, this.ff(x)));
    }
    return x;
  }

  private ff(x: Tensor): Tensor {
    return this.dropout2.call(this.linear2.call(this.dropout.call(this._act(this.linear1.call(x)))));
  }
}

/** Self-attention, attention over the encoder's memory, and a feed-forward block (torch.nn.TransformerDecoderLayer). */
export class TransformerDecoderLayer extends Module {
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  readonly normFirst: boolean;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  activation: TransformerActivation;
  private readonly _act: (x: Tensor) => Tensor;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const p = options.dropout ?? 0.1;
    this.self_attn = attention(dModel, nhead, options);
    this.multihead_attn = attention(dModel, nhead, options);
    const ff = feedForward(dModel, options);
    this.linear1 = ff.linear1;
    this.dropout = new Dropout(p);
    this.linear2 = ff.linear2;
    this.normFirst = options.normFirst ?? false;
    this.norm1 = norm(dModel, options);
    this.norm2 = norm(dModel, options);
    this.norm3 = norm(dModel, options);
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.dropout3 = new Dropout(p);
    this.activation = options.activation ?? "relu";
    this._act = activationFn(this.activation);
  }

  forward(tgt: Tensor, memory: Tensor, options: TransformerDecoderLayerForwardOptions = {}): Tensor {
    let x = tgt;
    const sa = (t: Tensor) =>
      this.dropout1.call(
        this.self_attn.call(t, t, t, {
          attnMask: options.tgtMask ?? null,
          keyPaddingMask: options.tgtKeyPaddingMask ?? null,
          needWeights: false,
          isCausal: options.tgtIsCausal ?? false,
        })[0],
      );
    const mha = (t: Tensor) =>
      this.dropout2.call(
        this.multihead_attn.call(t, memory, memory, {
          attnMask: options.memoryMask ?? null,
          keyPaddingMask: options.memoryKeyPaddingMask ?? null,
          needWeights: false,
          isCausal: options.memoryIsCausal ?? false,
        })[0],
      );
    const ff = (t: Tensor) => this.dropout3.call(this.linear2.call(this.dropout.call(this._act(this.linear1.call(t)))));
    if (this.normFirst) {
      x = add(x, sa(this.norm1.call(x)));
      x = add(x, mha(this.norm2.call(x)));
      x = add(x, ff(this.norm3.call(x)));
    } else {
      x = this.norm1.call(add(x, sa(x)));
      x = this.norm2.call(add(x, mha(x)));
      x = this.norm3.call(add(x, ff(x)));
    }
    return x;
  }
}

export interface TransformerEncoderOptions {
  /** Final layer norm (PyTorch's norm argument). */
  norm?: Module | null;
  /** Accepted for PyTorch compatibility: dl has no nested tensors, padding is always masked. */
  enableNestedTensor?: boolean;
  /** Accepted for PyTorch compatibility. */
  maskCheck?: boolean;
}

export interface TransformerEncoderForwardOptions {
  mask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: boolean;
}

/** numLayers deep copies of encoderLayer applied in turn, then an optional norm (torch.nn.TransformerEncoder). */
export class TransformerEncoder extends Module {
  layers: ModuleList;
  readonly numLayers: number;
  norm: Module | null;

  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, options: TransformerEncoderOptions = {}) {
    super();
    if (!Number.isInteger(numLayers) || numLayers < 0)
      throw new ArgumentError("TransformerEncoder", `num_layers must be a non-negative integer, got ${numLayers}`);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => deepcopy(encoderLayer)));
    this.numLayers = numLayers;
    this.norm = options.norm ?? null;
  }

  forward(src: Tensor, options: TransformerEncoderForwardOptions = {}): Tensor {
    let x = src;
    for (const layer of this.layers.children()) {
      x = (layer as TransformerEncoderLayer).call(x, {
        srcMask: options.mask,
        srcKeyPaddingMask: options.srcKeyPaddingMask,
        isCausal: options.isCausal,
      });
    }
    return this.norm ? (this.norm as LayerNorm).call(x) : x;
  }
}

export interface TransformerDecoderOptions {
  /** Final layer norm (PyTorch's norm argument). */
  norm?: Module | null;
}

/** numLayers deep copies of decoderLayer applied in turn, then an optional norm (torch.nn.TransformerDecoder). */
export class TransformerDecoder extends Module {
  layers: ModuleList;
  readonly numLayers: number;
  norm: Module | null;

  constructor(decoderLayer: TransformerDecoderLayer, numLayers: number, options: TransformerDecoderOptions = {}) {
    super();
    if (!Number.isInteger(numLayers) || numLayers < 0)
      throw new ArgumentError("TransformerDecoder", `num_layers must be a non-negative integer, got ${numLayers}`);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => deepcopy(decoderLayer)));
    this.numLayers = numLayers;
    this.norm = options.norm ?? null;
  }

  forward(tgt: Tensor, memory: Tensor, options: TransformerDecoderLayerForwardOptions = {}): Tensor {
    let x = tgt;
    for (const layer of this.layers.children()) x = (layer as TransformerDecoderLayer).call(x, memory, options);
    return this.norm ? (this.norm as LayerNorm).call(x) : x;
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  /** Model width (default 512). */
  dModel?: number;
  /** Attention heads (default 8). */
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  customEncoder?: Module | null;
  customDecoder?: Module | null;
}

export interface TransformerForwardOptions {
  srcMask?: Tensor | null;
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  srcIsCausal?: boolean;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

/** The encoder-decoder model of "Attention Is All You Need" (torch.nn.Transformer). */
export class Transformer extends Module {
  encoder: Module;
  decoder: Module;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor(options: TransformerOptions = {}) {
    super();
    this.dModel = options.dModel ?? 512;
    this.nhead = options.nhead ?? 8;
    this.batchFirst = options.batchFirst ?? false;
    const normOptions = { eps: options.layerNormEps ?? 1e-5, bias: options.bias ?? true, dtype: options.dtype, device: options.device };
    this.encoder =
      options.customEncoder ??
      new TransformerEncoder(new TransformerEncoderLayer(this.dModel, this.nhead, options), options.numEncoderLayers ?? 6, {
        norm: new LayerNorm(this.dModel, normOptions),
      });
    this.decoder =
      options.customDecoder ??
      new TransformerDecoder(new TransformerDecoderLayer(this.dModel, this.nhead, options), options.numDecoderLayers ?? 6, {
        norm: new LayerNorm(this.dModel, normOptions),
      });
    this.resetParameters();
  }

  /** PyTorch's _reset_parameters: xavier_uniform_ on every parameter with more than one dim. */
  resetParameters(): void {
    for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p);
  }

  forward(src: Tensor, tgt: Tensor, options: TransformerForwardOptions = {}): Tensor {
    assertTensor("Transformer", src, "src");
    assertTensor("Transformer", tgt, "tgt");
    const batched = src.ndim === 3;
    if (!this.batchFirst && batched && src.shape[1] !== tgt.shape[1]) {
      throw new ShapeError(
        "Transformer",
        `the batch number of src and tgt must be equal (src ${fmtShape(src.shape)}, tgt ${fmtShape(tgt.shape)})`,
      );
    }
    if (this.batchFirst && batched && src.shape[0] !== tgt.shape[0]) {
      throw new ShapeError(
        "Transformer",
        `the batch number of src and tgt must be equal (src ${fmtShape(src.shape)}, tgt ${fmtShape(tgt.shape)})`,
      );
    }
    if (src.shape[src.ndim - 1] !== this.dModel || tgt.shape[tgt.ndim - 1] !== this.dModel) {
      throw new ShapeError(
        "Transformer",
        `the feature number of src and tgt must be equal to d_model=${this.dModel} (src ${fmtShape(src.shape)}, tgt ${fmtShape(tgt.shape)})`,
      );
    }
    const memory = (this.encoder as TransformerEncoder).call(src, {
      mask: options.srcMask,
      srcKeyPaddingMask: options.srcKeyPaddingMask,
      isCausal: options.srcIsCausal,
    });
    return (this.decoder as TransformerDecoder).call(tgt, memory, {
      tgtMask: options.tgtMask,
      memoryMask: options.memoryMask,
      tgtKeyPaddingMask: options.tgtKeyPaddingMask,
      memoryKeyPaddingMask: options.memoryKeyPaddingMask,
      tgtIsCausal: options.tgtIsCausal,
      memoryIsCausal: options.memoryIsCausal,
    });
  }

  /** A float [sz, sz] mask with -inf above the diagonal and 0 elsewhere (nn.Transformer.generate_square_subsequent_mask). */
  static generateSquareSubsequentMask(sz: number, options: { device?: string; dtype?: DType } = {}): Tensor {
    return triu(full([sz, sz], Number.NEGATIVE_INFINITY, { dtype: options.dtype, device: options.device }), 1);
  }
}
