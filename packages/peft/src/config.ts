import { ArgumentError, DLError } from "@dl/tensor";

/**
 * Adapter configurations in PEFT's vocabulary (peft.LoraConfig, PromptTuningConfig,
 * PrefixTuningConfig). Fields are camelCase here; `toDict()` / `configFromDict()` translate to and
 * from the snake_case keys of PEFT's adapter_config.json.
 */

export type PeftType = "LORA" | "PROMPT_TUNING" | "PREFIX_TUNING";
export type TaskType = "SEQ_CLS" | "SEQ_2_SEQ_LM" | "CAUSAL_LM" | "TOKEN_CLS" | "QUESTION_ANS" | "FEATURE_EXTRACTION";
const TASK_TYPES: readonly TaskType[] = ["SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION"];

/** PEFT's "all-linear" shorthand: every Linear / Conv1D except the output layer. */
export const INCLUDE_LINEAR_LAYERS_SHORTHAND = "all-linear";

/** PEFT's default LoRA targets by Hugging Face model_type (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
export const DEFAULT_LORA_TARGET_MODULES: Readonly<Record<string, readonly string[]>> = {
  gpt2: ["c_attn"],
  bert: ["query", "value"],
  roberta: ["query", "value"],
  gpt_neox: ["query_key_value"],
  llama: ["q_proj", "v_proj"],
  opt: ["q_proj", "v_proj"],
  t5: ["q", "v"],
};

interface BaseFields {
  taskType?: TaskType | null;
  baseModelNameOrPath?: string | null;
  revision?: string | null;
  inferenceMode?: boolean;
}

/** Fields every config shares (PeftConfig). */
abstract class PeftConfigBase {
  abstract readonly peftType: PeftType;
  taskType: TaskType | null;
  baseModelNameOrPath: string | null;
  revision: string | null;
  inferenceMode: boolean;
  /** PEFT's auto_mapping (kept for round trips; dl does not use it). */
  autoMapping: Record<string, unknown> | null = null;

  constructor(o: BaseFields) {
    if (o.taskType != null && !TASK_TYPES.includes(o.taskType)) {
      throw new ArgumentError(this.constructor.name, `taskType must be one of ${TASK_TYPES.join(", ")}, got ${JSON.stringify(o.taskType)}`);
    }
    this.taskType = o.taskType ?? null;
    this.baseModelNameOrPath = o.baseModelNameOrPath ?? null;
    this.revision = o.revision ?? null;
    this.inferenceMode = o.inferenceMode ?? false;
  }

  get isPromptLearning(): boolean {
    return this.peftType !== "LORA";
  }

  protected baseDict(): Record<string, unknown> {
    return {
      auto_mapping: this.autoMapping,
      base_model_name_or_path: this.baseModelNameOrPath,
      inference_mode: this.inferenceMode,
      peft_type: this.peftType,
      revision: this.revision,
      task_type: this.taskType,
    };
  }

  /** adapter_config.json's contents: PEFT 0.14's keys (snake_case), sorted as PEFT writes them. */
  abstract toDict(): Record<string, unknown>;
}

export type TargetModules = string | readonly string[];
export type LoraBias = "none" | "all" | "lora_only";
export type InitLoraWeights = boolean | "gaussian";

export interface LoraConfigOptions extends BaseFields {
  /** Rank (default 8). */
  r?: number;
  /** Module names (exact name or ".name" suffix), one regex (full match), or "all-linear". Default: by model type. */
  targetModules?: TargetModules | null;
  /** Names or a regex of modules never to adapt. */
  excludeModules?: TargetModules | null;
  /** Default 8. */
  loraAlpha?: number;
  /** Default 0. */
  loraDropout?: number;
  /** True when the layer stores weight [in, out] (GPT-2's Conv1D; forced on for Conv1D, off for Linear). */
  fanInFanOut?: boolean;
  bias?: LoraBias;
  /** scaling = alpha / sqrt(r) instead of alpha / r. */
  useRslora?: boolean;
  /** Modules (names or suffixes) trained in full and saved with the adapter, e.g. a new classifier head. */
  modulesToSave?: readonly string[] | null;
  /** true: A kaiming-uniform, B zeros (LoRA is a no-op at first); "gaussian": A ~ N(0, 1/r); false: both random. */
  initLoraWeights?: InitLoraWeights;
  /** Only adapt layers with these indices (module names like "h.3.attn"). */
  layersToTransform?: number | readonly number[] | null;
  /** The name of the layer list ("h", "layers") when layersToTransform is set. */
  layersPattern?: string | readonly string[] | null;
  /** Module name (or regex) → rank, overriding r. */
  rankPattern?: Record<string, number>;
  /** Module name (or regex) → alpha, overriding loraAlpha. */
  alphaPattern?: Record<string, number>;
  /** A trainable bias on lora_B (PEFT's lora_bias). */
  loraBias?: boolean;
}

