// torch.nn.functional: import { F } from "@dl/nn"; F.linear(x, w, b).
export * from "./activation.js";
export * from "./attention.js";
export * from "./conv.js";
export * from "./distance.js";
export * from "./dropout.js";
export * from "./embedding.js";
export * from "./fold.js";
export { linear } from "./linear.js";
export * from "./loss.js";
export * from "./normalization.js";
export * from "./pooling.js";
export * from "./upsampling.js";
// torch.nn.functional.pad and one_hot are torch ops too: the same functions.
export { oneHot, pad } from "@dl/tensor";
