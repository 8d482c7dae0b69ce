import { noGrad } from "@dl/autograd";
import { ArgumentError, type DType, ShapeError, type Tensor, empty } from "@dl/tensor";
import * as F from "../functional/embedding.js";
import { normal_ } from "../init.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import { pyFloat } from "./format.js";

export interface EmbeddingModuleOptions {
  /** Row that is excluded from gradients (and zeroed at init). Negative counts from the end. */
  paddingIdx?: number | null;
  /** Rescale looked-up rows whose norm exceeds maxNorm (in place, at every forward). */
  maxNorm?: number | null;
  /** The p of the norm for maxNorm (default 2). */
  normType?: number;
  scaleGradByFreq?: boolean;
  /** Sparse gradients are not supported; true throws at construction. */
  sparse?: boolean;
  /** Use this tensor (shape [num, dim]) as the weight instead of a N(0, 1) init (PyTorch's _weight). */
  weight?: Tensor;
  dtype?: DType;
  device?: string;
}

function checkPaddingIdx(op: string, paddingIdx: number | null | undefined, num: number): number | null {
  if (paddingIdx === null || paddingIdx === undefined) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx >= num || paddingIdx < -num) {
    throw new ArgumentError(op, `padding_idx must be within num_embeddings (${num}), got ${paddingIdx}`);
  }
  return paddingIdx < 0 ? paddingIdx + num : paddingIdx;
}

function makeWeight(op: string, num: number, dim: number, options: EmbeddingModuleOptions): { weight: Parameter; given: boolean } {
  if (options.sparse) throw new ArgumentError(op, "sparse gradients are not supported (use sparse=false)");
  if (options.weight) {
    const w = options.weight;
    if (w.ndim !== 2 || w.shape[0] !== num || w.shape[1] !== dim) {
      throw new ShapeError(op, `shape of weight [${w.shape.join(",")}] does not match num_embeddings and embedding_dim [${num},${dim}]`);
    }
    return { weight: w instanceof Parameter ? w : new Parameter(w), given: true };
  }
  return { weight: new Parameter(empty([num, dim], { dtype: options.dtype, device: options.device })), given: false };
}

/** Shared repr pieces: ", padding_idx=0, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True". */
function optionalRepr(
  e: { paddingIdx: number | null; maxNorm: number | null; normType: number; scaleGradByFreq: boolean },
  withPadding: boolean,
): string {
  let s = "";
  if (withPadding && e.paddingIdx !== null) s += `, padding_idx=${e.paddingIdx}`;
  if (e.maxNorm !== null) s += `, max_norm=${pyFloat(e.maxNorm)}`;
  if (e.normType !== 2) s += `, norm_type=${pyFloat(e.normType)}`;
  if (e.scaleGradByFreq) s += ", scale_grad_by_freq=True";
  return s;
}

/**
 * A lookup table of numEmbeddings vectors of size embeddingDim (torch.nn.Embedding): parameter
 * "weight" [num, dim] initialized N(0, 1), with the paddingIdx row zeroed. The padding row gets no
 * gradient; with maxNorm, the rows looked up are renormalized in place at each forward.
 */
