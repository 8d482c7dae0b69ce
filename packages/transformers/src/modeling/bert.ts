import { checkpoint } from "@dl/autograd";
import { Dropout, Embedding, F, init, LayerNorm, Linear, Module, ModuleList, Parameter } from "@dl/nn";
import { ArgumentError, add, arange, fmtShape, isFloating, matmul, mul, ones, ShapeError, type Tensor, tanh, zeros } from "@dl/tensor";
import { BertConfig } from "../configuration/bert.js";
import { type Activation, getActivation } from "./activations.js";
import { extendedAttentionMask } from "./attention-utils.js";
import { sequenceClassificationLoss, tokenLoss } from "./losses.js";
import { checkConfig, PreTrainedModel } from "./modeling-utils.js";

export interface BertForwardOptions {
  /** [B, T] 1 for tokens, 0 for padding (default all ones). */
  attentionMask?: Tensor | null;
  /** [B, T] segment ids (default zeros). */
  tokenTypeIds?: Tensor | null;
  /** [B, T] positions (default 0 ... T - 1). */
  positionIds?: Tensor | null;
  /** [B, T, hidden] embeddings used instead of inputIds. */
  inputsEmbeds?: Tensor | null;
  /** Return the embedding output and every layer's output. */
  outputHiddenStates?: boolean;
  /** Return every layer's attention weights [B, H, T, T]. */
  outputAttentions?: boolean;
}

export interface BertModelOutput {
  lastHiddenState: Tensor;
  /** tanh(dense(hidden[:, 0])), or null without a pooler. */
  poolerOutput: Tensor | null;
  hiddenStates: Tensor[] | null;
  attentions: Tensor[] | null;
}

export interface SequenceClassifierOutput {
  loss: Tensor | null;
  logits: Tensor;
  hiddenStates: Tensor[] | null;
  attentions: Tensor[] | null;
}

export interface MaskedLMOutput {
  loss: Tensor | null;
  logits: Tensor;
  hiddenStates: Tensor[] | null;
  attentions: Tensor[] | null;
}

/** word + position + token type embeddings, LayerNorm, dropout. */
export class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(readonly config: BertConfig) {
    super();
    this.word_embeddings = new Embedding(config.vocabSize, config.hiddenSize, { paddingIdx: config.padTokenId ?? undefined });
    this.position_embeddings = new Embedding(config.maxPositionEmbeddings, config.hiddenSize);
    this.token_type_embeddings = new Embedding(config.typeVocabSize, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }

  forward(inputIds: Tensor | null, tokenTypeIds: Tensor | null, positionIds: Tensor | null, inputsEmbeds: Tensor | null = null): Tensor {
    const embeds = inputsEmbeds ?? this.word_embeddings.call(inputIds as Tensor);
    const [B, T] = embeds.shape as [number, number, number];
    if (T > this.config.maxPositionEmbeddings) {
      throw new ShapeError("BertEmbeddings", `sequence length ${T} exceeds max_position_embeddings ${this.config.maxPositionEmbeddings}`);
    }
    const device = embeds.device;
    const tt = tokenTypeIds ?? zeros([B, T], { dtype: "int64", device });
    const pos = positionIds ?? arange(0, T, { dtype: "int64", device }).reshape(1, T);
    let h = add(embeds, this.token_type_embeddings.call(tt));
    h = add(h, this.position_embeddings.call(pos));
    return this.dropout.call(this.LayerNorm.call(h));
  }
}

