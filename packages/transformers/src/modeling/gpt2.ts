import { checkpoint } from "@dl/autograd";
import { Dropout, Embedding, F, init, LayerNorm, Linear, Module, ModuleList } from "@dl/nn";
import {
  ArgumentError,
  add,
  arange,
  cat,
  type DType,
  fmtShape,
  logicalNot,
  maskedFill,
  matmul,
  mul,
  ShapeError,
  type Tensor,
  zeros,
} from "@dl/tensor";
import { GPT2Config } from "../configuration/gpt2.js";
import { type GenerateOptions, type GenerateOutput, generate } from "../generation/generate.js";
import { type Activation, getActivation } from "./activations.js";
import { causalMask, dtypeMin, extendedAttentionMask } from "./attention-utils.js";
import { Conv1D } from "./conv1d.js";
import { causalLmLoss } from "./losses.js";
import { checkConfig, PreTrainedModel } from "./modeling-utils.js";

/** One layer's cached key and value, each [B, H, T, headDim] (Hugging Face's layer_past). */
export type KeyValue = [Tensor, Tensor];
/** A cache per layer, grown along T at each step (Hugging Face's past_key_values). */
export type PastKeyValues = KeyValue[];

export interface GPT2ForwardOptions {
  /** [B, S] 1 for tokens to attend to, 0 for padding; S = past length + T. */
  attentionMask?: Tensor | null;
  /** [B, T] token type ids (embedded with wte, as Hugging Face does). */
  tokenTypeIds?: Tensor | null;
  /** [B, T] positions (default past length ... past length + T - 1). */
  positionIds?: Tensor | null;
  /** The cache of earlier steps: only the new tokens are fed. */
  pastKeyValues?: PastKeyValues | null;
  /** Return the updated cache (default config.useCache). */
  useCache?: boolean;
  /** [B, T, d] embeddings used instead of inputIds. */
  inputsEmbeds?: Tensor | null;
  /** Return every layer's input and the final hidden state. */
  outputHiddenStates?: boolean;
  /** Return every layer's attention weights [B, H, T, S]. */
  outputAttentions?: boolean;
}

export interface BaseModelOutputWithPast {
  lastHiddenState: Tensor;
  pastKeyValues: PastKeyValues | null;
  hiddenStates: Tensor[] | null;
  attentions: Tensor[] | null;
}

export interface CausalLMOutput {
  loss: Tensor | null;
  logits: Tensor;
  pastKeyValues: PastKeyValues | null;
  hiddenStates: Tensor[] | null;
  attentions: Tensor[] | null;
}

/** GPT-2's attention: c_attn (Conv1D d -> 3d) gives q, k, v; c_proj merges the heads. */
export class GPT2Attention extends Module {
  c_attn: Conv1D;
  c_proj: Conv1D;
  attn_dropout: Dropout;
  resid_dropout: Dropout;
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;

  constructor(
    readonly config: GPT2Config,
    readonly layerIdx = 0,
  ) {
    super();
    this.embedDim = config.nEmbd;
    this.numHeads = config.nHead;
    this.headDim = this.embedDim / this.numHeads;
    if (!Number.isInteger(this.headDim)) {
      throw new ArgumentError("GPT2Attention", `n_embd must be divisible by n_head (got ${this.embedDim} and ${this.numHeads})`);
    }
    this.c_attn = new Conv1D(3 * this.embedDim, this.embedDim);
    this.c_proj = new Conv1D(this.embedDim, this.embedDim);
    this.attn_dropout = new Dropout(config.attnPdrop);
    this.resid_dropout = new Dropout(config.residPdrop);
  }

  private splitHeads(x: Tensor, B: number, T: number): Tensor {
    return x.reshape(B, T, this.numHeads, this.headDim).permute(0, 2, 1, 3);
  }