/** peft.LoraConfig with PEFT's defaults. */
export class LoraConfig extends PeftConfigBase {
  readonly peftType = "LORA" as const;
  r: number;
  targetModules: TargetModules | null;
  excludeModules: TargetModules | null;
  loraAlpha: number;
  loraDropout: number;
  fanInFanOut: boolean;
  bias: LoraBias;
  useRslora: boolean;
  modulesToSave: string[] | null;
  initLoraWeights: InitLoraWeights;
  layersToTransform: number | number[] | null;
  layersPattern: string | string[] | null;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  loraBias: boolean;

  constructor(o: LoraConfigOptions = {}) {
    super(o);
    const op = "LoraConfig";
    this.r = o.r ?? 8;
    this.loraAlpha = o.loraAlpha ?? 8;
    this.loraDropout = o.loraDropout ?? 0;
    this.targetModules =
      o.targetModules === undefined || o.targetModules === null
        ? null
        : typeof o.targetModules === "string"
          ? o.targetModules
          : [...o.targetModules];
    this.excludeModules = o.excludeModules == null ? null : typeof o.excludeModules === "string" ? o.excludeModules : [...o.excludeModules];
    this.fanInFanOut = o.fanInFanOut ?? false;
    this.bias = o.bias ?? "none";
    this.useRslora = o.useRslora ?? false;
    this.modulesToSave = o.modulesToSave ? [...o.modulesToSave] : null;
    this.initLoraWeights = o.initLoraWeights ?? true;
    this.layersToTransform =
      o.layersToTransform == null ? null : typeof o.layersToTransform === "number" ? o.layersToTransform : [...o.layersToTransform];
    this.layersPattern = o.layersPattern == null ? null : typeof o.layersPattern === "string" ? o.layersPattern : [...o.layersPattern];
    this.rankPattern = { ...(o.rankPattern ?? {}) };
    this.alphaPattern = { ...(o.alphaPattern ?? {}) };
    this.loraBias = o.loraBias ?? false;

    if (!Number.isInteger(this.r) || this.r <= 0) throw new ArgumentError(op, `r should be a positive integer, got ${this.r}`);
    if (!(this.loraDropout >= 0 && this.loraDropout < 1))
      throw new ArgumentError(op, `loraDropout must be in [0, 1), got ${this.loraDropout}`);
    if (!["none", "all", "lora_only"].includes(this.bias))
      throw new ArgumentError(op, `bias must be "none", "all" or "lora_only", got ${JSON.stringify(this.bias)}`);
    if (!(this.initLoraWeights === true || this.initLoraWeights === false || this.initLoraWeights === "gaussian")) {
      throw new ArgumentError(op, `initLoraWeights ${JSON.stringify(this.initLoraWeights)} is not supported (true, false or "gaussian")`);
    }
    for (const [k, v] of Object.entries(this.rankPattern)) {
      if (!Number.isInteger(v) || v <= 0) throw new ArgumentError(op, `rankPattern['${k}'] should be a positive integer, got ${v}`);
    }
    if (typeof this.targetModules === "string" && this.layersToTransform !== null) {
      throw new ArgumentError(op, "layersToTransform cannot be used when targetModules is a str (a regex)");
    }
    if (typeof this.targetModules === "string" && this.layersPattern !== null) {
      throw new ArgumentError(op, "layersPattern cannot be used when targetModules is a str (a regex)");
    }
    if (this.layersPattern && this.layersToTransform === null) {
      throw new ArgumentError(op, "when layersPattern is specified, layersToTransform must also be specified");
    }
  }

  toDict(): Record<string, unknown> {
    return sortKeys({
      ...this.baseDict(),
      alpha_pattern: { ...this.alphaPattern },
      bias: this.bias,
      eva_config: null,
      exclude_modules: this.excludeModules,
      fan_in_fan_out: this.fanInFanOut,
      init_lora_weights: this.initLoraWeights,
      layer_replication: null,
      layers_pattern: this.layersPattern,
      layers_to_transform: this.layersToTransform,
      loftq_config: {},
      lora_alpha: this.loraAlpha,
      lora_bias: this.loraBias,
      lora_dropout: this.loraDropout,
      megatron_config: null,
      megatron_core: "megatron.core",
      modules_to_save: this.modulesToSave,
      r: this.r,
      rank_pattern: { ...this.rankPattern },
      target_modules: this.targetModules,
      use_dora: false,
      use_rslora: this.useRslora,
    });
  }
}

export type PromptTuningInit = "RANDOM" | "TEXT" | "SAMPLE_VOCAB";

