export { isAnomalyEnabled, setDetectAnomaly } from "./engine.js";
export { grad } from "./grad.js";
export { enableGrad, inferenceMode, isGradEnabled, noGrad, setGradEnabled } from "./grad-mode.js";
export { AccumulateGrad, type BackwardContext, type Formula, Node } from "./node.js";