export class Embedding extends Module {
  weight: Parameter;
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  readonly scaleGradByFreq: boolean;
  readonly sparse = false;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingModuleOptions = {},
  ) {
    super();
    this.paddingIdx = checkPaddingIdx("Embedding", options.paddingIdx, numEmbeddings);
    this.maxNorm = options.maxNorm ?? null;
    this.normType = options.normType ?? 2;
    this.scaleGradByFreq = options.scaleGradByFreq ?? false;
    const { weight, given } = makeWeight("Embedding", numEmbeddings, embeddingDim, options);
    this.weight = weight;
    if (!given) this.resetParameters();
  }

  /** weight ~ N(0, 1), padding row zeroed. */
  resetParameters(): void {
    normal_(this.weight);
    this.fillPaddingIdxWithZero();
  }

  private fillPaddingIdxWithZero(): void {
    const p = this.paddingIdx;
    if (p !== null) noGrad(() => this.weight.select(0, p).zero_());
  }

  forward(input: Tensor): Tensor {
    return F.embedding(input, this.weight, {
      paddingIdx: this.paddingIdx,
      maxNorm: this.maxNorm,
      normType: this.normType,
      scaleGradByFreq: this.scaleGradByFreq,
    });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${optionalRepr(this, true)}`;
  }

  /**
   * An Embedding whose weight is `embeddings` [num, dim] (shared, not copied, as PyTorch);
   * freeze (default true) turns off its gradient. The padding row is not zeroed.
   */
  static fromPretrained(
    embeddings: Tensor,
    options: Omit<EmbeddingModuleOptions, "weight" | "dtype" | "device"> & { freeze?: boolean } = {},
  ): Embedding {
    if (embeddings.ndim !== 2)
      throw new ShapeError(
        "Embedding.fromPretrained",
        `embeddings parameter is expected to be 2-dimensional, got shape [${embeddings.shape.join(",")}]`,
      );
    const [num, dim] = embeddings.shape as [number, number];
    const e = new Embedding(num, dim, { ...options, weight: embeddings });
    e.weight.requiresGrad_(!(options.freeze ?? true));
    return e;
  }
}

export interface EmbeddingBagModuleOptions extends EmbeddingModuleOptions {
  /** How each bag is reduced (default "mean"). */
  mode?: "sum" | "mean" | "max";
  /** offsets has one more entry, the end of the last bag (CSR layout). */
  includeLastOffset?: boolean;
}

/**
 * Sums, averages or maxes bags of embeddings (torch.nn.EmbeddingBag). forward(input, offsets?,
 * perSampleWeights?): a 2-D input is B bags of equal length; a 1-D input needs offsets.
 */
export class EmbeddingBag extends Module {
  weight: Parameter;
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;
  readonly scaleGradByFreq: boolean;
  readonly mode: "sum" | "mean" | "max";
  readonly includeLastOffset: boolean;
  readonly sparse = false;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingBagModuleOptions = {},
  ) {
    super();
    this.paddingIdx = checkPaddingIdx("EmbeddingBag", options.paddingIdx, numEmbeddings);
    this.maxNorm = options.maxNorm ?? null;
    this.normType = options.normType ?? 2;
    this.scaleGradByFreq = options.scaleGradByFreq ?? false;
    this.mode = options.mode ?? "mean";
    if (!["sum", "mean", "max"].includes(this.mode))
      throw new ArgumentError("EmbeddingBag", `mode has to be one of sum, mean or max, got '${this.mode}'`);
    this.includeLastOffset = options.includeLastOffset ?? false;
    const { weight, given } = makeWeight("EmbeddingBag", numEmbeddings, embeddingDim, options);
    this.weight = weight;
    if (!given) this.resetParameters();
  }

  /** weight ~ N(0, 1), padding row zeroed. */
  resetParameters(): void {
    normal_(this.weight);
    const p = this.paddingIdx;
    if (p !== null) noGrad(() => this.weight.select(0, p).zero_());
  }

  forward(input: Tensor, offsets?: Tensor | null, perSampleWeights?: Tensor | null): Tensor {
    return F.embeddingBag(input, this.weight, {
      offsets,
      perSampleWeights,
      mode: this.mode,
      paddingIdx: this.paddingIdx,
      maxNorm: this.maxNorm,
      normType: this.normType,
      scaleGradByFreq: this.scaleGradByFreq,
      includeLastOffset: this.includeLastOffset,
    });
  }

  override extraRepr(): string {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}${optionalRepr(this, false)}, mode=${this.mode}`;
    if (this.paddingIdx !== null) s += `, padding_idx=${this.paddingIdx}`;
    return s;
  }

  /** An EmbeddingBag over `embeddings` [num, dim] (shared); freeze (default true) turns off its gradient. */
  static fromPretrained(
    embeddings: Tensor,
    options: Omit<EmbeddingBagModuleOptions, "weight" | "dtype" | "device"> & { freeze?: boolean } = {},
  ): EmbeddingBag {
    if (embeddings.ndim !== 2)
      throw new ShapeError(
        "EmbeddingBag.fromPretrained",
        `embeddings parameter is expected to be 2-dimensional, got shape [${embeddings.shape.join(",")}]`,
      );
    const [num, dim] = embeddings.shape as [number, number];
    const e = new EmbeddingBag(num, dim, { ...options, weight: embeddings });
    e.weight.requiresGrad_(!(options.freeze ?? true));
    return e;
  }
}
