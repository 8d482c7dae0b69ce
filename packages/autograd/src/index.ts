export { checkpoint } from "./checkpoint.js";
export { type BackwardObserver, isAnomalyEnabled, setBackwardObserver, setDetectAnomaly } from "./engine.js";
export { FunctionCtx, type FunctionDef, defineFunction } from "./function.js";
export { grad, type GradOptions } from "./grad.js";
export { enableGrad, inferenceMode, isGradEnabled, noGrad, setGradEnabled } from "./grad-mode.js";
export { type GradcheckOptions, gradcheck, gradgradcheck } from "./gradcheck.js";
export { AccumulateGrad, type BackwardContext, type Formula, Node } from "./node.js";