  forward(
    hidden: Tensor,
    layerPast: KeyValue | null = null,
    attnBias: Tensor | null = null,
    useCache = false,
    outputAttentions = false,
  ): { output: Tensor; present: KeyValue | null; weights: Tensor | null } {
    const [B, T] = hidden.shape as [number, number, number];
    const qkv = this.c_attn.call(hidden);
    const d = this.embedDim;
    const q = this.splitHeads(qkv.narrow(2, 0, d), B, T);
    let k = this.splitHeads(qkv.narrow(2, d, d), B, T);
    let v = this.splitHeads(qkv.narrow(2, 2 * d, d), B, T);
    if (layerPast) {
      k = cat([layerPast[0], k], 2);
      v = cat([layerPast[1], v], 2);
    }
    const present: KeyValue | null = useCache ? [k, v] : null;
    // Hugging Face's attention: scores / sqrt(hd) [/ (layer + 1)], the causal positions at
    // finfo.min (not -inf) plus the padding mask (1 - m) * min (attnBias, built once per forward).
    let scale = this.config.scaleAttnWeights ? 1 / Math.sqrt(this.headDim) : 1;
    if (this.config.scaleAttnByInverseLayerIdx) scale /= this.layerIdx + 1;
    let out: Tensor;
    let weights: Tensor | null = null;
    if (!outputAttentions) {
      const dropoutP = this.training ? this.config.attnPdrop : 0;
      out = F.scaledDotProductAttention(q, k, v, { attnMask: attnBias, scale, dropoutP });
    } else {
      let w = mul(matmul(q, k.transpose(-1, -2)), scale);
      if (attnBias) w = add(w, attnBias);
      weights = this.attn_dropout.call(F.softmax(w, -1));
      out = matmul(weights, v);
    }
    out = out.permute(0, 2, 1, 3).reshape(B, T, d);
    out = this.resid_dropout.call(this.c_proj.call(out));
    return { output: out, present, weights };
  }
}

/** GPT-2's MLP: c_fc (Conv1D d -> inner), activation, c_proj (inner -> d), dropout. */
export class GPT2MLP extends Module {
  c_fc: Conv1D;
  c_proj: Conv1D;
  dropout: Dropout;
  private readonly act: Activation;

  constructor(intermediateSize: number, config: GPT2Config) {
    super();
    this.c_fc = new Conv1D(intermediateSize, config.nEmbd);
    this.c_proj = new Conv1D(config.nEmbd, intermediateSize);
    this.act = getActivation(config.activationFunction);
    this.dropout = new Dropout(config.residPdrop);
  }

  forward(x: Tensor): Tensor {
    return this.dropout.call(this.c_proj.call(this.act(this.c_fc.call(x))));
  }
}

/** A pre-LN block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). */
export class GPT2Block extends Module {
  ln_1: LayerNorm;
  attn: GPT2Attention;
  ln_2: LayerNorm;
  mlp: GPT2MLP;

  constructor(config: GPT2Config, layerIdx = 0) {
    super();
    const inner = config.nInner ?? 4 * config.nEmbd;
    this.ln_1 = new LayerNorm(config.nEmbd, { eps: config.layerNormEpsilon });
    this.attn = new GPT2Attention(config, layerIdx);
    this.ln_2 = new LayerNorm(config.nEmbd, { eps: config.layerNormEpsilon });
    this.mlp = new GPT2MLP(inner, config);
  }

  forward(
    hidden: Tensor,
    layerPast: KeyValue | null = null,
    attnBias: Tensor | null = null,
    useCache = false,
    outputAttentions = false,
  ): { hidden: Tensor; present: KeyValue | null; weights: Tensor | null } {
    const a = this.attn.call(this.ln_1.call(hidden), layerPast, attnBias, useCache, outputAttentions);
    const h = add(hidden, a.output);
    return { hidden: add(h, this.mlp.call(this.ln_2.call(h))), present: a.present, weights: a.weights };
  }
}

/**
 * The additive attention bias [1 or B, 1, T, S]: 0 where a query may attend, finfo.min at causal
 * positions (Hugging Face's where(causal, w, min)), plus (1 - m) * min for padding (so a padded,
 * causally masked key is -inf, as in Hugging Face's sum).
 */
