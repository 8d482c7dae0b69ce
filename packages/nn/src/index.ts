export * from "./containers.js";
export * as F from "./functional/index.js";
export * as init from "./init.js";
export {
  type LoadResult,
  Module,
  type RemovableHandle,
  type StateDict,
  registerModuleForwardHook,
  registerModuleForwardPreHook,
} from "./module.js";
export * from "./modules/activation.js";
export * from "./modules/attention.js";
export * from "./modules/bilinear.js";
export * from "./modules/conv.js";
export * from "./modules/dropout.js";
export * from "./modules/embedding.js";
export * from "./modules/flatten.js";
export * from "./modules/fold.js";
export { Identity, Linear, type LinearOptions } from "./modules/linear.js";
export * from "./modules/loss.js";
export * from "./modules/normalization.js";
export * from "./modules/pooling.js";
export * from "./modules/rnn.js";
export * from "./modules/transformer.js";
export * from "./modules/upsampling.js";
export { Parameter } from "./parameter.js";
export * from "./serialization.js";
export * from "./summary.js";
export * from "./utils/clip-grad.js";
export * from "./utils/convert-parameters.js";
export { deepcopy } from "./utils/deepcopy.js";
export * from "./utils/rnn.js";