interface PromptLearningFields extends BaseFields {
  /** Number of virtual tokens. */
  numVirtualTokens: number;
  /** The model's hidden size (filled in from the model's config when absent). */
  tokenDim?: number | null;
  /** 1 for decoder-only models. */
  numTransformerSubmodules?: number | null;
  numAttentionHeads?: number | null;
  numLayers?: number | null;
  modulesToSave?: readonly string[] | null;
}

abstract class PromptLearningConfig extends PeftConfigBase {
  numVirtualTokens: number;
  tokenDim: number | null;
  numTransformerSubmodules: number | null;
  numAttentionHeads: number | null;
  numLayers: number | null;
  modulesToSave: string[] | null;

  constructor(o: PromptLearningFields) {
    super(o);
    if (!Number.isInteger(o.numVirtualTokens) || o.numVirtualTokens <= 0) {
      throw new ArgumentError(this.constructor.name, `numVirtualTokens should be a positive integer, got ${o.numVirtualTokens}`);
    }
    this.numVirtualTokens = o.numVirtualTokens;
    this.tokenDim = o.tokenDim ?? null;
    this.numTransformerSubmodules = o.numTransformerSubmodules ?? null;
    this.numAttentionHeads = o.numAttentionHeads ?? null;
    this.numLayers = o.numLayers ?? null;
    this.modulesToSave = o.modulesToSave ? [...o.modulesToSave] : null;
  }

  protected promptDict(): Record<string, unknown> {
    return {
      ...this.baseDict(),
      num_attention_heads: this.numAttentionHeads,
      num_layers: this.numLayers,
      num_transformer_submodules: this.numTransformerSubmodules,
      num_virtual_tokens: this.numVirtualTokens,
      token_dim: this.tokenDim,
    };
  }
}

export interface PromptTuningConfigOptions extends PromptLearningFields {
  /** RANDOM (default): N(0, 1) soft tokens; TEXT: the embeddings of promptTuningInitText's tokens; SAMPLE_VOCAB: of random tokens. */
  promptTuningInit?: PromptTuningInit;
  promptTuningInitText?: string | null;
  /** Recorded in the config as PEFT does; TEXT init takes the tokenizer object itself in getPeftModel's options. */
  tokenizerNameOrPath?: string | null;
}

/** peft.PromptTuningConfig: trainable virtual-token embeddings prepended to the input. */
export class PromptTuningConfig extends PromptLearningConfig {
  readonly peftType = "PROMPT_TUNING" as const;
  promptTuningInit: PromptTuningInit;
  promptTuningInitText: string | null;
  tokenizerNameOrPath: string | null;

  constructor(o: PromptTuningConfigOptions) {
    super(o);
    this.promptTuningInit = o.promptTuningInit ?? "RANDOM";
    this.promptTuningInitText = o.promptTuningInitText ?? null;
    this.tokenizerNameOrPath = o.tokenizerNameOrPath ?? null;
    if (!["RANDOM", "TEXT", "SAMPLE_VOCAB"].includes(this.promptTuningInit)) {
      throw new ArgumentError(
        "PromptTuningConfig",
        `promptTuningInit must be RANDOM, TEXT or SAMPLE_VOCAB, got ${JSON.stringify(this.promptTuningInit)}`,
      );
    }
    if (this.promptTuningInit === "TEXT" && this.promptTuningInitText === null) {
      throw new ArgumentError("PromptTuningConfig", "when promptTuningInit is TEXT, promptTuningInitText can't be null");
    }
  }

  toDict(): Record<string, unknown> {
    return sortKeys({
      ...this.promptDict(),
      prompt_tuning_init: this.promptTuningInit,
      prompt_tuning_init_text: this.promptTuningInitText,
      tokenizer_kwargs: null,
      tokenizer_name_or_path: this.tokenizerNameOrPath,
    });
  }
}

export interface PrefixTuningConfigOptions extends PromptLearningFields {
  /** Reparameterize the prefix through a two-layer MLP (Linear, Tanh, Linear) while training. */
  prefixProjection?: boolean;
  encoderHiddenSize?: number | null;
}

/** peft.PrefixTuningConfig: trainable key/value prefixes fed to every layer through the KV cache. */
export class PrefixTuningConfig extends PromptLearningConfig {
  readonly peftType = "PREFIX_TUNING" as const;
  prefixProjection: boolean;
  encoderHiddenSize: number | null;

  constructor(o: PrefixTuningConfigOptions) {
    super(o);
    this.prefixProjection = o.prefixProjection ?? false;
    this.encoderHiddenSize = o.encoderHiddenSize ?? null;
  }

  toDict(): Record<string, unknown> {
    return sortKeys({ ...this.promptDict(), encoder_hidden_size: this.encoderHiddenSize, prefix_projection: this.prefixProjection });
  }
}

export type PeftConfig = LoraConfig | PromptTuningConfig | PrefixTuningConfig;

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