export function gpt2AttentionBias(T: number, S: number, dtype: DType, device: string, attentionMask: Tensor | null): Tensor {
  const causal = maskedFill(zeros([1, 1, T, S], { dtype, device }), logicalNot(causalMask(T, S, device)), dtypeMin(dtype));
  return attentionMask ? add(causal, extendedAttentionMask(attentionMask, dtype)) : causal;
}

/** Hugging Face's _init_weights for GPT-2, with the scaled c_proj init of the GPT-2 paper. */
function initGPT2(model: Module, config: GPT2Config): void {
  const std = config.initializerRange;
  for (const [name, m] of model.namedModules()) {
    if (m instanceof Conv1D || m instanceof Linear) {
      init.normal_(m.weight, 0, std);
      if (m.bias) init.zeros_(m.bias);
    } else if (m instanceof Embedding) {
      init.normal_(m.weight, 0, std);
    } else if (m instanceof LayerNorm) {
      m.resetParameters();
    }
    if (name.endsWith("c_proj") && m instanceof Conv1D) init.normal_(m.weight, 0, std / Math.sqrt(2 * config.nLayer));
  }
}

export abstract class GPT2PreTrainedModel extends PreTrainedModel {
  static override baseModelPrefix = "transformer";
  static override configClass = GPT2Config;
  // Old files carry the causal-mask buffers h.N.attn.bias and h.N.attn.masked_bias.
  static override keysToIgnoreOnLoadUnexpected = [/(^|\.)attn\.masked_bias$/, /(^|\.)attn\.bias$/];
  declare readonly config: GPT2Config;
}

/** The GPT-2 transformer: wte + wpe, the blocks h.0 ... h.{n-1}, ln_f. */
export class GPT2Model extends GPT2PreTrainedModel {
  wte: Embedding;
  wpe: Embedding;
  drop: Dropout;
  h: ModuleList;
  ln_f: LayerNorm;

  constructor(config: GPT2Config) {
    super(checkConfig("GPT2Model", config, GPT2Config));
    this.wte = new Embedding(config.vocabSize, config.nEmbd);
    this.wpe = new Embedding(config.nPositions, config.nEmbd);
    this.drop = new Dropout(config.embdPdrop);
    this.h = new ModuleList(Array.from({ length: config.nLayer }, (_, i) => new GPT2Block(config, i)));
    this.ln_f = new LayerNorm(config.nEmbd, { eps: config.layerNormEpsilon });
    initGPT2(this, config);
  }

  override getInputEmbeddings(): Embedding {
    return this.wte;
  }

