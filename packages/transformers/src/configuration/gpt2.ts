import { type FieldSpec, PretrainedConfig } from "./configuration-utils.js";

const f = (key: string, d: unknown): FieldSpec => ({ key, default: d });

/** GPT-2's configuration (transformers' GPT2Config), with Hugging Face's defaults (GPT-2 small). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor assigns every field from the field table
export class GPT2Config extends PretrainedConfig {
  static override modelType = "gpt2";
  static override fields: FieldSpec[] = [
    f("vocab_size", 50257),
    f("n_positions", 1024),
    f("n_embd", 768),
    f("n_layer", 12),
    f("n_head", 12),
    f("n_inner", null),
    f("activation_function", "gelu_new"),
    f("resid_pdrop", 0.1),
    f("embd_pdrop", 0.1),
    f("attn_pdrop", 0.1),
    f("layer_norm_epsilon", 1e-5),
    f("initializer_range", 0.02),
    f("summary_type", "cls_index"),
    f("summary_use_proj", true),
    f("summary_activation", null),
    f("summary_proj_to_labels", true),
    f("summary_first_dropout", 0.1),
    f("scale_attn_weights", true),
    f("use_cache", true),
    f("bos_token_id", 50256),
    f("eos_token_id", 50256),
    f("scale_attn_by_inverse_layer_idx", false),
    f("reorder_and_upcast_attn", false),
  ];
  static override attributeMap = {
    hidden_size: "n_embd",
    max_position_embeddings: "n_positions",
    num_attention_heads: "n_head",
    num_hidden_layers: "n_layer",
  };

  constructor(options: Partial<GPT2ConfigOptions> & Record<string, unknown> = {}) {
    super(options);
  }

  get hiddenSize(): number {
    return this.nEmbd;
  }
  get maxPositionEmbeddings(): number {
    return this.nPositions;
  }
  get numAttentionHeads(): number {
    return this.nHead;
  }
  get numHiddenLayers(): number {
    return this.nLayer;
  }
}

export interface GPT2ConfigOptions {
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  /** Inner MLP size; null means 4 * nEmbd. */
  nInner: number | null;
  activationFunction: string;
  residPdrop: number;
  embdPdrop: number;
  attnPdrop: number;
  layerNormEpsilon: number;
  initializerRange: number;
  summaryType: string;
  summaryUseProj: boolean;
  summaryActivation: string | null;
  summaryProjToLabels: boolean;
  summaryFirstDropout: number;
  scaleAttnWeights: boolean;
  useCache: boolean;
  scaleAttnByInverseLayerIdx: boolean;
  reorderAndUpcastAttn: boolean;
}

export interface GPT2Config extends GPT2ConfigOptions {}
