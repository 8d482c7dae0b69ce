import { ArgumentError, DLError } from "@dl/tensor";
import { BertConfig } from "../configuration/bert.js";
import type { PretrainedConfig } from "../configuration/configuration-utils.js";
import { GPT2Config } from "../configuration/gpt2.js";
import { type ModelFiles, type PretrainedSource, resolveSource } from "../hub/source.js";
import { BertForMaskedLM, BertForSequenceClassification, BertModel } from "../modeling/bert.js";
import { GPT2LMHeadModel, GPT2Model } from "../modeling/gpt2.js";
import { GPT2ForSequenceClassification } from "../modeling/gpt2-sequence-classification.js";
import { CONFIG_NAME, type FromPretrainedOptions, type PreTrainedModel, type PreTrainedModelClass } from "../modeling/modeling-utils.js";

/** A config class as the registry holds it. */
export interface ConfigClass<C extends PretrainedConfig = PretrainedConfig> {
  new (options?: Record<string, unknown>): C;
  fromDict(dict: Record<string, unknown>): C;
  modelType: string;
}

const CONFIGS = new Map<string, ConfigClass>([
  ["gpt2", GPT2Config as unknown as ConfigClass],
  ["bert", BertConfig as unknown as ConfigClass],
]);

async function readConfigDict(files: ModelFiles): Promise<Record<string, unknown>> {
  const dict = (await files.json(CONFIG_NAME)) as Record<string, unknown> | null;
  if (dict === null) throw new DLError("AutoConfig.fromPretrained", `no ${CONFIG_NAME} in ${files.description}`);
  return dict;
}

/** transformers' AutoConfig: the config class chosen by config.json's model_type. */
export const AutoConfig = {
  /** Adds a model type (AutoConfig.register("my-gpt", MyConfig)). */
  register(modelType: string, configClass: ConfigClass, options: { existOk?: boolean } = {}): void {
    if (CONFIGS.has(modelType) && !options.existOk)
      throw new ArgumentError("AutoConfig.register", `model_type "${modelType}" is already registered`);
    CONFIGS.set(modelType, configClass);
  },

  configClassFor(modelType: string): ConfigClass {
    const c = CONFIGS.get(modelType);
    if (!c) {
      throw new ArgumentError(
        "AutoConfig",
        `unrecognized model_type "${modelType}"; known: ${[...CONFIGS.keys()].join(", ")} (add one with AutoConfig.register)`,
      );
    }
    return c;
  },

  /** A config of the given model type (AutoConfig.for_model). */
  forModel(modelType: string, options: Record<string, unknown> = {}): PretrainedConfig {
    return new (AutoConfig.configClassFor(modelType))(options);
  },

  fromDict(dict: Record<string, unknown>): PretrainedConfig {
    const type = dict.model_type;
    if (typeof type !== "string")
      throw new ArgumentError("AutoConfig", `config.json has no "model_type" (keys: ${Object.keys(dict).join(", ")})`);
    return AutoConfig.configClassFor(type).fromDict(dict);
  },

  async fromPretrained(source: PretrainedSource | ModelFiles, overrides: Record<string, unknown> = {}): Promise<PretrainedConfig> {
    const files = resolveSource("AutoConfig.fromPretrained", source);
    return AutoConfig.fromDict({ ...(await readConfigDict(files)), ...overrides });
  },
};

type AnyModelClass = PreTrainedModelClass<PreTrainedModel, PretrainedConfig>;

/**
 * An AutoModel* factory: a registry from model_type to model class, extendable with register().
 * AutoModelForCausalLM.fromPretrained(dir) builds the class config.json's model_type names.
 */
export class AutoModelFactory<M extends PreTrainedModel = PreTrainedModel> {
  private readonly mapping: Map<string, AnyModelClass>;

  constructor(
    readonly task: string,
    entries: [string, unknown][],
  ) {
    this.mapping = new Map(entries as [string, AnyModelClass][]);
  }

  /** Adds an architecture: AutoModelForCausalLM.register(MyConfig, MyModelForCausalLM) (or a model_type string). */
  register(config: ConfigClass | string, modelClass: new (c: never) => PreTrainedModel, options: { existOk?: boolean } = {}): void {
    const type = typeof config === "string" ? config : config.modelType;
    if (this.mapping.has(type) && !options.existOk)
      throw new ArgumentError(`${this.task}.register`, `model_type "${type}" is already registered`);
    this.mapping.set(type, modelClass as unknown as AnyModelClass);
  }

  /** The model types this factory knows. */
  get modelTypes(): string[] {
    return [...this.mapping.keys()];
  }

  modelClassFor(modelType: string): AnyModelClass {
    const cls = this.mapping.get(modelType);
    if (!cls) {
      throw new ArgumentError(
        this.task,
        `no ${this.task} for model_type "${modelType}"; known: ${this.modelTypes.join(", ") || "none"} (add one with ${this.task}.register)`,
      );
    }
    return cls;
  }

  /** A randomly initialized model for a config (from_config). */
  fromConfig<T extends PreTrainedModel = M>(config: PretrainedConfig): T {
    return new (this.modelClassFor(config.modelType))(config) as unknown as T;
  }

  /** Loads a model from Hugging Face files, choosing the class by config.json's model_type. */
  async fromPretrained<T extends PreTrainedModel = M>(
    source: PretrainedSource | ModelFiles,
    options: FromPretrainedOptions = {},
  ): Promise<T> {
    const files = resolveSource(`${this.task}.fromPretrained`, source);
    const config = options.config ?? AutoConfig.fromDict({ ...(await readConfigDict(files)), ...(options.configOverrides ?? {}) });
    const cls = this.modelClassFor(config.modelType) as unknown as { fromPretrained(s: ModelFiles, o: FromPretrainedOptions): Promise<T> };
    return await cls.fromPretrained(files, { ...options, config });
  }
}

/** The bare model (GPT2Model, BertModel) of a checkpoint. */
export const AutoModel = new AutoModelFactory<PreTrainedModel>("AutoModel", [
  ["gpt2", GPT2Model],
  ["bert", BertModel],
]);

/** A causal language model (GPT2LMHeadModel). */
export const AutoModelForCausalLM = new AutoModelFactory<GPT2LMHeadModel>("AutoModelForCausalLM", [["gpt2", GPT2LMHeadModel]]);

/** A sequence classifier (BertForSequenceClassification, GPT2ForSequenceClassification). */
// Typed as BERT's (the common case); name the class for GPT-2: fromPretrained<GPT2ForSequenceClassification>(dir).
export const AutoModelForSequenceClassification = new AutoModelFactory<BertForSequenceClassification>(
  "AutoModelForSequenceClassification",
  [
    ["bert", BertForSequenceClassification],
    ["gpt2", GPT2ForSequenceClassification],
  ],
);

/** A masked language model (BertForMaskedLM). */
export const AutoModelForMaskedLM = new AutoModelFactory<BertForMaskedLM>("AutoModelForMaskedLM", [["bert", BertForMaskedLM]]);