  forward(inputIds: Tensor | null, options: GPT2ForwardOptions = {}): BaseModelOutputWithPast {
    const op = "GPT2Model";
    const embeds = options.inputsEmbeds ?? null;
    if ((inputIds === null) === (embeds === null)) throw new ArgumentError(op, "give exactly one of inputIds and inputsEmbeds");
    const shape = inputIds ? inputIds.shape : (embeds?.shape.slice(0, -1) ?? []);
    if (shape.length !== 2) throw new ShapeError(op, `inputIds must be [batch, seq], got ${fmtShape(shape)}`);
    const [B, T] = shape as [number, number];
    const past = options.pastKeyValues ?? null;
    if (past && past.length !== this.config.nLayer)
      throw new ArgumentError(op, `pastKeyValues has ${past.length} layers, the model ${this.config.nLayer}`);
    const pastLen = past ? (past[0]?.[0].shape[2] as number) : 0;
    if (pastLen + T > this.config.nPositions) {
      throw new ShapeError(op, `sequence length ${pastLen + T} (past ${pastLen} + ${T} new) exceeds n_positions ${this.config.nPositions}`);
    }
    // As in transformers, checkpointed training runs without a cache (it would keep every layer's k, v).
    const ckpt = this.gradientCheckpointing && this.training;
    const useCache = ckpt ? false : (options.useCache ?? this.config.useCache);
    const device = (inputIds ?? (embeds as Tensor)).device;
    const positionIds = options.positionIds ?? arange(pastLen, pastLen + T, { dtype: "int64", device }).reshape(1, T);
    let hidden = add(embeds ?? this.wte.call(inputIds as Tensor), this.wpe.call(positionIds));
    if (options.tokenTypeIds) hidden = add(hidden, this.wte.call(options.tokenTypeIds));
    hidden = this.drop.call(hidden);
    if (options.attentionMask) {
      const m = options.attentionMask;
      if (m.ndim !== 2 || m.shape[0] !== B || m.shape[1] !== pastLen + T) {
        throw new ShapeError(op, `attentionMask must be [batch, past + seq] = [${B}, ${pastLen + T}], got ${fmtShape(m.shape)}`);
      }
    }
    const mask = gpt2AttentionBias(T, pastLen + T, hidden.dtype, hidden.device, options.attentionMask ?? null);
    const presents: KeyValue[] = [];
    const hiddens: Tensor[] = [];
    const attentions: Tensor[] = [];
    const blocks = [...this.h.children()] as GPT2Block[];
    for (const [i, block] of blocks.entries()) {
      if (options.outputHiddenStates) hiddens.push(hidden);
      if (ckpt) {
        hidden = checkpoint((h) => block.call(h, null, mask, false, false).hidden, hidden);
        continue;
      }
      const r = block.call(hidden, past ? (past[i] as KeyValue) : null, mask, useCache, options.outputAttentions ?? false);
      hidden = r.hidden;
      if (r.present) presents.push(r.present);
      if (r.weights) attentions.push(r.weights);
    }
    hidden = this.ln_f.call(hidden);
    if (options.outputHiddenStates) hiddens.push(hidden);
    return {
      lastHiddenState: hidden,
      pastKeyValues: useCache ? presents : null,
      hiddenStates: options.outputHiddenStates ? hiddens : null,
      attentions: options.outputAttentions ? attentions : null,
    };
  }
}

export interface GPT2LMHeadForwardOptions extends GPT2ForwardOptions {
  /** [B, T] targets; the loss compares logits[:, :-1] with labels[:, 1:], ignoring -100. */
  labels?: Tensor | null;
  /** Compute logits for the last k positions only (transformers' logits_to_keep; 0 = all). generate uses 1. */
  logitsToKeep?: number;
}

/** GPT-2 with the language-modeling head lm_head (tied to wte). */
export class GPT2LMHeadModel extends GPT2PreTrainedModel {
  transformer: GPT2Model;
  lm_head: Linear;

  constructor(config: GPT2Config) {
    super(checkConfig("GPT2LMHeadModel", config, GPT2Config));
    this.transformer = new GPT2Model(config);
    this.lm_head = new Linear(config.nEmbd, config.vocabSize, { bias: false });
    init.normal_(this.lm_head.weight, 0, config.initializerRange);
    this.tieWeights();
  }

  override getInputEmbeddings(): Embedding {
    return this.transformer.wte;
  }

  override getOutputEmbeddings(): Linear {
    return this.lm_head;
  }

  forward(inputIds: Tensor | null, options: GPT2LMHeadForwardOptions = {}): CausalLMOutput {
    const out = this.transformer.call(inputIds, options);
    const keep = options.logitsToKeep ?? 0;
    const h = out.lastHiddenState;
    const T = h.shape[1] as number;
    const logits = this.lm_head.call(keep > 0 && keep < T ? h.narrow(1, T - keep, keep) : h);
    const loss = options.labels ? causalLmLoss(logits, options.labels) : null;
    return { loss, logits, pastKeyValues: out.pastKeyValues, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }

  /** Greedy, sampled or beam-search continuation of inputIds with a KV cache (see GenerateOptions). */
  generate(inputIds: Tensor, options: GenerateOptions & { returnDictInGenerate: true }): Promise<GenerateOutput>;
  generate(inputIds: Tensor, options?: GenerateOptions): Promise<Tensor>;
  generate(inputIds: Tensor, options: GenerateOptions = {}): Promise<Tensor | GenerateOutput> {
    return generate(this, inputIds, options);
  }
}