/** query, key, value projections and scaled dot-product attention with the additive mask. */
export class BertSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;
  dropout: Dropout;
  readonly numHeads: number;
  readonly headDim: number;

  constructor(config: BertConfig) {
    super();
    if (config.hiddenSize % config.numAttentionHeads !== 0) {
      throw new ArgumentError(
        "BertSelfAttention",
        `hidden_size ${config.hiddenSize} is not a multiple of num_attention_heads ${config.numAttentionHeads}`,
      );
    }
    if (config.positionEmbeddingType !== "absolute") {
      throw new ArgumentError(
        "BertSelfAttention",
        `position_embedding_type "${config.positionEmbeddingType}" is not supported (only "absolute")`,
      );
    }
    this.numHeads = config.numAttentionHeads;
    this.headDim = config.hiddenSize / config.numAttentionHeads;
    this.query = new Linear(config.hiddenSize, config.hiddenSize);
    this.key = new Linear(config.hiddenSize, config.hiddenSize);
    this.value = new Linear(config.hiddenSize, config.hiddenSize);
    this.dropout = new Dropout(config.attentionProbsDropoutProb);
  }

  forward(hidden: Tensor, mask: Tensor | null, outputAttentions = false): { output: Tensor; weights: Tensor | null } {
    const [B, T, d] = hidden.shape as [number, number, number];
    const heads = (x: Tensor) => x.reshape(B, T, this.numHeads, this.headDim).permute(0, 2, 1, 3);
    const q = heads(this.query.call(hidden));
    const k = heads(this.key.call(hidden));
    const v = heads(this.value.call(hidden));
    const scale = 1 / Math.sqrt(this.headDim);
    let out: Tensor;
    let weights: Tensor | null = null;
    if (!outputAttentions) {
      out = F.scaledDotProductAttention(q, k, v, { attnMask: mask, scale, dropoutP: this.training ? this.dropout.p : 0 });
    } else {
      let w = mul(matmul(q, k.transpose(-1, -2)), scale);
      if (mask) w = add(w, mask);
      weights = this.dropout.call(F.softmax(w, -1));
      out = matmul(weights, v);
    }
    return { output: out.permute(0, 2, 1, 3).reshape(B, T, d), weights };
  }
}

/** dense, dropout, LayerNorm(x + residual): the post-LN residual of BERT. */
export class BertSelfOutput extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(config: BertConfig, inSize = config.hiddenSize) {
    super();
    this.dense = new Linear(inSize, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.dropout = new Dropout(config.hiddenDropoutProb);
  }

  forward(hidden: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.call(add(this.dropout.call(this.dense.call(hidden)), residual));
  }
}

export class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertSelfOutput;

  constructor(config: BertConfig) {
    super();
    this.self = new BertSelfAttention(config);
    this.output = new BertSelfOutput(config);
  }

  forward(hidden: Tensor, mask: Tensor | null, outputAttentions = false): { output: Tensor; weights: Tensor | null } {
    const s = this.self.call(hidden, mask, outputAttentions);
    return { output: this.output.call(s.output, hidden), weights: s.weights };
  }
}

export class BertIntermediate extends Module {
  dense: Linear;
  private readonly act: Activation;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.intermediateSize);
    this.act = getActivation(config.hiddenAct);
  }

  forward(x: Tensor): Tensor {
    return this.act(this.dense.call(x));
  }
}

/** The output block of a layer (BertOutput): dense intermediate -> hidden, dropout, LayerNorm(x + residual). */
export class BertOutput extends BertSelfOutput {
  constructor(config: BertConfig) {
    super(config, config.intermediateSize);
  }
}

export class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertOutput;

  constructor(config: BertConfig) {
    super();
    this.attention = new BertAttention(config);
    this.intermediate = new BertIntermediate(config);
    this.output = new BertOutput(config);
  }

  forward(hidden: Tensor, mask: Tensor | null, outputAttentions = false): { output: Tensor; weights: Tensor | null } {
    const a = this.attention.call(hidden, mask, outputAttentions);
    return { output: this.output.call(this.intermediate.call(a.output), a.output), weights: a.weights };
  }
}

export class BertEncoder extends Module {
  layer: ModuleList;

  constructor(config: BertConfig) {
    super();
    this.layer = new ModuleList(Array.from({ length: config.numHiddenLayers }, () => new BertLayer(config)));
  }

