import { type FieldSpec, PretrainedConfig } from "./configuration-utils.js";

const f = (key: string, d: unknown): FieldSpec => ({ key, default: d });

/** BERT's configuration (transformers' BertConfig), with Hugging Face's defaults (bert-base). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor assigns every field from the field table
export class BertConfig extends PretrainedConfig {
  static override modelType = "bert";
  static override fields: FieldSpec[] = [
    f("vocab_size", 30522),
    f("hidden_size", 768),
    f("num_hidden_layers", 12),
    f("num_attention_heads", 12),
    f("intermediate_size", 3072),
    f("hidden_act", "gelu"),
    f("hidden_dropout_prob", 0.1),
    f("attention_probs_dropout_prob", 0.1),
    f("max_position_embeddings", 512),
    f("type_vocab_size", 2),
    f("initializer_range", 0.02),
    f("layer_norm_eps", 1e-12),
    f("pad_token_id", 0),
    f("position_embedding_type", "absolute"),
    f("use_cache", true),
    f("classifier_dropout", null),
  ];

  constructor(options: Partial<BertConfigOptions> & Record<string, unknown> = {}) {
    super(options);
  }
}

export interface BertConfigOptions {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: string;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  initializerRange: number;
  layerNormEps: number;
  positionEmbeddingType: string;
  useCache: boolean;
  /** Dropout before the classifier; null means hiddenDropoutProb. */
  classifierDropout: number | null;
}

export interface BertConfig extends BertConfigOptions {}
