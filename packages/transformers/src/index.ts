export {
  AutoConfig,
  AutoModel,
  AutoModelFactory,
  AutoModelForCausalLM,
  AutoModelForMaskedLM,
  AutoModelForSequenceClassification,
  type ConfigClass,
} from "./auto/auto.js";
export { BertConfig, type BertConfigOptions } from "./configuration/bert.js";
export { COMMON_FIELDS, type FieldSpec, PretrainedConfig } from "./configuration/configuration-utils.js";
export { GPT2Config, type GPT2ConfigOptions } from "./configuration/gpt2.js";
export { type BeamSearchOutput, beamSearch } from "./generation/beam-search.js";
export { type CausalLM, type GenerateOptions, type GenerateOutput, generate, type Streamer } from "./generation/generate.js";
export { type FileContents, type ModelFiles, type PretrainedSource, resolveSource, type SaveTarget } from "./hub/source.js";
export { ACT2FN, type Activation, getActivation } from "./modeling/activations.js";
export { causalMask, dtypeMin, extendedAttentionMask } from "./modeling/attention-utils.js";
export {
  BertAttention,
  type BertClassificationOptions,
  BertEmbeddings,
  BertEncoder,
  BertForMaskedLM,
  BertForSequenceClassification,
  type BertForwardOptions,
  BertIntermediate,
  BertLayer,
  BertLMPredictionHead,
  type BertMaskedLMOptions,
  BertModel,
  type BertModelOutput,
  BertOnlyMLMHead,
  BertOutput,
  BertPooler,
  BertPredictionHeadTransform,
  BertSelfAttention,
  BertSelfOutput,
  type MaskedLMOutput,
  type SequenceClassifierOutput,
} from "./modeling/bert.js";
export { Conv1D, type Conv1DOptions } from "./modeling/conv1d.js";
export {
  type BaseModelOutputWithPast,
  type CausalLMOutput,
  GPT2Attention,
  GPT2Block,
  type GPT2ForwardOptions,
  type GPT2LMHeadForwardOptions,
  GPT2LMHeadModel,
  GPT2MLP,
  GPT2Model,
  GPT2PreTrainedModel,
  type KeyValue,
  type PastKeyValues,
} from "./modeling/gpt2.js";
export {
  type GPT2ClassificationOptions,
  GPT2ForSequenceClassification,
  type SequenceClassifierOutputWithPast,
} from "./modeling/gpt2-sequence-classification.js";
export { causalLmLoss, sequenceClassificationLoss, tokenLoss } from "./modeling/losses.js";
export {
  CONFIG_NAME,
  type FromPretrainedOptions,
  type LoadReport,
  loadPretrainedWeights,
  PreTrainedModel,
  type PreTrainedModelClass,
  readWeights,
  SAFE_WEIGHTS_INDEX_NAME,
  SAFE_WEIGHTS_NAME,
  type SavePretrainedOptions,
  type Weights,
} from "./modeling/modeling-utils.js";
export {
  AutoTokenizer,
  type BatchEncoding,
  type DecodeOptions,
  type PaddingStrategy,
  PreTrainedTokenizer,
  SPECIAL_TOKENS_MAP_FILE,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
  type TokenizerCallOptions,
  type TruncationStrategy,
} from "./tokenization/tokenizer.js";