  forward(hidden: Tensor): Tensor {
    return hidden;
  }
}

export class BertPooler extends Module {
  dense: Linear;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
  }

  /** tanh(dense(hidden[:, 0])): the first ([CLS]) token's summary. */
  forward(hidden: Tensor): Tensor {
    return tanh(this.dense.call(hidden.select(1, 0)));
  }
}

/** Hugging Face's _init_weights for BERT: N(0, initializer_range), zero biases, unit LayerNorm. */
function initBert(model: Module, config: BertConfig): void {
  const std = config.initializerRange;
  for (const m of model.modules()) {
    if (m instanceof Linear) {
      init.normal_(m.weight, 0, std);
      if (m.bias) init.zeros_(m.bias);
    } else if (m instanceof Embedding) {
      init.normal_(m.weight, 0, std);
      if (m.paddingIdx !== null && m.paddingIdx !== undefined) m.weight.detach().select(0, m.paddingIdx).zero_();
    } else if (m instanceof LayerNorm) {
      m.resetParameters();
    }
  }
}

abstract class BertPreTrainedModel extends PreTrainedModel {
  static override baseModelPrefix = "bert";
  static override configClass = BertConfig;
  // position_ids was a persistent buffer in older files.
  static override keysToIgnoreOnLoadUnexpected = [/(^|\.)embeddings\.position_ids$/];
  declare readonly config: BertConfig;
}

/** The BERT encoder: embeddings, encoder.layer.N, and (optionally) the pooler. */
export class BertModel extends BertPreTrainedModel {
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;

  constructor(config: BertConfig, options: { addPoolingLayer?: boolean } = {}) {
    super(checkConfig("BertModel", config, BertConfig));
    this.embeddings = new BertEmbeddings(config);
    this.encoder = new BertEncoder(config);
    this.pooler = options.addPoolingLayer === false ? null : new BertPooler(config);
    initBert(this, config);
  }

  override getInputEmbeddings(): Embedding {
    return this.embeddings.word_embeddings;
  }

  forward(inputIds: Tensor | null, options: BertForwardOptions = {}): BertModelOutput {
    const op = "BertModel";
    const embeds = options.inputsEmbeds ?? null;
    if ((inputIds === null) === (embeds === null)) throw new ArgumentError(op, "give exactly one of inputIds and inputsEmbeds");
    const shape = inputIds ? inputIds.shape : (embeds?.shape.slice(0, -1) ?? []);
    if (shape.length !== 2) throw new ShapeError(op, `inputIds must be [batch, seq], got ${fmtShape(shape)}`);
    for (const [name, t] of [
      ["attentionMask", options.attentionMask],
      ["tokenTypeIds", options.tokenTypeIds],
    ] as const) {
      if (t && (t.ndim !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1])) {
        throw new ShapeError(op, `${name} must be [batch, seq] = ${fmtShape(shape)} like inputIds, got ${fmtShape(t.shape)}`);
      }
    }
    let hidden = this.embeddings.call(inputIds, options.tokenTypeIds ?? null, options.positionIds ?? null, embeds);
    const m = options.attentionMask ?? ones(shape, { dtype: "int64", device: hidden.device });
    const mask = extendedAttentionMask(m, isFloating(hidden.dtype) ? hidden.dtype : "float32");
    const hiddens: Tensor[] = [hidden];
    const attentions: Tensor[] = [];
    const ckpt = this.gradientCheckpointing && this.training;
    for (const layer of this.encoder.layer.children() as Iterable<BertLayer>) {
      if (ckpt) hidden = checkpoint((h) => layer.call(h, mask).output, hidden);
      else {
        const r = layer.call(hidden, mask, options.outputAttentions ?? false);
        hidden = r.output;
        if (r.weights) attentions.push(r.weights);
      }
      hiddens.push(hidden);
    }
    return {
      lastHiddenState: hidden,
      poolerOutput: this.pooler ? this.pooler.call(hidden) : null,
      hiddenStates: options.outputHiddenStates ? hiddens : null,
      attentions: options.outputAttentions ? attentions : null,
    };
  }
}