const snakeToCamel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Keys dl reads from adapter_config.json, per PEFT type (snake_case). */
const KNOWN: Record<PeftType, readonly string[]> = {
  LORA: Object.keys(new LoraConfig().toDict()),
  PROMPT_TUNING: Object.keys(new PromptTuningConfig({ numVirtualTokens: 1 }).toDict()),
  PREFIX_TUNING: Object.keys(new PrefixTuningConfig({ numVirtualTokens: 1 }).toDict()),
};

// Keys PEFT writes whose non-default values change the math: refuse them instead of silently ignoring.
const UNSUPPORTED_IF_SET: Record<string, (v: unknown) => boolean> = {
  use_dora: (v) => v === true,
  layer_replication: (v) => v != null,
  megatron_config: (v) => v != null,
  alora_invocation_tokens: (v) => v != null,
  use_qalora: (v) => v === true,
  trainable_token_indices: (v) => v != null,
  target_parameters: (v) => v != null && !(Array.isArray(v) && v.length === 0),
  use_bdlora: (v) => v != null,
  arrow_config: (v) => v != null,
};

export interface ConfigFromDictOptions {
  /** Called with the keys that are dropped (default: console.warn, as PEFT warns). */
  warn?: (message: string) => void;
}

/**
 * Builds a config from adapter_config.json's object (PEFT's PeftConfig.from_peft_type): peft_type
 * is required, unknown keys are dropped with a warning, values are validated by the config class.
 */
export function configFromDict(dict: unknown, options: ConfigFromDictOptions = {}): PeftConfig {
  const op = "configFromDict";
  if (typeof dict !== "object" || dict === null || Array.isArray(dict)) {
    throw new DLError(
      op,
      `adapter_config.json must hold a JSON object, got ${Array.isArray(dict) ? "an array" : dict === null ? "null" : typeof dict}`,
    );
  }
  const d = dict as Record<string, unknown>;
  const peftType = d.peft_type;
  if (peftType === undefined) throw new DLError(op, "adapter_config.json is missing the required key 'peft_type'");
  if (peftType !== "LORA" && peftType !== "PROMPT_TUNING" && peftType !== "PREFIX_TUNING") {
    throw new DLError(op, `peft_type ${JSON.stringify(peftType)} is not supported (LORA, PROMPT_TUNING, PREFIX_TUNING)`);
  }
  for (const [k, bad] of Object.entries(UNSUPPORTED_IF_SET)) {
    if (k in d && bad(d[k])) throw new DLError(op, `${k}=${JSON.stringify(d[k])} is not supported by dl's ${peftType} adapters`);
  }
  const known = new Set(KNOWN[peftType]);
  const unknown = Object.keys(d).filter((k) => !known.has(k) && !(k in UNSUPPORTED_IF_SET));
  const dropped = unknown.filter((k) => k !== "peft_version" && k !== "corda_config" && k !== "runtime_config" && k !== "modules_to_save");
  if (dropped.length) {
    (options.warn ?? console.warn)(`${op}: unexpected keys ${JSON.stringify(dropped.sort())} for ${peftType} are ignored`);
  }
  const o: Record<string, unknown> = {};
  for (const k of known) {
    const v = d[k];
    if (v === undefined || k === "peft_type") continue;
    o[snakeToCamel(k)] = v;
  }
  const check = (name: string, ok: boolean) => {
    if (!ok) throw new DLError(op, `adapter_config.json's '${name}' has the wrong type (${JSON.stringify(d[name])})`);
  };
  const isNum = (k: string) => d[k] === undefined || typeof d[k] === "number";
  const isStrList = (k: string) =>
    d[k] == null || typeof d[k] === "string" || (Array.isArray(d[k]) && (d[k] as unknown[]).every((x) => typeof x === "string"));
  let cfg: PeftConfig;
  if (peftType === "LORA") {
    for (const k of ["r", "lora_alpha", "lora_dropout"]) check(k, isNum(k));
    for (const k of ["target_modules", "exclude_modules", "modules_to_save"]) check(k, isStrList(k));
    cfg = new LoraConfig(o as LoraConfigOptions);
  } else {
    check("num_virtual_tokens", typeof d.num_virtual_tokens === "number");
    for (const k of ["token_dim", "num_layers", "num_attention_heads", "num_transformer_submodules"])
      check(k, d[k] == null || typeof d[k] === "number");
    cfg =
      peftType === "PROMPT_TUNING"
        ? new PromptTuningConfig(o as unknown as PromptTuningConfigOptions)
        : new PrefixTuningConfig(o as unknown as PrefixTuningConfigOptions);
  }
  if (d.auto_mapping && typeof d.auto_mapping === "object") cfg.autoMapping = d.auto_mapping as Record<string, unknown>;
  return cfg;
}
