export {
  type ConfigFromDictOptions,
  configFromDict,
  DEFAULT_LORA_TARGET_MODULES,
  INCLUDE_LINEAR_LAYERS_SHORTHAND,
  type InitLoraWeights,
  type LoraBias,
  LoraConfig,
  type LoraConfigOptions,
  type PeftConfig,
  type PeftType,
  PrefixTuningConfig,
  type PrefixTuningConfigOptions,
  PromptTuningConfig,
  type PromptTuningConfigOptions,
  type PromptTuningInit,
  type TargetModules,
  type TaskType,
} from "./config.js";
export { type AdapterSource, CONFIG_NAME, type FileContents, SAFETENSORS_WEIGHTS_NAME } from "./io.js";
export { isLoraSupported, type LoraBaseLayer, LoraLayer } from "./lora/layer.js";
export { LoraModel } from "./lora/model.js";
export { cloneModule, ModulesToSaveWrapper } from "./modules-to-save.js";
export { type GetPeftModelOptions, getPeftModel, type LoadAdapterOptions, PeftModel } from "./peft-model.js";
export { PrefixEncoder, prefixPastKeyValues } from "./prefix-tuning.js";
export { PromptEmbedding, type TokenizerLike } from "./prompt-tuning.js";
export { getPeftModelStateDict, removeAdapterName, type SetStateDictOptions, setPeftModelStateDict } from "./state-dict.js";
export { fullMatch, isTargeted, patternKey } from "./targets.js";