export interface BertClassificationOptions extends BertForwardOptions {
  /**
   * [B] class ids (cross-entropy), [B] floats with numLabels 1 (regression, MSE), or [B, numLabels]
   * floats (multi-label, BCE with logits), as config.problemType or the labels' dtype says.
   */
  labels?: Tensor | null;
}

/** BERT with a dropout + linear classifier on the pooled output. */
export class BertForSequenceClassification extends BertPreTrainedModel {
  bert: BertModel;
  dropout: Dropout;
  classifier: Linear;

  constructor(config: BertConfig) {
    super(checkConfig("BertForSequenceClassification", config, BertConfig));
    this.bert = new BertModel(config);
    this.dropout = new Dropout(config.classifierDropout ?? config.hiddenDropoutProb);
    this.classifier = new Linear(config.hiddenSize, config.numLabels);
    initBert(this.classifier, config);
  }

  override getInputEmbeddings(): Embedding {
    return this.bert.embeddings.word_embeddings;
  }

  forward(inputIds: Tensor | null, options: BertClassificationOptions = {}): SequenceClassifierOutput {
    const out = this.bert.call(inputIds, options);
    const logits = this.classifier.call(this.dropout.call(out.poolerOutput as Tensor));
    const loss = options.labels ? sequenceClassificationLoss(logits, options.labels, this.config) : null;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
}

/** dense, activation, LayerNorm before the MLM decoder. */
export class BertPredictionHeadTransform extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  private readonly act: Activation;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
    this.act = getActivation(config.hiddenAct);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
  }

  forward(x: Tensor): Tensor {
    return this.LayerNorm.call(this.act(this.dense.call(x)));
  }
}

/** transform, then decoder (weight tied to the word embeddings) + bias (shared as decoder.bias). */
export class BertLMPredictionHead extends Module {
  bias: Parameter;
  transform: BertPredictionHeadTransform;
  decoder: Linear;

  constructor(config: BertConfig) {
    super();
    this.bias = new Parameter(zeros([config.vocabSize]));
    this.transform = new BertPredictionHeadTransform(config);
    this.decoder = new Linear(config.hiddenSize, config.vocabSize, { bias: false });
    this.decoder.bias = this.bias;
  }

  forward(x: Tensor): Tensor {
    return this.decoder.call(this.transform.call(x));
  }
}

export class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;

  constructor(config: BertConfig) {
    super();
    this.predictions = new BertLMPredictionHead(config);
  }

  forward(x: Tensor): Tensor {
    return this.predictions.call(x);
  }
}

export interface BertMaskedLMOptions extends BertForwardOptions {
  /** [B, T] the original ids at masked positions, -100 elsewhere. */
  labels?: Tensor | null;
}

/** BERT (no pooler) with the masked-language-modeling head cls.predictions. */
export class BertForMaskedLM extends BertPreTrainedModel {
  bert: BertModel;
  cls: BertOnlyMLMHead;

  constructor(config: BertConfig) {
    super(checkConfig("BertForMaskedLM", config, BertConfig));
    this.bert = new BertModel(config, { addPoolingLayer: false });
    this.cls = new BertOnlyMLMHead(config);
    initBert(this.cls, config);
    this.cls.predictions.bias.detach().zero_();
    this.tieWeights();
  }

  override getInputEmbeddings(): Embedding {
    return this.bert.embeddings.word_embeddings;
  }

  override getOutputEmbeddings(): Linear {
    return this.cls.predictions.decoder;
  }

  forward(inputIds: Tensor | null, options: BertMaskedLMOptions = {}): MaskedLMOutput {
    const out = this.bert.call(inputIds, options);
    const logits = this.cls.call(out.lastHiddenState);
    const loss = options.labels ? tokenLoss(logits, options.labels) : null;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
}
